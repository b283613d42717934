"""The one progress bar of the command line (rich, on stderr, gone when done)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trustbench.progress import ProgressFactory

__all__ = ["bar_factory", "progress_bar", "progress_bars"]


@contextmanager
def progress_bars(quiet: bool, console: Console) -> Iterator[Progress | None]:
    """Yield a rich ``Progress`` drawing on ``console``, or ``None``.

    It is ``None`` when ``quiet`` or when ``console`` is not a terminal (CI logs stay clean).
    """
    if quiet or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        yield bar


def bar_factory(bar: Progress | None) -> ProgressFactory | None:
    """Return the library's progress factory drawing one task of ``bar`` per call.

    It is ``None`` without a bar.
    """
    if bar is None:
        return None

    def factory(description: str, total: int) -> Callable[[int], None]:
        task = bar.add_task(description, total=total)
        return lambda n: bar.advance(task, n)

    return factory


@contextmanager
def progress_bar(quiet: bool, console: Console) -> Iterator[ProgressFactory | None]:
    """Yield a progress factory drawing bars on ``console``, or ``None``.

    It is ``None`` when ``quiet`` or when ``console`` is not a terminal (CI logs stay clean).
    """
    with progress_bars(quiet, console) as bar:
        yield bar_factory(bar)
