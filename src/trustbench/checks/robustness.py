"""Adversarial robustness: every selected attack over the eps curve, plus the worst case."""

from __future__ import annotations

import logging

import numpy as np
import torch

from trustbench import nist, plotspec
from trustbench.attacks import Attack, AttackResult, robustness_curve
from trustbench.checks.base import CheckContext
from trustbench.checks.products import AttackRuns, Checked
from trustbench.domain import norm_label
from trustbench.findings import Finding, Metric
from trustbench.metrics import median_or_nan, pack_bools, wilson_interval
from trustbench.models.watched import OutOfTime

__all__ = ["adversarial_robustness", "selected_attacks"]

log = logging.getLogger(__name__)


def _result_finding(name: str, res: AttackResult, x: torch.Tensor, units: str) -> Finding:
    n = len(res.fooled)
    robust = int((~res.fooled).sum())
    succeeded = res.fooled & res.clean_correct
    sizes = res.perturbation_norms(x)[succeeded].numpy()
    attacked = int(res.clean_correct.sum())
    return Finding(
        id=f"robustness.{name}.{res.norm}.{res.eps:g}",
        title=f"{name}: robust accuracy {robust / n:.1%} at {norm_label(res.norm)} "
        f"eps={res.eps:g}",
        severity="info",
        metrics={
            "robust_accuracy": Metric(robust / n, wilson_interval(robust, n), "fraction"),
            "attack_success_rate": Metric(
                int(succeeded.sum()) / attacked if attacked else float("nan"),
                wilson_interval(int(succeeded.sum()), attacked), "fraction"),
            "median_perturbation": Metric(median_or_nan(sizes), unit=f"{res.norm} ({units})"),
            "grad_evals": Metric(res.grad_evals, unit="count"),
            "queries": Metric(res.queries, unit="count"),
            "wall_time": Metric(res.wall_time, unit="seconds"),
        },
        tags=nist.ROBUSTNESS,
        evidence={"attack": name, "norm": res.norm, "eps": res.eps, "eps_units": units,
                  "n": n, "n_attacked": attacked, "robust": pack_bools(~res.fooled),
                  # what the attack itself evaluated (validity.attack_work reads this)
                  "attack_work": {"queries": res.attack_queries,
                                  "grad_evals": res.attack_grad_evals,
                                  "robust_unattacked": res.robust_unattacked}},
    )


def selected_attacks(ctx: CheckContext) -> list[Attack]:
    """Return the plan's attacks, built (those that do not apply are not in the plan)."""
    return [spec.build() for spec in ctx.plan.attacks]


def adversarial_robustness(ctx: CheckContext) -> Checked[AttackRuns]:
    """Run each planned attack over the eps curve and report the worst case over attacks.

    Points fooled at a smaller eps are carried forward, not attacked again. The product
    holds every finished run, for calibration under attack, subgroups and validity.
    """
    cfg, eps_values, units, opts = ctx.config, ctx.eps_values, ctx.units, ctx.options
    findings: list[Finding] = []
    per_eps: dict[float, list[tuple[str, AttackResult]]] = {e: [] for e in eps_values}
    for attack in selected_attacks(ctx):
        name = attack.name
        advance = opts.progress(f"{name} ({norm_label(cfg.norm)}, {len(eps_values)} eps)",
                               len(ctx.y) * len(eps_values))
        results = (ctx.attack_results or {}).get(name)  # a sharded scan ran it already
        if results is not None:
            advance(len(ctx.y) * len(results))
        else:
            results = robustness_curve(attack, ctx.model, ctx.x, ctx.y, eps_values,
                                       domain=ctx.domain, batch_size=opts.batch_size,
                                       progress=advance, clean_pred=ctx.clean_pred,
                                       deadline=opts.deadline)
        for eps in eps_values[len(results):]:
            ctx.skip(f"attack {name} at eps={eps:g}", "the time budget ran out before it "
                     "finished", out_of_time=True)
        for res in results:
            per_eps[res.eps].append((name, res))
            findings.append(_result_finding(name, res, ctx.x, units))
    examples = _example_images(ctx, per_eps)
    for eps, runs in per_eps.items():
        if not runs:
            continue
        fooled = torch.stack([r.fooled for _, r in runs]).any(0).numpy()
        n, robust = len(fooled), int((~fooled).sum())
        best = min(runs, key=lambda nr: nr[1].robust_accuracy)
        findings.append(Finding(
            id=f"robustness.worst.{cfg.norm}.{eps:g}",
            title=f"Worst-case robust accuracy {robust / n:.1%} at {norm_label(cfg.norm)} "
            f"eps={eps:g} ({units} units) over {len(runs)} attack(s)",
            severity="info",
            metrics={"robust_accuracy": Metric(robust / n, wilson_interval(robust, n),
                                               "fraction"),
                     "strongest_single_attack_accuracy": Metric(best[1].robust_accuracy,
                                                                unit="fraction")},
            tags=nist.ROBUSTNESS,
            detail="A point counts as robust only if no attack fooled it. An upper bound on "
            "the true robust accuracy: a stronger attack can only lower it.",
            evidence={"attacks": [nm for nm, _ in runs], "strongest_attack": best[0],
                      "eps": eps, "norm": cfg.norm, "eps_units": units,
                      "n_robust": robust, "robust_index_sample":
                      np.flatnonzero(~fooled)[:20].tolist(),
                      "robust": pack_bools(~fooled)},  # for paired baseline tests
        ))
        if examples is not None and eps == max(e for e, r in per_eps.items() if r):
            findings[-1].evidence["plots"] = [examples]
    return Checked(findings, AttackRuns(per_eps))


def _example_images(ctx: CheckContext, per_eps: dict[float, list[tuple[str, AttackResult]]],
                    k: int = 6) -> dict | None:
    """Return a few clean/adversarial pairs at the largest eps, for image data only."""
    runs = [r for r in per_eps.values() if r]
    if ctx.dataset is None or ctx.dataset.schema.modality != "image" or not runs:
        return None
    name, res = min(runs[-1], key=lambda nr: nr[1].robust_accuracy)
    idx = torch.nonzero(res.fooled & res.clean_correct).flatten()[:k]
    if len(idx) == 0:
        return None
    shape = tuple(ctx.x.shape[1:])
    try:  # per-feature bounds scale each pixel; unbounded domains fall back to min-max
        lo = np.broadcast_to(torch.as_tensor(ctx.domain.lower).numpy(), shape)
        span = np.broadcast_to(torch.as_tensor(ctx.domain.upper).numpy(), shape) - lo
        if not (np.isfinite(span).all() and (span > 0).all()):
            raise ValueError
    except (ValueError, RuntimeError):
        lo = span = None

    def show(t: torch.Tensor) -> np.ndarray:  # (C, H, W) or (H, W) scaled to [0, 1]
        a = t.detach().float().numpy()
        if span is not None:
            return (a - lo) / span
        return (a - a.min()) / max(float(a.max() - a.min()), 1e-12)

    try:
        with torch.inference_mode():
            adv_pred = ctx.model.scores(res.x_adv[idx]).argmax(1)
    except OutOfTime:  # the pictures are not worth the finished runs
        return None
    labels = getattr(ctx.model, "classes", None)

    def label(i: int) -> str:
        return str(labels[i]) if labels is not None and i < len(labels) else str(i)

    pairs = [{"label": f"{label(int(ctx.y[i]))} → {label(int(p))}",
              "clean": show(ctx.x[i]), "perturbed": show(res.x_adv[i])}
             for i, p in zip(idx.tolist(), adv_pred.tolist(), strict=True)]
    return plotspec.images(f"{name} at {norm_label(res.norm)} eps={res.eps:g}: clean (left) "
                           "and adversarial (right), true → predicted", pairs)
