"""The console side shared by the commands: where output goes, one-line errors, parsing of
comma-separated options, atomic text files, the progress bar."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from trustbench.commands._progress import progress_bar

__all__ = ["console", "duration", "err_console", "fail", "floats", "progress", "write_text"]

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one unwrapped line (no rich markup: it may hold brackets)."""
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True,
                      highlight=False)
    return typer.Exit(2)


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
    """A context manager yielding the library's progress factory, or ``None``."""
    return progress_bar(quiet, err_console)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def write_text(path: Path, text: str) -> Path:
    """Atomic: a crash never leaves half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

