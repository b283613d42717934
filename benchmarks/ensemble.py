"""The standard ensemble: trustbench ``standard`` vs torchattacks and ART AutoAttack.

The three ensembles are not the same list of attacks (their defaults differ, see the
notes printed with the table), so robust accuracy here compares what a user gets from
each library's "standard" button, and time compares their cost.
"""

from __future__ import annotations

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
    return rows, notes
