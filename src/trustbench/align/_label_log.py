"""The files of a labelling session: JSON Lines appended one durable line at a time.

Each line is one ``os.write`` on a file opened with ``O_APPEND``, then ``os.fsync``; a
failed write is cut back, so the file only ever ends in a partial line after a crash, and
:func:`load_log` cuts that off when the next session opens the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from trustbench.align._jsonl import decode, json_rows
from trustbench.errors import InputError

__all__ = ["append_line", "load_log", "lock_file", "open_append"]

log = logging.getLogger("trustbench.align.label")


def open_append(path: Path) -> int:
    """Open ``path`` for appending (creating it and its folder), as a raw descriptor."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as e:
        raise InputError(f"{path}: cannot open it for writing ({e.strerror or e})",
                         fix="pass a writable --out") from None
    if new:  # the file's name must survive a crash too
        with contextlib.suppress(OSError):
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    return fd


def append_line(fd: int, line: bytes) -> None:
    """Append ``line`` in one write and fsync it; on failure, cut back what was written."""
    size = os.fstat(fd).st_size
    try:
        view = memoryview(line)
        while view:  # a regular file takes it whole; only a short write (disk full) loops
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise


def lock_file(fd: int, path: Path) -> None:
    """Take an exclusive advisory lock on ``fd``, or fail naming ``path`` if it is held."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform: go on unlocked
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise InputError(f"{path}: another labelling session is writing this file",
                         fix="stop that one first, or pass another --out") from None


def load_log(path: Path, fd: int | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Read a session's file (none yet: no rows), cutting off a partial last line first.

    A last line without its newline that is a whole JSON object was written by hand, not cut
    by a crash: it is kept and given its newline (through ``fd`` when given).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror or e})") from None
    end = data.rfind(b"\n") + 1
    if end < len(data):
        tail = data[end:]
        whole = False
        with contextlib.suppress(UnicodeDecodeError, json.JSONDecodeError):
            whole = isinstance(json.loads(tail.decode("utf-8")), dict)
        if whole:
            target = open_append(path) if fd is None else fd
            try:
                append_line(target, b"\n")
            finally:
                if fd is None:
                    os.close(target)
            data += b"\n"
            end = len(data)
        else:
            log.warning("%s: dropping a partial last line of %d bytes (an interrupted write)",
                        path, len(tail))
            os.truncate(path, end)
    return list(json_rows(path, decode(path, data[:end])))
