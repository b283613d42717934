"""Render a baseline comparison (``trustbench compare``): terminal table and Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from trustbench import catalogue

if TYPE_CHECKING:
    from trustbench.gate import Comparison, MetricDelta, RuleResult

__all__ = ["render_comparison_markdown", "render_comparison_terminal"]


def _headline(d: MetricDelta) -> bool:
    """Whether the families' catalogues list this row as a headline change."""
    return catalogue.in_comparison_summary(d.finding_id, d.metric, better=d.better)


def _selected(cmp: Comparison, all_metrics: bool) -> list[MetricDelta]:
    if all_metrics:
        return list(cmp.deltas)
    return [d for d in cmp.deltas if _headline(d) or (
        d.ci is not None and (d.ci[0] > 0 or d.ci[1] < 0))]


def _fmt(v: float) -> str:
    return "—" if v != v else f"{v:.4g}"  # NaN


def _verdict(d: MetricDelta) -> str:
    if d.ci is None or not d.better:
        return ""
    if d.significantly_worse:
        return "worse"
    better = d.ci[0] > 0 if d.better == "higher" else d.ci[1] < 0
    return "better" if better else "no significant change"


def render_comparison_terminal(cmp: Comparison, console: Console, *, all_metrics: bool = False
                               ) -> None:
    """Print a table of changes (current − baseline) with their 95% intervals."""
    for c in cmp.caveats():
        console.print(f"[yellow]note:[/yellow] {c}", highlight=False)
    rows = _selected(cmp, all_metrics)
    table = Table("metric", "baseline", "current", "change", "95% CI", "", title_justify="left",
                  title=f"{len(rows)} of {len(cmp.deltas)} compared metrics"
                  + ("" if all_metrics else " (headline and significant; --all for every one)"))
    for d in rows:
        ci = f"[{d.ci[0]:+.4f}, {d.ci[1]:+.4f}]" if d.ci else ""
        v = _verdict(d)
        style = {"worse": "red", "better": "green"}.get(v, "dim")
        table.add_row(d.key, _fmt(d.baseline), _fmt(d.current), f"{d.delta:+.4f}", ci,
                      f"[{style}]{v}[/{style}]")
    console.print(table)
    if cmp.new_warnings:
        console.print("[yellow]new warnings:[/yellow] " + ", ".join(cmp.new_warnings))
    if cmp.only_in_baseline:
        console.print(f"[dim]only in the baseline: {', '.join(cmp.only_in_baseline[:10])}[/dim]")
    if cmp.only_in_current:
        console.print(f"[dim]only in the current run: {', '.join(cmp.only_in_current[:10])}[/dim]")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_comparison_markdown(cmp: Comparison, results: list[RuleResult] | None = None, *,
                               all_metrics: bool = False) -> str:
    """Render the comparison as GitHub-flavoured Markdown, e.g. for a pull-request comment."""
    lines = ["## trustbench: change against the baseline", ""]
    failed = [r for r in results or [] if r.fired]
    if results:
        lines += [f"**Gate: {'FAILED' if failed else 'passed'}** "
                  f"({len(failed)} of {len(results)} rule(s) fired)", ""]
        lines += [f"- {'❌' if r.fired else '✅'} `{_md_cell(r.rule.text)}`: {_md_cell(r.reason)}"
                  for r in results] + [""]
    lines += [f"> note: {_md_cell(c)}" for c in cmp.caveats()]
    if cmp.caveats():
        lines.append("")
    lines += ["| metric | baseline | current | change | 95% CI | |", "|---|---:|---:|---:|---|---|"]
    for d in _selected(cmp, all_metrics):
        ci = f"[{d.ci[0]:+.4f}, {d.ci[1]:+.4f}]" if d.ci else ""
        lines.append(f"| `{_md_cell(d.key)}` | {_fmt(d.baseline)} | {_fmt(d.current)} | "
                     f"{d.delta:+.4f} | {ci} | {_verdict(d)} |")
    if cmp.new_warnings:
        lines += ["", "New warnings: " + ", ".join(f"`{i}`" for i in cmp.new_warnings)]
    return "\n".join(lines) + "\n"
