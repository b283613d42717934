"""``trustbench audit``: a thin command over :func:`trustbench.audit.audit`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from trustbench._files import write_text_atomic
from trustbench.commands._console import console, keep_on_interrupt, progress
from trustbench.commands._execution import ADDRESS

__all__ = ["audit"]

_COLOURS = {"fail": "bold red", "warn": "yellow", "info": "dim"}


def _progress(quiet: bool) -> Any:
    return progress(quiet)


def audit(
    data: Annotated[str, typer.Option(
        "--data", "-d", help="Training table: .csv/.parquet, or digits/breast_cancer (their "
        "train split).")],
    test: Annotated[str | None, typer.Option(
        help="Test table with the same columns (a built-in name: its test split).")] = None,
    target: Annotated[str | None, typer.Option(
        help="Label column (default: the one column named target, label, y or class).")] = None,
    group: Annotated[list[str] | None, typer.Option(
        help="Sensitive or slice column; repeat for several (their intersection is audited "
        "too).")] = None,
    id_column: Annotated[str | None, typer.Option(
        "--id", help="Entity id column: ids shared by train and test are leakage.")] = None,
    time_column: Annotated[str | None, typer.Option(
        "--time", help="Time column: test rows earlier than the latest training row leak.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="A model for fairness metrics (same formats as scan); a "
        "scikit-learn one is also cross-validated for label errors.")] = None,
    trust_pickle: Annotated[bool, typer.Option(
        "--trust-pickle", help="Allow pickle/joblib model files (they can run arbitrary code).")] = False,
    expect: Annotated[list[str] | None, typer.Option(
        help="Expected group shares, e.g. sex=f:0.5,m:0.5 (repeatable).")] = None,
    schema: Annotated[Path | None, typer.Option(
        help="JSON schema: per-column min/max, type and allowed categories.")] = None,
    embeddings: Annotated[Path | None, typer.Option(
        help=".npy (N, D) vectors, train rows then test rows, for near duplicates.")] = None,
    pred_probs: Annotated[Path | None, typer.Option(
        help=".npy (N, K) out-of-fold probabilities, train rows then test rows, columns in "
        "sorted label order: replaces the cross-validation of the label-error check.")] = None,
    label_model: Annotated[str, typer.Option(
        help="Default model for label errors: logistic or hgb.")] = "logistic",
    checks: Annotated[str | None, typer.Option(
        help="Comma-separated checks to run (default: all).")] = None,
    max_rows: Annotated[int, typer.Option(
        help="Rows a fitted model trains on at most (a seeded sample beyond).")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed for samples, folds and bootstraps.")] = 0,
    out: Annotated[Path, typer.Option(
        help="Folder for scorecard.json, report.html, card.md and card.json.")] = Path("trustbench-audit"),
    card: Annotated[Path | None, typer.Option(
        help="Where to write the dataset card (Markdown; JSON next to it). Default: "
        "OUT/card.md.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when any finding fails.")] = False,
    executor: Annotated[str, typer.Option(
        help="--data FOLDER of shards: where the shards are read: local or ray.")] = "local",
    address: ADDRESS = None,
    processes: Annotated[int, typer.Option(
        help="--executor local with a folder of shards: worker processes (0: this "
        "process).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Audit a dataset (and a train/test pair).

    The audit covers duplicates, leakage, label errors, data quality, representation and,
    with --model, fairness. Writes OUT/scorecard.json, OUT/report.html and a dataset card.

    --data FOLDER of .parquet/.csv shards (same columns) runs the mergeable passes over all
    of them — the column profile, exact duplicates and identical rows with different labels —
    as map-reduce on --executor (a Ray cluster with --executor ray); the other checks need
    one table in memory and are listed as not measured.
    """
    from trustbench._files import OutputFolder
    from trustbench.audit import audit as run_audit
    from trustbench.audit.card import card_texts
    from trustbench.errors import InputError

    if max_rows < 100:
        raise InputError(f"--max-rows must be at least 100, got {max_rows}")
    from trustbench.data.builtin import BUILTIN

    sharded = data not in BUILTIN and Path(data).is_dir()  # a built-in name wins, as in read_table
    runner = _shard_executor(data, sharded, executor, address, processes, {
        "--test": test, "--model": model, "--expect": expect, "--schema": schema,
        "--embeddings": embeddings, "--pred-probs": pred_probs, "--checks": checks})
    card_path = card or out / "card.md"
    card_inside = card_path.resolve().parent == out.resolve()
    owned = ["scorecard.json", "report.html"] + (
        [card_path.name, card_path.with_suffix(".json").name] if card_inside else [])
    if card_inside and card_path.name in ("scorecard.json", "report.html"):
        raise InputError(f"--card {card_path}: would overwrite the audit's {card_path.name}",
                         fix="give the card another name, e.g. OUT/card.md")
    with OutputFolder(out, owned=owned) as folder:
        keep_on_interrupt(f"nothing of this audit was written; {out} is as it was")
        loaded: Any = None
        if model is not None:
            from trustbench.models.loading import load_model

            loaded = load_model(model, trust_pickle=trust_pickle)
        names = None if checks is None else [c.strip() for c in checks.split(",") if c.strip()]
        if sharded:
            from trustbench.audit.shards import audit_shards

            result = audit_shards(data, target=target, groups=group or [], id_column=id_column,
                                  time_column=time_column, executor=runner)
        else:
            with _progress(quiet) as factory:
                result = run_audit(data, test, target=target, groups=group or [],
                                   id_column=id_column, time_column=time_column, model=loaded,
                                   pred_probs=pred_probs, embeddings=embeddings, expect=expect,
                                   schema=schema, checks=names, label_model=label_model,
                                   max_rows=max_rows, seed=seed, progress=factory)
        writers: dict[str, Any] = {"scorecard.json": result.to_json}
        try:
            from trustbench.report import write_html
        except ImportError:  # the HTML renderer is optional here
            write_html = None
        if write_html is not None:
            writers["report.html"] = functools.partial(write_html, result)
        card_md, card_json = card_texts(result)
        if card_inside:
            writers[card_path.name] = functools.partial(write_text_atomic, card_md)
            writers[card_path.with_suffix(".json").name] = functools.partial(write_text_atomic,
                                                                             card_json)
        try:
            written = folder.commit(writers, rescue="scorecard.json")
        finally:
            _summary(result)
        if not card_inside:  # a card elsewhere: written after the folder, each file atomically
            written += [write_text_atomic(card_md, card_path),
                        write_text_atomic(card_json, card_path.with_suffix(".json"))]
    if write_html is None:
        console.print("[dim]report.html skipped: this install has no HTML renderer[/dim]")
    console.print(Text("Written: " + ", ".join(str(p) for p in written)))
    if strict and result.verdict == "fail":
        raise typer.Exit(1)


def _shard_executor(data: str, sharded: bool, executor: str, address: str | None,
                    processes: int, whole_table: dict[str, Any]) -> Any:
    """Return the executor for a folder of shards; refuse what a sharded audit cannot do."""
    from trustbench.commands._execution import make_executor
    from trustbench.errors import InputError

    if not sharded:
        if executor != "local" or address is not None or processes:
            raise InputError("--executor, --address and --processes spread a folder of shards",
                             fix=f"give --data a folder of .parquet/.csv shards, or leave them "
                             f"out to audit {data} in this process")
        return None
    given = [flag for flag, v in whole_table.items() if v]
    if given:
        raise InputError(f"{given[0]} cannot be used with --data {data} (a folder of shards: "
                         "the sharded audit runs the profile and the duplicate passes only)",
                         fix=f"leave out {given[0]}, or audit one table file")
    if processes < 0:
        raise InputError(f"--processes must be 0 or more, got {processes}")
    return make_executor(executor, address, processes=processes)


def _summary(result: Any) -> None:
    table = Table(title=f"Audit: {result.verdict.upper()}", title_justify="left")
    table.add_column("severity")
    table.add_column("finding")
    order = {"fail": 0, "warn": 1, "info": 2}
    for f in sorted(result.findings, key=lambda f: order[f.severity]):
        if f.id == "provenance":
            continue
        table.add_row(Text(f.severity, style=_COLOURS[f.severity]), Text(f.title))
    console.print(table)
    if result.not_measured:
        console.print(Text("not measured: " + "; ".join(result.not_measured), style="dim"))
