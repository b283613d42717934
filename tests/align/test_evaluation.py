"""Best-of-n, over-optimisation, the frontier, reward-model findings and robustness probes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pytest

from trustbench.align.bon import best_of_n_curve, best_of_n_kl
from trustbench.align.data import Preference
from trustbench.align.overopt import FrontierPoint, frontier_finding, overoptimisation_finding
from trustbench.align.reward_eval import (
    MIN_GROUP,
    group_finding,
    length_bias_finding,
    reward_model_finding,
)
from trustbench.align.robust import (
    PERTURBATIONS,
    perturb,
    perturbation_finding,
    reward_hacking_finding,
)
from trustbench.errors import InputError


def test_best_of_n_curve_is_the_exact_mean_over_all_subsets() -> None:
    rng = np.random.default_rng(0)
    proxy, outcome = rng.normal(size=(3, 7)), rng.normal(size=(3, 7))
    curve = best_of_n_curve(proxy, outcome, [1, 2, 3, 7])
    for p in range(3):
        for j, n in enumerate([1, 2, 3, 7]):
            subsets = list(itertools.combinations(range(7), n))
            exact = np.mean([outcome[p, max(s, key=lambda i: proxy[p, i])] for s in subsets])
            assert curve[p, j] == pytest.approx(exact, abs=1e-12)
    with pytest.raises(InputError, match="pool size"):
        best_of_n_curve(proxy, outcome, [8])


def test_best_of_n_kl() -> None:
    assert best_of_n_kl(1) == 0
    assert best_of_n_kl(64) == pytest.approx(math.log(64) - 63 / 64)


def _curves(true_shape: Sequence[float], seed: int = 0,
            noise: float = 0.05) -> tuple[list[float], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kl = [best_of_n_kl(n) for n in (1, 2, 4, 8, 16, 32, 64)]
    proxy = np.linspace(0, 3, 7)[None] + rng.normal(scale=noise, size=(200, 7))
    true = np.asarray(true_shape)[None] + rng.normal(scale=noise, size=(200, 7))
    return kl, proxy, true


@pytest.mark.parametrize(("shape", "fires"), [
    ((0, .1, .2, .3, .4, .5, .6), False),             # in step with the proxy
    ((0, .3, .5, .6, .65, .7, .72), False),           # slowing, like the proxy's own gains
    ((0, .2, .3, .3, .2, .1, 0), True),               # rises, then falls
    ((0, .3, .4, .4, .4, .4, .4), True),              # plateaus while the proxy climbs
])
def test_overoptimisation_fires_on_a_fall_or_a_plateau_only(shape: tuple[float, ...],
                                                            fires: bool) -> None:
    kl, proxy, true = _curves(shape)
    f = overoptimisation_finding(kl, proxy, true)
    assert (f.severity == "fail") is fires, f.title
    assert f.evidence["curve"]["kl"] == kl and f.evidence["plots"]


def test_overoptimisation_input_errors() -> None:
    kl, proxy, true = _curves([0] * 7)
    with pytest.raises(InputError, match="rising KL"):
        overoptimisation_finding(kl[::-1], proxy, true)
    with pytest.raises(InputError, match="must be"):
        overoptimisation_finding(kl, proxy, true[:, :3])


def test_frontier_picks_the_best_within_the_kl_budget() -> None:
    points = [FrontierPoint("DPO (beta)", b, kl, (kl, kl), t, (t, t))
              for b, kl, t in ((1.0, 2.0, 0.6), (3.0, 0.8, 0.4), (10.0, 0.2, 0.25))]
    f = frontier_finding(points, reference_true=0.2)
    assert f.metrics["ratio_to_reference"].value == pytest.approx(2.0)
    assert "at 3" in f.title
    assert f.evidence["plots"][0]["kind"] == "lines"


def test_reward_model_finding_accuracy_calibration_and_ceiling() -> None:
    rng = np.random.default_rng(1)
    d = rng.normal(1.0, 1.0, size=2000)  # reward differences; labels drawn from sigmoid(d)
    right = rng.random(2000) < 1 / (1 + np.exp(-d))
    rc = np.where(right, d, -d)  # the model's reward difference, seen from the label
    rr = np.zeros(2000)
    f = reward_model_finding(rc, rr, ceiling=0.7)
    assert f.metrics["accuracy"].value == pytest.approx(np.mean(rc > 0))
    assert f.metrics["ece"].value < 0.05  # the Bradley–Terry probabilities are calibrated
    assert f.severity == "info"
    assert reward_model_finding(rc, rr, ceiling=0.95).severity == "warn"
    assert reward_model_finding(rr, rc).severity == "fail"


def _pairs(lengths: Sequence[tuple[int, int]]) -> list[Preference]:
    return [Preference("p", " ".join(["a"] * c), " ".join(["b"] * r), id=str(i))
            for i, (c, r) in enumerate(lengths)]


def test_length_bias_is_found_when_the_reward_model_rewards_length() -> None:
    rng = np.random.default_rng(2)
    lengths = [tuple(rng.choice(np.arange(1, 9), size=2, replace=False)) for _ in range(400)]
    prefs = _pairs(lengths)
    by_length = np.array([len(p.chosen.split()) for p in prefs]), np.array(
        [len(p.rejected.split()) for p in prefs])
    f = length_bias_finding(prefs, *by_length)
    assert f.severity == "warn"
    assert f.metrics["accuracy_chosen_longer"].value == 1.0
    assert f.metrics["accuracy_chosen_shorter"].value == 0.0
    fair = rng.random(400) < 0.8
    g = length_bias_finding(prefs, fair.astype(float), np.zeros(400))
    assert g.severity == "info"


def test_groups_are_judged_only_when_large_enough() -> None:
    prefs = [Preference("p", "a", "b", group="x" if i % 2 else "y", id=str(i))
             for i in range(4 * MIN_GROUP)]
    right = np.array([i % 2 == 1 or i % 4 == 0 for i in range(len(prefs))])  # x all right
    f = group_finding(prefs, right.astype(float), np.zeros(len(prefs)))
    assert f is not None and f.severity == "warn" and "group=y" in f.title
    assert group_finding([Preference("p", "a", "b")], np.ones(1), np.zeros(1)) is None


def test_perturbations_are_seeded_and_do_what_they_say() -> None:
    rng = np.random.default_rng
    for kind in PERTURBATIONS:
        a = perturb("the prompt", "one two three four five six", kind, rng(0))
        b = perturb("the prompt", "one two three four five six", kind, rng(0))
        assert a == b
    assert perturb("p", "x y", "repeat_prompt", rng(0)) == "p x y"
    assert perturb("p", "x y", "filler", rng(0), filler="f").endswith(" f")
    assert perturb("p", "x y", "whitespace", rng(0)).split() == ["x", "y"]
    assert perturb("p", "x y", "case", rng(3)).lower() == "x y"
    with pytest.raises(InputError, match="unknown perturbation"):
        perturb("p", "x", "emoji", rng(0))


class _CountsG:
    """A reward model by hand: the number of g-words, plus ``length`` per word."""

    def __init__(self, length: float = 0.0) -> None:
        self.length = length

    def rewards(self, prompts: Sequence[str], responses: Sequence[str], *,
                batch_size: int = 32) -> np.ndarray:
        return np.array([r.split().count("g") + self.length * len(r.split()) for r in responses])


def _share_g(prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
    return np.array([r.split().count("g") / max(len(r.split()), 1) for r in responses])


def test_perturbation_finding_warns_when_case_breaks_the_reward_model() -> None:
    prefs = [Preference("p", "g x x", "x x x", id=str(i)) for i in range(200)]
    f = perturbation_finding(_CountsG(), prefs, kinds=["case", "filler"], filler="x")
    assert f.metrics["accuracy_clean"].value == 1.0
    assert f.metrics["accuracy[filler]"].value == 1.0
    assert f.metrics["accuracy[case]"].value < 0.9 and f.severity == "warn"


def test_reward_hacking_probe_finds_the_length_loophole_only_where_it_is() -> None:
    starts = ["g x x", "x g x", "x x g x"] * 10
    prompts = ["p"] * len(starts)
    hacked = reward_hacking_finding(_CountsG(length=1.0), prompts, starts, words=["g", "x"],
                                    true_reward=_share_g, steps=3)
    assert hacked.severity == "fail" and hacked.metrics["success_rate"].value == 1.0
    after = hacked.evidence["examples"][0]["after"]
    assert _share_g(["p"], [after])[0] <= _share_g(["p"], [hacked.evidence["examples"][0]["before"]])[0]
    honest = reward_hacking_finding(_CountsG(), prompts, starts, words=["g", "x"],
                                    true_reward=_share_g, steps=3)
    assert honest.metrics["success_rate"].value == 0.0 and honest.severity == "info"
    with pytest.raises(InputError, match="words"):
        reward_hacking_finding(_CountsG(), prompts, starts, words=[])
