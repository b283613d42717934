"""Reading JSON Lines with one-line errors: the preference, pairs, prompts and SFT files.

Lines are split on newlines only (``str.splitlines`` would also split on U+2028 and other
separators that are ordinary text inside a response).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trustbench.errors import InputError

__all__ = ["decode", "fail", "json_rows", "read_text", "text_field"]


def fail(where: str | Path, n: int, message: str, fix: str) -> InputError:
    """Return the one-line error for line ``n`` of a file."""
    return InputError(f"{where} line {n}: {message}", fix=fix)


def decode(path: str | Path, data: bytes) -> str:
    """Decode a file's bytes as UTF-8, or raise an InputError naming it."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})",
                         fix="save the file as UTF-8") from None


def read_text(path: str | Path, *, fix: str | None = None) -> str:
    """Return the UTF-8 text of ``path``; a missing or unreadable file is an InputError."""
    try:
        return decode(path, Path(path).read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", fix=fix) from None
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror or e})") from None


def json_rows(path: str | Path, text: str, *,
              example: str = '{"prompt": ..., "chosen": ..., "rejected": ...}'
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, object)`` for every non-blank line of ``text``, read from ``path``."""
    for n, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            raise fail(path, n, f"not valid JSON ({e.msg} at column {e.colno})",
                       "write one JSON object per line") from None
        if not isinstance(row, dict):
            raise fail(path, n, f"a JSON {type(row).__name__}, not an object",
                       f"write {example}")
        yield n, row


def text_field(row: dict[str, Any], field: str, where: str | Path, n: int) -> str:
    """Return ``row[field]``, which must be a non-empty string."""
    v = row.get(field)
    if field not in row:
        raise fail(where, n, f"no field {field!r}", f"give {field!r} as a non-empty string")
    if not isinstance(v, str) or not v.strip():
        raise fail(where, n, f"field {field!r} is {json.dumps(v)[:40]}, not a non-empty string",
                   f"give {field!r} as a non-empty string")
    return v
