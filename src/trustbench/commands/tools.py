"""Small commands: ``init``, ``compare``, ``attacks``, ``shifts``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from trustbench._files import write_text_atomic
from trustbench.commands._console import console, fail
from trustbench.errors import TrustbenchError

__all__ = ["compare", "init", "list_attacks", "list_shifts"]


def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example.")] = Path("trustbench.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example scan configuration (use it with scan --config)."""
    from trustbench.config import EXAMPLE

    try:  # stat raises for a name the file system refuses (too long), not only "no"
        is_dir, exists = path.is_dir(), path.exists()
    except OSError as e:
        raise fail(f"{path}: cannot use this path ({e.strerror or e}) -- choose another "
                   "file name") from None
    if is_dir:
        raise fail(f"{path} is a folder -- give the config file's name, e.g. {path / 'trustbench.yaml'}")
    if exists and not force:
        raise fail(f"{path} exists; pass --force to overwrite it")
    try:  # a missing parent folder is created, as every other output of trustbench
        write_text_atomic(EXAMPLE, path, prefix="init")
    except OSError as e:
        raise fail(f"{path}: cannot write the config file ({e.strerror or e}) -- choose a "
                   "writable path") from None
    console.print(Text.assemble("Wrote ", (str(path), "bold"), ": edit model.path and "
                                "data.source, then run ", f"'trustbench scan --config {path}'"),
                  highlight=False)


def compare(
    baseline: Annotated[Path, typer.Argument(help="The earlier scorecard.json.")],
    current: Annotated[Path, typer.Argument(help="The later scorecard.json.")],
    markdown: Annotated[Path | None, typer.Option(help="Also write the comparison as Markdown.")] = None,
    fail_on: Annotated[list[str] | None, typer.Option(
        help="Exit 1 when a rule fires (see scan --help).")] = None,
    all_metrics: Annotated[bool, typer.Option("--all", help="Show every compared metric, not "
                                              "only the headline ones and significant changes.")] = False,
    allow_mismatch: Annotated[bool, typer.Option(
        "--allow-mismatch", help="Compare scorecards of other data or other settings anyway "
        "(refused by default: changes would mix model, data and settings).")] = False,
) -> None:
    """Show what changed between two scorecards, with a 95% interval for each change.

    Only like is compared with like: scorecards of different data, measuring settings or
    units are refused (exit 2) unless --allow-mismatch.
    """
    from trustbench.gate import apply_gate
    from trustbench.report.comparison import render_comparison_markdown, render_comparison_terminal
    from trustbench.scorecard import Scorecard

    try:
        base, cur = Scorecard.from_json(baseline), Scorecard.from_json(current)
        gate = apply_gate(cur, baseline=base, rules=fail_on or [], allow_mismatch=allow_mismatch,
                          what=f"{baseline} vs {current}")
    except TrustbenchError as e:
        raise fail(e) from None
    assert gate.comparison is not None
    render_comparison_terminal(gate.comparison, console, all_metrics=all_metrics)
    for r in gate.results:
        console.print(("[red]FAIL[/red] " if r.fired else "[green]ok[/green]   ")
                      + f"{r.rule.text}: {r.reason}", highlight=False)
    if markdown:
        write_text_atomic(render_comparison_markdown(gate.comparison, gate.results), markdown,
                          prefix="compare")
        console.print(f"Comparison written to [bold]{markdown}[/bold]")
    if gate.failed:
        raise typer.Exit(1)


def list_attacks() -> None:
    """List the registered attacks."""
    from rich.table import Table

    from trustbench.attacks import REGISTRY

    table = Table("name", "needs gradients", "norms", "summary")
    for name, cls in sorted(REGISTRY.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        table.add_row(name, "yes" if cls.requires_gradients else "no", ", ".join(cls.norms), doc)
    console.print(table)


def list_shifts() -> None:
    """List the registered corruptions and distribution shifts."""
    from rich.table import Table

    from trustbench.shifts import SHIFTS

    table = Table("name", "modality", "needs", "summary")
    for name, cls in sorted(SHIFTS.items(), key=lambda kv: (kv[1].modality, kv[0])):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        req = getattr(cls, "requires", "") or "-"
        needs = req if isinstance(req, str) else ", ".join(req)
        table.add_row(name, cls.modality, needs, doc)
    console.print(table)
