"""Planted data-quality problems: missing values and their pattern, constant columns, mixed
types, out-of-schema values, outliers, imbalance and a leaky feature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.audit import audit
from trustbench.errors import InputError


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.5).astype(int)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "c": rng.normal(size=n), "d": rng.normal(size=n)})
    df.loc[rng.random(n) < 0.1, "a"] = np.nan  # random gaps
    both = rng.random(n) < 0.2
    df.loc[both, ["b", "c"]] = np.nan  # b and c go missing together
    df.loc[(y == 1) & (rng.random(n) < 0.5), "d"] = np.nan  # missing depends on the label
    df["const"] = 7.0
    df["rare"] = np.where(np.arange(n) == 0, 1, 0)  # near-constant
    df["age"] = [str(v) for v in rng.integers(18, 90, n)]
    df.loc[[3, 9], "age"] = ["unknown", "?"]  # numbers as text, with placeholders
    df["mixed"] = pd.Series([1, "x"] * (n // 2), dtype=object)
    df["e"] = rng.normal(size=n)
    df.loc[[5, 6], "e"] = [40.0, -55.0]  # planted outliers
    df["leak"] = y * 2.0 + rng.normal(scale=0.01, size=n)  # the label, re-encoded
    df["y"] = y
    return df


@pytest.fixture(scope="module")
def card(messy):  # type: ignore[no-untyped-def]
    return audit(messy, target="y", checks=["missing", "constant", "mixed_types", "outliers",
                                            "target_proxy", "imbalance"])


def test_missing_columns_and_pattern(card) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.missing")
    assert f.severity == "warn"
    frac = f.evidence["missing_fraction"]
    assert set(frac) == {"a", "b", "c", "d"} and 0.05 < frac["a"] < 0.15
    assert f.evidence["placeholders"] == {"age": {"?": 1, "unknown": 1}}
    p = card.get("audit.missing.pattern")
    assert p.severity == "warn" and list(p.evidence["label_dependent"]) == ["d"]
    assert p.evidence["co_missing"] == [{"columns": ["b", "c"], "jaccard": 1.0}]
    assert f.evidence["plots"][0]["kind"] == "bars"


def test_constant_and_near_constant(card) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.constant_columns")
    assert f.severity == "warn" and f.evidence["constant"] == ["const"]
    assert list(f.evidence["near_constant"]) == ["rare"]


def test_mixed_types(card) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.mixed_types")
    assert set(f.evidence["columns"]) == {"age", "mixed"}
    assert sorted(f.evidence["columns"]["age"]["non_numeric_examples"]) == ["?", "unknown"]
    assert f.evidence["columns"]["mixed"]["types"] == {"int": 200, "str": 200}


def test_outliers(card) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.outliers")
    assert set(f.evidence["rows"]["train"]) == {5, 6}
    assert f.evidence["per_column"] == {"e": 2}
    assert f.severity == "info"  # 0.5% of rows: under the 1% that warns


def test_leaky_feature_fails(card) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.leakage.target_proxy")
    assert f.severity == "fail" and f.evidence["flagged"] == ["leak"]
    assert f.metrics["auc.leak"].value > 0.99


def test_balanced_labels_pass(card) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.imbalance")
    assert f.severity == "info" and 0.8 < f.metrics["imbalance_ratio"].value <= 1


def test_imbalance_and_unseen_test_class() -> None:
    train = pd.DataFrame({"a": np.arange(105.0), "y": [0] * 100 + [1] * 5})
    test = pd.DataFrame({"a": np.arange(10.0), "y": [0] * 5 + [2] * 5})
    f = audit(train, test, target="y", checks=["imbalance"]).get("audit.imbalance")
    assert f.severity == "warn" and f.metrics["imbalance_ratio"].value == pytest.approx(0.05)
    assert "never seen in training: ['2']" in f.title


def test_out_of_schema(tmp_path: Path) -> None:
    df = pd.DataFrame({"age": [20, 30, -1, 200, 40.5], "colour": ["red", "blue", "red", "pink",
                                                                  "blue"], "y": [0, 1, 0, 1, 0]})
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"features": {
        "age": {"type": "integer", "min": 0, "max": 120},
        "colour": {"type": "categorical", "categories": ["red", "blue"]}}}))
    f = audit(df, target="y", schema=schema, checks=["out_of_schema"]).get("audit.out_of_schema")
    assert f.severity == "fail"
    assert f.evidence["columns"]["age"]["where"]["train"] == [2, 3, 4]
    assert f.evidence["columns"]["colour"]["examples"] == ["pink"]
    schema.write_text(json.dumps({"features": {"height": {"min": 0}}}))
    with pytest.raises(InputError, match="'height' is not a column"):
        audit(df, target="y", schema=schema, checks=["out_of_schema"])


def test_schema_not_given_is_reported_not_measured(messy) -> None:  # type: ignore[no-untyped-def]
    card = audit(messy, target="y", checks=["out_of_schema"])
    assert card.get("audit.out_of_schema") is None
    assert any("schema" in s for s in card.not_measured)


def test_schema_type_alone_allows_any_category(tmp_path: Path) -> None:
    df = pd.DataFrame({"colour": ["red", "blue", "teal", "red"], "n": [1.0, 2.0, 3.0, 9.0],
                       "y": [0, 1, 0, 1]})
    schema = {"bounds": [0, 5], "features": {"colour": {"type": "categorical"}}}
    f = audit(df, target="y", schema=schema, checks=["out_of_schema"]).get("audit.out_of_schema")
    assert list(f.evidence["columns"]) == ["n"]  # global bounds: numeric columns only
    assert f.evidence["columns"]["n"]["where"]["train"] == [3]
