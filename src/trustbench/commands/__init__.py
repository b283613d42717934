"""CLI command functions, one module per command group; ``trustbench.cli`` registers them.

Each function is a thin typer command: it parses options, calls the library, prints with
rich, and raises :class:`~trustbench.errors.TrustbenchError` for bad input (the CLI turns
that into a one-line ``error: ...`` and exit code 2).
"""

from __future__ import annotations

__all__: list[str] = []  # the commands are reached through ``trustbench.cli``, not imported
