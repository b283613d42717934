"""The one progress bar of the command line (rich, on stderr, gone when done)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["progress_bar"]

#: ``factory(description, total) -> advance(n)``, the library's progress protocol.
Factory = Callable[[str, int], Callable[[int], None]]


@contextmanager
def progress_bar(quiet: bool, console: Console) -> Iterator[Factory | None]:
    """Yield a progress factory drawing bars on ``console``, or ``None`` when ``quiet`` or
    when ``console`` is not a terminal (CI logs stay clean)."""
    if quiet or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        def factory(description: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)
        yield factory
