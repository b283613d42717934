"""OOD scores and separation metrics against hand-computed and analytic answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from trustbench.errors import InputError
from trustbench.metrics.ood import energy_score, fpr_at_tpr, max_softmax_score, ood_auroc


def test_hand_computed_auroc_and_fpr() -> None:
    s_in = np.array([3.0, 4.0, 5.0, 6.0])
    s_out = np.array([1.0, 4.0, 5.0])
    # pairs (in > out) + ties / 2: 1 + 1.5 + 2.5 + 3 of 12
    assert ood_auroc(s_in, s_out) == pytest.approx(8 / 12)
    # keep 3 of 4 in-distribution points: threshold 4; out-points >= 4: two of three
    assert fpr_at_tpr(s_in, s_out, tpr=0.75) == pytest.approx(2 / 3)
    assert fpr_at_tpr(s_in, np.array([1.0, 2.0, 3.5]), tpr=0.75) == 0.0


def test_perfect_and_chance_separation() -> None:
    s = np.linspace(0, 1, 100)
    assert ood_auroc(s + 2, s) == 1.0
    assert fpr_at_tpr(s + 2, s) == 0.0
    assert ood_auroc(s, s) == pytest.approx(0.5)
    assert fpr_at_tpr(s, s) == pytest.approx(0.95)  # the 95 largest scores are accepted
    assert ood_auroc(s, s + 2) == 0.0  # OOD ranked higher: below chance


def test_gaussian_scores_match_the_analytic_answer() -> None:
    rng = np.random.default_rng(0)
    d = 1.5
    s_in = rng.normal(d, 1.0, 40_000)
    s_out = rng.normal(0.0, 1.0, 40_000)
    assert ood_auroc(s_in, s_out) == pytest.approx(norm.cdf(d / np.sqrt(2)), abs=0.005)
    # threshold d - z_0.95; an OOD score passes it with probability 1 - Phi(d - z_0.95)
    want = 1 - norm.cdf(d - norm.ppf(0.95))
    assert fpr_at_tpr(s_in, s_out) == pytest.approx(want, abs=0.01)


def test_msp_and_energy_scores() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]])
    np.testing.assert_allclose(max_softmax_score(p), [0.7, 0.4])
    z = np.array([[0.0, 0.0], [1000.0, 1000.0], [2.0, -1.0]])
    np.testing.assert_allclose(energy_score(z), [np.log(2), 1000 + np.log(2),
                                                 np.log(np.exp(2) + np.exp(-1))])
    np.testing.assert_allclose(energy_score(z, temperature=2.0),
                               2 * np.log(np.exp(z / 2).sum(1)))
    # from log-probabilities the energy says nothing: it is 0 for every input
    np.testing.assert_allclose(energy_score(np.log(p)), 0.0, atol=1e-12)


def test_bad_input() -> None:
    with pytest.raises(InputError, match="got 0 and 3"):
        ood_auroc(np.array([]), np.ones(3))
    with pytest.raises(InputError, match="NaN"):
        fpr_at_tpr(np.array([np.nan, 1.0]), np.ones(3))
    with pytest.raises(InputError, match="tpr"):
        fpr_at_tpr(np.ones(3), np.ones(3), tpr=0.0)
    with pytest.raises(InputError, match="logits must be"):
        energy_score(np.ones(3))
    with pytest.raises(InputError, match="temperature"):
        energy_score(np.ones((1, 3)), temperature=0.0)


def test_docstring_examples() -> None:
    import doctest

    from trustbench.metrics import ood

    result = doctest.testmod(ood)
    assert result.attempted > 0 and result.failed == 0
