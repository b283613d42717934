"""Evaluation-validity checks: signs that a robustness evaluation overstates robustness.

References
----------
Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of Security", ICML 2018.
Carlini et al., "On Evaluating Adversarial Robustness", arXiv:1902.06705 (2019).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from trustbench import nist
from trustbench.attacks import PGD, Square
from trustbench.attacks.fgsm import normalized_step
from trustbench.checks.base import CheckContext
from trustbench.checks.products import AttackRuns
from trustbench.findings import Finding, Metric

__all__ = ["validity_checks"]

#: Points used by the validity checks (a seeded subset of the clean-correct points).
N_POINTS = 200
#: Robust accuracy above this at an unlimited budget means the attacks are not working.
LARGE_EPS_MAX_ACCURACY = 0.1
#: Black-box success may exceed white-box success by at most this much.
BLACKBOX_MARGIN = 0.05


def _subset(ctx: CheckContext) -> tuple[torch.Tensor, torch.Tensor]:
    idx = torch.nonzero(ctx.clean_pred == ctx.y).flatten()
    if len(idx) > N_POINTS:
        g = torch.Generator().manual_seed(ctx.config.seed)
        idx = idx[torch.randperm(len(idx), generator=g)[:N_POINTS]].sort().values
    return ctx.x[idx], ctx.y[idx]


def _finding(key: str, ok: bool, title_ok: str, title_bad: str, detail: str,
             metrics: dict[str, Metric], evidence: dict | None = None) -> Finding:
    return Finding(id=f"validity.{key}", title=title_ok if ok else title_bad,
                   severity="info" if ok else "warn", metrics=metrics, tags=nist.VALIDITY,
                   detail=detail, evidence=evidence or {})


def _large_eps(ctx: CheckContext, x: torch.Tensor, y: torch.Tensor) -> Finding:
    span = ctx.domain.span
    d = x[0].numel()
    eps = span if ctx.config.norm == "linf" else span * math.sqrt(d)
    if ctx.model.capabilities.differentiable:
        attack = PGD(eps=eps, norm=ctx.config.norm, steps=20, seed=ctx.config.seed)
    else:
        attack = Square(eps=eps, norm=ctx.config.norm, n_queries=500, seed=ctx.config.seed)
    res = attack.run(ctx.model, x, y, domain=ctx.domain, batch_size=ctx.options.batch_size)
    acc = res.robust_accuracy
    ok = acc <= LARGE_EPS_MAX_ACCURACY
    constrained = ctx.domain.mutable is not None and not bool(ctx.domain.mutable.all())
    return _finding(
        "large_eps", ok,
        f"Sanity: {attack.name} at a very large eps ({eps:g}) fools {1 - acc:.0%} of points",
        f"Robust accuracy stays {acc:.0%} at a very large eps ({eps:g}): the evaluation may "
        "overstate robustness",
        "With a budget that covers the whole input range an attack should fool nearly every "
        "point. If it does not, gradients are likely masked or obfuscated (non-differentiable "
        "preprocessing, saturated softmax, randomness), and every robust accuracy in this "
        "report is an overestimate."
        + (" Note: immutable or categorical features cannot change, which can legitimately "
           "keep some points robust." if constrained else ""),
        {"robust_accuracy_at_large_eps": Metric(acc, unit="fraction"),
         "eps": Metric(eps, unit=ctx.config.norm)},
        {"attack": attack.name, "n": len(y)},
    )


def _saturation(ctx: CheckContext, x: torch.Tensor, y: torch.Tensor) -> list[Finding]:
    with torch.no_grad():
        out = ctx.model.scores(x)  # (n, C)
    looks_prob = bool(out.min() >= 0 and out.max() <= 1
                      and torch.allclose(out.sum(1), torch.ones(len(out)), atol=1e-3))
    x_req = x.clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(ctx.model.logits(x_req), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x_req)
    zero = float((grad.flatten(1).abs().amax(1) == 0).float().mean())
    ok = not looks_prob and zero <= 0.5
    reason = []
    if looks_prob:
        reason.append("the model outputs probabilities (rows in [0, 1] summing to 1) where "
                      "logits are expected; cross-entropy on them flattens gradients -- remove "
                      "the final softmax for the scan")
    if zero > 0.5:
        reason.append(f"the loss gradient is exactly zero for {zero:.0%} of points "
                      "(saturated or non-differentiable operations)")
    return [_finding(
        "saturated_outputs", ok,
        "Sanity: the model returns logits with informative gradients",
        "Gradients look saturated or uninformative: the evaluation may overstate robustness",
        "; ".join(reason) or "Outputs look like logits and input gradients are non-zero.",
        {"zero_gradient_fraction": Metric(zero, unit="fraction"),
         "outputs_look_like_probabilities": Metric(float(looks_prob), unit="bool")},
    )]


def _loss_rises(ctx: CheckContext, x: torch.Tensor, y: torch.Tensor, eps: float) -> Finding:
    steps, step = 10, 2.5 * eps / 10
    xa = x.clone()
    losses = []
    for _ in range(steps):
        xr = xa.clone().requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(ctx.model.logits(xr), y, reduction="none")  # (n,)
            (grad,) = torch.autograd.grad(loss.sum(), xr)
        losses.append(loss.detach())
        xa = ctx.domain.project(xa + step * normalized_step(grad, ctx.config.norm), x,
                                norm=ctx.config.norm, eps=eps)
    with torch.no_grad():
        losses.append(F.cross_entropy(ctx.model.logits(xa), y, reduction="none"))
    start, end = losses[0], losses[-1]
    rose = float((end > start + 1e-6).float().mean())
    ok = rose >= 0.5
    return _finding(
        "loss_rises", ok,
        f"Sanity: PGD raised the loss on {rose:.0%} of points at eps={eps:g}",
        f"PGD raised the loss on only {rose:.0%} of points at eps={eps:g}: gradients may be "
        "masked and the evaluation may overstate robustness",
        "Ten PGD steps from the clean point (no random start) should increase cross-entropy "
        "on most points; if they do not, the gradient does not point where the loss grows.",
        {"fraction_loss_rose": Metric(rose, unit="fraction"),
         "mean_loss_start": Metric(float(start.mean())),
         "mean_loss_end": Metric(float(end.mean()))},
    )


def _blackbox_vs_whitebox(attacks: AttackRuns | None) -> list[Finding]:
    out = []
    for eps, runs in (attacks.by_eps if attacks is not None else {}).items():
        black = [(n, r) for n, r in runs if n == "square"]
        white = [(n, r) for n, r in runs if n != "square"]
        if not black or not white:
            continue
        sb = black[0][1].success_rate
        name_w, rw = max(white, key=lambda nr: nr[1].success_rate)
        sw = rw.success_rate
        ok = not (sb > sw + BLACKBOX_MARGIN)
        out.append(_finding(
            f"blackbox_vs_whitebox.{eps:g}", ok,
            f"Sanity: white-box attacks are at least as strong as black-box at eps={eps:g}",
            f"Black-box square fools {sb:.0%} but the best white-box attack ({name_w}) only "
            f"{sw:.0%} at eps={eps:g}: gradients may be masked",
            "A score-based black-box attack should not beat gradient attacks by a wide margin "
            "on a differentiable model; when it does, the gradients mislead.",
            {"blackbox_success": Metric(sb, unit="fraction"),
             "whitebox_success": Metric(sw, unit="fraction")},
        ))
    return out


def _attack_work(attacks: AttackRuns | None) -> list[Finding]:
    """``fail`` when an attack run counted points robust that it never evaluated.

    A run's own work is what :meth:`Attack.perturb` evaluated (``AttackResult.attack_queries``
    and ``attack_grad_evals``), without the clean pass and the success re-check. Per batch,
    robust points in excess of that work cannot all have been evaluated, so
    ``AttackResult.robust_unattacked`` is a lower bound on the robust points nobody tried to
    fool; an attack that made no model call at all has every robust point there. Built-in
    attacks evaluate every point they are given, so for them the bound is 0.
    """
    runs = [(eps, name, res) for eps, rs in (attacks.by_eps if attacks is not None else {}).items()
            for name, res in rs if res.robust_unattacked is not None]
    if not runs:
        return []
    bad, unattacked = [], 0
    for eps, name, res in runs:
        robust = int((~res.fooled).sum())
        if not res.robust_unattacked:
            continue
        unattacked += res.robust_unattacked
        bad.append(f"{name} at eps={eps:g}: made no model evaluation at all but counts "
                   f"{robust} point(s) robust" if res.attack_work == 0 else
                   f"{name} at eps={eps:g}: at least {res.robust_unattacked} of the {robust} "
                   "point(s) it counts robust were never evaluated")
    ok = not bad
    return [Finding(
        "validity.attack_work",
        "Sanity: every attack evaluated the model on each point it counted robust" if ok else
        f"{len(bad)} attack run(s) counted points robust without attacking them: their robust "
        "accuracy was not measured",
        "info" if ok else "fail",
        {"runs_checked": Metric(len(runs), unit="count"),
         "runs_without_work": Metric(len(bad), unit="count"),
         "robust_points_unattacked": Metric(unattacked, unit="count")},
        tags=nist.VALIDITY,
        detail="A point is robust only if an attack tried to fool it and failed. Each run's own "
        "work (its model queries and gradient evaluations, without the clean pass and the "
        "success re-check) is counted per batch; robust points beyond that work were never "
        "evaluated, so they count as robust by default, not by measurement. "
        + ("; ".join(bad) + ". Check the attack's parameters (e.g. steps) or its code."
           if bad else "No run had such points."),
        evidence={"runs": bad})]


def validity_checks(ctx: CheckContext, attacks: AttackRuns | None = None) -> list[Finding]:
    """Run every validity check that applies to the model.

    ``attacks`` is the robustness step's product: the finished runs whose work and
    black-box/white-box agreement are checked.
    """
    eps_values = ctx.eps_values
    work = _attack_work(attacks)  # needs no model call: runs even when nothing else can
    x, y = _subset(ctx)
    if len(y) == 0:
        return [*work, Finding("validity.skipped", "Validity checks skipped: no point is "
                               "classified correctly", "warn", tags=nist.VALIDITY)]
    advance = ctx.options.progress("validity checks", 3)
    findings = [*work, _large_eps(ctx, x, y)]
    advance(1)
    if ctx.model.capabilities.differentiable:
        findings += _saturation(ctx, x, y)
        findings.append(_loss_rises(ctx, x, y, max(eps_values)))
        findings += _blackbox_vs_whitebox(attacks)
    else:
        findings.append(Finding(
            "validity.blackbox_only", "Only black-box attacks apply to this model", "info",
            tags=nist.VALIDITY,
            detail="Without gradients, robustness is measured by score-based attacks, which "
            "are weaker than white-box attacks: robust accuracy is an upper bound that a "
            "white-box evaluation of the same model (e.g. its torch original) may lower."))
    advance(2)
    return findings
