"""The whole backdoor cycle on data whose truth is known: poison, train, detect, mitigate.

:func:`simulate_backdoor` poisons a training set (:func:`~trustbench.security.poison.poison`),
trains a model on it and one on the clean set (the harden ``Trainer``), measures clean
accuracy and attack success, runs the four detectors — scored against the poisoned rows
it planted, per class — and three mitigations (retraining without the rows activation
clustering flags, fine-pruning, Neural Cleanse unlearning), and returns everything as a
Scorecard (``security.backdoor.*``) plus the numbers. ``trustbench secure --simulate`` and
``examples/backdoor_digits.py`` run it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.scorecard import Scorecard

__all__ = ["Simulation", "simulate_backdoor"]


@dataclass
class Simulation:
    """What :func:`simulate_backdoor` measured (the card holds the same as findings)."""

    card: Scorecard
    accuracy: float
    accuracy_clean_model: float
    asr: float
    detection: dict[str, tuple[float, float]] = field(default_factory=dict)  # (TPR, FPR)
    strip_tpr: float = float("nan")
    strip_frr: float = float("nan")
    cleanse_flagged: list[int] = field(default_factory=list)
    cleanse_index: float = float("nan")
    cleanse_index_clean: float = float("nan")
    mitigations: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def simulate_backdoor(make_module: Callable[[], Any], x_train: np.ndarray, y_train: np.ndarray,
                      x_test: np.ndarray, y_test: np.ndarray, *, trigger: Any = None,
                      rate: float = 0.05, target: int = 0, epochs: int = 30,
                      eps: float = 0.1, nc_steps: int = 150, seed: int = 0,
                      step: Callable[[str], None] | None = None) -> Simulation:
    """Poison ``(x_train, y_train)``, train ``make_module()`` on it, detect and mitigate.

    Parameters
    ----------
    make_module
        Returns a fresh, untrained ``nn.Module`` for images (N, C, H, W) in [0, 1].
    trigger
        Default: a 2x2 checkerboard in the bottom-right corner (BadNets).
    rate, target
        Share of training rows poisoned (all-to-one to ``target``).
    epochs, eps, nc_steps
        Training epochs; spectral signatures' bound; Neural Cleanse's steps per class.
    step
        Called with each part's name as it starts (progress).
    """
    from trustbench.security.backdoor import backdoor_card
    from trustbench.security.detect.activation_clustering import activation_clustering
    from trustbench.security.detect.neural_cleanse import neural_cleanse, unlearn
    from trustbench.security.detect.spectral import spectral_signatures
    from trustbench.security.detect.strip import STRIP
    from trustbench.security.features import representations
    from trustbench.security.mitigate import defence_effectiveness, fine_prune, retrain_without
    from trustbench.security.poison import (
        PatchTrigger,
        accuracy,
        attack_success_rate,
        poison,
    )

    say = step or (lambda _name: None)
    x_test, y_test = np.asarray(x_test), np.asarray(y_test)
    if np.asarray(x_train).ndim != 4 or x_test.ndim != 4:
        raise InputError("the backdoor simulation needs images (N, C, H, W)",
                         fix="use an image dataset such as 'digits'")
    if len(y_test) < 80:
        raise InputError(f"the test set has {len(y_test)} rows; the simulation needs 80 or more")
    trigger = trigger or PatchTrigger(size=2, pattern="checkerboard")
    data = poison(x_train, y_train, trigger, rate=rate, target=target, seed=seed)
    none = np.zeros(len(data.y), bool)
    say("training on the poisoned data")
    model = retrain_without(make_module, data.x, data.y, none, epochs=epochs, seed=seed)
    say("training on the clean data")
    clean_model = retrain_without(make_module, np.asarray(x_train), np.asarray(y_train),
                                  np.zeros(len(y_train), bool), epochs=epochs, seed=seed)
    acc, _ = accuracy(model, x_test, y_test)
    acc_clean, _ = accuracy(clean_model, x_test, y_test)
    asr, _, _ = attack_success_rate(model, x_test, y_test, trigger, target=target)
    sim = Simulation(Scorecard(), acc, acc_clean, asr)
    say("spectral signatures and activation clustering")
    feats = representations(model, data.x)
    ss = spectral_signatures(feats, data.y, eps=eps)
    ac = activation_clustering(feats, data.y, seed=seed)
    for name, flagged in (("spectral", ss.flagged), ("activation_clustering", ac.flagged)):
        sim.detection[name] = (float((flagged & data.poisoned).sum() / data.poisoned.sum()),
                               float((flagged & ~data.poisoned).sum() / (~data.poisoned).sum()))
    order = np.random.default_rng(seed).permutation(len(y_test))
    hold, probe = order[: len(order) // 2], order[len(order) // 2:]
    say("STRIP")
    strip = STRIP(model, n=50, frr=0.01, seed=seed).fit(x_test[hold])
    stamped = trigger(x_test[probe][y_test[probe] != target])
    sim.strip_tpr = float(strip.detect(stamped).flagged.mean())
    sim.strip_frr = float(strip.detect(x_test[probe]).flagged.mean())
    say("Neural Cleanse")
    nc = neural_cleanse(model, x_test[hold][:128], steps=nc_steps, seed=seed)
    nc_clean = neural_cleanse(clean_model, x_test[hold][:128], steps=nc_steps, seed=seed)
    sim.cleanse_flagged = list(nc.flagged)
    sim.cleanse_index, sim.cleanse_index_clean = nc.model_anomaly_index, nc_clean.model_anomaly_index
    say("mitigation")
    fixed = {"retrain without flagged rows": retrain_without(
        make_module, data.x, data.y, ac.flagged, epochs=epochs, seed=seed),
        "fine-pruning": fine_prune(model, x_test[hold], y_test[hold], seed=seed)[0]}
    if nc.flagged:
        fixed["Neural Cleanse unlearning"] = unlearn(model, x_test[hold], y_test[hold],
                                                     nc.trigger(nc.flagged[0]), seed=seed)
    for name, m in fixed.items():
        a, _ = accuracy(m, x_test, y_test)
        s, _, _ = attack_success_rate(m, x_test, y_test, trigger, target=target)
        sim.mitigations[name] = (a, s, defence_effectiveness(asr, s, acc, a))
    sim.card = backdoor_card(data=data, y_test=y_test, spectral=ss,
                             clustering=ac, strip=strip, strip_inputs=stamped, cleanse=nc,
                             mitigations=sim.mitigations, asr=asr, accuracy=acc,
                             command="secure --simulate", seed=seed, rate=rate, target=target)
    return sim
