"""What the commands that end in a Scorecard share: its writers and its summary lines."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.text import Text

from trustbench.commands._console import console, printable
from trustbench.scorecard import Scorecard

__all__ = ["card_writers", "show_card"]


def card_writers(card: Scorecard) -> dict[str, Any]:
    """``scorecard.json`` and, where the renderer is installed, ``report.html``."""
    writers: dict[str, Any] = {"scorecard.json": card.to_json}
    try:
        from trustbench.report import write_html
    except ImportError:
        return writers
    writers["report.html"] = functools.partial(write_html, card)
    return writers


def show_card(card: Scorecard, written: Sequence[Path]) -> None:
    """Print one line per finding, what was not measured, and the files written."""
    for f in card.findings:
        mark = {"fail": "[red]FAIL[/red]", "warn": "[yellow]WARN[/yellow]"}.get(
            f.severity, "[green]ok[/green]  ")
        console.print(f"{mark} " + printable(f.title).replace("[", r"\["), highlight=False,
                      soft_wrap=True)
    for note in card.not_measured:
        console.print(Text(f"not measured: {note}", style="dim"))
    console.print(Text("Written: " + ", ".join(str(p) for p in written)))
