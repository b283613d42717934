"""A corpus of model files for ``trustbench inspect``: malicious ones, benign ones, odd ones.

``build_corpus(out)`` writes one file per case into ``out`` (a small folder for the ONNX
cases that need a neighbouring data file) and ``out/manifest.json``, a list with one entry
per case::

    {"name", "file", "format", "malicious", "expect", "source", "what", "marker"}

``expect`` is the verdict a scanner should reach: ``unsafe`` (malicious), ``safe`` (benign,
must not be flagged), ``code`` (TorchScript: the file carries code, but nothing runs at
load), ``unreadable`` (a corrupt file), ``review`` (a full ``nn.Module`` pickle that imports
the user's own class). ``file`` is relative to ``out``. Run it with
``python benchmarks/inspect_corpus.py --out DIR``; it is deterministic for one set of
library versions and takes a few seconds.

Safety
------
Nothing here is ever unpickled or loaded. Malicious pickles are assembled opcode by opcode,
or pickled from an object whose ``__reduce__`` names the callable (pickling runs nothing).
Every payload is harmless should it ever be loaded by mistake: it writes the marker file
``$TB_PAYLOAD_DIR/<case name>`` (default ``/tmp/tb-payloads``) through ``builtins.exec``,
``eval`` or another code-running gadget, or it runs the shell command ``true``, prints,
asks ``pip`` for its version, or fails with an exception before doing anything (a
``webbrowser.open()`` without a URL, a ``torch.load`` of a missing file). An entry's
``marker`` names its marker file when it has one, so a test can prove that nothing ran.

Sources
-------
Cases are named after the advisory or write-up that describes them; ``source`` cites it.

* picklescan's security advisories (https://github.com/mmaitre314/picklescan/security),
  its test data (``tests/init_data_files.py``), and issue #22 (memo games);
* Sonatype's picklescan findings: CVE-2025-1716 (``pip.main``), CVE-2025-1889 (extensions),
  CVE-2025-1944 (ZIP name mismatch, GHSA-7q5r-7gvp-wc82), CVE-2025-1945 (ZIP flag bits,
  GHSA-w8jq-xcqf-f792);
* JFrog, "Unveiling 3 zero-day vulnerabilities in PickleScan" (2025-12): CVE-2025-10155
  (extension), CVE-2025-10156 (ZIP CRC), CVE-2025-10157 (submodule import);
* ReversingLabs, "nullifAI" (2025-02): a payload at the start of a broken pickle;
* fickling's README (payload injection into an existing pickle), modelscan's docs
  (``docs/severity_levels.md``, ``docs/model_serialization_attacks.md``);
* Slaviero, "Sour Pickles" (Black Hat USA 2011);
* CPython ``Lib/pickle.py``, ``Lib/pickletools.py``, ``Lib/_compat_pickle.py``;
  PyTorch ``torch/serialization.py`` (zip, legacy and tar formats); joblib
  ``numpy_pickle.py``; NumPy's ``.npy`` format; skops' persistence docs;
* ONNX external data: CVE-2022-25882, CVE-2024-27318, CVE-2026-27489;
* the safetensors format (https://github.com/huggingface/safetensors).
"""

from __future__ import annotations

import _compat_pickle
import argparse
import contextlib
import functools
import importlib
import io
import json
import os
import pickle
import pickletools
import struct
import sys
import tarfile
import types
import warnings
import zipfile
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import torch
    from torch import nn
except ImportError:  # the torch cases are skipped, with a note
    torch = None
    nn = None

__all__ = ["DEFAULT_OUT", "EXPECTS", "PAYLOAD_DEFAULT", "PAYLOAD_ENV", "build_corpus", "main"]

PAYLOAD_ENV = "TB_PAYLOAD_DIR"
PAYLOAD_DEFAULT = "/tmp/tb-payloads"
DEFAULT_OUT = Path(__file__).resolve().parent / ".inspect-corpus"
EXPECTS = ("unsafe", "safe", "code", "unreadable", "review")
# The full-module pickle names its class here rather than after this file, so that the
# bytes do not depend on whether the script runs as __main__ or is imported.
_USER_MODULE = "tb_corpus_models"

_GHSA = "https://github.com/mmaitre314/picklescan/security/advisories/"
_PS = "https://github.com/mmaitre314/picklescan"
_PS_TESTS = f"{_PS}/blob/main/tests/init_data_files.py"
_MODELSCAN_SEVERITY = "https://github.com/protectai/modelscan/blob/main/docs/severity_levels.md"
_MODELSCAN_ATTACKS = "https://github.com/protectai/modelscan/blob/main/docs/model_serialization_attacks.md"
_FICKLING = "https://github.com/trailofbits/fickling#readme"
_CPY = "https://github.com/python/cpython/blob/3.11/Lib/"
_TORCH_SER = "https://github.com/pytorch/pytorch/blob/main/torch/serialization.py"
_JFROG = "https://jfrog.com/blog/unveiling-3-zero-day-vulnerabilities-in-picklescan/"
_NULLIFAI = "ReversingLabs 'nullifAI' (2025-02; Hugging Face glockr1/ballr7)"
_SOUR = ("https://sensepost.com/cms/resources/conferences/2011/sour_pickles/"
         "BH_US_11_Slaviero_Sour_Pickles.pdf")
_JOBLIB = "https://joblib.readthedocs.io/en/stable/persistence.html"
_NPY = "https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html"
_SKOPS = "https://skops.readthedocs.io/en/stable/persistence.html"
_SAFETENSORS = "https://github.com/huggingface/safetensors#format"
_ONNX_EXT = "https://onnx.ai/onnx/repo-docs/ExternalData.html"


# --------------------------------------------------------------------------- pickle assembly


@dataclass(frozen=True)
class G:
    """An import: ``GLOBAL`` below protocol 4, ``STACK_GLOBAL`` from 4, as CPython writes it.

    ``op`` forces one of them (``"global"``/``"stack"``); ``fix_imports`` renames Python 3
    modules to their Python 2 names below protocol 3 (``builtins`` -> ``__builtin__``), as
    the pickler does.
    """

    module: str
    name: str
    op: str = "auto"
    fix_imports: bool = True


@dataclass(frozen=True)
class Call:
    """``func(*args)`` at load time: ``func``, the argument tuple, ``REDUCE``."""

    func: Any
    args: tuple = ()


@dataclass(frozen=True)
class Build:
    """``obj`` then ``state`` then ``BUILD`` (``__setstate__``, or a dict/slot update)."""

    obj: Any
    state: Any


@dataclass(frozen=True)
class Then:
    """Run ``first`` and drop its value (``POP``), then push ``value``."""

    first: Any
    value: Any


@dataclass(frozen=True)
class Raw:
    """Opcodes written as they are."""

    ops: bytes


def _str_ops(s: str, proto: int) -> bytes:
    if proto == 0:
        for ch, rep in (("\\", "\\u005c"), ("\0", "\\u0000"), ("\n", "\\u000a"), ("\r", "\\u000d"),
                        ("\x1a", "\\u001a")):
            s = s.replace(ch, rep)
        return pickle.UNICODE + s.encode("raw-unicode-escape") + b"\n"
    b = s.encode("utf-8", "surrogatepass")
    if proto >= 4 and len(b) < 256:
        return pickle.SHORT_BINUNICODE + bytes([len(b)]) + b
    return pickle.BINUNICODE + struct.pack("<I", len(b)) + b


def _int_ops(v: int, proto: int) -> bytes:
    small = -0x80000000 <= v < 0x80000000
    if proto >= 1 and 0 <= v < 0x100:
        return pickle.BININT1 + bytes([v])
    if proto >= 1 and 0 <= v < 0x10000:
        return pickle.BININT2 + struct.pack("<H", v)
    if proto >= 1 and small:
        return pickle.BININT + struct.pack("<i", v)
    if proto >= 2:
        b = pickle.encode_long(v)
        return pickle.LONG1 + bytes([len(b)]) + b
    return pickle.INT + str(v).encode() + b"\n" if small else pickle.LONG + str(v).encode() + b"L\n"


def _global_ops(g: G, proto: int) -> bytes:
    op = g.op if g.op != "auto" else ("stack" if proto >= 4 else "global")
    if op == "stack":
        return _str_ops(g.module, proto) + _str_ops(g.name, proto) + pickle.STACK_GLOBAL
    module, name = g.module, g.name
    if g.fix_imports and proto < 3:
        if (module, name) in _compat_pickle.REVERSE_NAME_MAPPING:
            module, name = _compat_pickle.REVERSE_NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.REVERSE_IMPORT_MAPPING:
            module = _compat_pickle.REVERSE_IMPORT_MAPPING[module]
    return pickle.GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"


def enc(v: Any, proto: int) -> bytes:
    """The opcodes that push ``v`` (literals, containers and the nodes above)."""
    if isinstance(v, Raw):
        return v.ops
    if isinstance(v, G):
        return _global_ops(v, proto)
    if isinstance(v, Call):
        return enc(v.func, proto) + enc(tuple(v.args), proto) + pickle.REDUCE
    if isinstance(v, Build):
        return enc(v.obj, proto) + enc(v.state, proto) + pickle.BUILD
    if isinstance(v, Then):
        return enc(v.first, proto) + pickle.POP + enc(v.value, proto)
    if v is None:
        return pickle.NONE
    if isinstance(v, bool):
        if proto >= 2:
            return pickle.NEWTRUE if v else pickle.NEWFALSE
        return pickle.TRUE if v else pickle.FALSE
    if isinstance(v, int):
        return _int_ops(v, proto)
    if isinstance(v, str):
        return _str_ops(v, proto)
    if isinstance(v, bytes):
        if proto < 3:  # how Python 3 writes bytes for Python 2 readers
            return enc(Call(G("_codecs", "encode"), (v.decode("latin-1"), "latin1")), proto)
        if len(v) < 256:
            return pickle.SHORT_BINBYTES + bytes([len(v)]) + v
        return pickle.BINBYTES + struct.pack("<I", len(v)) + v
    if isinstance(v, tuple):
        items = b"".join(enc(x, proto) for x in v)
        if not v:
            return pickle.EMPTY_TUPLE if proto >= 1 else pickle.MARK + pickle.TUPLE
        if proto >= 2 and len(v) <= 3:
            return items + (pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3)[len(v) - 1]
        return pickle.MARK + items + pickle.TUPLE
    if isinstance(v, list):
        items = b"".join(enc(x, proto) for x in v)
        if proto == 0:
            return pickle.MARK + items + pickle.LIST
        return pickle.EMPTY_LIST + (pickle.MARK + items + pickle.APPENDS if v else b"")
    if isinstance(v, dict):
        items = b"".join(enc(k, proto) + enc(x, proto) for k, x in v.items())
        if proto == 0:
            return pickle.MARK + items + pickle.DICT
        return pickle.EMPTY_DICT + (pickle.MARK + items + pickle.SETITEMS if v else b"")
    raise TypeError(f"cannot assemble {type(v).__name__}")


def dump(v: Any, proto: int, *, frame: bool = True) -> bytes:
    """A whole pickle: ``PROTO`` (2+), one ``FRAME`` (4+), the value, ``STOP``."""
    body = enc(v, proto) + pickle.STOP
    head = pickle.PROTO + bytes([proto]) if proto >= 2 else b""
    if proto >= 4 and frame:
        head += pickle.FRAME + struct.pack("<Q", len(body))
    return head + body


def _inject(pkl: bytes, payload: Any) -> bytes:
    """``payload`` run first, its value dropped, then the original pickle (fickling-style)."""
    if pkl[:1] != pickle.PROTO or pkl[1] >= 4:
        raise ValueError("expected a protocol 2 or 3 pickle")
    return pkl[:2] + enc(payload, pkl[1]) + pickle.POP + pkl[2:]


def marker_code(case: str) -> str:
    """One Python expression (fit for ``eval`` and ``exec``) that writes the case's marker."""
    d = f"__import__('os').environ.get({PAYLOAD_ENV!r}, {PAYLOAD_DEFAULT!r})"
    return (f"(lambda p: (p.mkdir(parents=True, exist_ok=True), (p / {case!r}).write_text('x')))"
            f"(__import__('pathlib').Path({d}))")


def _exec(case: str) -> Call:
    return Call(G("builtins", "exec"), (marker_code(case),))


def _system(module: str = "os") -> Call:
    return Call(G(module, "system"), ("true",))


class _ExecOnLoad:
    """Pickles as ``builtins.exec(<marker code>)``; for joblib and ``np.save`` (never loaded)."""

    def __init__(self, case: str) -> None:
        self.case = case

    def __reduce__(self) -> tuple:
        return exec, (marker_code(self.case),)


# --------------------------------------------------------------------------- containers


def _zip(members: list[dict], *, align: int = 64) -> bytes:
    """A zip written as PyTorch writes one, with hooks for the broken variants.

    Each member is ``{"name", "data"}`` plus optional ``flag`` (central directory and local
    header), ``local_flag``, ``local_name``, ``crc`` and ``deflate``. Like torch (miniz):
    flag bits 0x808 (data descriptor, UTF-8), stored, zero timestamps, data aligned to 64
    bytes by an ``FB`` extra field of ``Z`` padding. No zip64 records (torch adds them).
    """
    out, cd = bytearray(), bytearray()
    for m in members:
        name, data = m["name"].encode(), m["data"]
        lname = m.get("local_name", m["name"]).encode()
        crc = m.get("crc", zlib.crc32(data))
        flag = m.get("flag", 0x808)
        lflag = m.get("local_flag", flag)
        method, stored = 0, data
        if m.get("deflate"):
            co = zlib.compressobj(6, zlib.DEFLATED, -15)
            method, stored = 8, co.compress(data) + co.flush()
        offset = len(out)
        pad = (-(offset + 30 + len(lname) + 4)) % align
        extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
        lcrc, lcs, lus = (0, 0, 0) if lflag & 0x8 else (crc, len(stored), len(data))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 0, lflag, method, 0, 0, lcrc, lcs, lus,
                           len(lname), len(extra)) + lname + extra + stored
        if lflag & 0x8:
            out += struct.pack("<4sIII", b"PK\x07\x08", crc, len(stored), len(data))
        cd += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 0, 0, flag, method, 0, 0, crc,
                          len(stored), len(data), len(name), 0, 0, 0, 0, 0, offset) + name
    cd_offset = len(out)
    out += cd + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd),
                            cd_offset, 0)
    return bytes(out)


def _plain_zip(members: list[tuple[str, bytes]], *, deflate: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            info.create_system, info.external_attr = 3, 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _split_pickles(data: bytes, n: int) -> tuple[list[bytes], bytes]:
    """The first ``n`` pickles of a stream (found by walking opcodes) and the rest."""
    parts, pos = [], 0
    for _ in range(n):
        end = next(pos + p + 1 for op, _arg, p in pickletools.genops(data[pos:]) if op.name == "STOP")
        parts.append(data[pos:end])
        pos = end
    return parts, data[pos:]


# --------------------------------------------------------------------------- the corpus


@dataclass
class _Corpus:
    out: Path
    entries: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, file: str, data: bytes, *, fmt: str, expect: str, source: str, what: str,
            marker: bool = False, extra: dict[str, bytes] | None = None) -> Path:
        if expect not in EXPECTS:
            raise ValueError(f"{name}: unknown expect {expect!r}")
        if any(e["name"] == name for e in self.entries):
            raise ValueError(f"duplicate case {name!r}")
        path = self.out / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        for rel, blob in (extra or {}).items():
            (path.parent / rel).write_bytes(blob)
        self.entries.append({"name": name, "file": file, "format": fmt, "malicious": expect == "unsafe",
                             "expect": expect, "source": source, "what": what,
                             "marker": name if marker else None})
        return path

    def skip(self, what: str, why: str) -> None:
        print(f"inspect_corpus: skipped {what}: {why}", file=sys.stderr)
        self.skipped.append((what, why))

    def need(self, module: str, what: str) -> Any:
        try:
            return importlib.import_module(module)
        except ImportError:
            self.skip(what, f"{module} is not installed")
            return None


def _plain_pickles(c: _Corpus) -> None:
    def bad(name: str, v: Any, proto: int, source: str, what: str, *, marker: bool = False,
            ext: str = ".pkl", raw: bytes | None = None) -> None:
        data = raw if raw is not None else dump(v, proto)
        c.add(name, name + ext, data, fmt="pickle", expect="unsafe", source=source, what=what, marker=marker)

    # 1. os.system through GLOBAL/STACK_GLOBAL + REDUCE, at every protocol, and its aliases
    for proto in range(6):
        how = "STACK_GLOBAL" if proto >= 4 else "GLOBAL"
        bad(f"os-system-proto{proto}", _system(), proto, _MODELSCAN_ATTACKS,
            f"protocol {proto}: os.system('true') by {how} + REDUCE")
    bad("posix-system", _system("posix"), 2, _MODELSCAN_SEVERITY,
        "posix.system('true'): os.system as a pickle made on Linux names it")
    bad("nt-system", _system("nt"), 2, _MODELSCAN_SEVERITY,
        "nt.system('true'): os.system as a pickle made on Windows names it")

    # 2. memo games: the strings STACK_GLOBAL pops come from the memo, decoys around them
    s4, u0 = functools.partial(_str_ops, proto=4), functools.partial(_str_ops, proto=0)
    get, put = pickle.BINGET, pickle.BINPUT
    ops = (s4("builtins") + put + b"\x00" + pickle.POP + s4("exec") + put + b"\x01" + pickle.POP
           + s4("collections") + s4("OrderedDict") + pickle.POP + pickle.POP
           + get + b"\x00" + get + b"\x01" + pickle.STACK_GLOBAL
           + enc((marker_code("memo-stack-global-exec"),), 4) + pickle.REDUCE)
    bad("memo-stack-global-exec", Raw(ops), 4, "https://github.com/promptfoo/modelaudit/pull/518",
        "builtins.exec via STACK_GLOBAL of two BINGETs; the last strings pushed are a decoy "
        "collections.OrderedDict", marker=True)
    slot0, slot1 = struct.pack("<I", 70000), struct.pack("<I", 70001)
    lput, lget = pickle.LONG_BINPUT + slot0, pickle.LONG_BINGET + slot0
    lput1, lget1 = pickle.LONG_BINPUT + slot1, pickle.LONG_BINGET + slot1
    ops = (s4("torch") + lput + pickle.POP + s4("FloatStorage") + lput1 + pickle.POP
           + s4("builtins") + lput + pickle.POP + s4("eval") + lput1 + pickle.POP
           + lget + lget1 + pickle.STACK_GLOBAL
           + enc((marker_code("memo-overwrite-eval"),), 4) + pickle.REDUCE)
    bad("memo-overwrite-eval", Raw(ops), 4, f"{_PS}/issues/22",
        "builtins.eval via LONG_BINGET of memo slots first filled with torch.FloatStorage, "
        "then overwritten (the unpickler allows it; pickletools.dis rejects it)", marker=True)
    ops = (u0("os") + b"p2\n" + pickle.POP + u0("system") + b"p3\n" + pickle.POP
           + u0("torch") + b"p0\n" + pickle.POP + u0("LongStorage") + b"p1\n" + pickle.POP
           + b"g2\n" + b"g3\n" + pickle.STACK_GLOBAL + pickle.MARK + u0("true") + pickle.TUPLE
           + pickle.REDUCE + pickle.STOP)
    bad("memo-put-get-ctf", None, 0, f"{_PS}/issues/22",
        "imaginaryctf 'Safe Pickle': protocol-0 PUT/GET feed STACK_GLOBAL os.system('true') "
        "past decoy torch.LongStorage strings", raw=ops)
    ops = (pickle.STRING + b"'os'\n" + pickle.STRING + b"'system'\n" + pickle.STACK_GLOBAL
           + pickle.STRING + b"'true'\n" + pickle.TUPLE1 + pickle.REDUCE + pickle.STOP)
    bad("string-opcode-stack-global", None, 0, f"{_GHSA}GHSA-9gvj-pp9x-gcfr",
        "STACK_GLOBAL of two classic STRING opcodes: os.system('true')", raw=ops)

    # 3. CVE-2025-1716
    bad("pip-main", Call(G("pip", "main"), (["--version"],)), 0, "CVE-2025-1716",
        "pip.main(['--version']) (the advisory installs a package; this asks for pip's version)")

    # 4. code-running callables that blocklists missed
    m = "runpy-run-code"
    bad(m, Call(G("runpy", "_run_code"), (marker_code(m), {})), 4, f"{_PS}/pull/27",
        "runpy._run_code(<marker code>, {})", marker=True)
    bad("subprocess-popen", Call(G("subprocess", "Popen"), (["true"],)), 4, _MODELSCAN_SEVERITY,
        "subprocess.Popen(['true'])")
    m = "importlib-getattr-chain"
    chain = Call(G("builtins", "getattr"), (Call(G("importlib", "import_module"), ("builtins",)), "exec"))
    bad(m, Call(chain, (marker_code(m),)), 4, f"{_PS}/pull/74",
        "getattr(importlib.import_module('builtins'), 'exec')(<marker code>): no dangerous name is "
        "imported, only importlib.import_module and getattr", marker=True)
    imp_os = Call(G("builtins", "__import__"), ("os",))
    m = "operator-attrgetter"
    getter = Call(G("operator", "attrgetter"), ("exec",))
    bad(m, Call(Call(getter, (Call(G("builtins", "__import__"), ("builtins",)),)), (marker_code(m),)), 4,
        f"{_PS}/commit/108b06040de644c7aeb5f22d8b10dd9c5d282386",
        "operator.attrgetter('exec')(__import__('builtins'))(<marker code>)", marker=True)
    getter = Call(G("_operator", "attrgetter"), ("system",))
    bad("operator-attrgetter-private", Call(Call(getter, (imp_os,)), ("true",)), 0,
        f"{_GHSA}GHSA-46h3-79wf-xr6c", "protocol 0: _operator.attrgetter('system')(__import__('os'))('true')")
    caller = Call(G("_operator", "methodcaller"), ("system", "true"))
    bad("operator-methodcaller-private", Call(caller, (imp_os,)), 0, f"{_GHSA}GHSA-955r-x9j8-7rhh",
        "protocol 0: _operator.methodcaller('system', 'true')(__import__('os'))")
    m = "functools-partial-exec"
    bad(m, Call(Call(G("functools", "partial"), (G("builtins", "exec"), marker_code(m))), ()), 4,
        f"{_GHSA}GHSA-655q-fx9r-782v", "functools.partial(builtins.exec, <marker code>)()", marker=True)
    ghost = "/nonexistent/tb-corpus/missing-model.bin"
    torch_load = G("torch.serialization", "load")
    part = Build(Call(G("functools", "partial"), (torch_load,)),
                 (torch_load, (ghost,), {"weights_only": False}, None))
    bad("functools-partial-torch-load", Call(part, ()), 4, f"{_GHSA}GHSA-655q-fx9r-782v",
        f"functools.partial(torch.load, {ghost!r}, weights_only=False)(): loads another file "
        "(missing here)")
    hub = G("torch.hub", "load")
    part = Build(Call(G("functools", "partial"), (hub,)),
                 (hub, ("/nonexistent/tb-corpus-hub", "tiny"), {"source": "local"}, None))
    bad("torch-hub-load", Call(part, ()), 4, "https://github.com/protectai/modelscan/issues/338",
        "torch.hub.load('/nonexistent/tb-corpus-hub', 'tiny', source='local'): indirect model "
        "loading (fails: no such folder)")
    m = "numpy-runstring"
    bad(m, Call(G("numpy.testing._private.utils", "runstring"), (marker_code(m), {})), 4,
        f"{_PS}/pull/40", "numpy.testing._private.utils.runstring(<marker code>, {}): exec", marker=True)
    m = "timeit-timeit"
    bad(m, Call(G("timeit", "timeit"), ("pass", marker_code(m), G("time", "perf_counter"), 1)), 4,
        f"{_GHSA}GHSA-v7x6-rv5q-mhwc", "timeit.timeit('pass', setup=<marker code>, number=1)", marker=True)
    m = "code-interactive-interpreter"
    interp = Call(G("code", "InteractiveInterpreter"), ())
    bad(m, Call(G("code", "InteractiveInterpreter.runcode"), (interp, marker_code(m))), 4,
        f"{_GHSA}GHSA-cj3c-v495-4xqh",
        "code.InteractiveInterpreter.runcode(InteractiveInterpreter(), <marker code>): dotted "
        "STACK_GLOBAL name", marker=True)
    m = "cprofile-run"
    bad(m, Call(G("cProfile", "run"), (marker_code(m),)), 4, f"{_GHSA}GHSA-49gj-c84q-6qm9",
        "cProfile.run(<marker code>) (prints profile stats)", marker=True)
    bad("pydoc-pipepager", Call(G("pydoc", "pipepager"), ("", "true")), 4, f"{_GHSA}GHSA-655q-fx9r-782v",
        "pydoc.pipepager('', 'true'): runs a shell command")
    bad("webbrowser-open", Call(G("webbrowser", "open"), ()), 4, _MODELSCAN_SEVERITY,
        "webbrowser.open() with no URL: the import and call are there, the call raises TypeError")
    m = "asyncio-submodule-start"
    bad(m, Call(G("asyncio.unix_events", "_UnixSubprocessTransport._start"),
                ({}, "true", True, None, None, None, 0)), 4,
        f"CVE-2025-10157 ({_JFROG})",
        "asyncio.unix_events._UnixSubprocessTransport._start({}, 'true', shell=True): a "
        "submodule of a blocked package, dotted name")

    # 5. names that _compat_pickle renames for protocols below 3
    for proto in (0, 2):
        m = f"builtin-eval-proto{proto}"
        bad(m, Call(G("__builtin__", "eval", fix_imports=False), (marker_code(m),)), proto,
            f"{_CPY}_compat_pickle.py", f"protocol {proto}: __builtin__.eval, which loads as builtins.eval",
            marker=True)
    m = "cpickle-loads-nested"
    inner = dump(_exec(m), 2)
    bad(m, Call(G("cPickle", "loads", fix_imports=False), (inner,)), 2, f"{_CPY}_compat_pickle.py",
        "cPickle.loads (loads as pickle.loads) of an inner exec pickle given as _codecs.encode bytes",
        marker=True)
    m = "sour-pickles-compile-eval"
    code = Call(G("builtins", "compile"), (marker_code(m), "<tb-corpus>", "exec"))
    bad(m, Call(G("builtins", "eval"), (code,)), 0, _SOUR,
        "protocol 0: __builtin__.eval(__builtin__.compile(<marker code>, ..., 'exec'))", marker=True)

    # 6. INST and OBJ
    m = "inst-builtin-exec"
    bad(m, None, 0, _PS_TESTS, "INST __builtin__ exec with the marker code (picklescan malicious10)",
        raw=pickle.MARK + u0(marker_code(m)) + pickle.INST + b"__builtin__\nexec\n" + pickle.STOP,
        marker=True)
    bad("inst-os-system", None, 0, f"{_CPY}pickletools.py",
        "INST os system: os.system('true') instantiated from the marked arguments",
        raw=pickle.MARK + u0("true") + pickle.INST + b"os\nsystem\n" + pickle.STOP)
    bad("obj-os-system", None, 1, f"{_CPY}pickletools.py",
        "protocol 1 OBJ: MARK, GLOBAL os.system, 'true', OBJ calls it",
        raw=pickle.MARK + enc(G("os", "system"), 1) + enc("true", 1) + pickle.OBJ + pickle.STOP)

    # 7. NEWOBJ / NEWOBJ_EX: the class is created without __init__
    popen = G("subprocess", "Popen")
    bad("newobj-subprocess-popen", Raw(enc(popen, 2) + enc((["true"],), 2) + pickle.NEWOBJ), 2,
        "https://peps.python.org/pep-0307/",
        "protocol 2 NEWOBJ of subprocess.Popen(['true']) (Popen.__new__ only), written as CPython "
        "writes it: GLOBAL 'commands Popen', which _compat_pickle maps back to subprocess")
    bad("newobj-ex-subprocess-popen", Raw(enc(popen, 4) + enc((), 4) + enc({"args": ["true"]}, 4)
                                          + pickle.NEWOBJ_EX), 4,
        "https://peps.python.org/pep-3154/", "NEWOBJ_EX subprocess.Popen(args=['true'])")

    # 8. BUILD: swap the function of a partial; set attributes on an imported module
    m = "build-partial-setstate"
    v = Call(Build(Call(G("functools", "partial"), (G("builtins", "print"),)),
                   (G("builtins", "exec"), (marker_code(m),), None, None)), ())
    bad(m, v, 4, f"{_CPY}functools.py",
        "functools.partial(print), then BUILD (__setstate__) makes it partial(exec, <marker code>), "
        "then it is called", marker=True)
    patch = {"tb_corpus_patched": G("builtins", "exec")}
    bad("build-module-setattr", Build(G("json", "decoder"), (None, patch)), 4, f"{_CPY}pickle.py",
        "BUILD with slot state on the imported module json.decoder: setattr monkey-patching "
        "(sets json.decoder.tb_corpus_patched = exec)")

    # 9. nested pickles
    for mod, m in (("pickle", "nested-pickle-loads"), ("_pickle", "nested-underscore-pickle-loads")):
        bad(m, Call(G(mod, "loads"), (dump(_exec(m), 4),)), 4, _PS_TESTS,
            f"{mod}.loads(<inner pickle that execs the marker code>) (picklescan malicious13)", marker=True)
    m = "nested-joblib-load"
    bio = Call(G("_io", "BytesIO"), (dump(_exec(m), 4),))
    bad(m, Call(G("joblib", "load"), (bio,)), 4, f"{_PS}/blob/main/src/picklescan/scanner.py",
        "joblib.load(io.BytesIO(<inner exec pickle>))", marker=True)
    m = "nested-numpy-load"
    bio = Call(G("_io", "BytesIO"), (dump(_exec(m), 4),))
    bad(m, Call(G("numpy", "load"), (bio, None, True)), 4, f"{_PS}/blob/main/src/picklescan/scanner.py",
        "numpy.load(io.BytesIO(<inner exec pickle>), None, allow_pickle=True)", marker=True)

    # 10. stacked and broken streams
    m = "stacked-benign-then-malicious"
    bad(m, None, 4, _PS_TESTS, "a benign pickle of ['a', 'b', 'c'] followed by an exec pickle "
        "(picklescan malicious6)", raw=pickle.dumps(["a", "b", "c"], protocol=4) + dump(_exec(m), 4),
        marker=True)
    m = "nullifai-broken-pickle"
    tail = (pickle.EMPTY_DICT + pickle.BINPUT + b"\x00" + pickle.MARK + enc("weight", 2)
            + pickle.BINUNICODE + struct.pack("<I", 0xFFFF) + b"ab")
    bad(m, None, 2, _NULLIFAI, "exec at the start of the stream, then a dict cut off mid-string "
        "with no STOP: the payload runs before the stream breaks",
        raw=pickle.PROTO + b"\x02" + enc(_exec(m), 2) + pickle.POP + tail, marker=True)

    # benign pickles
    od = OrderedDict([("weight", [0.5, -0.25]), ("bias", 0.125), ("name", "tiny")])
    c.add("ordereddict", "ordereddict.pkl", pickle.dumps(od, protocol=4), fmt="pickle", expect="safe",
          source=f"{_CPY}collections/__init__.py", what="a collections.OrderedDict of floats and strings")
    plain = {"list": [1, 2, 3], "set": {1, 2}, "frozenset": frozenset({3, 4}), "bytearray": bytearray(b"ab"),
             "complex": 1 + 2j, "tuple": (1, "a"), "bytes": b"xy", "none": None, "float": 1.5, "flag": True}
    for proto in (0, 2, 5):
        c.add(f"builtins-proto{proto}", f"builtins-proto{proto}.pkl", pickle.dumps(plain, protocol=proto),
              fmt="pickle", expect="safe", source=f"{_CPY}pickle.py",
              what=f"protocol {proto}: a dict of list, set, frozenset, bytearray, complex, bytes, ...")

    c.add("zip-member-named-txt", "zip-member-named-txt.zip",
          _plain_zip([("data.txt", dump(_exec("zip-member-named-txt"), 4))]), fmt="zip", expect="unsafe",
          source=f"CVE-2025-1889 ({_PS_TESTS}: malicious1_wrong_ext.zip)",
          what="a plain zip whose only member, data.txt, is an exec pickle", marker=True)


if torch is not None:

    class TinyNet(nn.Module):
        """A linear layer and a ReLU, on plain parameters; pickles as ``tb_corpus_models.TinyNet``.

        No ``nn.Linear`` inside: TorchScript writes a submodule's ``__constants__`` in set
        order, which follows ``PYTHONHASHSEED``, and the corpus is to be deterministic.
        """

        __module__ = _USER_MODULE

        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(4, 3))
            self.bias = nn.Parameter(torch.zeros(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x @ self.weight + self.bias)


@contextlib.contextmanager
def _user_module() -> Iterator[None]:
    """``tb_corpus_models`` in ``sys.modules`` while TinyNet is pickled or scripted."""
    mod = types.ModuleType(_USER_MODULE)
    mod.__file__ = __file__
    mod.TinyNet = TinyNet
    sys.modules[_USER_MODULE] = mod
    try:
        yield
    finally:
        sys.modules.pop(_USER_MODULE, None)


def _torch_bytes(obj: Any, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


def _torch_legacy(obj: Any) -> tuple[list[bytes], bytes]:
    """The legacy format's five pickles and its raw storages, with deterministic storage keys.

    torch's legacy writer names each storage by its memory address and orders the raw
    storages by that name, so ``obj`` should hold one storage; its key becomes ``"0"``, ``"1"``...
    in the main and the storage-key pickles (pickles below protocol 4 hold no offsets).
    """
    parts, storages = _split_pickles(_torch_bytes(obj, _use_new_zipfile_serialization=False), 5)
    keys = [arg for op, arg, _ in pickletools.genops(parts[4]) if op.name == "BINUNICODE"]
    for i, key in enumerate(keys):
        old, new = _str_ops(key, 2), _str_ops(str(i), 2)
        parts[3], parts[4] = (part.replace(old, new) for part in parts[3:5])
    return parts, storages


def _torch_files(c: _Corpus) -> None:
    if torch is None:
        c.skip("the PyTorch cases", "torch is not installed")
        return
    add = c.add
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        sd = OrderedDict([("fc.weight", torch.randn(3, 4)), ("fc.bias", torch.zeros(3))])
        flat = torch.randn(15)
        legacy_sd = OrderedDict([("fc.weight", flat[:12].view(3, 4)), ("fc.bias", flat[12:])])
        lin = nn.Linear(3, 2)
        opt = torch.optim.Adam(lin.parameters(), lr=0.01)
        lin(torch.randn(5, 3)).pow(2).sum().backward()
        opt.step()
        with _user_module():
            net = TinyNet()
            full = _torch_bytes(net)
            with warnings.catch_warnings():  # torch.jit.script is deprecated in torch 2.10+
                warnings.simplefilter("ignore")
                buf = io.BytesIO()
                torch.jit.save(torch.jit.script(net), buf)
                scripted = buf.getvalue()

    # benign
    path = c.out / "torch-state-dict.pt"
    torch.save(sd, path)  # saved by path: torch names the zip's folder after the file ("torch-state-dict/")
    add("torch-state-dict", path.name, path.read_bytes(), fmt="torch-zip", expect="safe", source=_TORCH_SER,
        what="torch.save of a state_dict (zip format; folder named after the file)")
    parts, storages = _torch_legacy(legacy_sd)
    add("torch-state-dict-legacy", "torch-state-dict-legacy.pt", b"".join(parts) + storages,
        fmt="torch-legacy", expect="safe",
        source=_TORCH_SER, what="torch.save(_use_new_zipfile_serialization=False) of a state_dict "
        "of two views of one storage: magic, version, sys_info, main and storage-key pickles, then "
        "the raw storage")
    add("torch-optimizer-state", "torch-optimizer-state.pt", _torch_bytes(opt.state_dict()), fmt="torch-zip",
        expect="safe", source=_TORCH_SER, what="an Adam optimizer's state_dict after one step")
    base = torch.arange(8, dtype=torch.float32)
    dtypes = {str(dt).removeprefix("torch."): torch.arange(4).to(dt) for dt in (
        torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.uint8, torch.int16, torch.int32,
        torch.int64, torch.bool, torch.complex64)}
    dtypes.update(base=base, view=base[2:6], scalar=torch.tensor(3.5))
    add("torch-tensor-dtypes", "torch-tensor-dtypes.pt", _torch_bytes(dtypes), fmt="torch-zip", expect="safe",
        source=_TORCH_SER, what="tensors of eleven dtypes, a 0-d tensor and a view sharing a storage")
    add("torch-full-module", "torch-full-module.pt", full, fmt="torch-zip", expect="review",
        source=_TORCH_SER,
        what="torch.save of a whole nn.Module: the pickle imports the user's class tb_corpus_models.TinyNet")
    add("torchscript-module", "torchscript-module.pt", scripted, fmt="torchscript", expect="code",
        source="https://pytorch.org/docs/stable/jit.html",
        what="torch.jit.save of a scripted TinyNet: code/ holds TorchScript source; nothing runs at load")

    # malicious zips, laid out as torch lays out its own (names, order, alignment, flags)
    members = [{"name": n, "data": d} for n, d in _zip_members(_torch_bytes(sd))]
    pkl_name = "archive/data.pkl"

    def variant(case: str, **changes: Any) -> bytes:
        out = []
        for mem in members:
            mem = dict(mem)
            if mem["name"] == pkl_name:
                mem["data"] = _inject(mem["data"], _exec(case))
                mem.update(changes)
            out.append(mem)
        return _zip(out)

    inj = "exec of the marker code injected before the state_dict in archive/data.pkl"
    add("torch-zip-data-pkl", "torch-zip-data-pkl.pt", variant("torch-zip-data-pkl"), fmt="torch-zip",
        expect="unsafe", source=_FICKLING, what=f"torch zip: {inj}", marker=True)
    add("torch-zip-bin-extension", "torch-zip-bin-extension.bin", variant("torch-zip-bin-extension"),
        fmt="torch-zip", expect="unsafe", source=f"CVE-2025-1889, CVE-2025-10155 ({_JFROG})",
        what=f"torch zip named .bin (pytorch_model.bin style): {inj}", marker=True)
    add("torch-zip-no-extension", "torch-zip-no-extension", variant("torch-zip-no-extension"),
        fmt="torch-zip", expect="unsafe", source=f"CVE-2025-1889 ({_GHSA}GHSA-769v-p64c-89pr)",
        what=f"torch zip with no file extension: {inj}", marker=True)
    add("torch-zip-deflated", "torch-zip-deflated.pt", variant("torch-zip-deflated", deflate=True),
        fmt="torch-zip", expect="unsafe", source=_TORCH_SER,
        what=f"torch zip with data.pkl deflated (torch reads it): {inj}", marker=True)
    for bit in (0x1, 0x20, 0x40):
        case = f"torch-zip-flag-0x{bit:x}"
        add(case, f"{case}.pt", variant(case, flag=0x808 | bit), fmt="torch-zip", expect="unsafe",
            source=f"CVE-2025-1945 ({_GHSA}GHSA-w8jq-xcqf-f792)",
            what=f"flag bit 0x{bit:x} set on data.pkl in the central directory and local header "
            f"(Python's zipfile refuses it; torch 2.13 refuses it too): {inj}", marker=True)
        case = f"torch-zip-local-flag-0x{bit:x}"
        add(case, f"{case}.pt", variant(case, local_flag=0x808 | bit), fmt="torch-zip", expect="unsafe",
            source=f"CVE-2025-1945 ({_GHSA}GHSA-w8jq-xcqf-f792)",
            what=f"flag bit 0x{bit:x} set on data.pkl in the local header only (torch loads it): {inj}",
            marker=True)
    add("torch-zip-name-mismatch", "torch-zip-name-mismatch.pt",
        variant("torch-zip-name-mismatch", local_name="archive/datap.kl"), fmt="torch-zip", expect="unsafe",
        source=f"CVE-2025-1944 ({_GHSA}GHSA-7q5r-7gvp-wc82)",
        what="local header names archive/datap.kl, the central directory archive/data.pkl (torch "
        f"loads it, zipfile refuses): {inj}", marker=True)
    add("torch-zip-bad-crc", "torch-zip-bad-crc.pt", variant("torch-zip-bad-crc", crc=0x12345678),
        fmt="torch-zip", expect="unsafe", source=f"CVE-2025-10156 ({_JFROG})",
        what=f"wrong CRC-32 for data.pkl (torch loads it, zipfile raises Bad CRC-32): {inj}", marker=True)
    renamed = [dict(mm, name="archive/data", data=_inject(mm["data"], _exec("torch-zip-renamed-member")))
               if mm["name"] == pkl_name else mm for mm in members]
    add("torch-zip-renamed-member", "torch-zip-renamed-member.pt", _zip(renamed), fmt="torch-zip",
        expect="unsafe", source=f"CVE-2025-1889 ({_GHSA}GHSA-769v-p64c-89pr)",
        what="torch zip whose pickle member is archive/data (no .pkl), with the exec injected", marker=True)
    hidden = [*members, {"name": "archive/extra/state", "data": dump(_exec("torch-zip-hidden-member"), 2)}]
    add("torch-zip-hidden-member", "torch-zip-hidden-member.pt", _zip(hidden), fmt="torch-zip",
        expect="unsafe", source="https://github.com/promptfoo/modelaudit/pull/1043",
        what="benign torch zip plus an extra member archive/extra/state (no extension) that is an "
        "exec pickle", marker=True)

    # legacy (non-zip) format and the old tar format
    m = "torch-legacy-malicious"
    add(m, f"{m}.pt", b"".join([*parts[:3], _inject(parts[3], _exec(m)), parts[4]]) + storages,
        fmt="torch-legacy", expect="unsafe", source=_TORCH_SER,
        what="legacy torch file: exec injected into the main pickle (the 4th of the stream)", marker=True)
    m = "torch-legacy-magic-eval"
    magic = dump(Call(G("builtins", "eval"), (hex(0x1950A86A20F9469CFC6C),)), 2)
    add(m, f"{m}.pt", b"".join([magic, *parts[1:3], _inject(parts[3], _exec(m)), parts[4]]) + storages,
        fmt="torch-legacy", expect="unsafe", source=f"{_GHSA}GHSA-97f8-7cmv-76j2",
        what="legacy torch file whose magic number is computed by eval('0x1950A86A20F9469CFC6C'), "
        "then an exec in the main pickle", marker=True)
    m = "torch-tar-malicious"
    sys_info = {"protocol_version": 1001, "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    tar = _tar([("sys_info", pickle.dumps(sys_info, protocol=2)),
                ("pickle", dump(Then(_exec(m), {}), 2)),
                ("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
                ("tensors", pickle.dumps(0, protocol=2))])
    add(m, f"{m}.pt", tar, fmt="torch-tar", expect="unsafe", source=_TORCH_SER,
        what="torch's old tar checkpoint (sys_info, pickle, storages, tensors); the 'pickle' member execs",
        marker=True)


def _joblib_malicious(c: _Corpus) -> None:
    joblib = c.need("joblib", "the malicious joblib cases")
    np = c.need("numpy", "the malicious joblib cases")
    if joblib is None or np is None:
        return
    for comp in (None, "zlib", "gzip", "bz2", "lzma", "xz"):
        name = "joblib-malicious" + (f"-{comp}" if comp else "")
        path = c.out / (name + ".joblib" + (_JOBLIB_EXT[comp] if comp else ""))
        obj = {"coef": np.linspace(-1.0, 1.0, 8), "intercept": 0.5, "hook": _ExecOnLoad(name)}
        joblib.dump(obj, path, compress=(comp, 3) if comp else 0)
        how = f"compressed with {comp}" if comp else "uncompressed"
        c.add(name, path.name, path.read_bytes(), fmt="joblib", expect="unsafe", source=_JOBLIB,
              what=f"joblib.dump ({how}) of a dict with a numpy array and an object that execs on load",
              marker=True)


_JOBLIB_EXT = {"zlib": ".z", "gzip": ".gz", "bz2": ".bz2", "lzma": ".lzma", "xz": ".xz"}


def _numpy_files(c: _Corpus) -> None:
    np = c.need("numpy", "the NumPy cases")
    if np is None:
        return

    def npy(arr: Any, **kw: Any) -> bytes:
        buf = io.BytesIO()
        np.save(buf, arr, **kw)
        return buf.getvalue()

    def npz(save: Callable, **arrays: Any) -> bytes:
        buf = io.BytesIO()
        save(buf, **arrays)
        return buf.getvalue()

    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    c.add("numpy-npy", "numpy-npy.npy", npy(weight), fmt="npy", expect="safe", source=_NPY,
          what="np.save of a float32 array")
    c.add("numpy-npz", "numpy-npz.npz", npz(np.savez, weight=weight, bias=np.zeros(3, np.int64)), fmt="npz",
          expect="safe", source=_NPY, what="np.savez of a float32 and an int64 array")
    c.add("numpy-npz-compressed", "numpy-npz-compressed.npz",
          npz(np.savez_compressed, weight=weight, mask=np.ones(4, bool)), fmt="npz", expect="safe",
          source=_NPY, what="np.savez_compressed (deflated members) of a float32 and a bool array")

    def objects(case: str) -> Any:
        arr = np.empty(2, dtype=object)
        arr[0], arr[1] = _ExecOnLoad(case), "label"
        return arr

    m = "numpy-npy-object-malicious"
    c.add(m, f"{m}.npy", npy(objects(m), allow_pickle=True), fmt="npy", expect="unsafe",
          source=f"{_NPY} (allow_pickle)",
          what="np.save of an object array: the pickle after the header execs",
          marker=True)
    m = "numpy-npz-object-malicious"
    c.add(m, f"{m}.npz", npz(np.savez, weight=weight, meta=objects(m)), fmt="npz", expect="unsafe",
          source=f"{_NPY} (allow_pickle)",
          what="np.savez: a float array and an object array whose pickle execs",
          marker=True)
    m = "numpy-npz-compressed-object-malicious"
    c.add(m, f"{m}.npz", npz(np.savez_compressed, weight=weight, meta=objects(m)), fmt="npz",
          expect="unsafe", source=f"{_NPY} (allow_pickle)",
          what="np.savez_compressed: the exec pickle sits in a deflated member", marker=True)


def _dataset(np: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = np.c_[rng.normal(size=(60, 2)), rng.integers(0, 3, size=(60, 1))]
    return x, (x[:, 0] + 0.5 * x[:, 2] > 0.5).astype(int)


def _sklearn_models(c: _Corpus, what: str) -> dict[str, Any] | None:
    if "sklearn" in c.cache:
        return c.cache["sklearn"]
    np = c.need("numpy", what)
    if np is None or c.need("sklearn", what) is None:
        return None
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x, y = _dataset(np)
    cols = ColumnTransformer([("num", StandardScaler(), [0, 1]),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), [2])])
    models = {"logreg": LogisticRegression(max_iter=1000),
              "forest": RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
              "pipeline": Pipeline([("cols", cols), ("clf", LogisticRegression(max_iter=1000))])}
    c.cache["sklearn"] = {k: m.fit(x, y) for k, m in models.items()}
    return c.cache["sklearn"]


def _sklearn_files(c: _Corpus) -> None:
    models = _sklearn_models(c, "the scikit-learn cases")
    if models is None:
        return
    joblib = c.need("joblib", "the scikit-learn joblib cases")
    desc = {"logreg": "LogisticRegression", "forest": "RandomForestClassifier (5 trees)",
            "pipeline": "Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), LogisticRegression)"}
    for key, model in models.items():
        for comp in (None, "zlib", "gzip", "bz2", "lzma", "xz") if joblib is not None else ():
            name = f"sklearn-{key}-joblib" + (f"-{comp}" if comp else "")
            path = c.out / (name + ".joblib" + (_JOBLIB_EXT[comp] if comp else ""))
            joblib.dump(model, path, compress=(comp, 3) if comp else 0)
            how = f"compressed with {comp}" if comp else "uncompressed"
            c.add(name, path.name, path.read_bytes(), fmt="joblib", expect="safe", source=_JOBLIB,
                  what=f"joblib.dump ({how}) of a fitted {desc[key]}")
        for proto in (2, 3, 4, 5):
            name = f"sklearn-{key}-pickle-proto{proto}"
            c.add(name, name + ".pkl", pickle.dumps(model, protocol=proto), fmt="pickle", expect="safe",
                  source="https://scikit-learn.org/stable/model_persistence.html",
                  what=f"pickle protocol {proto} of a fitted {desc[key]}")


def _skops_bytes(skops_io: Any, obj: Any, edit: Callable[[dict], None] | None = None) -> bytes:
    """``skops.io.dumps`` with object ids renumbered and timestamps fixed (deterministic).

    skops names nodes and array files by ``id()`` and stamps the zip with the current time.
    """
    members = dict(_zip_members(skops_io.dumps(obj)))
    schema = json.loads(members.pop("schema.json"))
    ids: dict[int, int] = {}
    renames: dict[str, str] = {}

    def num(v: int) -> int:
        return ids.setdefault(v, len(ids) + 1)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "__id__" and isinstance(v, int):
                    node[k] = num(v)
                elif k == "file" and isinstance(v, str) and v.split(".")[0].isdigit():
                    stem, _, ext = v.partition(".")
                    node[k] = renames[v] = f"{num(int(stem))}.{ext}"
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    if edit is not None:
        edit(schema)
    def order(item: tuple[str, bytes]) -> tuple[int, str]:
        stem = item[0].split(".")[0]
        return (int(stem) if stem.isdigit() else sys.maxsize, item[0])

    files = sorted(((renames.get(n, n), d) for n, d in members.items()), key=order)
    return _plain_zip([*files, ("schema.json", json.dumps(schema, indent=2).encode())])


def _skops_files(c: _Corpus) -> None:
    skops_io = c.need("skops.io", "the skops cases")
    models = _sklearn_models(c, "the skops cases") if skops_io is not None else None
    if models is None:
        return
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    c.add("skops-pipeline", "skops-pipeline.skops", _skops_bytes(skops_io, models["pipeline"]), fmt="skops",
          expect="safe", source=_SKOPS,
          what="skops.io.dumps of a fitted Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), "
          "LogisticRegression)")
    x, y = _dataset(np)
    tanh = Pipeline([("f", FunctionTransformer(np.tanh)), ("clf", LogisticRegression(max_iter=1000))])
    tanh.fit(x, y)

    def retarget(loader: str, old: str, new_module: str, new_name: str) -> Callable[[dict], None]:
        def edit(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("__loader__") == loader and node.get("__class__") == old:
                    node["__module__"], node["__class__"] = new_module, new_name
                for v in node.values():
                    edit(v)
            elif isinstance(node, list):
                for v in node:
                    edit(v)
        return edit

    for case, loader, old, mod, name, what in (
            ("skops-function-builtins-eval", "FunctionNode", "tanh", "builtins", "eval",
             "schema.json's FunctionNode for FunctionTransformer.func renamed from numpy.tanh to "
             "builtins.eval"),
            ("skops-function-os-system", "FunctionNode", "tanh", "os", "system",
             "schema.json's FunctionNode for FunctionTransformer.func renamed to os.system"),
            ("skops-object-subprocess-popen", "ObjectNode", "LogisticRegression", "subprocess", "Popen",
             "schema.json's ObjectNode for the classifier renamed to subprocess.Popen")):
        c.add(case, f"{case}.skops", _skops_bytes(skops_io, tanh, retarget(loader, old, mod, name)),
              fmt="skops", expect="unsafe", source=_SKOPS, what=what)


def _onnx_files(c: _Corpus) -> None:
    onnx = c.need("onnx", "the ONNX cases")
    np = c.need("numpy", "the ONNX cases") if onnx is not None else None
    if onnx is None or np is None:
        return
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(4, dtype=np.float32).reshape(2, 2)

    def model(location: str | None) -> bytes:
        t = numpy_helper.from_array(w, "W")
        if location is not None:
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            for key, value in (("location", location), ("offset", "0"), ("length", str(w.nbytes))):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["X", "W"], ["Y"])], "tb-corpus",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])], [t])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tb-corpus",
                              ir_version=8)
        return m.SerializeToString()

    c.add("onnx-inline", "onnx-inline.onnx", model(None), fmt="onnx", expect="safe", source=_ONNX_EXT,
          what="a one-MatMul ONNX graph with its weight inline")
    c.add("onnx-external-in-folder", "onnx-external-in-folder/model.onnx", model("weights.bin"), fmt="onnx",
          expect="safe", source=_ONNX_EXT, extra={"weights.bin": w.tobytes()},
          what="the weight in external data weights.bin next to the model")
    for case, location, source in (
            ("onnx-external-dotdot", "../../etc/passwd", "CVE-2022-25882"),
            ("onnx-external-absolute", "/etc/passwd", "CVE-2022-25882"),
            ("onnx-external-inner-dotdot", "weights/../../../etc/passwd", "CVE-2024-27318")):
        c.add(case, f"{case}.onnx", model(location), fmt="onnx", expect="unsafe", source=source,
              what=f"external data location {location!r} leaves the model's folder (a file read)")
    case = "onnx-external-symlink"
    link = c.out / case / "model" / "weights.bin"
    try:
        link.parent.mkdir(parents=True, exist_ok=True)
        (c.out / case / "outside.bin").write_bytes(w.tobytes())
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(os.path.join("..", "outside.bin"), link)
    except (OSError, NotImplementedError) as err:
        c.skip(case, f"cannot make a symlink here ({err})")
        return
    c.add(case, f"{case}/model/model.onnx", model("weights.bin"), fmt="onnx", expect="unsafe",
          source="CVE-2026-27489",
          what="location 'weights.bin' is a symlink to ../outside.bin, outside the model's folder")


def _safetensors(header: bytes, data: bytes, length: int | None = None) -> bytes:
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def _st_header(d: dict) -> bytes:
    h = json.dumps(d, separators=(",", ":")).encode()
    return h + b" " * (-len(h) % 8)


def _safetensors_files(c: _Corpus) -> None:
    data = struct.pack("<6f", 0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    w = {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    c.add("safetensors-valid", "safetensors-valid.safetensors",
          _safetensors(_st_header({"__metadata__": {"format": "pt"}, "weight": w}), data), fmt="safetensors",
          expect="safe", source=_SAFETENSORS, what="a valid safetensors file with one 2x3 float32 tensor")
    for case, blob, what in (
            ("safetensors-header-too-long", _safetensors(_st_header({"weight": w}), data, length=10**6),
             "the 8-byte header length (1e6) is larger than the file"),
            ("safetensors-header-not-json", _safetensors(b"{not json, really}      ", data),
             "the header is not JSON"),
            ("safetensors-overlapping-offsets",
             _safetensors(_st_header({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                      "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}), data),
             "two tensors whose data_offsets overlap ([0, 16] and [8, 24])")):
        c.add(case, f"{case}.safetensors", blob, fmt="safetensors", expect="unreadable", source=_SAFETENSORS,
              what=what)


def build_corpus(out: Path) -> list[dict]:
    """Write every case into ``out`` and ``out/manifest.json``; return the manifest entries."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    c = _Corpus(out)
    for section in (_plain_pickles, _torch_files, _joblib_malicious, _numpy_files, _sklearn_files,
                    _skops_files, _onnx_files, _safetensors_files):
        section(c)
    (out / "manifest.json").write_text(json.dumps(c.entries, indent=2) + "\n")
    return c.entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the trustbench inspect corpus of model files.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    entries = build_corpus(args.out)
    counts = Counter(e["expect"] for e in entries)
    summary = ", ".join(f"{counts[k]} {k}" for k in EXPECTS if counts[k])
    print(f"{len(entries)} cases in {args.out}: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
