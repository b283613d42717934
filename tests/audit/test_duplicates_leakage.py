"""Planted exact and near duplicates, shared rows, shared ids and time-order leakage are
all found, and nothing else is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trustbench.audit import audit
from trustbench.audit import neighbours as nb


@pytest.fixture(scope="module")
def card(planted):  # type: ignore[no-untyped-def]
    return audit(planted.train, planted.test, target="y", groups=["g"], id_column="uid",
                 time_column="t", checks=["duplicates", "leakage", "time_order"])


def _train_rows(card, fid: str, key: str = "rows") -> set[int]:  # type: ignore[no-untyped-def]
    return set(card.get(fid).evidence[key]["train"])


def test_exact_duplicates_are_the_planted_copies(card, planted) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.duplicates.exact")
    assert set(f.evidence["repeats"]["train"]) == set(planted.exact)
    assert set(f.evidence["rows_in_duplicate_groups"]["train"]) == set(planted.exact) | set(
        planted.exact.values())
    assert f.metrics["train_repeats"].value == 5 and f.severity == "warn"


def test_near_duplicates_recall_and_precision(card, planted) -> None:  # type: ignore[no-untyped-def]
    found = _train_rows(card, "audit.duplicates.near")
    truth = set(planted.near) | set(planted.near.values())
    assert found == truth


def test_shared_and_near_rows_across_splits(card, planted) -> None:  # type: ignore[no-untyped-def]
    shared = card.get("audit.leakage.shared_rows")
    assert set(shared.evidence["rows"]["test"]) == set(planted.leak_exact)
    assert shared.severity == "warn"  # 8 of 200 = 4%: under the 5% that fails
    near = card.get("audit.leakage.near_duplicates")
    assert set(near.evidence["rows"]["test"]) == set(planted.leak_near)


def test_shared_ids(card, planted) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.leakage.shared_ids")
    assert set(f.evidence["rows"]["test"]) == set(planted.shared_ids)
    assert f.severity == "warn" and f.evidence["shared_id_values"][0].startswith("u1-")


def test_time_order_random_split_leaks(card) -> None:  # type: ignore[no-untyped-def]
    f = card.get("audit.leakage.time_order")
    assert f.severity == "fail" and f.metrics["test_fraction"].value > 0.9


def test_time_order_clean_cutoff() -> None:
    df = pd.DataFrame({"a": np.arange(100.0), "t": pd.date_range("2024-01-01", periods=100),
                       "y": np.arange(100) % 2})
    card = audit(df.iloc[:70], df.iloc[70:], target="y", time_column="t", checks=["time_order"])
    f = card.get("audit.leakage.time_order")
    assert f.severity == "info" and f.metrics["test_rows"].value == 0


def test_test_flags_collect_every_leak(card, planted) -> None:  # type: ignore[no-untyped-def]
    flags = card.get("audit.test_flags").evidence
    leaked = set(planted.leak_exact) | set(planted.leak_near) | set(planted.shared_ids)
    assert leaked <= set(flags["rows"]["leak"])  # plus rows earlier in time
    assert flags["leak_reasons"]["shared_row"] == 8


def test_grid_hashing_finds_the_same_pairs(planted, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(nb, "EXACT_ROWS", 300)  # force the scalable path on small data
    card = audit(planted.train, planted.test, target="y", groups=["g"], id_column="uid",
                 time_column="t", checks=["duplicates", "leakage"])
    found = _train_rows(card, "audit.duplicates.near")
    assert found == set(planted.near) | set(planted.near.values())
    assert "grid" in card.get("audit.duplicates.near").detail
    assert set(card.get("audit.leakage.near_duplicates").evidence["rows"]["test"]) == set(
        planted.leak_near)


def test_conflicting_labels() -> None:
    df = pd.DataFrame({"a": [1.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0, 1, 0, 1, 0, 1]})
    f = audit(df, target="y", checks=["duplicates"]).get("audit.duplicates.conflicting_labels")
    assert f.severity == "warn" and f.evidence["rows"]["train"] == [0, 1]


def test_embeddings_drive_near_duplicates(planted) -> None:  # type: ignore[no-untyped-def]
    n = len(planted.train)
    emb = np.random.default_rng(0).normal(size=(n, 8))
    emb[50] = emb[60] + 1e-5
    card = audit(planted.train, target="y", groups=["g"], id_column="uid", time_column="t",
                 embeddings=emb, checks=["duplicates"])
    assert set(card.get("audit.duplicates.near").evidence["rows"]["train"]) == {50, 60}
