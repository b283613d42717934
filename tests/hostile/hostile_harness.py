"""Helpers of the hostile-input corpus (see conftest.py): run a command, check its error."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from trustbench.cli import app

runner = CliRunner()

#: An error is a short message: at most this many lines (rich may wrap one long line).
MAX_ERROR_LINES = 3


def cli(*args: Any) -> Any:
    """Invoke ``trustbench ARGS`` in-process; returns typer's Result."""
    return runner.invoke(app, [str(a) for a in args])


def clean_error(result: Any, *needles: str) -> str:
    """Exit 2, one short ``error:`` on stderr naming every needle, no traceback; the text."""
    assert result.exit_code == 2, (result.exit_code, result.output[-2000:], result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == "", result.stdout[-1000:]
    assert result.stderr.startswith("error: "), result.stderr[-1000:]
    assert len(result.stderr.strip().splitlines()) <= MAX_ERROR_LINES, result.stderr
    text = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in text, (needle, text)
    return text
