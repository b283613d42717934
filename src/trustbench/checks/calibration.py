"""Calibration: is the model's confidence as high as its accuracy.

Measured on clean data, after temperature scaling and under attack.

Thresholds
----------
``calibration.temperature`` is ``"warn"`` when the clean (equal-width, 15-bin) ECE exceeds
:data:`ECE_WARN` = 0.05: the model's stated confidence is off by more than five points on
average. Its detail gives the one-line fix. Every other calibration finding is ``"info"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from trustbench import plotspec
from trustbench.checks.base import CheckContext
from trustbench.checks.products import AttackRuns, Calibration, Checked
from trustbench.findings import Finding, Metric
from trustbench.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    expected_calibration_error_ci,
    maximum_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)
from trustbench.metrics.temperature import Inputs, TemperatureScaling, log_softmax
from trustbench.models.base import Model
from trustbench.nist import Tags

__all__ = ["CALIBRATION", "CALIBRATION_ATTACK", "ECE_WARN", "N_BINS", "calibration_checks",
           "class_scores", "to_probabilities"]

#: Clean ECE above which ``calibration.temperature`` warns.
ECE_WARN = 0.05
#: Bins of every ECE, MCE and reliability diagram.
N_BINS = 15
#: Bootstrap resamples of the ECE confidence interval.
N_BOOT = 200
#: Fewer evaluated points than this: no temperature is fitted (halves too small).
MIN_POINTS_TEMPERATURE = 20

# Calibration is validity of the model's stated uncertainty (MEASURE 2.5), measured on data
# like the deployment data (MEASURE 2.3), with the metric documented (MEASURE 2.1).
CALIBRATION = Tags(("valid and reliable",), ("MEASURE 2.5", "MEASURE 2.3", "MEASURE 2.1"))
# Under attack it is also evidence about resilience (MEASURE 2.7).
CALIBRATION_ATTACK = Tags(("valid and reliable", "secure and resilient"),
                          ("MEASURE 2.5", "MEASURE 2.7"))


def class_scores(model: Model, x: torch.Tensor) -> tuple[np.ndarray, Inputs]:
    """Return (N, C) float64 scores of ``model`` on ``x`` and what they are.

    The second value is ``"logits"`` or ``"probabilities"``.
    """
    return model.scores(x).numpy().astype(np.float64), model.capabilities.outputs


def to_probabilities(scores: np.ndarray, inputs: Inputs) -> np.ndarray:
    """(N, C) probabilities from :func:`class_scores` output (softmax of logits)."""
    return np.exp(log_softmax(scores)) if inputs == "logits" else scores


def _reliability_plot(title: str, probs: np.ndarray, y: np.ndarray, ece: float) -> dict[str, Any]:
    b = reliability_bins(y, probs, n_bins=N_BINS)
    return plotspec.reliability(title, bin_edges=b.edges, bin_confidence=b.confidence,
                                bin_accuracy=b.accuracy, bin_count=b.count, ece=ece)


def _clean(probs: np.ndarray, y: np.ndarray, seed: int) -> Finding:
    ece = expected_calibration_error(y, probs, n_bins=N_BINS)
    ece_a = expected_calibration_error(y, probs, n_bins=N_BINS, strategy="adaptive")
    ci = expected_calibration_error_ci(y, probs, n_bins=N_BINS, n_boot=N_BOOT, seed=seed)
    ci_a = expected_calibration_error_ci(y, probs, n_bins=N_BINS, strategy="adaptive",
                                         n_boot=N_BOOT, seed=seed)
    acc = float(np.mean(probs.argmax(1) == y))
    conf = float(np.mean(probs.max(1)))
    word = ("confidence matches accuracy" if abs(conf - acc) < 0.005
            else "overconfident" if conf > acc else "underconfident")
    return Finding(
        id="calibration.clean",
        title=f"Calibration: ECE {ece:.3f} (95% CI {ci[0]:.3f}–{ci[1]:.3f}); mean confidence "
        f"{conf:.1%} vs accuracy {acc:.1%} ({word})",
        severity="info",
        metrics={
            "ece": Metric(ece, ci, "fraction"),
            "ece_adaptive": Metric(ece_a, ci_a, "fraction"),
            "mce": Metric(maximum_calibration_error(y, probs, n_bins=N_BINS), unit="fraction"),
            "brier": Metric(brier_score(y, probs)),
            "nll": Metric(negative_log_likelihood(y, probs), unit="nats"),
            "mean_confidence": Metric(conf, unit="fraction"),
            "accuracy": Metric(acc, unit="fraction"),
        },
        tags=CALIBRATION,
        detail=f"ECE: mean |accuracy - confidence| of the top-1 prediction over {N_BINS} "
        "equal-width bins (ece) or equal-mass bins (ece_adaptive), with percentile-bootstrap "
        f"95% intervals ({N_BOOT} resamples). MCE is the worst bin. On few points ECE is "
        "biased upward. See calibration.temperature for the fix.",
        evidence={"n": len(y), "n_bins": N_BINS, "n_boot": N_BOOT,
                  "plots": [_reliability_plot("Reliability (clean)", probs, y, ece)]},
    )


def _split_half(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split into seeded halves, stratified by class (odd classes split at random)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    order = order[np.argsort(y[order], kind="stable")]  # grouped by class, random within
    sorted_y = y[order]
    start = np.searchsorted(sorted_y, sorted_y, side="left")  # first index of each class
    rank = np.arange(len(y)) - start
    flip = rng.integers(0, 2, size=int(y.max()) + 1)  # which half takes an odd class's extra
    fit = (rank + flip[sorted_y]) % 2 == 0
    return np.sort(order[fit]), np.sort(order[~fit])


def _temperature(scores: np.ndarray, inputs: Inputs, y: np.ndarray, ece_clean: float,
                 seed: int) -> tuple[Finding, float | None]:
    n = len(y)
    if n < MIN_POINTS_TEMPERATURE:
        return Finding("calibration.temperature",
                       f"Temperature scaling not fitted: {n} points are too few to split",
                       "info", tags=CALIBRATION,
                       detail=f"Needs at least {MIN_POINTS_TEMPERATURE} evaluated points.",
                       evidence={"n": n}), None
    fit, held = _split_half(y, seed)
    ts = TemperatureScaling(inputs=inputs).fit(scores[fit], y[fit])
    t = ts.temperature_
    before = to_probabilities(scores[held], inputs)
    after = ts.transform(scores[held])
    yh = y[held]
    ece_b = expected_calibration_error(yh, before, n_bins=N_BINS)
    ece_a = expected_calibration_error(yh, after, n_bins=N_BINS)
    warn = ece_clean > ECE_WARN
    lead = (f"Calibration error {ece_clean:.3f} is above {ECE_WARN:g}. " if warn else "")
    return Finding(
        id="calibration.temperature",
        title=f"Temperature scaling (T={t:.2f}) changes held-out ECE {ece_b:.3f} → {ece_a:.3f}",
        severity="warn" if warn else "info",
        metrics={
            "temperature": Metric(t),
            "ece_before": Metric(ece_b, unit="fraction"),
            "ece_after": Metric(ece_a, unit="fraction"),
            "nll_before": Metric(negative_log_likelihood(yh, before), unit="nats"),
            "nll_after": Metric(negative_log_likelihood(yh, after), unit="nats"),
            "brier_before": Metric(brier_score(yh, before)),
            "brier_after": Metric(brier_score(yh, after)),
        },
        tags=CALIBRATION,
        detail=lead + f"Fix: divide the logits by T={t:.3g} before the softmax (for a model "
        f"that returns probabilities p: p ** (1/T), renormalised), or "
        f"TemperatureScaling().fit(scores_val, y_val).transform(scores). "
        f"{'T > 1: the model is overconfident' if t > 1 else 'T <= 1: the model is not overconfident'}"
        "; predictions do not change. T was fitted by minimising NLL on a seeded, "
        f"class-stratified half of the evaluated points ({len(fit)}) and is reported on the "
        f"other half ({len(held)}): fit T on your own validation data before deploying it.",
        evidence={"n_fit": len(fit), "n_eval": len(held), "inputs": inputs,
                  "ece_warn_threshold": ECE_WARN,
                  "plots": [_reliability_plot("Reliability (held-out, before)", before, yh, ece_b),
                            _reliability_plot(f"Reliability (held-out, T={t:.2f})", after, yh,
                                              ece_a)]},
    ), t


def _under_attack(ctx: CheckContext, runs: AttackRuns | None, probs: np.ndarray,
                  y: np.ndarray) -> list[Finding]:
    attacks = runs.finished() if runs is not None else {}
    if not attacks:
        return []
    rows = [{"eps": 0.0, "attack": "none", "ece": expected_calibration_error(y, probs,
                                                                            n_bins=N_BINS),
             "nll": negative_log_likelihood(y, probs),
             "accuracy": float(np.mean(probs.argmax(1) == y)),
             "mean_confidence": float(np.mean(probs.max(1)))}]
    for eps in sorted(attacks):
        name, res = min(attacks[eps], key=lambda nr: nr[1].robust_accuracy)
        p = to_probabilities(*class_scores(ctx.model, res.x_adv))
        rows.append({"eps": float(eps), "attack": name,
                     "ece": expected_calibration_error(y, p, n_bins=N_BINS),
                     "nll": negative_log_likelihood(y, p),
                     "accuracy": float(np.mean(p.argmax(1) == y)),
                     "mean_confidence": float(np.mean(p.max(1)))})
    metrics: dict[str, Metric] = {}
    for r in rows[1:]:
        metrics[f"ece@eps={r['eps']:g}"] = Metric(r["ece"], unit="fraction")
        metrics[f"nll@eps={r['eps']:g}"] = Metric(r["nll"], unit="nats")
        metrics[f"mean_confidence@eps={r['eps']:g}"] = Metric(r["mean_confidence"],
                                                              unit="fraction")
    worst = max(rows[1:], key=lambda r: r["ece"])
    eps_x = [r["eps"] for r in rows]
    plot = plotspec.lines(
        f"Calibration under attack ({ctx.config.norm}, {ctx.units} units)",
        [{"label": "ECE", "x": eps_x, "y": [r["ece"] for r in rows]},
         {"label": "mean confidence", "x": eps_x, "y": [r["mean_confidence"] for r in rows]},
         {"label": "accuracy", "x": eps_x, "y": [r["accuracy"] for r in rows]}],
        x_label=f"eps ({ctx.units} units)", y_label="fraction", y_range=(0.0, 1.0))
    return [Finding(
        id="calibration.attack",
        title=f"Under attack, ECE rises to {worst['ece']:.3f} at eps={worst['eps']:g} "
        f"(mean confidence {worst['mean_confidence']:.1%}, accuracy {worst['accuracy']:.1%})",
        severity="info",
        metrics=metrics,
        tags=CALIBRATION_ATTACK,
        detail="At each eps, the adversarial inputs of the strongest attack (lowest robust "
        "accuracy). A model that stays confident while its accuracy falls gives no warning "
        "through its confidence; eps=0 is the clean data.",
        evidence={"rows": rows, "norm": ctx.config.norm, "eps_units": ctx.units,
                  "plots": [plot]},
    )]


def calibration_checks(ctx: CheckContext, attacks: AttackRuns | None = None
                       ) -> Checked[Calibration]:
    """Measure calibration clean, after temperature scaling and under attack.

    Clean calibration (``calibration.clean``), temperature scaling fitted and evaluated on
    seeded halves (``calibration.temperature``) and, when attacks ran, calibration on the
    strongest attack's inputs at each eps (``calibration.attack``).

    ``attacks`` is the robustness step's product (``None``: no attack ran). The product is
    the clean ECE and the fitted temperature.
    """
    scores = ctx.clean_scores().numpy().astype(np.float64)
    inputs = ctx.model.capabilities.outputs
    probs = to_probabilities(scores, inputs)
    y = ctx.y.numpy().astype(np.int64)
    clean = _clean(probs, y, ctx.config.seed)
    temp, t = _temperature(scores, inputs, y, clean.metrics["ece"].value, ctx.config.seed)
    return Checked([clean, temp, *_under_attack(ctx, attacks, probs, y)],
                   Calibration(clean.metrics["ece"].value, t))
