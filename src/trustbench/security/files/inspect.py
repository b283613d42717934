"""Say what is in a model file without loading it: :func:`inspect_file`, :func:`inspect_path`.

The format is sniffed from the bytes, never the extension: a zip (PyTorch's format, TorchScript,
``.npz``, skops, or any zip: every member sniffed in turn), a tar (PyTorch's old tar
checkpoints), joblib's compressed files, ``.npy``, safetensors, ONNX, or a pickle — raw,
stacked, PyTorch's legacy format, joblib's with inline arrays. Every pickle found is walked
(:mod:`~trustbench.security.files.pickles`) and each import is judged by the allow-list
(:mod:`~trustbench.security.files.allow`). The verdict is ``unsafe`` when any import is
outside it or a pattern that runs code is found, ``unreadable`` when the file could not be
read to its end and nothing unsafe was found before, ``safe`` otherwise.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from trustbench.security.files import containers as C
from trustbench.security.files.allow import DANGER, is_allowed
from trustbench.security.files.pickles import PickleReport, walk_pickle, walk_pickles

__all__ = ["FileReport", "Issue", "Verdict", "inspect_bytes", "inspect_file", "inspect_path"]

Verdict = Literal["safe", "unsafe", "unreadable"]
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch/serialization.py MAGIC_NUMBER
MAX_DEPTH = 6  # containers in containers (a pickle in a zip in a tar ...)


@dataclass(frozen=True)
class Issue:
    """One thing found: its severity, what it is, where (member and byte offset)."""

    severity: str
    kind: str
    message: str
    where: str = ""
    pos: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the issue as a JSON-ready dict."""
        return {"severity": self.severity, "kind": self.kind, "message": self.message,
                "where": self.where, "pos": self.pos}


@dataclass
class FileReport:
    """What :func:`inspect_file` found in one file."""

    path: str
    format: str = "unknown"
    issues: list[Issue] = field(default_factory=list)
    imports: list[dict[str, Any]] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """``unsafe`` (anything medium or worse), ``unreadable`` (errors), else ``safe``."""
        if any(i.severity in ("critical", "high", "medium") for i in self.issues):
            return "unsafe"
        return "unreadable" if self.errors else "safe"

    def why(self, limit: int = 3) -> str:
        """One line: the worst issues, e.g. for a refusal message."""
        worst = sorted((i for i in self.issues if i.severity != "info"),
                       key=lambda i: SEVERITY_ORDER.index(i.severity))
        text = "; ".join(i.message for i in worst[:limit])
        more = len(worst) - limit
        return text + (f"; and {more} more" if more > 0 else "")

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {"path": self.path, "format": self.format, "verdict": self.verdict,
                "issues": [i.to_dict() for i in self.issues], "imports": self.imports,
                "members": self.members, "errors": self.errors}


class _Inspector:
    def __init__(self, report: FileReport, allow: Sequence[str]) -> None:
        self.r, self.allow = report, list(allow)
        self.torchscript = False  # inside a TorchScript zip: its C++ unpickler's names

    def error(self, where: str, message: str) -> None:
        self.r.errors.append(f"{where + ': ' if where else ''}{message}")

    # ---------------------------------------------------------------- dispatch by content
    def bytes_(self, data: bytes, where: str, depth: int = 0, *, name: str = "") -> str:
        """Inspect ``data`` (a file or a member); return the format it was read as."""
        if depth > MAX_DEPTH:
            self.error(where, f"containers nested more than {MAX_DEPTH} deep")
            return "nested"
        if data[:4] == b"PK\x03\x04" or (data[:4] == b"PK\x05\x06"):
            return self.zip_(data, where, depth)
        if data.startswith(b"\x93NUMPY"):
            return self.npy(data, where)
        kind = C.sniff_compression(data[:6])
        if kind is not None and not _looks_like_pickle(data):
            try:
                inner = C.decompress(data, kind)
            except ValueError as e:
                self.error(where, str(e))
                return f"{kind}-compressed"
            self.pickles(inner, where + f" ({kind}-decompressed)", depth)
            return f"joblib ({kind})"
        if _is_tar(data):
            return self.tar(data, where, depth)
        if _looks_like_safetensors(data):
            for problem in C.safetensors_problems(data):
                self.error(where, f"safetensors: {problem}")
            return "safetensors"
        if _looks_like_pickle(data) or name.endswith((".pkl", ".pickle")):
            return self.pickles(data, where, depth)
        if _looks_like_onnx(data, name):
            return self.onnx(data, where)
        if name:  # a member that is none of these: data (tensor storages, text)
            return "data"
        self.error(where, "not a model format inspect knows (pickle, PyTorch, joblib, "
                          "numpy, safetensors, ONNX, skops, TorchScript)")
        return "unknown"

    # ---------------------------------------------------------------- pickles
    def pickles(self, data: bytes, where: str, depth: int) -> str:
        reports, end = walk_pickles(data)
        if any(i.qualname == "joblib.numpy_pickle.NumpyArrayWrapper"
               for rep in reports for i in rep.imports):
            # pickle.load (not joblib.load) would read the array bytes as opcodes: walk
            # them that way too, so nothing hides in "array data"
            plain, _ = walk_pickles(data, joblib_arrays=False)
            seen = {(i.qualname, i.pos) for rep in reports for i in rep.imports}
            for rep in plain:
                rep.imports = [i for i in rep.imports if (i.qualname, i.pos) not in seen]
                rep.error = None
                reports.append(rep) if rep.imports or rep.anomalies else None
        fmt = "pickle"
        if reports and not reports[0].error and _first_literal(data, reports[0]) == _LEGACY_MAGIC:
            fmt = "PyTorch (legacy)"
            reports = reports[:5]  # the loader reads five pickles, then raw storage bytes
        elif len(reports) > 1:
            fmt = f"pickle ({len(reports)} stacked)"
        for i, rep in enumerate(reports):
            label = where if len(reports) == 1 else f"{where} pickle {i + 1}"
            self.judge(rep, label, depth)
        if fmt == "pickle" and reports and end < len(data) and not reports[-1].error:
            self.r.issues.append(Issue("info", "trailing-data",
                                       f"{len(data) - end} bytes after the last pickle",
                                       where, end))
        return fmt

    def judge(self, rep: PickleReport, where: str, depth: int) -> None:
        for imp in rep.imports:
            how = imp.how
            # a dotted name (protocol 4) walks attributes: through a module or a function's
            # attributes it can reach anything, so only a path of classes passes
            walks = "." in imp.name and any(not seg[:1].isupper() or seg.startswith("__")
                                            for seg in imp.name.split(".")[:-1])
            allowed = not walks and (
                is_allowed(imp.qualname, how, extra=self.allow)
                or _numpy_ufunc(imp.qualname, how)
                or (self.torchscript and imp.qualname.startswith(_TORCHSCRIPT_NAMES)))
            self.r.imports.append({"name": imp.qualname, "how": how, "pos": imp.pos,
                                   "opcode": imp.opcode, "where": where, "allowed": allowed,
                                   "uses": [list(u) for u in imp.uses[:20]],
                                   "args": imp.args})
            if allowed:
                continue
            does = DANGER.get(imp.qualname)
            sev = "critical" if how == "called" or does else "high" if how != "referenced" \
                else "medium"
            use = {"called": "calls", "built": "builds", "state set": "builds"}.get(how, "refers to")
            at = next((p for u, p in imp.uses if u == how), imp.pos)
            call = f"{imp.qualname}{imp.args[0]}" if imp.args and how == "called" else imp.qualname
            self.r.issues.append(Issue(
                sev, "import", f"{use} {call}" + (f" ({does})" if does else "")
                + f" at byte {at}" + ("" if how != "referenced" else
                                      ": code the loaded object may run when used"),
                where, at))
        for a in rep.anomalies:
            self.r.issues.append(Issue("critical" if a.kind != "extension-code" else "high",
                                       a.kind, a.message + f" at byte {a.pos}", where, a.pos))
        for pos, payload, loader in rep.nested:
            inner = f"{where} > bytes given to {loader} at byte {pos}"
            self.bytes_(payload, inner, depth + 1, name="nested.pkl")
        if rep.error:
            self.error(where, f"stops at byte {rep.error_pos}: {rep.error}")

    # ---------------------------------------------------------------- containers
    def zip_(self, data: bytes, where: str, depth: int) -> str:
        try:
            members = C.zip_members(data)
        except ValueError as e:
            self.error(where, f"zip: {e}")
            return "zip"
        names = [m.name for m in members]
        self.r.members += [f"{where}/{n}" if depth else n for n in names]
        fmt = "zip"
        if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
            fmt = "PyTorch (zip)"
        if any("/code/" in n or n.endswith("constants.pkl") for n in names):
            fmt = "TorchScript"
            self.torchscript = True
            code = [n for n in names if "/code/" in n and n.endswith(".py")]
            self.r.issues.append(Issue(
                "low", "torchscript", f"TorchScript: {len(code)} code file(s) run when the "
                "model runs (TorchScript, not Python: it cannot import modules)", where))
        if "schema.json" in names or any(n.endswith("/schema.json") for n in names):
            fmt = "skops"
        if names and all(n.endswith(".npy") for n in names):
            fmt = "numpy (.npz)"
        for m in members:
            mwhere = f"{where}:{m.name}"
            try:
                body = C.member_bytes(data, m)
            except ValueError as e:
                self.error(mwhere, str(e))
                continue
            if fmt == "skops" and m.name.endswith("schema.json"):
                self.skops(body, mwhere)
                continue
            if fmt == "TorchScript" and m.name.endswith(".py"):
                continue
            storage = "/data/" in m.name and m.name.rsplit("/", 1)[-1].isdigit()
            if storage and not body.startswith(b"\x80"):
                continue  # raw tensor bytes (a pickle there would not be loaded either)
            self.bytes_(body, mwhere, depth + 1, name=m.name)
        return fmt

    def tar(self, data: bytes, where: str, depth: int) -> str:
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as t:
                entries = [(m.name, t.extractfile(m).read()) for m in t.getmembers()
                           if m.isfile() and t.extractfile(m) is not None]
        except (tarfile.TarError, OSError, EOFError) as e:
            self.error(where, f"tar: {e}")
            return "tar"
        self.r.members += [n for n, _ in entries]
        names = {n for n, _ in entries}
        fmt = "PyTorch (tar)" if {"pickle", "storages", "tensors"} <= names else "tar"
        for n, body in entries:
            if fmt != "tar" and n in ("storages", "tensors"):
                self.torch_tar_member(n, body, f"{where}:{n}", depth)
            else:
                self.bytes_(body, f"{where}:{n}", depth + 1,
                            name=n + (".pkl" if fmt != "tar" else ""))
        return fmt

    def torch_tar_member(self, name: str, body: bytes, where: str, depth: int) -> None:
        """Read a tar checkpoint's ``storages`` or ``tensors`` as ``torch.load`` does.

        A count pickle, then per entry a pickle followed by raw bytes (a storage's int64
        length and data; a tensor's int32 ndim, 4 bytes, sizes, strides and offset), then
        (``storages``) the views pickle: every pickle is walked, the raw bytes stepped over
        (torch/serialization.py, ``legacy_load``).
        """
        import struct

        f = io.BytesIO(body)
        count_rep = walk_pickle(f)
        self.judge(count_rep, f"{where} pickle 1", depth)
        count = _only_int(body, count_rep)
        if count_rep.error or count is None or count < 0:
            self.error(where, "the entry count is not an integer pickle")
            return
        try:
            for k in range(count):
                rep = walk_pickle(f)
                self.judge(rep, f"{where} entry {k + 1}", depth)
                if rep.error:
                    return
                if name == "storages":
                    kind = next((i.name for i in rep.imports if i.name.endswith("Storage")), "")
                    (n,) = struct.unpack("<q", f.read(8))
                    f.seek(n * _STORAGE_BYTES.get(kind, 4), io.SEEK_CUR)
                else:
                    (ndim,) = struct.unpack("<i", f.read(4))
                    f.seek(4 + 16 * ndim + 8, io.SEEK_CUR)
                if f.tell() > len(body):
                    raise struct.error("raw data runs past the end")
        except struct.error as e:
            self.error(where, f"stops in the raw data after entry {k + 1} ({e})")
            return
        if name == "storages":
            self.judge(walk_pickle(f), f"{where} views", depth)

    def npy(self, data: bytes, where: str) -> str:
        try:
            header, start = C.npy_header(data)
        except ValueError as e:
            self.error(where, str(e))
            return "numpy (.npy)"
        if "O" in str(header["descr"]):  # object arrays are a pickle after the header
            rep = walk_pickle(io.BytesIO(data[start:]))
            self.judge(rep, f"{where} (object array)", 0)
            return "numpy (.npy, object array)"
        return "numpy (.npy)"

    def skops(self, schema: bytes, where: str) -> None:
        import json

        try:
            tree = json.loads(schema)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            self.error(where, f"skops schema is not JSON ({e})")
            return
        seen: set[str] = set()
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                mod, cls = node.get("__module__"), node.get("__class__")
                if isinstance(mod, str) and isinstance(cls, str):
                    loader = str(node.get("__loader__", ""))
                    # a function node only looks the function up; a reduce node calls
                    how = {"FunctionNode": "referenced", "MethodNode": "referenced",
                           "ReduceNode": "called"}.get(loader, "built")
                    if loader == "FunctionNode" and isinstance(node.get("content"), dict):
                        c = node["content"]
                        mod, cls = c.get("module_path", mod), c.get("function", cls)
                        how = "referenced"
                    qual = f"{mod}.{cls}"
                    if qual not in seen:
                        seen.add(qual)
                        ok = is_allowed(qual, how, extra=self.allow) or _numpy_ufunc(
                            qual, how) or (qual.startswith(
                            ("builtins.", "numpy.")) and loader in _SKOPS_VALUE_NODES)
                        self.r.imports.append({"name": qual, "how": how, "pos": None,
                                               "opcode": loader, "where": where, "allowed": ok})
                        if not ok:
                            does = DANGER.get(qual)
                            self.r.issues.append(Issue(
                                "critical" if does else "high", "skops-type",
                                f"needs {qual}" + (f" ({does})" if does else "")
                                + f" ({loader}): not a type a model file needs", where))
                stack += list(node.values())
            elif isinstance(node, list):
                stack += node

    def onnx(self, data: bytes, where: str) -> str:
        try:
            import onnx
        except ImportError:
            self.error(where, "ONNX: install the onnx extra (pip install 'trustbench[onnx]') "
                              "to inspect it")
            return "ONNX"
        try:
            model = onnx.load_model_from_string(data)
        except Exception as e:
            self.error(where, f"ONNX: not a readable model ({str(e)[:120]})")
            return "ONNX"
        folder = Path(self.r.path).resolve().parent
        for t in _onnx_tensors(model.graph, model.functions):
            if t.data_location != onnx.TensorProto.EXTERNAL:
                continue
            loc = next((e.value for e in t.external_data if e.key == "location"), "")
            target = (folder / loc).resolve()
            if os.path.isabs(loc) or not target.is_relative_to(folder):
                self.r.issues.append(Issue(
                    "high", "onnx-external-data",
                    f"tensor {t.name!r} reads its data from {loc!r}, outside the model's "
                    "folder (a loader would read that file)", where))
        domains = sorted({o.domain for o in model.opset_import
                          if o.domain not in ("", "ai.onnx", "ai.onnx.ml")})
        if domains:
            self.r.issues.append(Issue("low", "onnx-custom-ops",
                                       f"custom operator domains {domains}: they need a "
                                       "library registered by the runtime", where))
        return "ONNX"


# what torch.jit.load's C++ unpickler resolves itself (torch/csrc/jit/serialization/unpickler.cpp)
_TORCHSCRIPT_NAMES = ("__torch__.", "torch.jit._pickle.", "torch.jit.", "torch._C.")
_SKOPS_VALUE_NODES = ("TypeNode", "ObjectNode", "NdArrayNode", "DtypeNode", "ListNode",
                      "DictNode", "TupleNode", "SetNode", "JsonNode", "SliceNode")


def _onnx_tensors(graph: Any, functions: Any = ()) -> list[Any]:
    out = list(graph.initializer) + list(graph.sparse_initializer)
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                out.append(a.t)
            out += list(a.tensors)
            if a.HasField("g"):
                out += _onnx_tensors(a.g)
            for g in a.graphs:
                out += _onnx_tensors(g)
    return [t for t in out if hasattr(t, "data_location")]


_STORAGE_BYTES = {"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
                  "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
                  "ByteStorage": 1, "BoolStorage": 1, "ComplexFloatStorage": 8,
                  "ComplexDoubleStorage": 16, "QInt8Storage": 1, "QUInt8Storage": 1,
                  "QInt32Storage": 4}


def _only_int(data: bytes, rep: PickleReport) -> int | None:
    """Return the one integer a pickle holds (a count), or None."""
    value = _first_literal(data, rep)
    return value if isinstance(value, int) else None


def _numpy_ufunc(qualname: str, how: str) -> bool:
    """Tell whether an import is a numpy ufunc only referenced (``FunctionTransformer``)."""
    module, _, name = qualname.rpartition(".")
    if module != "numpy" or how != "referenced" or not name.isidentifier():
        return False
    import numpy as np

    return isinstance(getattr(np, name, None), np.ufunc)


def _first_literal(data: bytes, rep: PickleReport) -> Any:
    import pickletools

    try:
        ops = list(pickletools.genops(data[rep.start:rep.end]))
    except ValueError:
        return None
    lits = [a for op, a, _ in ops
            if op.name in ("LONG1", "LONG", "LONG4", "BININT", "BININT1", "BININT2", "INT")]
    return lits[0] if len(lits) == 1 else None


def _looks_like_pickle(data: bytes) -> bool:
    if data[:1] == b"\x80":
        return len(data) > 1 and data[1] <= 5
    if not data or data[:1] not in b"(cKJIMNSVXU]}).\x8c\x95\x93ilpqgGh\x88\x89FLe":
        return False
    rep = walk_pickle(io.BytesIO(data))  # whole: a cut-off walk would call a pickle "not one"
    return rep.error is None or bool(rep.imports)


def _looks_like_safetensors(data: bytes) -> bool:
    return len(data) >= 10 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") < 1 << 30


def _looks_like_onnx(data: bytes, name: str) -> bool:
    return name.lower().endswith(".onnx") or (data[:1] == b"\x08" and len(data) > 8)


def _is_tar(data: bytes) -> bool:
    return len(data) >= 512 and data[257:262] == b"ustar"


def inspect_bytes(data: bytes, path: str = "<bytes>", *, allow: Sequence[str] = ()) -> FileReport:
    """Inspect a file's bytes (``path`` names it in the report and anchors ONNX paths)."""
    report = FileReport(path=path)
    report.format = _Inspector(report, allow).bytes_(data, "", name=Path(path).name
                                                     if path.lower().endswith(".onnx") else "")
    return report


def inspect_file(path: str | Path, *, allow: Sequence[str] = ()) -> FileReport:
    """Inspect one file; nothing in it is imported, unpickled or run."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        r = FileReport(path=str(p))
        r.errors.append(f"cannot read it ({e.strerror or e})")
        return r
    return inspect_bytes(data, str(p), allow=allow)


def inspect_path(path: str | Path, *, allow: Sequence[str] = ()) -> list[FileReport]:
    """Inspect a file, or every file under a folder (sorted; symlinks not followed)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.is_symlink())
        return [inspect_file(f, allow=allow) for f in files]
    return [inspect_file(p, allow=allow)]
