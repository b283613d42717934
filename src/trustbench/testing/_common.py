"""What the conformance checks of every family share.

The assertion helper, the References check and the runner that names each failed check.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Check", "check_docstring_has_references", "entry_name", "expect", "not_keyword_only",
           "run_checks"]

#: A conformance check: called with the entry (an attack or shift class, an audit check
#: function); returns nothing and raises an AssertionError saying what does not hold.
Check = Callable[[Any], None]

#: A numpydoc ``References`` section with at least one line under it, or a
#: ``References: ...`` line.
_REFERENCES = re.compile(r"^[ \t]*References[ \t]*\n[ \t]*-{3,}[ \t]*\n\s*\S"
                         r"|^[ \t]*References:[ \t]*\S", re.MULTILINE)


def expect(condition: object, message: str) -> None:
    """Raise an AssertionError with ``message`` unless ``condition`` holds.

    The checks use this instead of ``assert`` statements, which ``python -O`` removes.
    """
    if not condition:
        raise AssertionError(message)


def entry_name(entry: Any) -> str:
    """Return what messages call an entry: its registry ``name`` attribute, else its ``__name__``."""
    return str(getattr(entry, "name", "") or getattr(entry, "__name__", repr(entry)))


def not_keyword_only(function: Callable[..., Any], *, skip: Sequence[str] = ("self",)) -> list[str]:
    """Names of the parameters of ``function`` that are not keyword-only."""
    params = inspect.signature(function).parameters
    return [k for k, p in params.items()
            if k not in skip and p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def check_docstring_has_references(entry: Any) -> None:
    """Check that the entry's own docstring, or its module's, has a References section citing its source.

    The section is a numpydoc ``References`` with a ``---`` underline, or a ``References:``
    line.
    """
    module = sys.modules.get(getattr(entry, "__module__", ""), None)
    docs = [entry.__doc__ or "", getattr(module, "__doc__", None) or ""]
    expect(any(_REFERENCES.search(d) for d in docs),
           f"{entry_name(entry)}: neither its docstring nor that of its module "
           f"{getattr(module, '__name__', '?')} has a References section naming the paper "
           "(or book, or standard) it implements")


def run_checks(entry: Any, checks: Sequence[Check]) -> None:
    """Run every check on ``entry``; one AssertionError lists each check that failed.

    A check that raises anything else (a TypeError, an InputError, a warning turned into
    an error) has failed too; its exception type is part of the message.
    """
    failures = []
    for check in checks:
        try:
            check(entry)
        except Exception as e:  # every failure is reported, not only the first
            kind = "" if isinstance(e, AssertionError) else f"{type(e).__name__}: "
            failures.append(f"{check.__name__}: {kind}{e}")
    if failures:
        raise AssertionError(f"{entry_name(entry)} failed {len(failures)} of {len(checks)} "
                             "conformance checks:\n  " + "\n  ".join(failures))
