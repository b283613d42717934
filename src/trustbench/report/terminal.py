"""Render a Scorecard for the terminal with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from trustbench import catalogue
from trustbench.domain import norm_label
from trustbench.report._common import key_metrics
from trustbench.scorecard import Scorecard

__all__ = ["render_terminal"]

_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}
_SEV = {"info": "green", "warn": "yellow", "fail": "red"}
#: Headings of the blocks that the catalogues' terminal roles put findings in.
_SUMMARY_HEADING = "Beyond adversarial robustness"  # role "summary": one line each
_CHECKS_HEADING = "Evaluation validity"  # role "checks": with their whole detail


def _pct(m: object) -> str:
    value, ci = getattr(m, "value", None), getattr(m, "ci", None)
    if value is None or value != value:
        return "–"
    s = f"{value:.1%}"
    if ci is not None and ci[0] == ci[0]:
        s += f" [dim]({ci[0]:.0%}–{ci[1]:.0%})[/dim]"
    return s


def _count(n: float) -> str:
    """Compact counts, so the table fits an 80-column terminal: 9,876 / 275k / 1.37M."""
    if n < 10_000:
        return f"{int(n):,}"
    return f"{n / 1e3:.0f}k" if n < 1e6 else f"{n / 1e6:.2f}M"


def _section(console: Console, heading: str, findings: list, *, first_line: bool = False
             ) -> None:
    """Print one line per finding.

    Warnings and failures also show their detail (or its first line).
    """
    if not findings:
        return
    console.print(f"[bold]{heading}[/bold]")
    for f in findings:
        console.print(f"  [{_SEV[f.severity]}]{f.severity.upper():4}[/] {f.title}")
        if f.severity != "info" and f.detail:
            detail = f.detail.splitlines()[0] if first_line else f.detail
            console.print(f"       [dim]{detail}[/dim]")


def render_terminal(card: Scorecard, console: Console) -> None:
    """Print the scan's summary to the terminal.

    It shows the verdict, clean accuracy, a robustness table (attacks × eps), the validity
    checks and what was not measured.
    """
    prov = card.provenance
    model, data, cfg = prov.get("model", {}), prov.get("data", {}), prov.get("config", {})
    console.print(f"[bold]trustbench scan[/bold]  model: {model.get('description', '?')}  "
                  f"data: {data.get('name', '?')} ({data.get('n', '?')} points)")
    heads = [h for h in catalogue.headlines() if h.terminal]
    for k in key_metrics(card, heads):
        console.print(f"{k.label}: {_pct(k.metric)}")

    role = {f.id: catalogue.terminal_role(f.id) for f in card.findings}
    rob = [f for f in card.findings if role[f.id] == "table"]
    if rob:
        eps_values = sorted({f.evidence["eps"] for f in rob})
        norm = norm_label("linf" if cfg.get("norm") == "linf" else "l2")
        table = Table(title=f"Robust accuracy, {norm} ({cfg.get('eps_units', 'raw')} units), "
                      "95% CI", title_justify="left")
        table.add_column("attack", no_wrap=True)
        for e in eps_values:
            table.add_column(f"eps={e:g}", justify="right")
        table.add_column("grad evals", justify="right")
        table.add_column("queries", justify="right")
        table.add_column("time", justify="right")
        rows: dict[str, dict[float, object]] = {}
        cost: dict[str, list[float]] = {}
        for f in rob:
            name = f.evidence.get("attack", "worst case")
            rows.setdefault(name, {})[f.evidence["eps"]] = f.metrics["robust_accuracy"]
            c = cost.setdefault(name, [0.0, 0.0, 0.0])
            for i, k in enumerate(("grad_evals", "queries", "wall_time")):
                if k in f.metrics:
                    c[i] += f.metrics[k].value
        for name, by_eps in rows.items():
            if name == "worst case":
                continue
            c = cost[name]
            table.add_row(name, *[_pct(by_eps.get(e)) for e in eps_values],
                          _count(c[0]), _count(c[1]), f"{c[2]:.1f}s")
        if "worst case" in rows:
            table.add_section()
            table.add_row("[bold]worst case[/bold]",
                          *[_pct(rows["worst case"].get(e)) for e in eps_values], "", "", "")
        console.print(table)

    _section(console, _SUMMARY_HEADING,
             [f for f in card.findings if role[f.id] == "summary"], first_line=True)
    others = [f for f in card.findings if f.severity != "info" and not role[f.id]]
    for f in others:
        console.print(f"[{_SEV[f.severity]}]{f.severity.upper()}[/] {f.title}")
        if f.detail:
            console.print(f"     [dim]{f.detail}[/dim]")
    _section(console, _CHECKS_HEADING, [f for f in card.findings if role[f.id] == "checks"])
    notes = data.get("notes") or []
    for n in notes:
        console.print(f"[dim]note: {n}[/dim]")
    if card.not_measured:
        console.print("[dim]not measured: " + "; ".join(card.not_measured) + "[/dim]")
    gate = next((f for f in card.findings if role[f.id] == "result"), None)
    if gate is not None:
        console.print(f"[{_SEV[gate.severity]}]{gate.title}[/]")
        for line in gate.detail.splitlines():
            if line.startswith("FAIL"):
                console.print(f"  [red]{line}[/red]", highlight=False)
    console.print(f"Verdict: [{_STYLE[card.verdict]}]{card.verdict.upper()}[/]")
