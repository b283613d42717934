"""Walk a pickle's opcodes without unpickling it: every import, and how it is used.

The walk runs the pickle machine symbolically (Python's ``pickle.Unpickler``, read from
CPython's ``Lib/pickle.py``): a stack, the mark stack and the memo hold *descriptions* of
values — literals, imports, tuples, the result of a call — and nothing is imported or
called. An import (``GLOBAL``, ``INST``, ``STACK_GLOBAL`` with its strings from the stack
or the memo) is resolved as ``find_class`` resolves it, with ``_compat_pickle``'s renames
for protocols below 3, and every later use of the value is recorded:

* ``called`` — ``REDUCE`` calls it, ``INST``/``OBJ`` instantiate it (it runs at load time);
* ``built`` — ``NEWOBJ``/``NEWOBJ_EX`` create an instance without ``__init__`` (its class's
  ``__setstate__`` runs on ``BUILD``);
* ``referenced`` — it ends up inside the loaded object (code that may run later, when the
  object is used: a stored callable).

A few patterns are findings whatever is imported: a call of a value the pickle built
rather than imported, ``BUILD`` on an imported class or module (monkey-patching), extension
codes (``EXT1/2/4``, resolved by the loading process's registry) and persistent ids of a
plain pickle. joblib's arrays (raw bytes, or a nested pickle for object arrays, after the
``NumpyArrayWrapper``'s ``BUILD``) are stepped over exactly as joblib reads them.

References
----------
CPython, ``Lib/pickle.py`` (``_Unpickler``) and ``Lib/pickletools.py`` (the opcode table).
joblib, ``joblib/numpy_pickle.py`` (``NumpyArrayWrapper.read_array``).
"""

from __future__ import annotations

import _compat_pickle
import io
import pickletools
from dataclasses import dataclass, field
from typing import Any, BinaryIO

__all__ = ["Anomaly", "Import", "PickleReport", "describe", "walk_pickle", "walk_pickles"]

_OPS = {op.code.encode("latin-1"): op for op in pickletools.opcodes}
_MAX_STEPS = 50_000_000


@dataclass
class Import:
    """One imported name: where it is imported and each use (``called`` at 120, ...)."""

    module: str
    name: str
    pos: int
    opcode: str
    uses: list[tuple[str, int]] = field(default_factory=list)
    args: list[str] = field(default_factory=list)  # each call's arguments, as far as known

    @property
    def qualname(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"

    @property
    def how(self) -> str:
        """The strongest use: called > built > referenced."""
        kinds = {u for u, _ in self.uses}
        return next((k for k in ("called", "built", "state set") if k in kinds), "referenced")


@dataclass
class Anomaly:
    """A pattern that is unsafe whatever was imported."""

    kind: str
    message: str
    pos: int


@dataclass
class PickleReport:
    """What one pickle stream holds (``start``: its offset in the file or member)."""

    start: int
    end: int | None = None
    protocol: int = 0
    imports: list[Import] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    nested: list[tuple[int, bytes, str]] = field(default_factory=list)  # (pos, bytes, loader)
    error: str | None = None
    error_pos: int | None = None
    opcodes: int = 0


class _Value:
    """A description of a value on the machine's stack."""

    __slots__ = ("imp", "kind", "literal", "parts", "pos")

    def __init__(self, kind: str, *, imp: Import | None = None, parts: tuple = (),
                 literal: Any = None, pos: int = -1) -> None:
        self.kind, self.imp, self.parts, self.literal, self.pos = kind, imp, parts, literal, pos

    def imports(self, depth: int = 0) -> list[Import]:
        """Return the imports reachable from this value (bounded: memo games nest deeply)."""
        if self.imp is not None:
            return [self.imp]
        if depth > 50:
            return []
        return [i for p in self.parts if isinstance(p, _Value) for i in p.imports(depth + 1)]


_LITERAL_OPS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT",
                "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
                "BYTEARRAY8"}
_LOADERS = {"pickle.loads", "pickle.load", "_pickle.loads", "_pickle.load", "joblib.load",
            "numpy.load", "torch.load", "dill.loads", "cloudpickle.loads",
            "torch.storage._load_from_bytes", "torch.serialization.load",
            "pickle._loads", "cPickle.loads"}


def _resolve(module: str, name: str, protocol: int) -> tuple[str, str]:
    """``find_class``'s renames: Python 2 names of protocols 0-2 to Python 3's."""
    if protocol < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


class _Machine:
    def __init__(self, f: BinaryIO, report: PickleReport, *, joblib_arrays: bool) -> None:
        self.f, self.r, self.joblib_arrays = f, report, joblib_arrays
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.memo: dict[int, Any] = {}

    # -- helpers
    def pop(self) -> Any:
        if not self.stack:
            raise ValueError("the stack is empty")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise ValueError("no MARK to pop to")
        items, self.stack = self.stack, self.metastack.pop()
        return items

    def import_(self, module: Any, name: Any, pos: int, opcode: str) -> _Value:
        if not (isinstance(module, str) and isinstance(name, str)):
            raise ValueError(f"{opcode} of names that are not strings")
        module, name = _resolve(module, name, self.r.protocol)
        imp = Import(module, name, pos, opcode)
        self.r.imports.append(imp)
        return _Value("import", imp=imp, pos=pos)

    def use(self, v: Any, how: str, pos: int) -> None:
        if isinstance(v, _Value) and v.imp is not None:
            v.imp.uses.append((how, pos))

    def call(self, callee: Any, args: Any, pos: int, how: str = "called") -> _Value:
        if isinstance(callee, _Value) and callee.imp is not None:
            callee.imp.uses.append((how, pos))
            if len(callee.imp.args) < 5:
                callee.imp.args.append(describe(args)[:300])
            qual = callee.imp.qualname
            if qual in _LOADERS:
                self._nested(args, pos, qual)
        else:
            self.r.anomalies.append(Anomaly(
                "call-of-built-value", "calls a value the pickle built, not an imported "
                "name (a call hidden behind another call's result)", pos))
        return _Value("call", parts=(callee, args), pos=pos)

    def _nested(self, args: Any, pos: int, loader: str) -> None:
        """Follow the bytes a loader is given; a loader given bytes it cannot see is flagged."""
        first = args.parts[0] if isinstance(args, _Value) and args.kind == "tuple" \
            and args.parts else None
        payload = _bytes_of(first)
        if payload is not None:
            self.r.nested.append((pos, payload, loader))
        else:
            self.r.anomalies.append(Anomaly(
                "unfollowed-loader", f"calls {loader} on data the inspection cannot "
                "reconstruct (built at load time), so what it loads is unknown", pos))

    # -- the loop
    def run(self) -> None:
        f, r = self.f, self.r
        steps = 0
        while True:
            pos = f.tell()
            code = f.read(1)
            if not code:
                raise ValueError("the pickle ends before its STOP")
            op = _OPS.get(code)
            if op is None:
                raise ValueError(f"unknown opcode {code!r}")
            arg = op.arg.reader(f) if op.arg is not None else None
            steps += 1
            r.opcodes = steps
            if steps > _MAX_STEPS:
                raise ValueError("more than 50 million opcodes")
            if op.name == "STOP":
                r.end = f.tell()
                return
            self.step(op.name, arg, pos)

    def step(self, name: str, arg: Any, pos: int) -> None:
        st = self.stack
        if name in _LITERAL_OPS:
            st.append(_Value("literal", literal=arg, pos=pos))
        elif name in ("NONE", "NEWTRUE", "NEWFALSE"):
            st.append(_Value("literal", literal={"NONE": None, "NEWTRUE": True,
                                                 "NEWFALSE": False}[name], pos=pos))
        elif name == "PROTO":
            self.r.protocol = int(arg)
            if not 0 <= arg <= 5:
                raise ValueError(f"unsupported protocol {arg}")
        elif name == "FRAME":
            pass
        elif name == "MARK":
            self.metastack.append(st)
            self.stack = []
        elif name == "POP":
            if st:
                st.pop()
            else:
                self.pop_mark()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            if not st:
                raise ValueError("DUP of an empty stack")
            st.append(st[-1])
        elif name in ("EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"):
            st.append(_Value({"EMPTY_TUPLE": "tuple", "EMPTY_LIST": "list",
                              "EMPTY_DICT": "dict", "EMPTY_SET": "set"}[name], pos=pos))
        elif name in ("TUPLE", "LIST", "DICT", "FROZENSET"):
            items = self.pop_mark()
            self.stack.append(_Value(name.lower(), parts=tuple(items), pos=pos))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            k = int(name[-1])
            if len(st) < k:
                raise ValueError(f"{name} needs {k} values")
            items = [self.pop() for _ in range(k)][::-1]
            st.append(_Value("tuple", parts=tuple(items), pos=pos))
        elif name in ("APPEND", "SETITEM", "SETITEMS", "APPENDS", "ADDITEMS"):
            if name == "APPEND":
                items = [self.pop()]
            elif name == "SETITEM":
                items = [self.pop(), self.pop()][::-1]
            else:
                items = self.pop_mark()
            target = self.stack[-1] if self.stack else None
            if not isinstance(target, _Value):
                raise ValueError(f"{name} without a container")
            target.parts = (*target.parts, *items)[:10_000] if len(target.parts) < 10_000 \
                else target.parts
            for v in items:
                self.use(v, "referenced", pos)
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if arg not in self.memo:
                raise ValueError(f"memo key {arg} is not set")
            st.append(self.memo[arg])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            if not st:
                raise ValueError(f"{name} of an empty stack")
            key = len(self.memo) if name == "MEMOIZE" else arg
            if not isinstance(key, int) or key < 0:
                raise ValueError(f"negative memo key {key}")
            self.memo[key] = st[-1]
        elif name == "GLOBAL":
            module, _, attr = arg.partition(" ")
            st.append(self.import_(module, attr, pos, name))
        elif name == "STACK_GLOBAL":
            attr, module = self.pop(), self.pop()
            st.append(self.import_(getattr(module, "literal", None),
                                   getattr(attr, "literal", None), pos, name))
        elif name == "INST":
            module, _, attr = arg.partition(" ")
            items = self.pop_mark()
            klass = self.import_(module, attr, pos, name)
            self.stack.append(self.call(klass, _Value("tuple", parts=tuple(items)), pos))
        elif name == "OBJ":
            items = self.pop_mark()
            if not items:
                raise ValueError("OBJ without a class")
            self.stack.append(self.call(items[0], _Value("tuple", parts=tuple(items[1:])), pos))
        elif name == "REDUCE":
            args, callee = self.pop(), self.pop()
            st.append(self.call(callee, args, pos))
        elif name == "NEWOBJ":
            args, cls = self.pop(), self.pop()
            st.append(self.call(cls, args, pos, how="built"))
        elif name == "NEWOBJ_EX":
            kwargs, args, cls = self.pop(), self.pop(), self.pop()
            st.append(self.call(cls, _Value("tuple", parts=(args, kwargs)), pos, how="built"))
        elif name == "BUILD":
            state = self.pop()
            if not st:
                raise ValueError("BUILD without an object")
            target = st[-1]
            if isinstance(target, _Value) and target.kind == "import":
                self.r.anomalies.append(Anomaly(
                    "build-on-import", f"sets attributes of the imported "
                    f"{target.imp.qualname} itself (monkey-patching a class or module)", pos))
            if isinstance(target, _Value) and target.kind == "call":
                self.use(target.parts[0], "state set", pos)
                target.parts = (*target.parts, state)
                callee = target.parts[0]
                if (self.joblib_arrays and isinstance(callee, _Value) and callee.imp is not None
                        and callee.imp.qualname == "joblib.numpy_pickle.NumpyArrayWrapper"):
                    self._joblib_array(state, pos)
            for i in (state.imports() if isinstance(state, _Value) else []):
                i.uses.append(("referenced", pos))
        elif name in ("PERSID", "BINPERSID"):
            pid = self.pop() if name == "BINPERSID" else _Value("literal", literal=arg)
            st.append(_Value("persistent", parts=(pid,), pos=pos))
            for i in (pid.imports() if isinstance(pid, _Value) else []):
                i.uses.append(("referenced", pos))
        elif name in ("EXT1", "EXT2", "EXT4"):
            self.r.anomalies.append(Anomaly(
                "extension-code", f"extension code {arg}: the loading process's copyreg "
                "registry decides what it imports", pos))
            st.append(_Value("import", pos=pos))
        elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
            if name == "NEXT_BUFFER":
                st.append(_Value("literal", literal=None, pos=pos))
        else:  # pragma: no cover  (pickletools knows no other opcode)
            raise ValueError(f"opcode {name} is not handled")

    def _joblib_array(self, state: Any, pos: int) -> None:
        """Step over the array that joblib writes after the wrapper's BUILD, as it reads it."""
        import numpy as np

        fields = _dict_of(state)
        dtype = _dtype_of(fields.get("dtype"))
        shape = _literal_tuple(fields.get("shape"))
        if dtype is None or shape is None:
            raise ValueError("a joblib array whose dtype or shape cannot be read statically")
        if dtype.hasobject:  # a nested pickle, read by a fresh unpickler from here
            inner = PickleReport(start=self.f.tell())
            _Machine(self.f, inner, joblib_arrays=True).run_into(inner)
            self.r.imports += inner.imports
            self.r.anomalies += inner.anomalies
            self.r.nested += inner.nested
            if inner.error:
                raise ValueError(f"the object array's pickle at {inner.start}: {inner.error}")
            return
        align = fields.get("numpy_array_alignment_bytes")
        if isinstance(align, _Value) and align.literal is not None:
            pad = self.f.read(1)
            if len(pad) != 1:
                raise ValueError("a joblib array ends before its padding")
            self.f.seek(pad[0], io.SEEK_CUR)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        size = count * dtype.itemsize
        here = self.f.tell()
        self.f.seek(0, io.SEEK_END)
        if self.f.tell() - here < size:
            raise ValueError(f"a joblib array of {size} bytes at {here} runs past the end")
        self.f.seek(here + size)

    def run_into(self, report: PickleReport) -> None:
        try:
            self.run()
        except (ValueError, EOFError, OverflowError, MemoryError, KeyError, TypeError,
                IndexError) as e:
            report.error, report.error_pos = str(e) or type(e).__name__, self.f.tell()


def _bytes_of(v: Any) -> bytes | None:
    """Return the bytes a value is: a literal, or protocol 2's ``_codecs.encode(text, enc)``."""
    if not isinstance(v, _Value):
        return None
    if isinstance(v.literal, bytes | bytearray):
        return bytes(v.literal)
    if v.kind == "call" and isinstance(v.parts[0], _Value) and v.parts[0].imp is not None \
            and v.parts[0].imp.qualname == "_codecs.encode":
        args = v.parts[1]
        vals = [getattr(p, "literal", None) for p in getattr(args, "parts", ())]
        if vals and isinstance(vals[0], str):
            enc = vals[1] if len(vals) > 1 and isinstance(vals[1], str) else "utf-8"
            try:
                return vals[0].encode(enc)
            except (LookupError, UnicodeEncodeError):
                return None
    return None


def describe(v: Any, depth: int = 0) -> str:
    """Render a described value shortly, Python-like: ``('echo hi',)``, ``os.system``."""
    if not isinstance(v, _Value):
        return "?"
    if v.kind == "literal":
        text = repr(v.literal)
        return text if len(text) <= 120 else text[:117] + "..."
    if v.kind == "import":
        return v.imp.qualname if v.imp else "<extension code>"
    if depth > 4:
        return "..."
    inner = [describe(p, depth + 1) for p in v.parts[:8]] + (["..."] if len(v.parts) > 8 else [])
    if v.kind == "tuple":
        return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
    if v.kind in ("list", "set", "frozenset"):
        return "[" + ", ".join(inner) + "]"
    if v.kind == "dict":
        return "{" + ", ".join(f"{k}: {val}" for k, val in zip(inner[::2], inner[1::2],
                                                              strict=False)) + "}"
    if v.kind == "call":
        return f"{describe(v.parts[0], depth + 1)}{describe(v.parts[1], depth + 1)}"
    return f"<{v.kind}>"


def _dict_of(v: Any) -> dict[str, Any]:
    if not (isinstance(v, _Value) and v.kind == "dict"):
        return {}
    parts = list(v.parts)
    return {getattr(k, "literal", None): val for k, val in zip(parts[::2], parts[1::2],
                                                               strict=False)}


def _literal_tuple(v: Any) -> tuple[int, ...] | None:
    if isinstance(v, _Value) and v.kind == "tuple":
        vals = [getattr(p, "literal", None) for p in v.parts]
        if all(isinstance(x, int) and x >= 0 for x in vals):
            return tuple(vals)
    return None


def _dtype_of(v: Any) -> Any:
    """Return the dtype a ``numpy.dtype(spec, ...)`` call with a literal spec makes, or None."""
    import numpy as np

    if not (isinstance(v, _Value) and v.kind == "call"):
        return None
    callee, args = v.parts[0], v.parts[1]
    if not (isinstance(callee, _Value) and callee.imp is not None
            and callee.imp.name == "dtype" and isinstance(args, _Value) and args.parts):
        return None
    spec = getattr(args.parts[0], "literal", None)
    if not isinstance(spec, str):
        return None
    try:
        dt = np.dtype(spec)
    except TypeError:
        return None
    state = v.parts[2] if len(v.parts) > 2 else None
    if isinstance(state, _Value) and state.kind == "tuple" and len(state.parts) >= 8:
        item = getattr(state.parts[5], "literal", -1)
        fields = state.parts[4]
        has_obj = isinstance(fields, _Value) and fields.kind == "dict" and any(
            (d := _dtype_of(p)) is not None and d.hasobject for p in _walk_values(fields))
        if has_obj:
            return np.dtype(object)
        if isinstance(item, int) and item > 0 and dt.kind == "V":
            return np.dtype(f"V{item}")
    return dt


def _walk_values(v: _Value, depth: int = 0) -> list[Any]:
    out: list[Any] = []
    for p in v.parts:
        if isinstance(p, _Value):
            out.append(p)
            if depth < 5 and p.kind in ("tuple", "dict"):
                out += _walk_values(p, depth + 1)
    return out


def walk_pickle(f: BinaryIO, *, joblib_arrays: bool = True) -> PickleReport:
    """Walk one pickle from ``f``'s position to its STOP (``f`` is left after it)."""
    report = PickleReport(start=f.tell())
    _Machine(f, report, joblib_arrays=joblib_arrays).run_into(report)
    return report


def walk_pickles(data: bytes, *, limit: int | None = None,
                 joblib_arrays: bool = True) -> tuple[list[PickleReport], int]:
    """Walk the pickles stacked in ``data`` (at most ``limit``); return them and where they end.

    A stream after the first that does not parse is trailing data (a loader reading it
    would fail there), unless it imported something before failing: that is reported.
    """
    f = io.BytesIO(data)
    out: list[PickleReport] = []
    while f.tell() < len(data) and (limit is None or len(out) < limit):
        start = f.tell()
        rep = walk_pickle(f, joblib_arrays=joblib_arrays)
        if rep.error and out and not rep.imports and not rep.anomalies:
            f.seek(start)
            break
        out.append(rep)
        if rep.error:
            break
    return out, f.tell()
