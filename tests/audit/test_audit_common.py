"""Every registered audit check, on one table with every role: findings with stable
``audit.`` ids, AI RMF tags, JSON-safe evidence and valid plots; deterministic per seed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trustbench.audit import CHECKS, audit
from trustbench.models import CallableModel
from trustbench.report.plotspec import KINDS


def _model(x: np.ndarray) -> np.ndarray:
    p = 1 / (1 + np.exp(-2 * x[:, 0]))
    return np.stack([1 - p, p], 1)


@pytest.fixture(scope="module")
def cards(planted):  # type: ignore[no-untyped-def]
    kw = dict(target="y", groups=["g", "cat"], id_column="uid", time_column="t",
              model=CallableModel(_model), expect=["g=x:0.7,y:0.3"],
              schema={"features": {"f0": {"min": -3, "max": 3}}})
    return [audit(planted.train, planted.test, seed=1, **kw) for _ in range(2)]


def test_every_check_reports(cards) -> None:  # type: ignore[no-untyped-def]
    card = cards[0]
    assert set(card.provenance["timings_seconds"]) >= set(CHECKS)
    ids = [f.id for f in card.findings]
    assert len(ids) == len(set(ids))
    for f in card.findings:
        assert f.id.startswith("audit.") or f.id == "provenance"
        assert f.tags.subcategories and f.tags.characteristics
        json.dumps(f.to_dict(), allow_nan=False)
        for plot in f.evidence.get("plots", []):
            assert plot["kind"] in KINDS and plot["title"]
    assert card.not_measured == []  # every role given: everything measured


def test_deterministic(cards) -> None:  # type: ignore[no-untyped-def]
    a, b = ({f.id: f.to_dict() for f in c.findings} for c in cards)
    assert a == b


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_each_check_alone(name: str, planted) -> None:  # type: ignore[no-untyped-def]
    card = audit(planted.train.iloc[:150], planted.test.iloc[:60], target="y", groups=["g"],
                 checks=[name], id_column="uid", time_column="t")
    assert list(card.provenance["timings_seconds"]) == [name, "total"]
