"""Every registered audit check passes every check of the public conformance kit
(:mod:`trustbench.testing.conformance`): stable ``audit.`` ids, AI RMF tags, JSON-safe
evidence and valid plots, deterministic per seed, everything measured with every role.
Then all of them together, on one table with every role, as ``audit()`` runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trustbench.audit import CHECKS, audit
from trustbench.audit.registry import select_checks
from trustbench.models import CallableModel
from trustbench.plotspec import KINDS
from trustbench.testing.conformance import audit_checks, parametrize_with_checks, parametrized_checks


@parametrize_with_checks(CHECKS)
def test_audit_check_conforms(entry, check) -> None:  # type: ignore[no-untyped-def]
    check(entry)


def test_every_registered_audit_check_gets_every_check() -> None:
    """Meta: the registry is not empty, the kit has checks for every entry (References
    among them) and the test above runs each of them."""
    assert CHECKS
    expected = set()
    for fn in CHECKS.values():
        names = {c.__name__ for c in audit_checks(fn)}
        assert {"check_docstring_has_references", "check_findings_are_well_formed",
                "check_same_seed_same_findings", "check_measures_with_every_role"} <= names
        expected |= {(fn, c) for c in audit_checks(fn)}
    run = parametrized_checks(test_audit_check_conforms)
    assert len(run) == len(set(run)) and set(run) == expected


def _model(x: np.ndarray) -> np.ndarray:
    p = 1 / (1 + np.exp(-2 * x[:, 0]))
    return np.stack([1 - p, p], 1)


@pytest.fixture(scope="module")
def cards(planted):  # type: ignore[no-untyped-def]
    kw = dict(target="y", groups=["g", "cat"], id_column="uid", time_column="t",
              model=CallableModel(_model), expect=["g=x:0.7,y:0.3"],
              schema={"features": {"f0": {"min": -3, "max": 3}}})
    return [audit(planted.train, planted.test, seed=1, **kw) for _ in range(2)]


def test_every_check_reports_together(cards) -> None:  # type: ignore[no-untyped-def]
    card = cards[0]
    assert set(card.provenance["timings_seconds"]) >= set(CHECKS)
    ids = [f.id for f in card.findings]
    assert len(ids) == len(set(ids))  # no two checks share an id
    for f in card.findings:  # the runner's own findings (provenance, test flags) too
        assert f.id.startswith("audit.") or f.id == "provenance"
        assert f.tags.subcategories and f.tags.characteristics
        json.dumps(f.to_dict(), allow_nan=False)
        for plot in f.evidence.get("plots", []):
            assert plot["kind"] in KINDS and plot["title"]
    assert card.not_measured == []  # every role given: everything measured


def test_deterministic_together(cards) -> None:  # type: ignore[no-untyped-def]
    a, b = ({f.id: f.to_dict() for f in c.findings} for c in cards)
    assert a == b


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_each_check_can_be_selected_alone(name: str) -> None:
    # that each runs alone with few roles is the kit's check_runs_with_few_roles
    assert select_checks([name]) == {name: CHECKS[name]}
