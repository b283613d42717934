"""CLI command functions, one module per command group; ``trustbench.cli`` registers them.

Each function is a thin typer command: it parses options, calls the library, prints with
rich, and raises :class:`~trustbench.errors.TrustbenchError` for bad input (the CLI turns
that into a one-line ``error: ...`` and exit code 2).
"""
