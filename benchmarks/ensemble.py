"""The standard ensemble: trustbench ``standard`` vs torchattacks and ART AutoAttack.

The three ensembles are not the same list of attacks (their defaults differ, see the
notes printed with the table), so robust accuracy here compares what a user gets from
each library's "standard" button, and time compares their cost.
"""

from __future__ import annotations

import statistics
import time

import torch
from compare import run_rows
from libs import Spec, make_runner, trustbench_has
from zoo import Setup

from report import Row

__all__ = ["ENSEMBLE_NOTES", "ensemble_section"]

ENSEMBLE_NOTES = [
    "- torchattacks `AutoAttack(version='standard')` = APGD-CE, APGD-T (9 targets), FAB-T "
    "(9 targets), Square (5,000 queries), one restart each, run on the points still robust; "
    "note that torchattacks builds its APGD/APGD-T/FAB with their class default "
    "`steps=10`, not the 100 iterations of Croce & Hein (2020).",
    "- ART `AutoAttack` default list = APGD-CE and APGD-DLR (100 iterations, 5 random "
    "restarts each), DeepFool, Square (5,000 iterations, 5 restarts); untargeted only. "
    "It runs once, with a time cap, because it can be slow.",
]


def ensemble_section(setup: Setup, *, n: int, repeats: int, art_cap: float,
                     run_art: bool = True) -> tuple[list[Row], list[str]]:
    """Rows for the three ensembles on the first ``n`` points at L∞ eps of the setup;
    ART's runs once, after the others, capped at ``art_cap`` seconds."""
    x, y = setup.head(n)
    spec = Spec("standard", "linf", setup.eps["linf"])
    notes = list(ENSEMBLE_NOTES)
    runners = []
    if trustbench_has("standard"):
        runner = make_runner("trustbench", spec, setup.model, x)
        notes.insert(0, f"- trustbench `standard`: `{runner.note}` = APGD-CE (100 steps), "
                        "APGD-T (9 targets × 100 steps), Square (5,000 queries), each on the "
                        "points still robust; no FAB-T.")
        runners.append(runner)
    else:
        notes.insert(0, "- trustbench: skipped, 'standard' is not in trustbench's registry.")
    runners.append(make_runner("torchattacks", spec, setup.model, x))
    single = ()
    if run_art:
        single = (make_runner("art", spec, setup.model, x),)
    else:
        notes.append("- ART AutoAttack: skipped in --quick.")
    rows = run_rows(setup.name, spec, runners, setup.model, x, y, repeats=repeats,
                    single=single, cap=art_cap)
    for row in rows:
        if row.library == "art":
            row.note = (row.note + "; " if row.note else "") + f"single run, cap {art_cap:.0f} s"
    notes.append(_square_floor_note(setup, x, rows))
    return rows, notes


def _square_floor_note(setup: Setup, x: torch.Tensor, rows: list[Row]) -> str:
    """The time no implementation of these ensembles can beat on these points: every point
    still robust at the end went through all of Square's 5,000 queries (4,999 after the
    start), one forward pass over those points each."""
    ta = next((r for r in rows if r.library == "torchattacks" and r.robust_accuracy is not None
               and r.wall), None)
    if ta is None:
        return "- Square floor: not measured (no torchattacks row)."
    n_robust = round(ta.robust_accuracy * len(x))
    if n_robust == 0:
        return "- Square floor: 0 (no point survived)."
    xs = x[:n_robust]
    times = []
    with torch.inference_mode():
        setup.model(xs)
        for _ in range(30):
            start = time.perf_counter()
            setup.model(xs)
            times.append(time.perf_counter() - start)
    floor = 4999 * statistics.median(times)
    return (f"- Square floor: the {n_robust} points no attack fools each take 4,999 Square "
            f"queries; one forward pass over {n_robust} points takes "
            f"{1e3 * statistics.median(times):.2f} ms (median of 30), so Square alone needs "
            f"at least {floor:.2f} s = {floor / ta.wall:.2f}× torchattacks' AutoAttack time "
            "in any library.")
