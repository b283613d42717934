"""A planted biased group is reported: in representation, label rate and a model's
fairness metrics, with hand-checked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from trustbench.audit import audit
from trustbench.audit.fairness import group_rates
from trustbench.errors import InputError
from trustbench.models import CallableModel


@pytest.fixture(scope="module")
def biased(table_factory) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    return table_factory(800, seed=11, bias=1.5), table_factory(600, seed=12, bias=1.5)


def test_representation_against_expected(biased) -> None:  # type: ignore[no-untyped-def]
    train, _ = biased
    card = audit(train, target="y", groups=["g"], id_column="uid", time_column="t",
                 expect=["g=x:0.5,y:0.5"], checks=["representation"])
    f = card.get("audit.representation.g")
    assert f.severity == "warn" and f.metrics["chi2_p_value"].value < 1e-6
    share = f.metrics["share.y"]
    assert share.ci[0] < (train["g"] == "y").mean() < share.ci[1]
    assert f.evidence["plots"][0]["labels"][1] == "y (expected 50%)"


def test_expected_group_absent_fails(biased) -> None:  # type: ignore[no-untyped-def]
    train, _ = biased
    card = audit(train, target="y", groups=["g"], id_column="uid", time_column="t",
                 expect=["g=x:0.6,y:0.3,z:0.1"], checks=["representation"])
    f = card.get("audit.representation.g")
    assert f.severity == "fail" and "['z']" in f.title


def test_label_rate_gap_of_the_biased_group(biased) -> None:  # type: ignore[no-untyped-def]
    train, test = biased
    card = audit(train, test, target="y", groups=["g", "cat"], id_column="uid",
                 time_column="t", checks=["label_rate"])
    f = card.get("audit.label_rate.g")
    both = pd.concat([train, test])
    rates = both.groupby("g")["y"].mean()
    assert f.severity == "warn"
    assert f.metrics["max_rate_gap"].value == pytest.approx(rates["x"] - rates["y"])
    assert card.get("audit.label_rate.cat").severity == "info"  # no planted difference
    inter = card.get("audit.label_rate.g & cat")
    assert inter is not None and "x & a" in inter.evidence["counts"]


def test_unbiased_groups_pass(table_factory) -> None:  # type: ignore[no-untyped-def]
    card = audit(table_factory(800, seed=13), target="y", groups=["g"], id_column="uid",
                 time_column="t", checks=["label_rate"])
    assert card.get("audit.label_rate.g").severity == "info"


def test_fairness_metrics_of_a_biased_model(biased) -> None:  # type: ignore[no-untyped-def]
    train, test = biased

    def predict(x: np.ndarray) -> np.ndarray:  # columns: f0 f1 f2 f3 cat uid t
        p = 1 / (1 + np.exp(-4 * (x[:, 0] - 1.0)))  # one threshold for everyone
        return np.stack([1 - p, p], 1)

    card = audit(train, test, target="y", groups=["g"], id_column="uid", time_column="t",
                 model=CallableModel(predict), checks=["fairness"])
    f = card.get("audit.fairness.g")
    pred = (test["f0"] > 1.0).to_numpy()
    sel = pd.Series(pred).groupby(test["g"].to_numpy()).mean()
    y = test["y"].to_numpy() == 1
    tpr = pd.Series(pred[y]).groupby(test["g"].to_numpy()[y]).mean()
    assert f.metrics["demographic_parity_difference"].value == pytest.approx(
        abs(sel["x"] - sel["y"]), abs=1e-6)
    assert f.metrics["equal_opportunity_difference"].value == pytest.approx(
        abs(tpr["x"] - tpr["y"]), abs=1e-6)
    lo, hi = f.metrics["equalized_odds_difference"].ci
    assert lo <= f.metrics["equalized_odds_difference"].value <= hi
    assert f.severity in ("warn", "fail") and f.evidence["split"] == "test"


def test_fairness_with_a_frame_pipeline(biased) -> None:  # type: ignore[no-untyped-def]
    train, test = biased
    cols = ["f0", "f1", "f2", "f3"]
    est = LogisticRegression().fit(train[cols], train["y"])
    card = audit(train, test, target="y", groups=["g"], id_column="uid", time_column="t",
                 model=est, checks=["fairness", "label_errors"])
    f = card.get("audit.fairness.g")
    assert 0 <= f.metrics["demographic_parity_ratio"].value <= 1
    assert "LogisticRegression" in card.get("audit.label_errors").detail


def test_group_rates_bootstrap_shape() -> None:
    codes = np.array([0, 0, 1, 1, 1])
    sums = group_rates(codes, np.array([1, 0, 1, 1, 0.0]), np.array([1, 1, 0, 1, 0.0]), 2,
                       n_boot=7, rng=np.random.default_rng(0))
    assert sums.shape == (8, 2, 5)
    np.testing.assert_array_equal(sums[0, :, 0], [2, 3])  # rows per group
    np.testing.assert_array_equal(sums[0, :, 3], [1, 1])  # true positives


def test_expect_must_name_a_group_column(biased) -> None:  # type: ignore[no-untyped-def]
    train, _ = biased
    with pytest.raises(InputError, match="not a --group column"):
        audit(train, target="y", groups=["g"], expect=["sex=f:0.5,m:0.5"],
              checks=["representation"])
