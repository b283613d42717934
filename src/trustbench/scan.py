"""``scan``: evaluate a model on a dataset and collect the findings in a Scorecard."""

from __future__ import annotations

import copy
import importlib.metadata
import logging
import platform
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from trustbench import nist
from trustbench._version import __version__
from trustbench.attacks.base import COMMON_PARAMS, check_param
from trustbench.attacks.registry import attack_class, check_attack_params
from trustbench.checks import CheckContext, ProgressFactory, ScanConfig
from trustbench.checks.plan import ScanPlan, make_plan
from trustbench.checks.steps import Step, scan_steps
from trustbench.data import Dataset
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.models import Model, SklearnModel, as_model
from trustbench.models.rescaled import RangeScaled
from trustbench.models.sklearn import fitted_columns
from trustbench.models.stochastic import Expectation, detect_randomness
from trustbench.models.watched import OutOfTime, Watched
from trustbench.options import RunOptions
from trustbench.scorecard import NOT_AUDITED, NotMeasured, Scorecard
from trustbench.tuning import choose_batch_size, configure_threads

__all__ = ["DEFAULT_EPS", "NOT_YET_MEASURED", "plan_scan", "prepare", "scan", "seeded_global_generators"]

log = logging.getLogger(__name__)

#: Default eps, as fractions of the input range, by norm.
DEFAULT_EPS = {"linf": [0.01, 0.03, 0.1], "l2": [0.1, 0.5, 1.0]}

#: What a scan never evaluates; every scorecard lists it (AI RMF MEASURE 1.1), with the
#: checks this run skipped or switched off.
NOT_YET_MEASURED: list[NotMeasured] = [NOT_AUDITED]


def _versions() -> dict[str, str]:
    # scikit-learn's version from its metadata: importing it would cost a torch-only scan
    # about a second (it loads scipy.stats and pandas)
    sklearn = sys.modules.get("sklearn")
    try:
        sklearn_version = (sklearn.__version__ if sklearn is not None
                           else importlib.metadata.version("scikit-learn"))
    except importlib.metadata.PackageNotFoundError:  # a dependency, but be kind to odd installs
        sklearn_version = "unknown"
    return {"trustbench": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "scikit-learn": sklearn_version,
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


def _check_config(cfg: ScanConfig) -> None:
    """Fail on a bad name, parameter, seed, severity or runtime setting before any work."""
    for name in cfg.attacks or []:  # not when the attack's turn comes
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


def _make_plan(model: Model, data: Dataset, cfg: ScanConfig) -> ScanPlan:
    _check_config(cfg)
    points = data.sample_index(cfg.n, seed=cfg.seed)
    ds = data.take(points)
    units = cfg.eps_units or ("raw" if ds.schema.modality == "image" else "range")
    span = ds.schema.domain(units=units).span
    eps_values = sorted(set(cfg.eps or [e * (1.0 if units == "range" else span)
                                         for e in DEFAULT_EPS[cfg.norm]]))
    if any(not e >= 0 for e in eps_values):
        raise InputError(f"--eps values must be >= 0, got {eps_values}")
    return make_plan(cfg, differentiable=model.capabilities.differentiable,
                     description=model.description, schema=ds.schema, shape=ds.x.shape,
                     eps=eps_values, units=units, points=points, n_source=len(data))


def plan_scan(model: Any, data: Dataset, config: ScanConfig | None = None) -> ScanPlan:
    """Decide what a scan of ``model`` on ``data`` will run, without running the model.

    The plan (:class:`~trustbench.checks.plan.ScanPlan`) lists the steps, the attacks with
    their parameters, the shifts, the eps values and the evaluated row indices, with the
    reason for each attack or shift it leaves out. It is a plain value: it pickles, and
    ``scan(model, data, plan)`` runs exactly it. Bad names, parameters and settings in
    ``config`` raise :class:`~trustbench.errors.InputError` here, before any work.

    Examples
    --------
    >>> import pickle
    >>> from trustbench import ScanConfig, load_builtin, plan_scan
    >>> from trustbench.testing.toy import toy_digits_mlp
    >>> plan = plan_scan(toy_digits_mlp(), load_builtin("digits"), ScanConfig(n=50, eps=[0.1]))
    >>> [a.name for a in plan.attacks], plan.n_points, pickle.loads(pickle.dumps(plan)) == plan
    (['fgsm', 'pgd', 'standard'], 50, True)
    """
    return _make_plan(as_model(model), data, config or ScanConfig())


def prepare(model: Any, data: Dataset, config: ScanConfig | ScanPlan | None = None, *,
            progress: ProgressFactory | None = None,
            deadline: float | None = None) -> tuple[Model, Dataset, CheckContext]:
    """Validate and prepare a scan: the wrapped model, the evaluated sample and the context.

    The context (:class:`~trustbench.checks.CheckContext`) holds the inputs in attack
    units, labels as class indices, the clean predictions, the plan (``config`` if it is a
    :class:`~trustbench.checks.plan.ScanPlan`, else :func:`plan_scan`'s) and the run
    options.

    ``ctx.model`` is :class:`~trustbench.models.watched.Watched`: it counts scores that are
    not numbers, and after the clean predictions (which always complete: without them
    there is no result) every model call respects ``deadline``, a ``time.perf_counter()``
    value, by raising :class:`~trustbench.models.watched.OutOfTime`.

    A :class:`~trustbench.models.Model` the caller passes is never changed: what the scan
    learns or binds (``n_classes`` from the input check, a DataFrame's columns) goes to a
    shallow copy that shares its weights.
    """
    model = copy.copy(model) if isinstance(model, Model) else as_model(model)
    if isinstance(config, ScanPlan):
        plan = config
        _check_config(plan.config)
        if plan.n_source != len(data):
            raise InputError(f"{data.name}: the scan plan was made for data of {plan.n_source} "
                             f"rows, this has {len(data)}", fix="make the plan from this data "
                             "(trustbench.plan_scan)")
    else:
        plan = _make_plan(model, data, config or ScanConfig())
    cfg = plan.config
    threads = configure_threads(cfg.threads)
    ds = data.take(plan.points)
    model = _bind_frame_input(model, ds)
    model.check_input(ds.x)
    y = torch.from_numpy(ds.label_indices(getattr(model, "classes", None), model.n_classes))
    if plan.units == "range":
        seen: Model = RangeScaled(model, ds.schema.lower, ds.schema.span)
        x = torch.from_numpy(ds.schema.to_units(ds.x))
    else:
        seen, x = model, torch.from_numpy(ds.x)
    # a model that answers the same input differently is judged by its expected prediction
    randomness = detect_randomness(seen, x)
    draw_model: Watched | None = None
    if randomness.random:
        log.warning("%s is random: the same inputs gave different outputs (predictions "
                    "changed on %.0f%% of points); it is evaluated as the expectation over %d "
                    "draws", model.description, 100 * randomness.prediction_flips,
                    cfg.eot_draws)
        draw_model = Watched(seen)
        if cfg.eot_draws > 1:
            seen = Expectation(seen, cfg.eot_draws)
    attack_model = Watched(seen)
    domain = ds.schema.domain(units=plan.units)
    clean_scores = attack_model.scores(x)  # (N, C)
    attack_model.deadline = deadline
    if draw_model is not None:
        draw_model.deadline = deadline
    batch_size, batch_choice = 500, None
    if cfg.batch_size == "auto":
        # a short calibration: at most 3 s, or a tenth of a time budget
        try:
            choice = choose_batch_size(attack_model, x, y, max_seconds=min(
                3.0, cfg.budget / 10 if cfg.budget is not None else 3.0))
            batch_size, batch_choice = choice.size, choice.to_dict()
        except OutOfTime:  # no time left to tune: the default stays; the attacks are skipped
            pass
    else:
        batch_size = int(cfg.batch_size)
    options = RunOptions(batch_size, batch_choice, threads, deadline,
                         **({"progress": progress} if progress else {}))
    ctx = CheckContext(attack_model, x, y, domain, plan, clean_scores.argmax(1), options,
                       dataset=ds, skipped=list(plan.not_applicable),
                       randomness=randomness if randomness.random else None,
                       draw_model=draw_model, _scores=[(attack_model, clean_scores)])
    return model, ds, ctx


def scan(
    model: Any,
    data: Dataset,
    config: ScanConfig | ScanPlan | None = None,
    *,
    progress: ProgressFactory | None = None,
    baseline: Scorecard | None = None,
    allow_mismatch: bool = False,
    attack_results: Mapping[str, list[Any]] | None = None,
) -> Scorecard:
    """Evaluate ``model`` on ``data`` and return its Scorecard.

    The plan's steps: clean accuracy, robustness over an eps curve for every applicable
    attack, shifts, calibration, OOD detection, subgroups and the evaluation-validity
    checks.

    Parameters
    ----------
    model
        A :class:`~trustbench.models.Model` or anything :func:`~trustbench.models.as_model`
        wraps (``nn.Module``, fitted scikit-learn classifier, callable).
    data
        The evaluation data with its schema.
    config
        What to measure: a :class:`ScanConfig` (default ``ScanConfig()``), or a
        :class:`~trustbench.checks.plan.ScanPlan` from :func:`plan_scan` to run as it is.
    progress
        ``progress(description, total) -> advance(n)``, for progress bars.
    baseline
        An earlier scorecard; checks that report relative numbers (relative mCE) use it.
        Comparing the two is :func:`trustbench.gate.apply_gate`'s job. It must be of the
        same data and measuring configuration (an InputError before any work otherwise),
        unless ``allow_mismatch``.
    attack_results
        Attack name -> its results over the eps curve on the plan's points, made elsewhere
        (:func:`trustbench.execution.sharded.sharded_scan` merges its shards' into this):
        used instead of running those attacks. Only with ``config`` a ScanPlan.
    """
    cfg0 = config.config if isinstance(config, ScanPlan) else config or ScanConfig()
    with seeded_global_generators(cfg0.seed):
        return _scan(model, data, config, cfg0.budget, progress=progress, baseline=baseline,
                     allow_mismatch=allow_mismatch, attack_results=attack_results)


@contextmanager
def seeded_global_generators(seed: int) -> Iterator[None]:
    """Seed torch's and numpy's global generators for the block, then restore them.

    A random model (noise layers, stochastic preprocessing) draws from the global
    generators; seeding them makes its scan repeatable, and restoring them leaves the
    caller's random state as it was.
    """
    state = np.random.get_state()  # noqa: NPY002 (the global one is what user models draw from)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)  # noqa: NPY002
        try:
            yield
        finally:
            np.random.set_state(state)  # noqa: NPY002


def _scan(model: Any, data: Dataset, config: ScanConfig | ScanPlan | None,
          budget: float | None, *, progress: ProgressFactory | None,
          baseline: Scorecard | None, allow_mismatch: bool,
          attack_results: Mapping[str, list[Any]] | None = None) -> Scorecard:
    t0 = time.perf_counter()
    model, ds, ctx = prepare(model, data, config, progress=progress,
                             deadline=None if budget is None else t0 + budget)
    cfg = ctx.config
    if baseline is not None:  # like with like, or no scan at all: fail before the attacks
        from trustbench.gate.compare import check_comparable

        check_comparable({"data": {"name": ds.name, "fingerprint": ds.fingerprint()},
                          "config": _config_record(cfg, ctx)}, baseline, allow=allow_mismatch)
    if attack_results is not None and not isinstance(config, ScanPlan):
        raise InputError("attack_results need the ScanPlan they were made with",
                         fix="pass config=trustbench.plan_scan(model, data, config)")
    ctx = ctx.with_(baseline=baseline, attack_results=attack_results)
    timings: dict[str, float] = {}
    findings: list[Finding] = []
    not_measured: list[str] = list(NOT_YET_MEASURED)  # NotMeasured records
    cut: list[str] = []
    products: dict[str, Any] = {}
    for step in _plan_steps(ctx.plan):
        if step.name in ctx.plan.disabled:
            not_measured.append(NotMeasured(step.what, "disabled"))
            continue
        if not step.runs_out_of_time and ctx.out_of_time:
            not_measured.append(NotMeasured(step.what, "the time budget ran out first",
                                            out_of_time=True))
            cut.append(f"the {step.what}")
            continue
        t = time.perf_counter()
        try:
            checked = step(ctx, products)
            findings += checked.findings
            products[step.name] = checked.product
        except OutOfTime:  # a half-done check has no result: report it as not measured
            not_measured.append(NotMeasured(step.what, "the time budget ran out before it "
                                            "finished", out_of_time=True))
            cut.append(f"the {step.what}")
        timings[step.name] = round(time.perf_counter() - t, 3)
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
        "runtime": {"threads": torch.get_num_threads(), "batch_size": ctx.options.batch_size,
                    **({"batch_choice": ctx.options.batch_choice}
                       if ctx.options.batch_choice else {})},
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


def _plan_steps(plan: ScanPlan) -> list[Step]:
    """Return the registered steps the plan names, in the registry's order."""
    known = {s.name for s in scan_steps()}
    unknown = [n for n in (*plan.steps, *plan.disabled) if n not in known]
    if unknown:
        raise InputError(f"the scan plan names steps that are not registered here: {unknown}",
                         fix="import the package that registers them before scanning")
    return [s for s in scan_steps() if s.name in plan.steps or s.name in plan.disabled]


def _config_record(cfg: ScanConfig, ctx: CheckContext) -> dict[str, Any]:
    """Return the config as the scorecard records it: with the eps values and units resolved."""
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
