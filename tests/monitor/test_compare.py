from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trustbench.cli import app
from trustbench.errors import InputError
from trustbench.monitor.compare import compare_versions


def _two_versions(n: int = 4000, seed: int = 0, worse_in_b: float = 0.2):
    """An old model and a new one that flips a share of group b's answers."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b"], n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    p_old = 1 / (1 + np.exp(-2 * x))
    x_new = np.where((g == "b") & (rng.random(n) < worse_in_b), -x, x)
    p_new = 1 / (1 + np.exp(-2 * x_new))
    return np.stack([1 - p_old, p_old], 1), np.stack([1 - p_new, p_new], 1), y, g


def test_a_regression_in_one_group_is_found_with_intervals() -> None:
    old, new, y, g = _two_versions()
    f = compare_versions(old, new, y_true=y, groups=g, n_boot=300)
    m = f.metrics
    flips = (old.argmax(1) != new.argmax(1)).mean()
    assert m["flip_rate"].value == pytest.approx(flips)
    right_old, right_new = old.argmax(1) == y, new.argmax(1) == y
    assert m["negative_flip_rate"].value == pytest.approx((right_old & ~right_new).mean())
    assert m["accuracy_change"].ci[1] < 0 and m["mcnemar_p"].value < 1e-6
    assert f.evidence["worst_group"] == "b" and m["worst_group_change"].ci[1] < 0
    assert f.severity == "warn" and "'b'" in f.title


def test_the_same_model_is_no_regression() -> None:
    old, _, y, g = _two_versions()
    f = compare_versions(old, old.copy(), y_true=y, groups=g, n_boot=100)
    assert f.metrics["flip_rate"].value == 0 and f.metrics["accuracy_change"].value == 0
    assert f.severity == "info"


def test_shadow_mode_reports_where_flips_concentrate() -> None:
    old, new, _, g = _two_versions()
    f = compare_versions(old, new, groups=g, n_boot=100)
    assert "negative_flip_rate" not in f.metrics
    rates = dict(zip(f.evidence["groups"]["labels"], f.evidence["groups"]["flip_rate"], strict=True))
    assert rates["a"] == 0 and rates["b"] > 0.1


def test_mismatched_inputs_are_named() -> None:
    old, new, y, _ = _two_versions(100)
    with pytest.raises(InputError, match="differ in shape"):
        compare_versions(old, new[:, :1])
    with pytest.raises(InputError, match="99 labels for 100 rows"):
        compare_versions(old, new, y_true=y[:99])


def test_the_command_gates_on_negative_flips(tmp_path) -> None:
    old, new, y, g = _two_versions()
    pd.DataFrame({"o0": old[:, 0], "o1": old[:, 1], "n0": new[:, 0], "n1": new[:, 1], "y": y,
                  "g": g}).to_csv(tmp_path / "rows.csv", index=False)
    base = ["monitor", "compare", "-d", str(tmp_path / "rows.csv"), "--old", "o0,o1",
            "--new", "n0,n1", "--label", "y", "--group", "g"]
    runner = CliRunner()
    r = runner.invoke(app, [*base, "--fail-on", "monitor.compare:negative_flip_rate > 0.02"])
    assert r.exit_code == 1 and "FAILED monitor.compare:negative_flip_rate > 0.02" in r.stdout
    r = runner.invoke(app, [*base, "--fail-on", "monitor.compare:negative_flip_rate > 0.5"])
    assert r.exit_code == 0
    r = runner.invoke(app, [*base[:-4], "--new", "n0", "--old", "o0,o1"])
    assert r.exit_code == 2 and "--old names 2 columns and --new 1" in r.output


def _slice_case(n: int, *, broken: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    city = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    right_a = rng.random(n) < 0.85
    right_b = right_a.copy()
    region = (x > 1.0) if broken else np.zeros(n, bool)
    right_b[region & right_a & (rng.random(n) < 0.4)] = False  # newly wrong in the region
    swap = rng.random(n) < 0.03  # a little churn everywhere, in both directions
    right_b[swap] = ~right_b[swap]

    def proba(right):
        pred = np.where(right, y, 1 - y)
        return np.stack([1.0 - pred, pred.astype(float)], 1) * 0.8 + 0.1

    return proba(right_a), proba(right_b), y, pd.DataFrame({"x": x, "z": z, "city": city})


def test_a_regression_in_a_region_no_group_names_is_found_on_held_out_rows() -> None:
    pa, pb, y, features = _slice_case(4000, broken=True)
    f = compare_versions(pa, pb, y_true=y, features=features)
    worse = [s for s in f.evidence["slices"] if s["worse"]]
    assert f.severity == "warn" and worse and "x >" in worse[0]["rule"]
    assert worse[0]["ci"][1] < 0 and worse[0]["n"] < 2000  # measured on the held-out half
    assert "where x >" in f.title


def test_churn_without_a_regression_names_no_slice() -> None:
    for seed in range(5):
        pa, pb, y, features = _slice_case(4000, broken=False, seed=seed)
        f = compare_versions(pa, pb, y_true=y, features=features, seed=seed)
        assert not any(s["worse"] for s in f.evidence["slices"]), f.evidence["slices"]
