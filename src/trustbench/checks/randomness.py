"""Random models: what one call of the model gets right, and whether enough draws were used.

A scan that finds the model random (:func:`~trustbench.models.stochastic.detect_randomness`)
evaluates and attacks its expected prediction over ``ScanConfig.eot_draws`` calls
(:class:`~trustbench.models.stochastic.Expectation`). This step adds what that leaves out:

- ``model.randomness`` (warn): that the model is random, how much its answers move, and
  the accuracies a *single call* achieves in expectation — on the clean inputs and on the
  adversarial inputs the attacks found — each with a 95% bootstrap interval over points of
  the per-point fraction of correct draws, so it includes both the sampling of points and
  the randomness of the model;
- ``validity.eot_draws`` (fail or info): APGD-CE at the largest eps attacks a seeded
  sample of clean-correct points on the expectation over ``eot_draws`` and over twice as
  many calls, both judged by the expectation over four times as many; when more draws
  lower the robust accuracy markedly, the evaluation's draws were too few and its robust
  accuracy is overstated.

References: Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of
Security", ICML 2018; Croce & Hein, ICML 2020 (AutoAttack's "rand" version, EOT over 20
draws); Efron & Tibshirani, *An Introduction to the Bootstrap* (1993).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from trustbench import nist
from trustbench.attacks import APGD
from trustbench.attacks.base import AttackContext
from trustbench.checks.base import CheckContext
from trustbench.checks.products import AttackRuns
from trustbench.domain import norm_label
from trustbench.findings import Finding, Metric
from trustbench.metrics import wilson_interval
from trustbench.models.stochastic import Expectation, draw_correct

__all__ = ["EOT_CHECK_POINTS", "EOT_DROP_FAIL", "N_BOOT", "drops_markedly", "randomness_checks"]

#: Resamples of the bootstrap interval of an expected single-draw accuracy.
N_BOOT = 1000
#: Robust points the EOT-draws check attacks again (a seeded sample of them).
EOT_CHECK_POINTS = 200
#: Fail when more than this fraction of the re-attacked robust points falls (and at
#: least :data:`EOT_MIN_FOOLED` of them).
EOT_DROP_FAIL = 0.05
EOT_MIN_FOOLED = 3


def _bootstrap_mean(values: np.ndarray, seed: int) -> tuple[float, float]:
    """Return the 95% percentile bootstrap interval of the mean of ``values``."""
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng([seed, 0xE07])
    means = values[rng.integers(0, len(values), size=(N_BOOT, len(values)))].mean(1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return (float(lo), float(hi))


def _per_point_adversarial(attacks: AttackRuns | None) -> dict[float, list[torch.Tensor]]:
    """Return eps -> the x_adv of each finished attack run at that eps."""
    return {eps: [res.x_adv for _, res in runs]
            for eps, runs in (attacks.finished() if attacks is not None else {}).items()}


def drops_markedly(few: np.ndarray, more: np.ndarray) -> bool:
    """Return whether robustness per point ``more`` (more draws) is markedly below ``few``.

    Markedly: the robust accuracy drops by more than :data:`EOT_DROP_FAIL`, and the net
    number of points lost is at least :data:`EOT_MIN_FOOLED` and beyond chance (a one-sided
    5% sign test on the points whose outcome differs).
    """
    lost = int((few & ~more).sum()) - int((~few & more).sum())
    discordant = int((few != more).sum())
    drop = float(few.mean() - more.mean()) if len(few) else 0.0
    return drop > EOT_DROP_FAIL and lost >= max(EOT_MIN_FOOLED, 1.645 * math.sqrt(discordant))


def _candidates(attack: APGD, model: Expectation, x: torch.Tensor, y: torch.Tensor,
                ctx: CheckContext) -> torch.Tensor:
    """Return the attack's projected perturbations of every point, successful or not.

    :meth:`Attack.run` keeps a perturbation only when its own (noisy) re-check calls it a
    success; judging the raw candidates by one shared, larger expectation compares the
    attacks' strength without that noise.
    """
    out = []
    bs = ctx.options.batch_size
    for i in range(0, len(x), bs):
        actx = AttackContext(model, ctx.domain, torch.Generator().manual_seed(ctx.config.seed),
                             norm=ctx.config.norm, eps=attack.eps, seed=ctx.config.seed)
        actx.deadline = ctx.options.deadline
        xb = x[i:i + bs]
        actx.ids = torch.arange(i, i + len(xb))
        out.append(actx.project(attack.perturb(actx, xb, y[i:i + bs]).detach().float(), xb))
    return torch.cat(out)


def _eot_check(ctx: CheckContext, eps: float, draws: int) -> Finding | None:
    """Compare APGD-CE with ``draws`` and with twice the draws on the same points."""
    if not ctx.model.capabilities.differentiable or ctx.draw_model is None:
        return None
    idx = np.flatnonzero(ctx.clean_correct)
    if len(idx) == 0:
        return None
    rng = np.random.default_rng([ctx.config.seed, 0xE0D])
    if len(idx) > EOT_CHECK_POINTS:
        idx = np.sort(rng.choice(idx, size=EOT_CHECK_POINTS, replace=False))
    t = torch.from_numpy(idx)
    x, y = ctx.x[t], ctx.y[t]
    judge = Expectation(ctx.draw_model, 4 * draws)  # one judge for both: their strength alone
    robust = {}
    for d in (draws, 2 * draws):
        cand = _candidates(APGD(eps=eps, norm=ctx.config.norm, steps=100, restarts=1,
                                loss="ce", seed=ctx.config.seed),
                           Expectation(ctx.draw_model, d), x, y, ctx)
        robust[d] = (judge.scores(cand).argmax(1) == y).numpy()
    few, more = robust[draws], robust[2 * draws]
    lost = int((few & ~more).sum()) - int((~few & more).sum())  # net points lost with more
    drop = float(few.mean() - more.mean())
    bad = drops_markedly(few, more)
    n = len(idx)
    return Finding(
        "validity.eot_draws",
        (f"Too few EOT draws: with {2 * draws} draws instead of {draws}, APGD-CE's robust "
         f"accuracy drops by {drop:.0%} at {norm_label(ctx.config.norm)} eps={eps:g}") if bad
        else (f"Sanity: robust accuracy holds with twice the EOT draws ({draws} -> {2 * draws} "
              f"draws: {few.mean():.0%} -> {more.mean():.0%} at {norm_label(ctx.config.norm)} "
              f"eps={eps:g})"),
        "fail" if bad else "info",
        {"points_checked": Metric(n, unit="count"),
         "robust_accuracy_draws": Metric(float(few.mean()), wilson_interval(int(few.sum()), n),
                                         "fraction"),
         "robust_accuracy_more_draws": Metric(float(more.mean()),
                                              wilson_interval(int(more.sum()), n), "fraction"),
         "drop": Metric(drop, unit="fraction"),
         "draws": Metric(draws, unit="count"), "check_draws": Metric(2 * draws, unit="count")},
        tags=nist.VALIDITY,
        detail="A random model's robust accuracy depends on how well the attack estimates the "
        "gradient of its expected prediction. APGD-CE (100 steps) attacked the same seeded "
        f"sample of clean-correct points on the expectation over {draws} and over "
        f"{2 * draws} calls; both sets of perturbed points were judged by the expectation over "
        f"{4 * draws} calls. "
        + (f"With more draws it is {drop:.0%} lower ({lost} points lost, net): the scan's "
           "robust accuracy is overstated by too few draws; raise --eot-draws (to "
           f"{4 * draws} or more) and scan again." if bad else
           f"Fails when more draws lower it by over {EOT_DROP_FAIL:.0%} and by more points "
           f"(net, at least {EOT_MIN_FOOLED}) than 1.645 times the square root of the points "
           "whose outcome changed (a one-sided 5% sign test: chance alone rarely gives it)."),
        evidence={"eps": eps, "norm": ctx.config.norm, "points": idx.tolist()[:50],
                  "fail_above": EOT_DROP_FAIL})


def randomness_checks(ctx: CheckContext, attacks: AttackRuns | None = None) -> list[Finding]:
    """Report a random model's single-draw accuracies and check the number of EOT draws.

    Returns nothing for a deterministic model. ``attacks`` is the robustness step's
    product: its adversarial inputs are scored by single calls of the model.
    """
    rnd, single = ctx.randomness, ctx.draw_model
    if rnd is None or single is None:
        return []
    draws = ctx.config.eot_draws
    n_eval = max(draws, 10)
    bs = ctx.options.batch_size
    seed = ctx.config.seed
    clean = draw_correct(single, ctx.x, ctx.y, n_eval, batch_size=bs)  # (N,) in [0, 1]
    metrics = {
        "expected_clean_accuracy": Metric(float(clean.mean()), _bootstrap_mean(clean, seed),
                                          "fraction"),
        "prediction_flips": Metric(rnd.prediction_flips, unit="fraction"),
        "max_probability_change": Metric(rnd.max_change, unit="probability"),
        "eot_draws": Metric(draws, unit="count"),
        "evaluation_draws": Metric(n_eval, unit="count"),
    }
    rows = []
    for eps, advs in _per_point_adversarial(attacks).items():
        # per point, the attack whose input a single call gets right least often
        per_attack = np.stack([draw_correct(single, xa, ctx.y, n_eval, batch_size=bs)
                               for xa in advs])
        worst = per_attack.min(0)
        key = f"expected_robust_accuracy@{ctx.config.norm}:{eps:g}"
        metrics[key] = Metric(float(worst.mean()), _bootstrap_mean(worst, seed), "fraction")
        rows.append({"eps": eps, "expected_robust_accuracy": float(worst.mean())})
    lead = (f"The model is random: the same inputs gave different outputs (predictions "
            f"changed on {rnd.prediction_flips:.0%} of {rnd.n_points} points between calls)")
    evaluated = (f"accuracies and robust accuracies in this scorecard are of its expected "
                 f"prediction over {draws} calls, and attacks followed the gradient of that "
                 "expectation (EOT)" if draws > 1 else
                 "it was evaluated with single calls (--eot-draws 1): accuracies and attack "
                 "successes are read off one random draw each")
    findings = [Finding(
        "model.randomness",
        f"{lead}; a single call is right on {clean.mean():.1%} of clean points in expectation",
        "warn", metrics, tags=nist.VALIDITY,
        detail=f"{lead}. Randomness at inference (noise layers, dropout left on, random "
        f"resizing, stochastic preprocessing) makes one evaluation a sample, not a "
        f"measurement, and hides gradients from attacks; so {evaluated}. "
        f"expected_clean_accuracy and expected_robust_accuracy@... are what one call gets "
        f"right on average over {n_eval} calls per point, on the clean inputs and on the "
        "adversarial inputs the attacks found (per point, the attack whose input single calls "
        "get right least often); their 95% intervals are bootstraps over points of each "
        "point's fraction of correct calls, so they include the model's randomness. "
        "Robustness claimed through randomness alone is usually broken by stronger EOT.",
        evidence={"n_points_probed": rnd.n_points, "n_calls": rnd.n_calls, "rows": rows})]
    if ctx.eps_values:
        check = _eot_check(ctx, max(ctx.eps_values), draws)
        if check is not None:
            findings.append(check)
    return findings
