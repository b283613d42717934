"""Cost estimates before long runs: ``trustbench scan --dry-run``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from trustbench.checks import ScanConfig
from trustbench.checks.randomness import EOT_CHECK_POINTS
from trustbench.checks.robustness import selected_attacks
from trustbench.checks.validity import N_POINTS
from trustbench.data import Dataset
from trustbench.scan import prepare
from trustbench.tuning import pass_seconds

__all__ = ["CostEstimate", "estimate_cost"]

#: Gradient evaluations per point of the validity checks (PGD-20 at a huge eps, 10 PGD
#: steps, one gradient for saturation).
_VALIDITY_GRAD_EVALS = 31


@dataclass
class CostEstimate:
    """Upper bounds on the work and time of a scan, from a short calibration.

    Attributes
    ----------
    rows
        Per attack: ``attack``, ``n_eps``, expected ``grad_evals``, ``queries`` and
        ``seconds``, and ``max_seconds`` if no point were ever fooled early.
    n_points, n_attacked
        Points evaluated, and those classified correctly (only they are attacked).
    seconds_per_grad_eval, seconds_per_query
        Measured per point on one batch of this model and data.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    n_points: int = 0
    n_attacked: int = 0
    seconds_per_grad_eval: float = 0.0
    seconds_per_query: float = 0.0
    skipped: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        """Expected seconds of all attacks: the sum of the rows' ``seconds``."""
        return sum(r["seconds"] for r in self.rows)

    @property
    def max_total_seconds(self) -> float:
        """Seconds of all attacks if no point were ever fooled early: the rows' ``max_seconds``."""
        return sum(r["max_seconds"] for r in self.rows)


def _robust_fractions(ctx: Any, n: int = 100) -> list[float]:
    """Fraction of clean-correct points that a quick PGD-10 leaves robust at each eps.

    It is measured on a seeded sample: an optimistic guess of how many points the real
    attacks must work on.
    """
    from trustbench.attacks import PGD, robustness_curve

    idx = torch.nonzero(ctx.clean_pred == ctx.y).flatten()
    if len(idx) == 0:
        return [0.0] * len(ctx.eps_values)
    g = torch.Generator().manual_seed(ctx.config.seed)
    idx = idx[torch.randperm(len(idx), generator=g)[:n]]
    res = robustness_curve(PGD(eps=ctx.eps_values[0], norm=ctx.config.norm, steps=10,
                               seed=ctx.config.seed), ctx.model, ctx.x[idx], ctx.y[idx],
                           ctx.eps_values, domain=ctx.domain, clean_pred=ctx.clean_pred[idx])
    return [r.robust_accuracy for r in res]


def _rand_version(attack: Any, ctx: Any) -> bool:
    """Whether the standard ensemble will run its version for random models."""
    version = getattr(attack, "version", "standard")
    return version == "rand" or (version == "auto" and ctx.randomness is not None
                                 and ctx.config.eot_draws > 1)


def estimate_cost(model: Any, data: Dataset, config: ScanConfig | None = None) -> CostEstimate:
    """Estimate the scan's gradient evaluations, queries and time before running it.

    A quick PGD-10 on up to 100 points guesses how many points stay robust at each eps
    (points fooled earlier leave the curve; an ensemble's later stages see only survivors);
    one batch's forward and forward+backward passes are timed. ``max_seconds`` bounds the
    time if no point were ever fooled early.
    """
    cfg = config or ScanConfig()
    _, _, ctx = prepare(model, data, cfg)
    m = ctx.model
    bs, choice = ctx.options.batch_size, ctx.options.batch_choice or {}
    batch = ctx.x[:bs]  # (B, ...)
    yb = ctx.y[:bs]
    differentiable = m.capabilities.differentiable
    # --batch-size auto has already timed a pass at the chosen size: reuse it
    tuned = choice.get("pass_seconds", {}).get(str(bs))
    tuned_gradient = bool(choice.get("gradient"))
    if tuned is not None and not tuned_gradient:
        t_query = tuned / len(batch)
    else:
        t_query = pass_seconds(m, batch, yb, gradient=False) / len(batch)
    t_grad = 0.0
    if differentiable:
        t_grad = (tuned if tuned is not None and tuned_gradient
                  else pass_seconds(m, batch, yb, gradient=True)) / len(batch)
    n_attacked = int(ctx.clean_correct.sum())
    est = CostEstimate(n_points=len(ctx.y), n_attacked=n_attacked, seconds_per_grad_eval=t_grad,
                       seconds_per_query=t_query)
    robust = _robust_fractions(ctx) if m.capabilities.differentiable else [1.0] * len(
        ctx.eps_values)
    # Points an attack meets at each eps: those not fooled at the previous eps (the curve
    # carries fooled points forward); an ensemble's later stages meet only the survivors.
    meets = [n_attacked * r for r in [1.0, *robust[:-1]]]
    survive = [n_attacked * r for r in robust]
    for attack in selected_attacks(ctx):
        stages = (attack.stages(differentiable=m.capabilities.differentiable,
                                rand=_rand_version(attack, ctx)) if hasattr(attack, "stages")
                  else [attack])
        first, rest = stages[0].max_cost(m.n_classes), [s.max_cost(m.n_classes) for s in stages[1:]]
        g_max, q_max = attack.max_cost(m.n_classes)
        grad = queries = 0.0
        for n_meet, n_surv in zip(meets, survive, strict=True):
            grad += n_meet * first[0] + n_surv * sum(c[0] for c in rest)
            queries += n_meet * first[1] + n_surv * sum(c[1] for c in rest) + len(ctx.y)
        k = len(ctx.eps_values)
        est.rows.append({
            "attack": attack.name, "n_eps": k, "grad_evals": int(grad), "queries": int(queries),
            "seconds": grad * t_grad + queries * t_query,
            # the bound also counts each run's re-check of every point, as the estimate does
            "max_seconds": n_attacked * k * (g_max * t_grad + q_max * t_query)
            + k * len(ctx.y) * t_query})
    if cfg.validity:
        n = min(N_POINTS, n_attacked)
        grad = n * _VALIDITY_GRAD_EVALS if m.capabilities.differentiable else 0
        queries = n * (3 if m.capabilities.differentiable else 500)
        seconds = grad * t_grad + queries * t_query
        est.rows.append({"attack": "validity checks", "n_eps": 1, "grad_evals": grad,
                         "queries": queries, "seconds": seconds, "max_seconds": seconds})
    if ctx.randomness is not None:
        # in units of ctx.model (the expectation over eot_draws calls): single calls cost
        # 1/eot_draws of a query, the EOT check's APGD runs 1x and 2x, its judge 4x
        draws = max(cfg.eot_draws, 1)
        n_eval = max(cfg.eot_draws, 10)
        runs = 1 + len(est.rows)
        queries = n_eval * len(ctx.y) * runs / draws
        grad = 0.0
        if m.capabilities.differentiable:
            n = min(EOT_CHECK_POINTS, n_attacked)
            grad = n * 100 * 3
            queries += n * 4
        seconds = grad * t_grad + queries * t_query
        est.rows.append({"attack": "random-model checks", "n_eps": 1, "grad_evals": int(grad),
                         "queries": int(queries), "seconds": seconds, "max_seconds": seconds})
    est.skipped = list(ctx.skipped)
    return est
