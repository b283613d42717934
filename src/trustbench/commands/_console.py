"""The console side shared by the commands.

Where output goes, one-line errors, parsing of comma-separated options, atomic text files,
the progress bar.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from trustbench.commands._progress import progress_bar
from trustbench.errors import InputError

__all__ = ["console", "duration", "err_console", "fail", "floats", "interrupted", "json_object",
           "keep_on_interrupt", "names", "printable", "progress"]

console = Console()
err_console = Console(stderr=True)


def printable(text: str) -> str:
    r"""Return ``text`` with what no terminal can encode escaped.

    Lone surrogates (undecodable bytes of a file name or argument, ``\ud800`` escapes in
    JSON) become ``\udcff``-style escapes instead of a UnicodeEncodeError.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_text(e: BaseException) -> str:
    """Return an error's one line; a refused pickle also says what ``inspect`` finds in it."""
    from trustbench.errors import UnsafeModelError

    if not isinstance(e, UnsafeModelError) or e.path is None:
        return str(e)
    from trustbench.security.files.findings import inspection_note

    note = inspection_note(e.path)
    return f"{e.problem}{note} -- {e.fix}" if e.fix else f"{e.problem}{note}"


def fail(message: str | BaseException) -> typer.Exit:
    """Print ``message`` (or an error's :func:`error_text`) as one unwrapped line.

    No rich markup: the message may hold brackets.
    """
    if isinstance(message, BaseException):
        message = error_text(message)
    err_console.print(Text.assemble(("error: ", "bold red"), printable(message)),
                      soft_wrap=True, highlight=False)
    return typer.Exit(2)


#: What the running command tells the user it kept when it is interrupted (Ctrl-C).
_on_interrupt: list[str] = []


def keep_on_interrupt(note: str | None) -> None:
    """Set what an interrupt of the running command leaves behind (``None``: nothing said)."""
    _on_interrupt[:] = [] if note is None else [note]


def interrupted() -> typer.Exit:
    """Say that the command was interrupted and what it kept; exit code 130 (128 + SIGINT)."""
    note = _on_interrupt[0] if _on_interrupt else "nothing of this run was written"
    _on_interrupt.clear()
    err_console.print(Text.assemble(("interrupted: ", "bold yellow"), note), soft_wrap=True,
                      highlight=False)
    return typer.Exit(130)


def floats(text: str | None, option: str, *, count: int | None = None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise fail(f"{option} {text!r}: expected comma-separated numbers, e.g. 0.05,0.1") from None
    if not values or (count is not None and len(values) != count):
        raise fail(f"{option} {text!r}: expected {count or 'one or more'} numbers")
    return values


def progress(quiet: bool) -> Any:
    """Return a context manager yielding the library's progress factory, or ``None``."""
    return progress_bar(quiet, err_console)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """Parse a JSON object given on the command line (e.g. ``--arch-kwargs``); ``None`` stays None."""
    import json

    if text is None:
        return None
    try:
        v = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{option} {text[:80]!r}: not valid JSON ({e.msg})",
                         fix='pass a JSON object, e.g. \'{"width": 16}\'') from None
    except RecursionError:
        raise InputError(f"{option}: the JSON is nested too deeply",
                         fix='pass a flat JSON object, e.g. \'{"width": 16}\'') from None
    if not isinstance(v, dict):
        raise InputError(f"{option} {text!r}: expected a JSON object, e.g. '{{\"width\": 16}}'")
    return v


def names(text: str | None) -> list[str] | None:
    """Comma-separated names; ``none`` is the empty list, ``None`` stays None."""
    if text is None:
        return None
    out = [t.strip() for t in text.split(",") if t.strip()]
    return [] if out == ["none"] else out

