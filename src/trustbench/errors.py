"""Exception types for trustbench.

Every error a user can cause is a :class:`TrustbenchError`. Its message names what was
wrong (the file, field or parameter), what was expected and how to fix it, so the CLI can
print it on one line and exit with code 2 instead of showing a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["MAX_JSON_BYTES", "InputError", "TrustbenchError", "UnsafeModelError", "read_json"]

#: JSON files trustbench reads (scorecards, schemas, references) are at most this large.
MAX_JSON_BYTES = 256 * 2**20


class TrustbenchError(Exception):
    """Base class of every error trustbench raises on purpose."""


class InputError(TrustbenchError, ValueError):
    """Bad user input: a file, a field, a parameter or data that cannot be used.

    Parameters
    ----------
    message
        What is wrong, naming the file, field or parameter.
    fix
        What the user can do about it; appended to the message.
    """

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.problem = message
        self.fix = fix
        super().__init__(f"{message} -- {fix}" if fix else message)


class UnsafeModelError(InputError):
    """A model file would be loaded through pickle, which can run arbitrary code.

    ``path`` is the refused file: the CLI adds what ``trustbench inspect`` finds in it.
    """

    def __init__(self, message: str, *, fix: str | None = None,
                 path: str | Path | None = None) -> None:
        super().__init__(message, fix=fix)
        self.path = path


def read_json(path: str | Path, *, what: str = "file") -> Any:
    """Parse a JSON file, turning I/O and syntax errors into an InputError naming ``path``."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_JSON_BYTES:
            raise InputError(f"{path}: the {what} is {size / 2**20:.0f} MiB, more than the "
                             f"{MAX_JSON_BYTES // 2**20} MiB a trustbench JSON file may have",
                             fix="check that this is the right file")
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: the {what} is not UTF-8 text (byte {e.start})",
                         fix="JSON files are UTF-8: re-save it as UTF-8") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: the {what} is not valid JSON ({e.msg} at line {e.lineno})",
                         fix="check the file's syntax") from None
    except RecursionError:
        raise InputError(f"{path}: the {what} is nested too deeply to be a trustbench file",
                         fix="check that this is the right file") from None
