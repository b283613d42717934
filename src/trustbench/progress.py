"""The library's progress protocol: ``factory(description, total)`` returns ``advance(n)``.

Library code never draws: it calls the factory it was given (the CLI passes one that draws
rich bars) or :func:`no_progress`.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressFactory", "no_progress"]

#: ``progress_factory(description, total)`` returns ``advance(n)``; the CLI draws a bar.
ProgressFactory = Callable[[str, int], Callable[[int], None]]


def no_progress(description: str, total: int) -> Callable[[int], None]:
    """Draw no bar: this factory's ``advance(n)`` does nothing."""
    return lambda n: None
