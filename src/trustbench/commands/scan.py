"""``trustbench scan`` and ``trustbench demo``.

Parse, merge the config file and the flags, run the scan, gate it, write every report.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from trustbench.commands._console import (
    console,
    duration,
    err_console,
    fail,
    floats,
    json_object,
    keep_on_interrupt,
    names,
    progress,
)
from trustbench.commands._execution import ADDRESS, make_executor
from trustbench.errors import InputError, TrustbenchError
from trustbench.options import MAX_BATCH_SIZE, check_batch_size

__all__ = ["demo", "scan"]

#: Where a sharded scan keeps its finished blocks inside --out (for --resume).
PARTIAL = ".scan-partial"


def _run_scan(model: Any, data: Any, config: Any, out: Path, quiet: bool, *,
              baseline: str | Path | None = None, fail_on: list[str] | None = None,
              formats: list[str] | None = None, audit: str | Path | None = None,
              allow_mismatch: bool = False, executor: Any = None,
              shard_size: int = 256, resume: bool = False) -> bool:
    """Run :func:`trustbench.run_scan` and :func:`trustbench.write_reports` on the console.

    The console shows its progress bars and messages; returns True when a gate rule fired.

    The inputs are checked, then the output folder is checked and locked, before any work
    (see :func:`trustbench.open_output`).
    """
    from trustbench.pipeline import FORMATS, load_inputs, open_output, run_scan, write_reports
    from trustbench.report import render_terminal

    base, audit_card, rules = load_inputs(baseline=baseline, audit=audit, rules=fail_on or [])
    store = None if executor is None else Path(out) / PARTIAL
    with open_output(out, protect=[baseline, audit]) as folder:
        keep_on_interrupt(f"nothing of this scan was written; {out} is as it was" if store is None
                          else f"the finished blocks are kept in {store}: run the same "
                          "command with --resume to go on")
        with progress(quiet) as factory:
            outcome = run_scan(model, data, config, baseline=base, rules=rules,
                               audit=audit_card, allow_mismatch=allow_mismatch,
                               progress=factory, executor=executor, shard_size=shard_size,
                               store=store, resume=resume)
        try:
            written = write_reports(outcome.card, folder, formats=formats or list(FORMATS))
        finally:
            render_terminal(outcome.card, console)
        if store is not None:
            shutil.rmtree(store, ignore_errors=True)  # the scorecard holds it all now
    console.print(f"Scorecard written to [bold]{written[0]}[/bold]")
    if written[1:]:
        console.print("Reports: " + ", ".join(f"[bold]{p}[/bold]" for p in written[1:]))
    for r in outcome.gate.failed:
        err_console.print(Text.assemble(("gate failed: ", "bold red"), f"{r.rule.text}: {r.reason}"),
                          soft_wrap=True, highlight=False)
    return bool(outcome.gate.failed)


def _print_estimate(model: Any, data: Any, config: Any) -> None:
    from rich.table import Table

    from trustbench.plan import estimate_cost

    est = estimate_cost(model, data, config)
    table = Table(title=f"Dry run: {est.n_points} points, {est.n_attacked} classified correctly "
                  "(only those are attacked)", title_justify="left")
    for col in ("run", "eps", "grad evals", "queries", "expected time", "at most"):
        table.add_column(col, justify="left" if col == "run" else "right")
    for r in est.rows:
        table.add_row(r["attack"], str(r["n_eps"]), f"{r['grad_evals']:,}", f"{r['queries']:,}",
                      duration(r["seconds"]), duration(r["max_seconds"]))
    table.add_section()
    table.add_row("total", "", "", "", duration(est.total_seconds),
                  duration(est.max_total_seconds))
    console.print(table)
    console.print(f"calibration: {est.seconds_per_grad_eval * 1e6:.1f} µs per gradient "
                  f"evaluation, {est.seconds_per_query * 1e6:.1f} µs per query (per point); "
                  "expected counts assume a quick PGD-10 guess of which points stay robust")
    for s in est.skipped:
        console.print(f"[dim]skipped: {s}[/dim]")


ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="TorchScript file; .pt/.safetensors state_dict with --arch; .onnx; "
    ".skops; a pickle/joblib with --trust-pickle; or package.module:attribute.")]
DataOpt = Annotated[str | None, typer.Option(
    "--data", "-d", help="digits, breast_cancer, or a .csv/.parquet/.npz file.")]

# CLI parameter -> (config section, field, converter from the flag's text)
_OVERRIDES: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "model": ("model", "path", str), "arch": ("model", "arch", str),
    "arch_kwargs": ("model", "arch_kwargs", lambda v: json_object(v, "--arch-kwargs")),
    "mean": ("model", "mean", lambda v: floats(v, "--mean")),
    "std": ("model", "std", lambda v: floats(v, "--std")),
    "trust_pickle": ("model", "trust_pickle", bool),
    "data": ("data", "source", str), "target": ("data", "target", str),
    "group": ("data", "group", str), "split": ("data", "split", str),
    "bounds": ("data", "bounds", lambda v: floats(v, "--bounds", count=2)),
    "schema": ("data", "schema_file", str),
    "eps": ("scan", "eps", lambda v: floats(v, "--eps")), "norm": ("scan", "norm", str),
    "eps_units": ("scan", "eps_units", str), "attacks": ("scan", "attacks", names),
    "n": ("scan", "n", int), "seed": ("scan", "seed", int),
    "batch_size": ("scan", "batch_size", lambda v: _batch_size(v)),
    "threads": ("scan", "threads", int), "budget": ("scan", "budget", float),
    "validity": ("scan", "validity", bool), "shifts": ("scan", "shifts", names),
    "severities": ("scan", "severities", lambda v: _ints(v, "--severities")),
    "calibration": ("scan", "calibration", bool), "ood": ("scan", "ood", bool),
    "subgroups": ("scan", "subgroups", bool), "eot_draws": ("scan", "eot_draws", int),
    "baseline": ("gate", "baseline", str), "fail_on": ("gate", "fail_on", list),
    "audit": ("data", "audit", str),
    "out": ("output", "out", str),
}




def _batch_size(text: str) -> str | int:
    value: object = "auto" if text.strip().lower() == "auto" else None
    if value is None:
        try:
            value = int(text)
        except ValueError:
            pass
    try:
        return check_batch_size(value)  # the limits the config file and ScanConfig use
    except InputError:
        raise fail(f"--batch-size {text!r}: expected 'auto' or an integer in "
                   f"[1, {MAX_BATCH_SIZE}], e.g. 256") from None


def _ints(text: str, option: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise fail(f"{option} {text!r}: expected comma-separated integers, e.g. 1,3,5") from None




def _scan_settings(cli_ctx: typer.Context, params: dict[str, Any], config: Path | None) -> Any:
    """Return the config file (if any) with the flags given on the command line applied over it."""
    from pydantic import ValidationError

    from trustbench.config import DataSection, ModelSection, ScanFile, load_scan_file

    if config is not None:
        sf = load_scan_file(config)
    else:
        if not params["model"] or not params["data"]:
            raise fail("pass --model and --data, or a --config file that sets them "
                        "(create one with 'trustbench init')")
        sf = ScanFile(model=ModelSection(path=params["model"]),
                      data=DataSection(source=params["data"]))
    for name, (section, field, convert) in _OVERRIDES.items():
        source = cli_ctx.get_parameter_source(name)  # click's enum (typer may vendor click)
        if getattr(source, "name", None) != "COMMANDLINE":
            continue
        value = params[name]
        try:
            setattr(getattr(sf, section), field, None if value is None else convert(value))
        except ValidationError as e:
            flag = "--" + name.replace("_", "-")
            raise fail(f"{flag} {value!r}: {e.errors()[0]['msg']}") from None
    return sf


def _untrusted_from_config(cli_ctx: typer.Context, sf: Any, config: Path | None) -> str | None:
    """Enforce that trust comes from the command line only.

    A ``model.path`` import reference (``pkg.module:attr``) in a config file is refused,
    ``model.trust_pickle: true`` needs ``--trust-pickle`` too, and a ``model.arch`` it sets
    is untrusted (returns its file and field for ``load_model(arch_source=...)``).
    """

    def typed(name: str) -> bool:
        return getattr(cli_ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"

    if config is None:
        return None
    path = sf.model.path
    if not typed("model") and ":" in path and not Path(path).exists():
        raise fail(f"{config}: field model.path {path!r} names Python code to import, and a "
                   "config file cannot make trustbench import code (nothing was imported) -- "
                   f"pass --model {path} on the command line if you trust it, or point "
                   "model.path at a model file")
    if sf.model.trust_pickle and not typed("trust_pickle"):
        raise fail(f"{config}: field model.trust_pickle is true, but a config file cannot "
                   "grant trust to unpickle (a pickle runs code) -- pass --trust-pickle on the "
                   "command line as well, only if you trust the model file's author")
    return f"{config} field model.arch" if sf.model.arch is not None and not typed("arch") else None


def _check_rules(cli_ctx: typer.Context, sf: Any, config: Path | None) -> None:
    """Parse the gate rules before any loading.

    A rule from the config file is named by its field there, not by the flag.
    """
    from trustbench.gate import parse_rule

    from_file = config is not None and getattr(
        cli_ctx.get_parameter_source("fail_on"), "name", None) != "COMMANDLINE"
    for i, rule in enumerate(sf.gate.fail_on):
        try:
            parse_rule(rule)
        except TrustbenchError as e:
            if not from_file or not isinstance(e, InputError):
                raise
            raise InputError(e.problem.replace("--fail-on", f"{config}: field gate.fail_on[{i}]", 1),
                             fix=e.fix) from None


def _check_names(s_cfg: Any) -> None:
    from trustbench.attacks.registry import attack_class
    from trustbench.shifts import shift_class

    for name in s_cfg.attacks or []:
        attack_class(name)
    for name in s_cfg.shifts or []:
        shift_class(name)


def scan(
    cli_ctx: typer.Context,
    model: ModelOpt = None,
    data: DataOpt = None,
    config: Annotated[Path | None, typer.Option(
        help="YAML scan file ('trustbench init' writes one); flags override it.")] = None,
    target: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    group: Annotated[str | None, typer.Option(
        help="Column with a group attribute: per-group accuracy, robustness, calibration.")] = None,
    eps: Annotated[str | None, typer.Option(
        help="Comma-separated radii, e.g. 0.05,0.1,0.2 (default: 1%, 3%, 10% of the input "
        "range for linf).")] = None,
    norm: Annotated[str, typer.Option(help="Threat model norm: linf or l2.")] = "linf",
    eps_units: Annotated[str | None, typer.Option(
        help="raw (the data's units; image default) or range (fraction of each feature's "
        "range; tabular default).")] = None,
    attacks: Annotated[str | None, typer.Option(
        help="Comma-separated attack names (see 'trustbench attacks'), or none. Default: "
        "fgsm,pgd,standard for torch models, square for black-box ones.")] = None,
    shifts: Annotated[str | None, typer.Option(
        help="Comma-separated shift names (see 'trustbench shifts'), or none. Default: every "
        "shift for the data's modality.")] = None,
    severities: Annotated[str | None, typer.Option(
        help="Shift severities to measure, from 1..5 (default: all).")] = None,
    calibration: Annotated[bool, typer.Option(help="Measure calibration.")] = True,
    ood: Annotated[bool, typer.Option(help="Measure out-of-distribution detection.")] = True,
    subgroups: Annotated[bool, typer.Option(help="Measure per-group/per-class results.")] = True,
    eot_draws: Annotated[int, typer.Option(
        help="Calls averaged per evaluation when the model is found to be random (its "
        "answers change between calls): accuracies of its expected prediction, attacks "
        "with EOT. 1: a single draw.")] = 20,
    n: Annotated[int | None, typer.Option(help="Evaluate a seeded random sample of N points.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling, attacks and shifts.")] = 0,
    out: Annotated[Path, typer.Option(
        help="Folder for scorecard.json, report.html, summary.md, junit.xml.")] = Path("trustbench-report"),
    baseline: Annotated[Path | None, typer.Option(
        help="An earlier scorecard.json of the same data: report each metric's change.")] = None,
    audit: Annotated[Path | None, typer.Option(
        help="The scorecard.json of 'trustbench audit' on this test set: also report accuracy "
        "without the rows it flagged (leaks, likely label errors).")] = None,
    fail_on: Annotated[list[str] | None, typer.Option(
        help="Exit 1 when a rule fires, e.g. 'any fail', 'robust_acc@linf:0.1 drop > 2pt', "
        "'ece increase > 0.02', 'accuracy < 0.9'. Repeatable.")] = None,
    allow_mismatch: Annotated[bool, typer.Option(
        "--allow-mismatch", help="Compare with a --baseline of other data or other settings "
        "anyway (refused by default: changes would mix model, data and settings).")] = False,
    arch: Annotated[str | None, typer.Option(
        help="package.module:Class of the nn.Module a state_dict belongs to.")] = None,
    arch_kwargs: Annotated[str | None, typer.Option(
        help="JSON object of constructor arguments for --arch.")] = None,
    mean: Annotated[str | None, typer.Option(
        help="Per-channel mean the torch model expects inputs normalised by (comma-separated).")] = None,
    std: Annotated[str | None, typer.Option(help="Per-channel std to go with --mean.")] = None,
    bounds: Annotated[str | None, typer.Option(
        help="LOWER,UPPER valid range of every feature (default: declared by the dataset, "
        "else the data's min/max).")] = None,
    schema: Annotated[Path | None, typer.Option(
        help="JSON schema file: bounds and per-feature types.")] = None,
    split: Annotated[str, typer.Option(help="Split of a built-in dataset: test, train or all.")] = "test",
    trust_pickle: Annotated[bool, typer.Option(
        "--trust-pickle", help="Allow pickle/joblib model files (they can run arbitrary code).")] = False,
    trust_arch: Annotated[bool, typer.Option(
        "--trust-arch", help="Import and run the architecture the --config file names "
        "(model.arch) even when it is not a trustbench class (it runs code: check it first).")
    ] = False,
    validity: Annotated[bool, typer.Option(help="Run the evaluation-validity checks.")] = True,
    batch_size: Annotated[str, typer.Option(
        help="Points per attack batch, or 'auto' (time a few sizes, keep the fastest per "
        "example that fits in memory). Changes speed only, never results.")] = "auto",
    threads: Annotated[int | None, typer.Option(
        help="Torch threads (default: torch's, capped at the CPUs this process may "
        "use).")] = None,
    budget: Annotated[float | None, typer.Option(
        help="Seconds the scan may take; runs not started by then are skipped and reported.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the expected gradient evaluations, queries and time (from a "
        "short calibration) and exit without attacking.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    executor: Annotated[str, typer.Option(
        help="Where the attacks run: 'local' (this process) or 'ray' (sharded by point ids "
        "over a Ray cluster, needs trustbench[ray]; the same scorecard).")] = "local",
    address: ADDRESS = None,
    shard_size: Annotated[int, typer.Option(
        help="--executor ray: points per unit of work.", min=1, max=1_000_000)] = 256,
    resume: Annotated[bool, typer.Option(
        "--resume", help="--executor ray: reuse the blocks an interrupted run on the same "
        "--out finished (same model, data and settings); run only the rest.")] = False,
) -> None:
    """Scan a model and write its scorecard and reports.

    The scan measures clean accuracy, adversarial robustness, corruptions and shift,
    calibration, out-of-distribution detection and subgroups. Writes DIR/scorecard.json,
    report.html, summary.md and junit.xml; exits 1 when a --fail-on rule fires.
    """
    from trustbench.checks import ScanConfig
    from trustbench.data import load_data
    from trustbench.models.loading import load_model

    params = dict(locals())
    try:
        runner = make_executor(executor, address, budget=budget)
        if resume and runner is None:
            raise InputError("--resume is for a sharded scan", fix="add --executor ray")
        sf = _scan_settings(cli_ctx, params, config)
        m_cfg, d_cfg, s_cfg = sf.model, sf.data, sf.scan
        arch_source = _untrusted_from_config(cli_ctx, sf, config)
        _check_rules(cli_ctx, sf, config)
        _check_names(s_cfg)  # typos fail before any loading
        ds = load_data(d_cfg.source, target=d_cfg.target, group=d_cfg.group,
                       bounds=d_cfg.bounds, schema=d_cfg.schema_file, split=d_cfg.split,
                       seed=s_cfg.seed)
        adapter: dict[str, Any] = {}
        if m_cfg.mean or m_cfg.std:
            adapter = {"mean": m_cfg.mean, "std": m_cfg.std}
        m = load_model(m_cfg.path, arch=m_cfg.arch, arch_kwargs=m_cfg.arch_kwargs,
                       arch_source=arch_source, trust_arch=trust_arch,
                       trust_pickle=m_cfg.trust_pickle, **adapter)
        scan_config = ScanConfig(**s_cfg.model_dump())
        if dry_run:
            _print_estimate(m, ds, scan_config)
            return
        failed = _run_scan(m, ds, scan_config, Path(sf.output.out), quiet,
                           baseline=sf.gate.baseline, fail_on=sf.gate.fail_on,
                           formats=sf.output.formats, audit=d_cfg.audit,
                           allow_mismatch=allow_mismatch, executor=runner,
                           shard_size=shard_size, resume=resume)
    except TrustbenchError as e:
        raise fail(e) from None
    if failed:
        raise typer.Exit(1)


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the scorecard and reports.")] = Path(
        "trustbench-report"),
    retrain: Annotated[bool, typer.Option(help="Train the demo CNN again instead of using the "
                                                "cached one.")] = False,
    n: Annotated[int, typer.Option(help="Test points to scan (a seeded sample of the 540).")] = 200,
    train_fraction: Annotated[float, typer.Option(
        help="Train a deliberately weaker CNN on this fraction of the training data (not "
        "cached), e.g. 0.1 to see a regression gate fail.")] = 1.0,
    baseline: Annotated[Path | None, typer.Option(
        help="An earlier demo scorecard.json to compare with.")] = None,
    fail_on: Annotated[list[str] | None, typer.Option(
        help="Exit 1 when a rule fires (see scan --help). Repeatable.")] = None,
    allow_mismatch: Annotated[bool, typer.Option(
        "--allow-mismatch", help="Compare with a --baseline of other data or settings "
        "anyway.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train a small CNN on the built-in digits data (once; cached) and scan it.

    Writes the scorecard and the HTML report.
    """
    from trustbench.checks import ScanConfig
    from trustbench.data import load_builtin
    from trustbench.demo import load_demo_model, train_demo_model
    from trustbench.models import TorchModel

    if not 0 < train_fraction <= 1:
        raise fail(f"--train-fraction must be in (0, 1], got {train_fraction}")
    if n is not None and n < 1:
        raise fail(f"--n must be a positive number of points, got {n}")
    try:
        from trustbench.pipeline import load_inputs

        load_inputs(baseline=baseline, rules=fail_on or [])  # before any training: bad input fails fast
        if train_fraction < 1:
            if not quiet:
                err_console.print(f"Training a demo CNN on {train_fraction:.0%} of the training "
                                  "data...")
            module = train_demo_model(fraction=train_fraction)
        else:
            if not quiet:
                err_console.print("Loading the demo CNN (trained on digits on first use)...")
            module, path = load_demo_model(retrain=retrain)
            if not quiet:
                err_console.print(f"Demo model: {path}")
        config = ScanConfig(eps=[0.05, 0.1, 0.2], norm="linf", attacks=["fgsm", "pgd", "standard"],
                            n=n, seed=0)
        failed = _run_scan(TorchModel(module), load_builtin("digits", split="test"), config, out,
                           quiet, baseline=baseline, fail_on=fail_on,
                           allow_mismatch=allow_mismatch)
    except TrustbenchError as e:
        raise fail(e) from None
    if failed:
        raise typer.Exit(1)
