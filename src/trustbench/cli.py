"""The ``trustbench`` command line: a thin layer over the library.

Exit codes: 0 ok, 1 a gate failed, 2 bad usage or bad input.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from trustbench import __version__
from trustbench.errors import TrustbenchError

app = typer.Typer(
    name="trustbench",
    help="Measure how trustworthy a machine-learning model is: adversarial robustness with "
    "evaluation-validity checks, written to a JSON scorecard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"trustbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _fail(message: str) -> typer.Exit:
    """Print ``message`` as one unwrapped line (no rich markup: it may hold brackets)."""
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True,
                      highlight=False)
    return typer.Exit(2)


def _floats(text: str | None, option: str, *, count: int | None = None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise _fail(f"{option} {text!r}: expected comma-separated numbers, e.g. 0.05,0.1") from None
    if not values or (count is not None and len(values) != count):
        raise _fail(f"{option} {text!r}: expected {count or 'one or more'} numbers")
    return values


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str, int], Callable[[int], None]] | None]:
    if quiet or not err_console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        def factory(description: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)
        yield factory


def _run_scan(model: Any, data: Any, config: Any, out: Path, quiet: bool) -> None:
    from trustbench.report import render_terminal
    from trustbench.scan import scan

    with _progress(quiet) as factory:
        card = scan(model, data, config, progress=factory)
    path = card.to_json(out / "scorecard.json")
    render_terminal(card, console)
    console.print(f"Scorecard written to [bold]{path}[/bold]")


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
                      _duration(r["seconds"]), _duration(r["max_seconds"]))
    table.add_section()
    table.add_row("total", "", "", "", _duration(est.total_seconds),
                  _duration(est.max_total_seconds))
    console.print(table)
    console.print(f"calibration: {est.seconds_per_grad_eval * 1e6:.1f} µs per gradient "
                  f"evaluation, {est.seconds_per_query * 1e6:.1f} µs per query (per point); "
                  "expected counts assume a quick PGD-10 guess of which points stay robust")
    for s in est.skipped:
        console.print(f"[dim]skipped: {s}[/dim]")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


ModelOpt = Annotated[str, typer.Option(
    "--model", "-m", help="TorchScript file; .pt/.safetensors state_dict with --arch; .onnx; "
    ".skops; a pickle/joblib with --trust-pickle; or package.module:attribute.")]
DataOpt = Annotated[str, typer.Option(
    "--data", "-d", help="digits, breast_cancer, or a .csv/.parquet/.npz file.")]


@app.command()
def scan(
    model: ModelOpt,
    data: DataOpt,
    target: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    group: Annotated[str | None, typer.Option(help="Column with a group/slice attribute.")] = None,
    eps: Annotated[str | None, typer.Option(
        help="Comma-separated radii, e.g. 0.05,0.1,0.2 (default: 1%, 3%, 10% of the input "
        "range for linf).")] = None,
    norm: Annotated[str, typer.Option(help="Threat model norm: linf or l2.")] = "linf",
    eps_units: Annotated[str | None, typer.Option(
        help="raw (the data's units; image default) or range (fraction of each feature's "
        "range; tabular default).")] = None,
    attacks: Annotated[str | None, typer.Option(
        help="Comma-separated attack names (see 'trustbench attacks'). Default: fgsm,pgd,"
        "standard for torch models, square for black-box ones.")] = None,
    n: Annotated[int | None, typer.Option(help="Evaluate a seeded random sample of N points.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling and attacks.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for scorecard.json.")] = Path("trustbench-report"),
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
    validity: Annotated[bool, typer.Option(help="Run the evaluation-validity checks.")] = True,
    batch_size: Annotated[int, typer.Option(help="Points per attack batch.")] = 500,
    budget: Annotated[float | None, typer.Option(
        help="Seconds the scan may take; runs not started by then are skipped and reported.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the expected gradient evaluations, queries and time (from a "
        "short calibration) and exit without attacking.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Scan a model's adversarial robustness on a dataset and write DIR/scorecard.json."""
    from trustbench.checks import ScanConfig
    from trustbench.data import load_data
    from trustbench.models.loading import load_model

    if norm not in ("linf", "l2"):
        raise _fail(f"--norm {norm!r}: use linf or l2")
    if eps_units not in (None, "raw", "range"):
        raise _fail(f"--eps-units {eps_units!r}: use raw or range")
    if split not in ("test", "train", "all"):
        raise _fail(f"--split {split!r}: use test, train or all")
    if batch_size < 1:
        raise _fail(f"--batch-size must be at least 1, got {batch_size}")
    try:
        b = _floats(bounds, "--bounds", count=2)
        ds = load_data(data, target=target, group=group, bounds=(b[0], b[1]) if b else None,
                       schema=schema, split=split, seed=seed)  # type: ignore[arg-type]
        adapter: dict[str, Any] = {}
        if mean or std:
            adapter = {"mean": _floats(mean, "--mean"), "std": _floats(std, "--std")}
        m = load_model(model, arch=arch, arch_kwargs=arch_kwargs, trust_pickle=trust_pickle,
                       **adapter)
        config = ScanConfig(
            eps=_floats(eps, "--eps"), norm=norm, eps_units=eps_units,  # type: ignore[arg-type]
            attacks=[a.strip() for a in attacks.split(",") if a.strip()] if attacks else None,
            n=n, seed=seed, validity=validity, batch_size=batch_size, budget=budget)
        if dry_run:
            _print_estimate(m, ds, config)
        else:
            _run_scan(m, ds, config, out, quiet)
    except TrustbenchError as e:
        raise _fail(str(e)) from None


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for scorecard.json.")] = Path("trustbench-report"),
    retrain: Annotated[bool, typer.Option(help="Train the demo CNN again instead of using the "
                                                "cached one.")] = False,
    n: Annotated[int, typer.Option(help="Test points to scan (a seeded sample of the 540).")] = 200,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train a small CNN on the built-in digits data (once; cached), scan it and print the
    scorecard."""
    from trustbench.checks import ScanConfig
    from trustbench.data import load_builtin
    from trustbench.demo import load_demo_model
    from trustbench.models import TorchModel

    try:
        if not quiet:
            err_console.print("Loading the demo CNN (trained on digits on first use)...")
        module, path = load_demo_model(retrain=retrain)
        if not quiet:
            err_console.print(f"Demo model: {path}")
        config = ScanConfig(eps=[0.05, 0.1, 0.2], norm="linf", attacks=["fgsm", "pgd", "standard"],
                            n=n, seed=0)
        _run_scan(TorchModel(module), load_builtin("digits", split="test"), config, out, quiet)
    except TrustbenchError as e:
        raise _fail(str(e)) from None


@app.command(name="attacks")
def list_attacks() -> None:
    """List the registered attacks."""
    from rich.table import Table

    from trustbench.attacks import REGISTRY

    table = Table("name", "needs gradients", "norms", "summary")
    for name, cls in sorted(REGISTRY.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        table.add_row(name, "yes" if cls.requires_gradients else "no", ", ".join(cls.norms), doc)
    console.print(table)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
