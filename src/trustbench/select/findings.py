"""A Selection as Findings: the leaderboard, the Pareto front and the recommendation."""

from __future__ import annotations

from typing import Any

import numpy as np

from trustbench import plotspec
from trustbench.findings import Finding, Metric
from trustbench.nist import Tags
from trustbench.scorecard import Scorecard
from trustbench.select.run import Selection

__all__ = ["SELECT", "selection_card"]

SELECT = Tags(("valid and reliable", "secure and resilient"),
              ("MEASURE 2.3", "MEASURE 2.7", "MANAGE 1.1"))


def _row(sel: Selection, name: str) -> dict[str, Any]:
    v = sel.values[name]
    return {"name": name, "win_rate": sel.win_rate[name], "pareto": name in sel.front,
            "missed": sel.missed[name],
            "values": {c.key: {"value": v[c.key].value,
                               "ci": None if v[c.key].ci is None else list(v[c.key].ci)}
                       for c in sel.criteria}}


def _normalised(sel: Selection, names: list[str]) -> np.ndarray:
    """Per criterion, 1 for the best candidate and 0 for the worst (the heat map)."""
    out = np.zeros((len(names), len(sel.criteria)))
    for j, c in enumerate(sel.criteria):
        col = np.array([sel.values[n][c.key].value for n in names])
        span = np.nanmax(col) - np.nanmin(col)
        z = (col - np.nanmin(col)) / span if span > 0 else np.ones_like(col)
        out[:, j] = z if c.better == "higher" else 1 - z
    return out


def _pareto_plot(sel: Selection) -> dict[str, Any] | None:
    keys = [c.key for c in sel.criteria]
    robust = [k for k in keys if k.startswith("robust_acc@")]
    if "clean_acc" not in keys or not robust:
        return None
    y = robust[-1]
    front = sorted(sel.front, key=lambda n: sel.values[n]["clean_acc"].value)
    series = [{"label": "Pareto front (all criteria)",
               "x": [sel.values[n]["clean_acc"].value for n in front],
               "y": [sel.values[n][y].value for n in front]}]
    series += [{"label": n, "x": [sel.values[n]["clean_acc"].value],
                "y": [sel.values[n][y].value]} for n in sel.ranking]
    return plotspec.lines(f"Clean accuracy against {y}", series, x_label="clean accuracy",
                          y_label=y)


def selection_card(sel: Selection, **provenance: Any) -> Scorecard:
    """Return the three ``select.*`` findings in a Scorecard."""
    ranking = sel.ranking
    table = [_row(sel, n) for n in ranking]
    leaderboard = Finding(
        id="select.leaderboard", severity="info", tags=SELECT,
        title=f"{len(ranking)} candidates on {len(sel.criteria)} criteria; "
              f"{len(sel.front)} on the Pareto front",
        metrics={f"win_rate[{n}]": Metric(sel.win_rate[n]) for n in ranking},
        detail="Mean win rate (HELM): per criterion, the share of other candidates beaten "
               "(intervals apart; overlapping intervals are a tie, worth half), averaged "
               "over criteria" + (" with the given weights." if any(
                   w != 1.0 for w in sel.weights.values()) else "."),
        evidence={"criteria": [c.__dict__ for c in sel.criteria], "rows": table,
                  "weights": sel.weights, "plots": [
                      plotspec.bars("Mean win rate", ranking,
                                    [sel.win_rate[n] for n in ranking], value_label="win rate"),
                      plotspec.heatmap("Criteria, 1 = best candidate, 0 = worst",
                                       _normalised(sel, ranking), rows=ranking,
                                       cols=[c.key for c in sel.criteria],
                                       value_label="relative", vmin=0, vmax=1)]})
    pareto = Finding(
        id="select.pareto", severity="info", tags=SELECT,
        title="Pareto front: " + ", ".join(sel.front),
        metrics={"front_size": Metric(len(sel.front), unit="count")},
        detail="A candidate is on the front when no other at least ties it on every "
               "criterion and beats it on one.",
        evidence={"front": sel.front,
                  "plots": [p for p in [_pareto_plot(sel)] if p is not None]})
    best = sel.recommended
    if best is None:
        rec = Finding(id="select.recommendation", severity="fail", tags=SELECT,
                      title="no candidate meets every requirement",
                      evidence={"missed": sel.missed})
    else:
        reasons = []
        for other, how in sel.versus.items():
            part = f"over {other}: better on {', '.join(how['won']) or 'nothing'}"
            if how["tied"]:
                part += f"; tied on {', '.join(how['tied'])}"
            if how["lost"]:
                part += f"; worse on {', '.join(how['lost'])}"
            reasons.append(part)
        out = [n for n in ranking if sel.missed[n]]
        rec = Finding(
            id="select.recommendation", severity="info", tags=SELECT,
            title=f"recommended: {best} (mean win rate {sel.win_rate[best]:.2f}"
                  + (f"; {len(out)} candidate(s) out on the requirements" if out else "") + ")",
            metrics={"win_rate": Metric(sel.win_rate[best])},
            detail=" · ".join(reasons) if reasons else "the only eligible candidate",
            evidence={"recommended": best, "versus": sel.versus,
                      "excluded": {n: sel.missed[n] for n in out}})
    have = {c.key for c in sel.criteria}
    partial = sorted({k for v in sel.values.values() for k in v} - have)
    return Scorecard([rec, leaderboard, pareto], provenance={"kind": "select", **provenance},
                     not_measured=[f"{k}: not measured for every candidate, so not compared"
                                   for k in partial])
