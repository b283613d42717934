"""weakest_slices: a planted weak region is recovered as a readable rule and scored on
held-out points; error noise with no structure yields no significant slice."""

from __future__ import annotations

import numpy as np
import pytest

from trustbench.errors import InputError
from trustbench.metrics.slices import weakest_slices


def _uniform(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3))  # (n, 3)


def test_planted_weak_region_is_recovered_and_scored_held_out() -> None:
    x = _uniform(1000, 0)
    noise = np.random.default_rng(1).random(1000) < 0.05
    correct = ~((x[:, 0] > 0.8) | noise)
    rep = weakest_slices(x, correct, feature_names=["radius", "texture", "area"], seed=0)
    assert rep.n_discover + rep.n_evaluate == 1000 and rep.n_evaluate == 500
    top = rep.weakest[0]
    (feature, op, value), *_ = [c for c in top.conditions if c[0] == "radius"]
    assert (feature, op) == ("radius", ">") and value == pytest.approx(0.8, abs=0.03)
    assert "radius > 0.8" in top.rule
    assert top.significant and top.p_value < 1e-6
    assert top.accuracy < 0.1 and top.ci[1] < 0.2
    assert top.gap == pytest.approx(rep.overall_accuracy - top.accuracy)
    assert 60 <= top.n <= 140  # about 20% of the 500 held-out points
    held_out_overall = rep.overall_accuracy
    assert 0.7 < held_out_overall < 0.8
    assert sum(s.n for s in rep.leaves) == rep.n_evaluate
    assert [s.accuracy for s in rep.leaves] == sorted(s.accuracy for s in rep.leaves)


def test_noise_without_structure_gives_no_significant_slice() -> None:
    found = 0
    for seed in range(5):
        x = _uniform(600, seed)
        correct = np.random.default_rng(50 + seed).random(600) > 0.15
        found += bool(weakest_slices(x, correct, seed=seed).weakest)
    assert found <= 1


def test_categorical_rule_names_category_values() -> None:
    rng = np.random.default_rng(4)
    x = np.c_[rng.random(800), rng.integers(0, 3, 800)]  # (800, 2): a number and a code
    correct = x[:, 1] != 2
    rep = weakest_slices(x, correct, feature_names=["size", "color"],
                         categories={1: ["red", "green", "blue"]}, max_depth=1, seed=0)
    assert rep.weakest[0].rule == "color in {blue}"
    assert rep.weakest[0].accuracy == 0.0
    assert rep.weakest[0].conditions == (("color", "in", ["blue"]),)


def test_too_few_points_or_no_errors_give_an_empty_report_with_a_note() -> None:
    x = _uniform(60, 0)
    small = weakest_slices(x, np.arange(60) % 3 > 0)
    assert small.weakest == [] and "too few points" in small.note
    clean = weakest_slices(_uniform(400, 1), np.ones(400, bool))
    assert clean.weakest == [] and clean.overall_accuracy == 1.0 and "no errors" in clean.note


def test_seeded_and_shapes_checked() -> None:
    x = _uniform(400, 2)
    correct = x[:, 1] < 0.7
    a, b = weakest_slices(x, correct, seed=3), weakest_slices(x, correct, seed=3)
    assert [s.rule for s in a.leaves] == [s.rule for s in b.leaves]
    with pytest.raises(InputError, match="N = 5"):
        weakest_slices(x, np.ones(5, bool))
