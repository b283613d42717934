"""Deprecation shims: keep an old keyword working for a while, with a warning naming the new.

Private: the public functions carry the shim; users only ever see the warning.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["renamed_kwargs", "warn_renamed"]

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(where: str, old: str, new: str, *, stacklevel: int = 3) -> None:
    """Emit the one :class:`DeprecationWarning` of a renamed parameter."""
    warnings.warn(f"{where}: {old!r} is deprecated and will be removed, use {new!r} instead",
                  DeprecationWarning, stacklevel=stacklevel)


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Make a decorator that accepts each ``old=`` keyword as its ``"new"`` name.

    Each old name passed gives a :class:`DeprecationWarning` that names the new one.

    Passing both the old and the new name is a :class:`TypeError`, as passing one argument
    twice is. The wrapper keeps the signature (``inspect.signature`` shows the new names);
    doctest discovery skips wrapped functions, so keep examples off functions that use it.

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs(n_samples="n_boot")
    ... def f(*, n_boot: int = 1) -> int:
    ...     return n_boot
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(n_samples=5), str(w[0].message)
    (5, "f(): 'n_samples' is deprecated and will be removed, use 'n_boot' instead")
    """
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old!r} (deprecated) and "
                                        f"{new!r}: pass only {new!r}")
                    warn_renamed(f"{fn.__name__}()", old, new)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
