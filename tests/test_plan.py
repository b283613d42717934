"""scan --dry-run estimates and the --budget cap."""

from __future__ import annotations

import numpy as np
import pytest

from trustbench import Dataset, InputError, ScanConfig, Schema, scan
from trustbench.plan import estimate_cost
from trustbench.testing.toy import toy_blobs, toy_mlp


@pytest.fixture(scope="module")
def blobs() -> Dataset:
    x, y = toy_blobs(100)
    return Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")


def test_estimate_counts_match_the_attacks_budgets(blobs: Dataset) -> None:
    cfg = ScanConfig(eps=[0.05, 0.1], attacks=["fgsm", "pgd"], eps_units="raw",
                     attack_params={"pgd": {"steps": 7}})
    est = estimate_cost(toy_mlp(0), blobs, cfg)
    rows = {r["attack"]: r for r in est.rows}
    assert set(rows) == {"fgsm", "pgd", "validity checks"}
    assert est.n_points == 100 and 0 < est.n_attacked <= 100
    # expected work never exceeds the no-early-exit bound: attacked points x eps x steps
    assert 0 < rows["pgd"]["grad_evals"] <= est.n_attacked * 2 * 7
    assert rows["fgsm"]["grad_evals"] <= est.n_attacked * 2
    assert rows["pgd"]["seconds"] <= rows["pgd"]["max_seconds"] + 1e-9
    assert est.seconds_per_grad_eval > 0 and est.seconds_per_query > 0
    assert est.total_seconds == pytest.approx(sum(r["seconds"] for r in est.rows))


def test_estimate_is_an_upper_bound_on_real_work(blobs: Dataset) -> None:
    cfg = ScanConfig(eps=[0.05, 0.1], attacks=["standard"], eps_units="raw", validity=False,
                     attack_params={"standard": {"steps": 5, "n_target_classes": 2,
                                                 "n_queries": 20}})
    est = estimate_cost(toy_mlp(0), blobs, cfg)
    card = scan(toy_mlp(0), blobs, cfg)
    real = sum(card.get(f"robustness.standard.linf.{e:g}").metrics["grad_evals"].value
               for e in (0.05, 0.1))
    bound = est.n_attacked * 2 * (5 + 5 * 2)
    assert real <= bound


def test_budget_skips_runs_and_says_so(blobs: Dataset) -> None:
    cfg = ScanConfig(eps=[0.05, 0.1, 0.2], attacks=["pgd", "fgsm"], eps_units="raw",
                     budget=1e-9)
    card = scan(toy_mlp(0), blobs, cfg)
    f = card.get("budget.exhausted")
    assert f is not None and f.severity == "warn"
    assert card.verdict == "warn"
    # nothing starts after the deadline, and nothing unmeasured is reported as robust
    assert not [x.id for x in card.findings if x.id.startswith("robustness.")]
    for attack in ("pgd", "fgsm"):
        for eps in ("0.05", "0.1", "0.2"):
            assert (f"attack {attack} at eps={eps}: the time budget ran out before it finished"
                    in card.not_measured)
    assert any("validity" in s for s in card.not_measured)


def test_budget_stops_a_run_in_progress(blobs: Dataset) -> None:
    # Square with a huge query budget would run for minutes; the cap stops it mid-run.
    cfg = ScanConfig(eps=[0.05, 0.1], attacks=["fgsm", "square"], eps_units="raw", budget=1.5,
                     attack_params={"square": {"n_queries": 10_000_000, "p_init": 0.001}},
                     validity=False)
    card = scan(toy_mlp(0), blobs, cfg)
    assert card.provenance["timings_seconds"]["robustness"] < 3.0
    assert card.get("robustness.fgsm.linf.0.05") is not None  # finished before the deadline
    assert card.get("robustness.square.linf.0.05") is None  # cut: dropped, not half-reported
    for eps in ("0.05", "0.1"):
        assert (f"attack square at eps={eps}: the time budget ran out before it finished"
                in card.not_measured)
    assert card.get("budget.exhausted").severity == "warn"


def test_budget_must_be_positive(blobs: Dataset) -> None:
    with pytest.raises(InputError, match=r"ScanConfig\.budget must be a positive"):
        scan(toy_mlp(0), blobs, ScanConfig(budget=0))
