"""Poisoning simulation, the training-set detectors, STRIP and mitigation.

Detectors are pinned to their papers on planted features whose answer is known by hand, and
end to end on a digits CNN with a BadNets backdoor (trained once per module, seeded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trustbench.errors import InputError
from trustbench.security.detect.activation_clustering import (
    activation_clustering,
    exclusionary_reclassification,
)
from trustbench.security.detect.spectral import spectral_signatures
from trustbench.security.detect.strip import STRIP
from trustbench.security.features import penultimate_layer, representations
from trustbench.security.mitigate import defence_effectiveness, fine_prune, retrain_without
from trustbench.security.poison import (
    BlendTrigger,
    FeatureTrigger,
    PatchTrigger,
    accuracy,
    attack_success_rate,
    poison,
)


def test_poison_rates_labels_and_modes() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.random((400, 1, 8, 8)).astype(np.float32), rng.integers(0, 4, 400)
    trig = PatchTrigger(size=2)
    p = poison(x, y, trig, rate=0.1, target=2, seed=1)
    assert p.poisoned.sum() == 40 and (p.y[p.poisoned] == 2).all()
    assert (p.y[~p.poisoned] == y[~p.poisoned]).all() and (p.x[~p.poisoned] == x[~p.poisoned]).all()
    assert (p.x[p.poisoned][:, :, 6:, 6:] == 1).all()  # the patch, bottom-right
    assert np.array_equal(poison(x, y, trig, rate=0.1, target=2, seed=1).poisoned, p.poisoned)
    a2a = poison(x, y, trig, rate=0.1, mode="all-to-all", seed=1)
    assert (a2a.y[a2a.poisoned] == (y[a2a.poisoned] + 1) % 4).all()
    cl = poison(x, y, trig, rate=0.05, target=3, clean_label=True, seed=1)
    assert (y[cl.poisoned] == 3).all() and (cl.y == y).all()
    board = PatchTrigger(size=3, pattern="checkerboard", position="top-left")(x[:1])
    assert board[0, 0, 0, 0] == 1 and board[0, 0, 0, 1] == 0
    blended = BlendTrigger(ratio=0.2)(x[:5])
    assert blended.shape == x[:5].shape and 0 <= blended.min() and blended.max() <= 1
    table = FeatureTrigger(features=(0, 3), values=(9.0, -9.0))(rng.random((5, 6)))
    assert (table[:, 0] == 9).all() and (table[:, 3] == -9).all()
    for bad in ({"rate": 0.0}, {"rate": 1.5}, {"target": 7}):
        with pytest.raises(InputError):
            poison(x, y, trig, **bad)
    with pytest.raises(InputError, match="does not fit"):
        PatchTrigger(size=9)(x[:1])


def test_spectral_signatures_find_a_planted_direction_and_remove_the_papers_budget() -> None:
    rng = np.random.default_rng(0)
    n, d = 300, 20
    feats = rng.normal(size=(2 * n, d))
    y = np.repeat([0, 1], n)
    bad = np.zeros(2 * n, bool)
    bad[:30] = True  # 10% of class 0, shifted along one direction
    feats[bad, 3] += 6.0
    res = spectral_signatures(feats, y, eps=0.1)
    assert res.removed_per_class == {0: 45, 1: 45}  # floor(1.5 * 0.1 * 300) in *each* class
    assert (res.flagged & bad).sum() >= 29  # (nearly) every poisoned row is among the removed
    assert res.flagged[y == 1].sum() == 45  # the rule removes clean rows too (ART #1188)


def test_activation_clustering_flags_a_small_separated_cluster_only() -> None:
    rng = np.random.default_rng(1)
    clean = rng.normal(size=(200, 16))
    poisoned = rng.normal(size=(40, 16)) + 6.0
    feats = np.vstack([clean, poisoned, rng.normal(size=(240, 16))])
    y = np.repeat([0, 1], 240)
    res = activation_clustering(feats, y, seed=0)
    assert res.poisoned_classes == [0]
    assert res.flagged[200:240].all() and not res.flagged[:200].any()
    assert res.relative_size[0] == pytest.approx(40 / 240) and res.silhouette[1] < 0.1
    # exclusionary reclassification: a model trained without the cluster sends it elsewhere
    from sklearn.linear_model import LogisticRegression

    xs = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 5,
                    rng.normal(size=(20, 2)) + 5])
    ys = np.array([0] * 100 + [1] * 100 + [0] * 20)  # the last 20: class-1 points labelled 0
    poisoned_, score = exclusionary_reclassification(
        xs, ys, np.arange(200, 220), lambda a, b: LogisticRegression().fit(a, b),
        lambda m, a: m.predict(a))
    assert poisoned_ and score > 1
    genuine, _ = exclusionary_reclassification(
        xs, ys, np.arange(0, 20), lambda a, b: LogisticRegression().fit(a, b),
        lambda m, a: m.predict(a))
    assert not genuine


def test_strip_entropy_is_over_classes_and_its_threshold_over_clean_inputs() -> None:
    uniform = lambda x: np.full((len(x), 4), 0.25)  # noqa: E731
    s = STRIP(uniform, n=5).fit(np.zeros((40, 1, 2, 2), np.float32))
    assert np.allclose(s.clean_entropy_, 2.0)  # log2(4) bits: per blend, over classes
    with pytest.raises(InputError, match="not fitted"):
        STRIP(uniform).entropy(np.zeros((2, 1, 2, 2)))


@pytest.fixture(scope="module")
def backdoored() -> dict:
    from trustbench.data import load_builtin
    from trustbench.demo import DemoCNN

    torch.set_num_threads(1)
    train = load_builtin("digits", split="train", seed=0)
    test = load_builtin("digits", split="test", seed=0)
    trig = PatchTrigger(size=2, pattern="checkerboard")
    data = poison(train.x, train.y, trig, rate=0.05, target=0, seed=0)

    def make() -> DemoCNN:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return DemoCNN(8)

    none = np.zeros(len(data.y), bool)
    return {"model": retrain_without(make, data.x, data.y, none, epochs=25),
            "clean": retrain_without(make, train.x, train.y, none, epochs=25),
            "data": data, "test": test, "trigger": trig, "make": make}


def test_badnets_plants_a_backdoor_that_clean_accuracy_does_not_show(backdoored: dict) -> None:
    b, t = backdoored, backdoored["test"]
    asr, (lo, hi), n = attack_success_rate(b["model"], t.x, t.y, b["trigger"], target=0)
    assert asr >= 0.9 and lo <= asr <= hi and n == (t.y != 0).sum()
    acc, _ = accuracy(b["model"], t.x, t.y)
    acc_clean, _ = accuracy(b["clean"], t.x, t.y)
    assert acc >= acc_clean - 0.02  # at most 2 points below a model trained on clean data
    assert attack_success_rate(b["clean"], t.x, t.y, b["trigger"])[0] < 0.1


def test_detectors_on_the_backdoored_digits_model(backdoored: dict) -> None:
    b, t, data = backdoored, backdoored["test"], backdoored["data"]
    assert penultimate_layer(b["model"]) == "head.3"
    feats = representations(b["model"], data.x)
    assert feats.shape == (len(data.y), 64)
    share = (data.poisoned & (data.y == 0)).sum() / (data.y == 0).sum()
    ss = spectral_signatures(feats, data.y, eps=float(share))
    assert (ss.flagged & data.poisoned).sum() / data.poisoned.sum() >= 0.5
    ac = activation_clustering(feats, data.y)
    assert 0 in ac.poisoned_classes
    strip = STRIP(b["model"], n=40, frr=0.05).fit(t.x[:300])
    stamped = b["trigger"](t.x[300:][t.y[300:] != 0])
    assert strip.detect(stamped).flagged.mean() >= 0.9
    assert strip.detect(t.x[300:]).flagged.mean() <= 0.15


def test_mitigations_lower_attack_success(backdoored: dict) -> None:
    b, t, data = backdoored, backdoored["test"], backdoored["data"]
    before = attack_success_rate(b["model"], t.x, t.y, b["trigger"])[0]
    retrained = retrain_without(b["make"], data.x, data.y, data.poisoned, epochs=25)
    after = attack_success_rate(retrained, t.x, t.y, b["trigger"])[0]
    assert after < 0.1 < before  # the truth removed: the backdoor is gone
    pruned, k = fine_prune(b["model"], t.x[:300], t.y[:300], epochs=3)
    assert k > 0 and accuracy(pruned, t.x, t.y)[0] >= accuracy(b["model"], t.x, t.y)[0] - 0.08
    weights = dict(b["model"].named_parameters())["features.2.weight"]
    assert not torch.equal(weights, dict(pruned.named_parameters())["features.2.weight"])
    assert defence_effectiveness(0.95, 0.05, 0.97, 0.96) == pytest.approx(0.945)
    assert defence_effectiveness(0.9, 0.9, 0.9, 0.9) == 0.5


def test_the_secure_command_finds_the_backdoor(backdoored: dict, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from trustbench.cli import app

    torch.save(backdoored["model"].state_dict(), tmp_path / "bd.pt")
    data = backdoored["data"]
    np.savez(tmp_path / "train.npz", x=data.x, y=data.y)
    r = CliRunner().invoke(app, ["secure", "--model", str(tmp_path / "bd.pt"), "--arch",
                                 "trustbench.demo:DemoCNN", "--arch-kwargs", '{"width": 8}',
                                 "--data", "digits", "--train", str(tmp_path / "train.npz"),
                                 "--out", str(tmp_path / "rep"), "--steps", "100"])
    assert r.exit_code == 1, r.output
    assert "Neural Cleanse: class 0" in r.output
    card = json.loads((tmp_path / "rep" / "scorecard.json").read_text())
    ids = {f["id"]: f for f in card["findings"]}
    assert ids["security.inspect"]["severity"] == "info"
    assert ids["security.backdoor.neural_cleanse"]["evidence"]["flagged"] == [0]
    assert set(ids) >= {"security.backdoor.strip", "security.backdoor.spectral",
                        "security.backdoor.activation_clustering"}
    assert (tmp_path / "rep" / "report.html").exists()


@pytest.mark.slow
def test_secure_simulate_scores_every_detector_against_the_truth(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from trustbench.cli import app

    r = CliRunner().invoke(app, ["secure", "--simulate", "--data", "digits", "--out",
                                 str(tmp_path / "sim"), "--steps", "100"])
    assert r.exit_code == 1, r.output  # Neural Cleanse finds the planted backdoor
    card = json.loads((tmp_path / "sim" / "scorecard.json").read_text())
    ids = {f["id"]: f for f in card["findings"]}
    assert ids["security.backdoor.simulation"]["metrics"]["attack_success_rate"]["value"] > 0.9
    ac = ids["security.backdoor.activation_clustering"]
    assert ac["metrics"]["recall"]["value"] > 0.3 and ac["metrics"]["fpr"]["value"] < 0.2
    assert "per_class" in ac["evidence"]
    assert any(i.startswith("security.backdoor.mitigation.") for i in ids)
    bad = CliRunner().invoke(app, ["secure", "--data", "digits", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--simulate" in bad.output
