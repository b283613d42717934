"""``trustbench harden`` and ``trustbench compress``: thin commands over trustbench.harden."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from trustbench._files import OutputFolder
from trustbench.commands._console import console, err_console, json_object, keep_on_interrupt, names
from trustbench.commands._progress import bar_factory, progress_bars
from trustbench.errors import InputError

__all__ = ["compress", "harden"]


def _html_writer(html: bool) -> Callable[[Any, Path], Path] | None:
    """Return the HTML renderer for ``--html`` (``None`` without it, or in an install without one)."""
    if not html:
        return None
    try:
        from trustbench.report import write_html
    except ImportError:
        err_console.print("[dim]report.html not written: this trustbench has no HTML renderer[/dim]")
        return None
    return write_html


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"


def harden(
    arch: Annotated[str, typer.Option(
        help="package.module:Class of the nn.Module, e.g. trustbench.demo:DemoCNN.")],
    data: Annotated[str, typer.Option(
        "--data", "-d", help="digits, breast_cancer, or a .csv/.parquet/.npz file.")],
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Weights to start from (.safetensors or .pt state_dict); "
        "omit to train --arch from scratch.")] = None,
    arch_kwargs: Annotated[str | None, typer.Option(
        help="JSON object of constructor arguments for --arch.")] = None,
    method: Annotated[str, typer.Option(
        help="trades, pgd-at, fast-at or standard.")] = "trades",
    eps: Annotated[float, typer.Option(help="Training and scan radius (data units).")] = 0.1,
    norm: Annotated[str, typer.Option(help="linf or l2.")] = "linf",
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 10,
    batch_size: Annotated[int, typer.Option(help="Training minibatch size.")] = 64,
    lr: Annotated[float, typer.Option(help="Adam learning rate (cosine decay).")] = 3e-3,
    beta: Annotated[float, typer.Option(help="TRADES robustness weight.")] = 6.0,
    steps: Annotated[int, typer.Option(help="Inner PGD steps of pgd-at and trades.")] = 10,
    patience: Annotated[int, typer.Option(
        help="Stop after this many epochs without better robust validation accuracy "
        "(0: never).")] = 5,
    val_fraction: Annotated[float, typer.Option(
        help="Share of the training data held out for validation.")] = 0.1,
    test_data: Annotated[str | None, typer.Option(
        help="Test data for the scans (default: the built-in test split, else a 30% "
        "hold-out).")] = None,
    target: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    attacks: Annotated[str | None, typer.Option(
        help="Attacks of the before/after scans (default: the scan's).")] = None,
    n: Annotated[int | None, typer.Option(help="Scan a seeded sample of N test points.")] = None,
    before: Annotated[bool, typer.Option(help="Scan the model before training too.")] = True,
    html: Annotated[bool, typer.Option(help="Write report.html next to each scorecard.")] = True,
    seed: Annotated[int, typer.Option(help="Seed for initialisation, training and scans.")] = 0,
    out: Annotated[Path, typer.Option(
        help="Folder for model.safetensors, model.json, checkpoint.pt, before/ and after/.")
    ] = Path("trustbench-harden"),
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run from OUT/checkpoint.pt.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Adversarially train a torch model (TRADES, PGD-AT, fast AT) and scan it before and after.

    The best epoch by robust validation accuracy is kept and saved with its architecture
    reference.
    """
    from trustbench.checks import ScanConfig
    from trustbench.harden.run import build_module, harden_to_dir, train_test_data
    from trustbench.harden.trainer import EpochRecord, Trainer
    from trustbench.models.loading import load_model, resolve_arch

    kwargs = json_object(arch_kwargs, "--arch-kwargs")
    resolve_arch(arch, what="--arch", trusted=True)  # not an nn.Module class: fail before data
    trainer = Trainer(method=method, eps=eps, norm=norm, epochs=epochs,  # type: ignore[arg-type]
                      batch_size=batch_size, lr=lr, beta=beta, steps=steps,
                      val_fraction=val_fraction, patience=patience or None, seed=seed)
    trainer.check_params()  # bad settings fail before any data is loaded
    train, test, split_note = train_test_data(data, test_data, seed=seed,
                                              **({"target": target} if target else {}))
    if model is not None:
        module = load_model(model, arch=arch, arch_kwargs=kwargs).module  # type: ignore[attr-defined]
    else:
        module = build_module(arch, kwargs, seed=seed)
    config = ScanConfig(eps=[eps], norm=norm, attacks=names(attacks), n=n, seed=seed)  # type: ignore[arg-type]
    if not quiet:
        err_console.print(f"{method} on {train.name} ({len(train)} rows; {split_note}), "
                          f"{norm} eps={eps:g}, up to {epochs} epochs -> {out}")
    with progress_bars(quiet, err_console) as bar:
        task = bar.add_task("training", total=epochs) if bar is not None else None

        def on_epoch(r: EpochRecord) -> None:
            line = (f"epoch {r.epoch}: loss {r.train_loss:.3f}, val clean {r.val_clean_accuracy:.1%}, "
                    f"val robust {r.val_robust_accuracy:.1%}{' *' if r.improved else ''}")
            if bar is not None and task is not None:
                bar.update(task, completed=r.epoch, description=line)
            elif not quiet:
                err_console.print(line, highlight=False)

        # checked writable and locked before training; harden checkpoints into it as it goes
        with OutputFolder(out, owned=()):
            keep_on_interrupt(f"resume with the same options and --resume (the checkpoint of "
                              f"the last finished epoch is kept in {out / 'checkpoint.pt'})")
            outcome = harden_to_dir(module, train, test, trainer=trainer, out_dir=out, arch=arch,
                                    arch_kwargs=kwargs, scan_config=config,
                                    data_spec=test_data or data, scan_before=before,
                                    write_report=_html_writer(html),
                                    resume=resume, progress=on_epoch,
                                    scan_progress=bar_factory(bar))
    from trustbench.harden.run import headline_metrics

    table = Table(title=f"{method}: best epoch {outcome.result.best_epoch} of "
                  f"{len(outcome.result.history)}", title_justify="left")
    for col in ("", "clean accuracy", f"robust accuracy ({norm} eps={eps:g})"):
        table.add_column(col, justify="left" if not col else "right")
    for label, card in (("before", outcome.before), ("after", outcome.after)):
        if card is not None:
            c, r = headline_metrics(card, eps, norm)
            table.add_row(label, _pct(c), _pct(r))
    console.print(table)
    for note in outcome.notes:
        console.print(f"[dim]{note}[/dim]")
    console.print("Written: " + ", ".join(str(p) for p in outcome.written))
    scan_cmd = json.loads(outcome.arch_path.read_text(encoding="utf-8"))["scan_command"]
    console.print(f"Scan it again with: {scan_cmd}", highlight=False, soft_wrap=True)


def compress(
    model: Annotated[str, typer.Option(
        "--model", "-m", help="Float weights (.safetensors or .pt state_dict).")],
    data: Annotated[str, typer.Option(
        "--data", "-d", help="digits, breast_cancer, or a .csv/.parquet/.npz file.")],
    arch: Annotated[str | None, typer.Option(
        help="package.module:Class (default: from the model.json next to --model).")] = None,
    arch_kwargs: Annotated[str | None, typer.Option(
        help="JSON object of constructor arguments for --arch.")] = None,
    trust_arch: Annotated[bool, typer.Option(
        "--trust-arch", help="Import and run the architecture named in the model.json next "
        "to --model even when it is not a trustbench class (it runs code: check it first).")
    ] = False,
    eps: Annotated[float, typer.Option(help="Robustness radius (data units).")] = 0.1,
    norm: Annotated[str, typer.Option(help="linf or l2.")] = "linf",
    attacks: Annotated[str, typer.Option(
        help="Attacks for robust accuracy (square is always added).")] = "standard",
    attack_params: Annotated[str | None, typer.Option(
        help='JSON object of parameters per attack, e.g. \'{"square": {"n_queries": 1000}}\'.')
    ] = None,
    n: Annotated[int | None, typer.Option(help="Evaluate a seeded sample of N test points.")] = None,
    variants: Annotated[str, typer.Option(
        help="Comma-separated: original, distilled, int8.")] = "original,distilled,int8",
    distill_method: Annotated[str, typer.Option(help="kd, ard or rslad.")] = "rslad",
    distill_epochs: Annotated[int, typer.Option(help="Distillation epochs.")] = 10,
    student_arch: Annotated[str | None, typer.Option(
        help="package.module:Class of the student (default: a half-width DemoCNN for a "
        "DemoCNN teacher).")] = None,
    student_arch_kwargs: Annotated[str | None, typer.Option(
        help="JSON object of constructor arguments for --student-arch.")] = None,
    quantize: Annotated[str, typer.Option(help="auto, static or dynamic int8.")] = "auto",
    repeats: Annotated[int, typer.Option(help="Timed calls per latency measurement.")] = 20,
    test_data: Annotated[str | None, typer.Option(help="Test data (default: as harden).")] = None,
    target: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling, attacks and distillation.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for scorecard.json, report.html, variants/.")
                   ] = Path("trustbench-compress"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Compare the model with its distilled and int8 variants.

    The comparison covers size on disk, CPU latency, clean and robust accuracy and ECE, with
    a Pareto plot; writes OUT/scorecard.json and OUT/report.html.
    """
    from trustbench.harden.compress import compress_report
    from trustbench.harden.run import build_module, read_arch_reference, train_test_data
    from trustbench.models.loading import load_model

    kwargs = json_object(arch_kwargs, "--arch-kwargs")
    from trustbench.attacks.registry import check_attack_params

    check_attack_params(json_object(attack_params, "--attack-params"),  # before any loading
                        field="--attack-params")
    arch_source = None  # --arch typed here is trusted; one read from model.json is not
    if arch is None:
        if not Path(model).exists():
            raise InputError(f"--model {model}: no such model file",
                             fix="pass the weights written by 'trustbench harden' (model.safetensors)")
        ref = read_arch_reference(model)
        if ref is None:
            raise InputError(f"--model {model}: no --arch given and no model.json next to it",
                             fix="pass --arch package.module:Class (and --arch-kwargs)")
        arch, kwargs = ref[0], (ref[1] if kwargs is None else kwargs)
        arch_source = f"{Path(model).with_suffix('.json')} field 'arch'"
    loaded = load_model(model, arch=arch, arch_kwargs=kwargs, arch_source=arch_source,
                        trust_arch=trust_arch)
    module = loaded.module  # type: ignore[attr-defined]
    student = student_ref = None
    if student_arch is not None:
        s_kwargs = json_object(student_arch_kwargs, "--student-arch-kwargs") or {}
        student = build_module(student_arch, s_kwargs, seed=seed, what="--student-arch")
        student_ref = (student_arch, s_kwargs)
    train, test, _ = train_test_data(data, test_data, seed=seed,
                                     **({"target": target} if target else {}))
    say = (lambda s: None) if quiet else (lambda s: err_console.print(f"[dim]{s}...[/dim]"))
    params = json_object(attack_params, "--attack-params")
    with OutputFolder(out, owned=COMPRESS_FILES) as folder:
        keep_on_interrupt(f"no scorecard of this run was written; {out} keeps the one it had")
        card = compress_report(module, train, test, out_dir=out, eps=eps, norm=norm,  # type: ignore[arg-type]
                               attacks=names(attacks) or [], n=n, variants=names(variants) or [],
                               attack_params=params, student=student, student_arch=student_ref,
                               distill_method=distill_method, distill_epochs=distill_epochs,
                               quantize_mode=quantize, repeats=repeats, seed=seed, progress=say)
        writers: dict[str, Any] = {"scorecard.json": card.to_json}
        # the variants were saved during the work (their sizes are measured on those files)
        writers |= {f"variants/{p.name}": None for p in _variant_files(card, out)}
        try:
            from trustbench.report import write_html
        except ImportError:
            console.print("[dim]report.html not written: this trustbench has no HTML renderer[/dim]")
        else:
            writers["report.html"] = functools.partial(write_html, card)
        written = folder.commit(writers, rescue="scorecard.json")
    table_ev = card.get("compress.tradeoff").evidence["table"]  # type: ignore[union-attr]
    cols = table_ev["columns"]
    table = Table(title=f"Compression trade-off ({norm} eps={eps:g}; latency: ms per example at "
                  "batch 1 and 64)", title_justify="left")
    heads = {"variant": "variant", "size_bytes": "KiB", "latency_ms_batch1": "ms b1",
             "latency_ms_batch64": "ms b64", "clean_accuracy": "clean",
             "robust_accuracy": "robust", "ece": "ECE", "agreement_with_float": "agree",
             "pareto_optimal": "pareto"}
    for c in cols:
        table.add_column(heads.get(c, c), justify="left" if c == "variant" else "right",
                         no_wrap=True)
    for row in table_ev["rows"]:
        table.add_row(*(_cell(c, v) for c, v in zip(cols, row, strict=True)))
    console.print(table)
    for f in card.findings:
        if f.severity != "info":
            console.print(f"[yellow]{f.severity.upper()}[/yellow]: {f.title} — {f.detail}",
                          highlight=False)
    console.print("Written: " + ", ".join(str(p) for p in written))


#: What compress writes into its output folder (only these are ever replaced there).
COMPRESS_FILES = ("scorecard.json", "report.html", "variants/original.safetensors",
                  "variants/distilled.safetensors", "variants/int8.pt")


def _variant_files(card: Any, out: Path) -> list[Path]:
    """Return the variant files this run saved under ``out/variants``."""
    rows = [f.evidence.get("file") for f in card.findings if f.id.startswith("compress.")]
    files = [Path(r) for r in rows if isinstance(r, str)]
    return [p for p in files if p.parent.resolve() == (out / "variants").resolve()]


def _cell(column: str, v: Any) -> str:
    if v is None:
        return "–"
    if column == "size_bytes":
        return f"{v / 1024:.0f}"
    if column.startswith("latency"):
        return f"{v:.3f}"
    if column in ("clean_accuracy", "robust_accuracy", "agreement_with_float"):
        return f"{v:.1%}"
    if column == "ece":
        return f"{v:.3f}"
    if column == "pareto_optimal":
        return "yes" if v else "no"
    return str(v)
