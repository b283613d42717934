"""Read the containers model files come in, the way their loaders read them.

* :func:`zip_members` — a zip's members from its central directory, as PyTorch's reader
  (miniz) finds them: sizes from the central directory, the data offset from each local
  header, flag bits and CRCs ignored (Python's ``zipfile`` refuses "encrypted" flags and bad
  CRCs that torch never checks — a scanner built on it sees less than torch loads).
* :func:`decompress` — joblib's compressed files, recognised by magic (zlib, gzip, bz2, xz,
  lzma, lz4, and the ``ZF`` files of joblib before 0.9.3), not by extension.
* :func:`npy_header` — a ``.npy`` header (``numpy.lib.format``), read as a literal.
* :func:`safetensors_problems` — whether a safetensors header is what the format says.

References
----------
PKWARE, "APPNOTE.TXT — .ZIP File Format Specification", 6.3.10 (4.3.7 local header, 4.3.12
central directory, 4.3.16 end of central directory, 4.3.14-15 ZIP64).
joblib, ``joblib/compressor.py``. numpy, ``numpy/lib/format.py``.
Hugging Face, "safetensors" format (github.com/huggingface/safetensors, README).
"""

from __future__ import annotations

import ast
import bz2
import gzip
import json
import lzma
import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["MAGIC", "ZipMember", "decompress", "npy_header", "safetensors_problems",
           "sniff_compression", "zip_members"]

MAX_MEMBER = 8 << 30  # a member larger than this is not read into memory
MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ": "xz", b"\x5d\x00": "lzma",
         b"\x04\x22\x4d\x18": "lz4", b"ZF": "zlib (joblib < 0.9.3)"}


@dataclass(frozen=True)
class ZipMember:
    """One central-directory entry: its name, method, sizes and where its data starts."""

    name: str
    method: int
    flags: int
    size: int
    compressed: int
    data_offset: int


def zip_members(data: bytes) -> list[ZipMember]:
    """Return the members of the zip ``data``, from its central directory (else ValueError)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0:
        raise ValueError("no end-of-central-directory record")
    (_, _, _, _, count, _, cd_off, _) = struct.unpack("<4s4H2LH", data[end:end + 22])
    z64 = data.rfind(b"PK\x06\x07", max(0, end - 20), end)
    if z64 >= 0:  # ZIP64: the real offsets are in the ZIP64 end record
        (rec_off,) = struct.unpack("<Q", data[z64 + 8:z64 + 16])
        if data[rec_off:rec_off + 4] == b"PK\x06\x06":
            count, _, cd_off = struct.unpack("<QQQ", data[rec_off + 32:rec_off + 56])
    out: list[ZipMember] = []
    p = cd_off
    for _ in range(count):
        if data[p:p + 4] != b"PK\x01\x02":
            raise ValueError(f"central directory entry {len(out)} at {p} is malformed")
        (flags, method) = struct.unpack("<HH", data[p + 8:p + 12])
        (csize, usize, nlen, xlen, clen) = struct.unpack("<LLHHH", data[p + 20:p + 34])
        (local,) = struct.unpack("<L", data[p + 42:p + 46])
        name = data[p + 46:p + 46 + nlen].decode("utf-8", "replace")
        extra = data[p + 46 + nlen:p + 46 + nlen + xlen]
        usize, csize, local = _zip64_sizes(extra, usize, csize, local)
        p += 46 + nlen + xlen + clen
        if data[local:local + 4] != b"PK\x03\x04":
            raise ValueError(f"member {name!r}: no local header at {local}")
        (lnlen, lxlen) = struct.unpack("<HH", data[local + 26:local + 30])
        out.append(ZipMember(name, method, flags, usize, csize, local + 30 + lnlen + lxlen))
    return out


def _zip64_sizes(extra: bytes, usize: int, csize: int, local: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i:i + 4])
        if tag == 1:
            vals = iter(struct.unpack(f"<{size // 8}Q", extra[i + 4:i + 4 + size - size % 8]))
            usize = next(vals, usize) if usize == 0xFFFFFFFF else usize
            csize = next(vals, csize) if csize == 0xFFFFFFFF else csize
            local = next(vals, local) if local == 0xFFFFFFFF else local
        i += 4 + size
    return usize, csize, local


def member_bytes(data: bytes, m: ZipMember) -> bytes:
    """Return a member's bytes, stored or deflated (ValueError: other methods, a cut file)."""
    raw = data[m.data_offset:m.data_offset + m.compressed]
    if len(raw) < m.compressed:
        raise ValueError(f"member {m.name!r} runs past the end of the file")
    if m.method == 0:
        return raw
    if m.method == 8:
        return zlib.decompressobj(-15).decompress(raw, MAX_MEMBER)
    raise ValueError(f"member {m.name!r} uses compression method {m.method}")


def sniff_compression(head: bytes) -> str | None:
    """Return the compressor joblib would use for a file starting with ``head``, or None."""
    for magic, name in MAGIC.items():
        if head.startswith(magic):
            return name
    if head[:1] == b"\x78" and len(head) > 1 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    return None


def decompress(data: bytes, kind: str) -> bytes:
    """Decompress a joblib file (ValueError when it is not what its magic says)."""
    try:
        if kind == "gzip":
            return gzip.decompress(data)
        if kind == "bz2":
            return bz2.decompress(data)
        if kind in ("xz", "lzma"):
            return lzma.decompress(data)
        if kind == "zlib":
            return zlib.decompress(data)
        if kind.startswith("zlib (joblib"):  # "ZF", a 16-byte hex length, then zlib
            return zlib.decompress(data[18:].lstrip(b" "))
        if kind == "lz4":
            import lz4.frame

            return lz4.frame.decompress(data)
    except ImportError:
        raise ValueError("an lz4-compressed file: install lz4 to inspect it") from None
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as e:
        raise ValueError(f"{kind} data that does not decompress ({e})") from None
    raise ValueError(f"unknown compression {kind}")


def npy_header(data: bytes) -> tuple[dict, int]:
    """Return the header dict of ``.npy`` bytes and where the array data starts."""
    if not data.startswith(b"\x93NUMPY") or len(data) < 10:
        raise ValueError("not a .npy file")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    elif major in (2, 3):
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    else:
        raise ValueError(f".npy version {major} is unknown")
    try:
        header = ast.literal_eval(data[start:start + hlen].decode("latin-1"))
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"a .npy header that is not a literal ({e})") from None
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        raise ValueError("a .npy header without descr, fortran_order and shape")
    return header, start + hlen


_ST_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
             "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8,
             "F64": 8, "C64": 8}


def safetensors_problems(data: bytes) -> Iterator[str]:
    """Yield what is wrong with a safetensors file's header (nothing: a valid file)."""
    if len(data) < 8:
        yield "shorter than its 8-byte header length"
        return
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        yield f"header length {n} runs past the end of the {len(data)}-byte file"
        return
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        yield f"header is not JSON ({e})"
        return
    if not isinstance(header, dict):
        yield "header is not a JSON object"
        return
    body = len(data) - 8 - n
    spans = []
    for name, t in header.items():
        if name == "__metadata__":
            if not (isinstance(t, dict) and all(isinstance(v, str) for v in t.values())):
                yield "__metadata__ is not a map of strings"
            continue
        if not isinstance(t, dict) or set(t) != {"dtype", "shape", "data_offsets"}:
            yield f"tensor {name!r}: entry is not dtype, shape, data_offsets"
            continue
        size = _ST_SIZES.get(t["dtype"])
        shape, offs = t["shape"], t["data_offsets"]
        if size is None:
            yield f"tensor {name!r}: unknown dtype {t['dtype']!r}"
            continue
        if not (isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape)
                and isinstance(offs, list) and len(offs) == 2
                and all(isinstance(o, int) for o in offs)):
            yield f"tensor {name!r}: shape or data_offsets are not integers"
            continue
        if not 0 <= offs[0] <= offs[1] <= body:
            yield f"tensor {name!r}: data_offsets {offs} leave the {body}-byte data"
        elif offs[1] - offs[0] != math.prod(shape) * size:
            yield f"tensor {name!r}: {offs[1] - offs[0]} bytes for shape {shape} of {t['dtype']}"
        spans.append((offs[0], offs[1], name))
    spans.sort()
    at = 0
    for lo, hi, name in spans:
        if lo != at:
            yield f"tensor {name!r}: data at {lo} {'overlaps' if lo < at else 'leaves a gap'}"
        at = max(at, hi)
    if spans and at != body:
        yield f"the data is {body} bytes but the tensors cover {at}"
