"""``scan``: evaluate a model on a dataset and collect the findings in a Scorecard."""

from __future__ import annotations

import copy
import logging
import platform
import time
from typing import Any

import numpy as np
import torch

from trustbench import nist
from trustbench._version import __version__
from trustbench.attacks.base import COMMON_PARAMS, check_param
from trustbench.attacks.registry import attack_class, check_attack_params
from trustbench.checks import (
    CheckContext,
    ProgressFactory,
    ScanConfig,
    adversarial_robustness,
    calibration_checks,
    clean_accuracy,
    ood_detection,
    shift_robustness,
    subgroup_performance,
    validity_checks,
)
from trustbench.data import Dataset
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.models import Model, SklearnModel, as_model
from trustbench.models.rescaled import RangeScaled
from trustbench.models.sklearn import fitted_columns
from trustbench.models.watched import OutOfTime, Watched
from trustbench.scorecard import NOT_AUDITED, NotMeasured, Scorecard
from trustbench.tuning import choose_batch_size, configure_threads

__all__ = ["DEFAULT_EPS", "NOT_YET_MEASURED", "prepare", "scan"]

log = logging.getLogger(__name__)

#: Default eps, as fractions of the input range, by norm.
DEFAULT_EPS = {"linf": [0.01, 0.03, 0.1], "l2": [0.1, 0.5, 1.0]}

#: What a scan never evaluates; every scorecard lists it (AI RMF MEASURE 1.1), with the
#: checks this run skipped or switched off.
NOT_YET_MEASURED: list[NotMeasured] = [NOT_AUDITED]


def _versions() -> dict[str, str]:
    import sklearn

    return {"trustbench": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "platform": platform.platform()}


def _bind_frame_input(model: Model, data: Dataset) -> Model:
    """Let a pipeline fitted on a DataFrame see named (and decoded categorical) columns.

    Returns a copy bound to ``data``'s schema (the caller's object is left as it was, so a
    later scan on other columns binds afresh), or ``model`` itself when nothing is bound.
    """
    expected = fitted_columns(model.estimator) if isinstance(model, SklearnModel) else None
    if expected is not None and model.to_input is None and data.schema.feature_names is not None:
        if set(expected) != set(data.schema.feature_names):
            missing = sorted(set(expected) - set(data.schema.feature_names))
            extra = sorted(set(data.schema.feature_names) - set(expected))
            raise InputError(
                f"{data.name}: columns do not match the model's features "
                f"(missing: {missing[:5]}, unexpected: {extra[:5]})",
                fix="pass the label with --target and sensitive columns with --group; other "
                "columns must be the model's features",
            )
        schema = data.schema
        model = copy.copy(model)  # shallow: the estimator is shared, never changed
        model.to_input = lambda x: schema.to_frame(x)[expected]
    return model


def prepare(model: Any, data: Dataset, config: ScanConfig | None = None, *,
            progress: ProgressFactory | None = None,
            deadline: float | None = None) -> tuple[Model, Dataset, CheckContext]:
    """Validate and prepare a scan: the wrapped model, the evaluated sample and the context
    the checks run in (inputs in attack units, labels as class indices, clean predictions).

    ``ctx.model`` is :class:`~trustbench.models.watched.Watched`: it counts scores that are
    not numbers, and after the clean predictions (which always complete: without them
    there is no result) every model call respects ``deadline``, a ``time.perf_counter()``
    value, by raising :class:`~trustbench.models.watched.OutOfTime`.
    """
    cfg = config or ScanConfig()
    for name in cfg.attacks or []:  # fail before any work, not when the attack's turn comes
        attack_class(name)
    check_attack_params(cfg.attack_params)  # types and ranges each attack declares
    check_param("ScanConfig", "seed", cfg.seed, COMMON_PARAMS["seed"])
    from trustbench.shifts import shift_class
    from trustbench.shifts.base import check_severity

    for name in cfg.shifts or []:
        shift_class(name)
    for sev in cfg.severities:
        check_severity(sev)
    cfg.check_runtime()
    configure_threads(cfg.threads)
    model = as_model(model)
    ds = data.sample(cfg.n, seed=cfg.seed)
    model = _bind_frame_input(model, ds)
    model.check_input(ds.x)
    y = torch.from_numpy(ds.label_indices(getattr(model, "classes", None), model.n_classes))
    units = cfg.eps_units or ("raw" if ds.schema.modality == "image" else "range")
    if units == "range":
        attack_model: Watched = Watched(RangeScaled(model, ds.schema.lower, ds.schema.span))
        x = torch.from_numpy(ds.schema.to_units(ds.x))
    else:
        attack_model, x = Watched(model), torch.from_numpy(ds.x)
    domain = ds.schema.domain(units=units)
    eps_values = sorted(set(cfg.eps or [e * (1.0 if units == "range" else domain.span)
                                         for e in DEFAULT_EPS[cfg.norm]]))
    if any(not e >= 0 for e in eps_values):
        raise InputError(f"--eps values must be >= 0, got {eps_values}")
    clean_scores = attack_model.scores(x)  # (N, C)
    ctx = CheckContext(attack_model, x, y, domain, cfg, clean_scores.argmax(1), eps_values, units,
                       dataset=ds, scores_cache=(attack_model, clean_scores),
                       **({"progress": progress} if progress else {}))
    ctx.deadline = attack_model.deadline = deadline
    if cfg.batch_size == "auto":
        # a short calibration: at most 3 s, or a tenth of a time budget
        try:
            choice = choose_batch_size(attack_model, x, y, max_seconds=min(
                3.0, cfg.budget / 10 if cfg.budget is not None else 3.0))
            ctx.batch_size, ctx.batch_choice = choice.size, choice.to_dict()
        except OutOfTime:  # no time left to tune: the default stays; the attacks are skipped
            pass
    else:
        ctx.batch_size = int(cfg.batch_size)
    return model, ds, ctx


def scan(
    model: Any,
    data: Dataset,
    config: ScanConfig | None = None,
    *,
    progress: ProgressFactory | None = None,
    baseline: Scorecard | None = None,
    allow_mismatch: bool = False,
) -> Scorecard:
    """Evaluate ``model`` on ``data``: clean accuracy, robustness over an eps curve for every
    applicable attack, and the evaluation-validity checks.

    Parameters
    ----------
    model
        A :class:`~trustbench.models.Model` or anything :func:`~trustbench.models.as_model`
        wraps (``nn.Module``, fitted scikit-learn classifier, callable).
    data
        The evaluation data with its schema.
    config
        What to measure; defaults to :class:`ScanConfig()`.
    progress
        ``progress(description, total) -> advance(n)``, for progress bars.
    baseline
        An earlier scorecard; checks that report relative numbers (relative mCE) use it.
        Comparing the two is :func:`trustbench.gate.apply_gate`'s job. It must be of the
        same data and measuring configuration (an InputError before any work otherwise),
        unless ``allow_mismatch``.
    """
    cfg = config or ScanConfig()
    t0 = time.perf_counter()
    model, ds, ctx = prepare(model, data, cfg, progress=progress,
                             deadline=None if cfg.budget is None else t0 + cfg.budget)
    if baseline is not None:  # like with like, or no scan at all: fail before the attacks
        from trustbench.gate.compare import check_comparable

        check_comparable({"data": {"name": ds.name, "fingerprint": ds.fingerprint()},
                          "config": _config_record(cfg, ctx)}, baseline, allow=allow_mismatch)
    ctx.baseline = baseline
    timings: dict[str, float] = {}
    findings: list[Finding] = []
    not_measured: list[str] = list(NOT_YET_MEASURED)  # NotMeasured records
    # (name, check, enabled, what it measures): order matters, later checks read the
    # results of earlier ones (attacks -> calibration under attack, subgroups' robust
    # accuracy; shifted inputs -> near-OOD).
    plan = [
        ("accuracy", clean_accuracy, True, "clean accuracy"),
        ("robustness", adversarial_robustness, cfg.attacks != [], "adversarial robustness"),
        ("shifts", shift_robustness, cfg.shifts != [], "corruptions and distribution shift"),
        ("calibration", calibration_checks, cfg.calibration, "calibration (ECE, reliability)"),
        ("ood", ood_detection, cfg.ood, "out-of-distribution detection"),
        ("subgroups", subgroup_performance, cfg.subgroups, "subgroup and slice performance"),
        ("validity", validity_checks, cfg.validity, "evaluation-validity checks"),
    ]
    cut: list[str] = []
    for name, check, enabled, what in plan:
        if not enabled:
            not_measured.append(NotMeasured(what, "disabled"))
            continue
        if name not in ("accuracy", "robustness") and ctx.out_of_time:
            not_measured.append(NotMeasured(what, "the time budget ran out first",
                                            out_of_time=True))
            cut.append(f"the {what}")
            continue
        t = time.perf_counter()
        try:
            findings += check(ctx)
        except OutOfTime:  # a half-done check has no result: report it as not measured
            not_measured.append(NotMeasured(what, "the time budget ran out before it finished",
                                            out_of_time=True))
            cut.append(f"the {what}")
        timings[name] = round(time.perf_counter() - t, 3)
    timings["total"] = round(time.perf_counter() - t0, 3)
    not_measured += [s for s in ctx.skipped if s not in not_measured]
    cut += [s for s in ctx.skipped if getattr(s, "out_of_time", False)]
    if cut:
        findings.append(Finding(
            "budget.exhausted", f"The time budget of {cfg.budget:g}s cut the scan short", "warn",
            tags=nist.VALIDITY,
            detail="Skipped: " + "; ".join(cut) + ". Robust accuracies of skipped runs are "
            "unknown, not high: raise --budget to measure them.",
            evidence={"skipped": cut}))
    if isinstance(ctx.model, Watched) and ctx.model.non_finite_rows:
        findings.append(_non_finite_finding(ctx.model))
    provenance = {
        "model": {"description": model.description, "fingerprint": model.fingerprint(),
                  "n_classes": model.n_classes,
                  "capabilities": {"differentiable": model.capabilities.differentiable,
                                   "outputs": model.capabilities.outputs}},
        "data": {"name": ds.name, "fingerprint": ds.fingerprint(), "n": len(ds),
                 "n_source": len(data), "schema": ds.schema.to_dict(), "notes": ds.notes},
        "config": _config_record(cfg, ctx),
        "seed": cfg.seed,
        "versions": _versions(),
        "runtime": {"threads": torch.get_num_threads(), "batch_size": ctx.batch_size,
                    **({"batch_choice": ctx.batch_choice} if ctx.batch_choice else {})},
        "timings_seconds": timings,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nist_ai_rmf": "findings are tagged as evidence toward AI RMF 1.0 subcategories; "
        "no compliance is claimed",
    }
    findings.append(Finding("provenance", "Run manifest: fingerprints, config, seed, versions",
                            "info", tags=nist.PROVENANCE,
                            evidence={"model_fingerprint": provenance["model"]["fingerprint"],
                                      "data_fingerprint": provenance["data"]["fingerprint"]}))
    return Scorecard(findings, provenance, not_measured)


def _config_record(cfg: ScanConfig, ctx: CheckContext) -> dict[str, Any]:
    """The config as the scorecard records it: with the eps values and units resolved."""
    return cfg.to_dict() | {"eps": ctx.eps_values, "eps_units": ctx.units}


def _non_finite_finding(model: Watched) -> Finding:
    return Finding(
        "model.non_finite_scores",
        f"The model returned NaN or infinite scores for {model.non_finite_rows:,} of "
        f"{model.rows:,} evaluated inputs", "fail", tags=nist.VALIDITY,
        metrics={"non_finite_rows": Metric(model.non_finite_rows, unit="count"),
                 "rows": Metric(model.rows, unit="count")},
        detail="A class score that is not a number has no meaningful argmax, so accuracies and "
        "robust accuracies computed on those inputs are not reliable. Inputs perturbed by "
        "attacks or shifts are the usual cause (an overflow, a log of zero, a division); "
        "make the model's output finite on the whole input domain.")
