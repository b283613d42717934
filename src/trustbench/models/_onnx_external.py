"""The external-data files an ``.onnx`` model refers to.

They are read from its protobuf without onnx or onnxruntime, and checked to stay inside the
model's folder.

An ONNX tensor may keep its bytes in another file (``external_data`` with a ``location``
key, relative to the model's folder). A hostile model can point that location anywhere
(``/etc/passwd``, ``../secret.bin``, a symlink out of the folder), and a fingerprint of the
``.onnx`` file alone misses a change of those weights. The ``onnx`` package could list
them, but it is only a development extra; this module walks the few messages that can hold
tensors (onnx.proto field numbers) with a minimal protobuf wire-format reader, so the check
is the same in every install. The tests compare its answer with ``onnx``'s.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from trustbench.errors import InputError

__all__ = ["external_data_files", "external_tensors"]

# message -> {field number: message type of that field}: every path to a TensorProto.
_CHILDREN: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},            # initialization, algorithm
    "graph": {1: "node", 5: "tensor", 15: "sparse"},  # node, initializer, sparse_initializer
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "function": {7: "node", 11: "attribute"},        # node, attribute_proto
    "sparse": {1: "tensor", 2: "tensor"},            # values, indices
}
_TENSOR_NAME, _EXTERNAL_DATA = 8, 13
_MAX_DEPTH = 64


class _Malformed(Exception):
    def __init__(self, pos: int) -> None:
        self.pos = pos


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Malformed(pos)
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """``(field, start, end)`` of every length-delimited field of one message."""
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            _, pos = _varint(buf, pos, end)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            n, pos = _varint(buf, pos, end)
            out.append((field, pos, pos + n))
            pos += n
        else:  # groups (3, 4) are not used by ONNX; 6, 7 do not exist
            raise _Malformed(pos)
        if field == 0 or pos > end:
            raise _Malformed(pos)
    return out


def _text(buf: bytes, start: int, end: int) -> str:
    return buf[start:end].decode("utf-8", errors="replace")


def external_tensors(path: str | Path) -> list[tuple[str, str]]:
    """``(tensor name, location)`` of every tensor of the model whose data is external."""
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the ONNX file ({e.strerror})") from None
    found: list[tuple[str, str]] = []
    todo = [("model", 0, len(buf), 0)]
    try:
        while todo:
            kind, start, end, depth = todo.pop()
            if depth > _MAX_DEPTH:
                raise _Malformed(start)
            fields = _fields(buf, start, end)
            if kind == "tensor":
                name = next((_text(buf, s, e) for f, s, e in fields if f == _TENSOR_NAME), "")
                for f, s, e in fields:
                    if f == _EXTERNAL_DATA:
                        entry = {k: _text(buf, a, b) for k, a, b in _fields(buf, s, e)}
                        if entry.get(1) == "location":
                            found.append((name, entry.get(2, "")))
                continue
            children = _CHILDREN[kind]
            todo += [(children[f], s, e, depth + 1) for f, s, e in reversed(fields) if f in children]
    except _Malformed as e:
        raise InputError(f"{path}: not a readable ONNX file (malformed protobuf at byte {e.pos})",
                         fix="check the file is complete, or export the model again") from None
    return found


def _leaves(location: str) -> bool:
    parts = re.split(r"[\\/]", location)
    return (not location or "\x00" in location or ".." in parts
            or PurePosixPath(location).is_absolute() or PureWindowsPath(location).is_absolute()
            or bool(PureWindowsPath(location).drive))


def external_data_files(path: str | Path) -> list[Path]:
    """Return the external-data files of the model at ``path``, sorted and unique.

    Raises an InputError naming the tensor and its location when a location is absolute,
    climbs out with ``..``, resolves (through symlinks) outside the model's folder, or is
    not a regular file. Nothing is read from those files here.
    """
    path = Path(path)
    folder = path.parent.resolve()
    files: set[Path] = set()
    for tensor, location in external_tensors(path):
        where = f"{path}: tensor {tensor!r} keeps its data in {location!r}"
        if _leaves(location):
            raise InputError(f"{where}, outside the model's folder; it was not read",
                             fix="keep external data next to the .onnx file, with a relative "
                             "location inside its folder")
        target = (path.parent / location).resolve()
        if not target.is_relative_to(folder):
            raise InputError(f"{where}, which resolves to {target}, outside the model's folder "
                             "(a symlink leaves it); it was not read",
                             fix="copy the data file into the model's folder")
        if not target.is_file():
            raise InputError(f"{where}, which is not a file", fix="keep the .onnx file and its "
                             "external data files together")
        files.add(target)
    return sorted(files)
