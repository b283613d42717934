"""Rows of results and their markdown tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Row", "markdown_table", "rows_table"]


@dataclass
class Row:
    model: str
    attack: str
    library: str
    variant: str
    n: int
    robust_accuracy: float | None
    wall: float | None  # median seconds, or the single run's
    cpu: float | None  # median process CPU seconds (all threads), or the single run's
    repeats: int
    grad_evals: int | None  # the library's own report (trustbench) or nominal k·N
    grad_evals_source: str  # "reported" | "k·N"
    counted_grad: int | None  # examples through forward+backward, counted by a hook
    counted_forward: int | None  # examples through no-grad forward, counted by a hook
    floor_nominal: float | None  # k × one forward+backward pass over the N points
    floor_work: float | None  # the counted work at the measured per-example pass costs
    floor_nominal_cpu: float | None = None  # the same two floors in process CPU seconds
    floor_work_cpu: float | None = None
    in_ball: bool | None = None
    deterministic: bool | None = None
    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def examples_per_second(self) -> float | None:
        return self.n / self.wall if self.wall else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"examples_per_second": self.examples_per_second}


def _f(v: float | None, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def _ratio(num: float | None, den: float | None) -> str:
    return "—" if not num or not den else f"{num / den:.2f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def rows_table(rows: list[Row]) -> str:
    header = ["attack", "library", "robust acc %", "wall s (median)", "ex/s", "CPU s (median)",
              "grad evals", "counted grad / fwd", "× floor k·N (wall)", "× floor k·N (CPU)",
              "× floor of work (CPU)", "checks"]
    body = []
    for r in rows:
        lib = r.library + (f" ({r.variant})" if r.variant else "")
        checks = []
        if r.in_ball is False:
            checks.append("LEFT THE BALL")
        if r.deterministic is False:
            checks.append("varies between repeats")
        if r.repeats:
            checks.append(f"n={r.repeats}")
        if r.note:
            checks.append(r.note)
        grad = "—" if r.grad_evals is None else f"{r.grad_evals:,} ({r.grad_evals_source})"
        counted = ("—" if r.counted_grad is None
                   else f"{r.counted_grad:,} / {r.counted_forward:,}")
        body.append([
            r.attack, lib,
            _f(None if r.robust_accuracy is None else 100 * r.robust_accuracy, ".1f"),
            _f(r.wall, ".3f"), _f(r.examples_per_second, ",.0f"), _f(r.cpu, ".3f"), grad,
            counted, _ratio(r.wall, r.floor_nominal), _ratio(r.cpu, r.floor_nominal_cpu),
            _ratio(r.cpu, r.floor_work_cpu), "; ".join(checks),
        ])
    return markdown_table(header, body)
