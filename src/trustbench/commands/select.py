"""``trustbench select``: scan every candidate with one config and recommend one."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from trustbench.commands._console import console, floats, keep_on_interrupt, names, printable
from trustbench.commands._execution import ADDRESS, make_executor
from trustbench.commands._output import card_writers, show_card

__all__ = ["select"]


def select(
    models: Annotated[list[str], typer.Argument(
        help="Two or more candidate models: TorchScript, .pt/.safetensors (+ --arch), ONNX, "
        "skops, or package.module:attribute.", show_default=False)],
    data: Annotated[str, typer.Option(help="Test data: 'digits', 'breast_cancer' or a "
                                      ".npz/.csv/.parquet file.")],
    target: Annotated[str | None, typer.Option(help="Label column of a table.")] = None,
    group: Annotated[str | None, typer.Option(help="Column of a sensitive or slice "
                                              "attribute (for worst-group accuracy).")] = None,
    name: Annotated[str | None, typer.Option(
        "--names", help="Comma-separated names of the candidates, in order (default: the "
        "file names).")] = None,
    eps: Annotated[str | None, typer.Option(help="Comma-separated eps of the threat model "
                                            "(default: the data's modality default).")] = None,
    attacks: Annotated[str | None, typer.Option(help="Comma-separated attacks (default: "
                                                "fgsm, pgd, standard).")] = None,
    n_samples: Annotated[int | None, typer.Option(help="Points to evaluate (a seeded "
                                                  "sample; default: all).", min=1)] = None,
    require: Annotated[list[str] | None, typer.Option(
        help="A hard constraint, repeatable: 'robust_acc@linf:0.1 >= 0.6', "
        "'latency_ms <= 5', 'ece < 0.05'.")] = None,
    weight: Annotated[list[str] | None, typer.Option(
        help="A criterion's weight in the win rate, repeatable: 'robust_acc@linf:0.1=2'.")
                      ] = None,
    arch: Annotated[str | None, typer.Option(help="package.module:Class of the nn.Module "
                                             "state_dicts belong to (default: the JSON "
                                             "'trustbench harden' saves next to them).")
                    ] = None,
    arch_kwargs: Annotated[str | None, typer.Option(help="JSON object of constructor "
                                                    "arguments for --arch.")] = None,
    executor: Annotated[str, typer.Option(
        help="Where the scans run: 'local' (this machine) or 'ray' (a Ray cluster, needs "
        "trustbench[ray]).")] = "local",
    address: ADDRESS = None,
    processes: Annotated[int, typer.Option(help="--executor local: worker processes (0: "
                                           "in this process).", min=0, max=256)] = 0,
    shard_size: Annotated[int | None, typer.Option(
        help="Split every candidate's attacks into blocks of this many points, all "
        "candidates' blocks one map over the executor (the same scans; default: one unit per "
        "candidate).", min=1, max=1_000_000)] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Reuse the scans an interrupted run on the same --out stored (same "
        "model, data and settings); scan only the rest.")] = False,
    repeats: Annotated[int, typer.Option(help="Timed calls per latency measurement.",
                                         min=3, max=1000)] = 20,
    seed: Annotated[int, typer.Option(help="Seed of sampling and every attack.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for scorecard.json, report.html and each "
                                      "candidate's scan (candidates/NAME/).")
                   ] = Path("select-report"),
    trust_pickle: Annotated[bool, typer.Option(
        "--trust-pickle", help="Allow pickle/joblib model files (they can run arbitrary "
        "code; 'trustbench inspect' says what they hold).")] = False,
) -> None:
    """Choose a model: a leaderboard, the Pareto front, and a recommendation with reasons.

    Criteria: clean and robust accuracy, corruptions, calibration, worst group, latency and
    size. Differences inside the 95% intervals are ties, never wins. Exit 1 when no candidate meets
    every --require.
    """
    from trustbench._files import OutputFolder
    from trustbench.checks.base import ScanConfig
    from trustbench.data import load_data
    from trustbench.errors import InputError
    from trustbench.select import parse_requirement, parse_weight, select_models, selection_card
    from trustbench.select.run import Candidate

    runner = make_executor(executor, address, processes=processes)
    requirements = [parse_requirement(r) for r in require or []]
    weights = dict(parse_weight(w) for w in weight or [])
    labels = names(name) or [Path(m).stem or m for m in models]
    if len(labels) != len(models):
        raise InputError(f"--names gives {len(labels)} names for {len(models)} models",
                         fix="give one name per model, in order")
    bad = next((n for n in labels if not n or "/" in n or n.startswith(".")), None)
    if bad is not None:
        raise InputError(f"candidate name {bad!r} cannot be a folder name",
                         fix="give --names without '/' or a leading '.'")
    config = ScanConfig(eps=floats(eps, "--eps"), attacks=names(attacks), n=n_samples,
                        seed=seed)
    dataset = load_data(data, target=target, group=group, split="test", seed=seed)
    candidates = [Candidate(n, _load(m, arch, arch_kwargs, trust_pickle), m)
                  for n, m in zip(labels, models, strict=True)]
    owned = ["scorecard.json", "report.html", "candidates"]
    with OutputFolder(out, owned=owned) as folder:
        partial = out / PARTIAL
        keys = {c.name: _key(c.model, dataset, config) for c in candidates}
        done = _stored(partial, keys) if resume else {}
        if resume:
            console.print(f"resuming: {len(done)} of {len(candidates)} scans kept from an "
                          "earlier run", highlight=False)
        keep_on_interrupt(f"the finished scans are kept in {partial}: run the same command "
                          "with --resume to go on")

        def store(n: str, c: Any) -> None:
            partial.mkdir(exist_ok=True)
            c.to_json(partial / f"{keys[n]}.json")  # atomic: a crash leaves whole files

        with console.status("select") as status:
            sel = select_models(candidates, dataset, config, requirements=requirements,
                                weights=weights, repeats=repeats, executor=runner,
                                done=done, on_scanned=store, shard_size=shard_size,
                                blocks=partial / "blocks", resume=resume,
                                step=lambda s: status.update(f"select: {s}"))
        card = selection_card(sel, data={"name": dataset.name,
                                         "fingerprint": dataset.fingerprint()},
                              candidates=dict(zip(labels, models, strict=True)),
                              requirements=[r.text for r in requirements], seed=seed)
        writers: dict[str, Any] = card_writers(card)
        for n, c in sel.cards.items():
            writers[f"candidates/{n}/scorecard.json"] = c.to_json
        _table(sel)
        show_card(card, folder.commit(writers, rescue="scorecard.json"))
        shutil.rmtree(partial, ignore_errors=True)  # everything is in candidates/ now
    if sel.recommended is None:
        raise typer.Exit(1)


PARTIAL = ".select-partial"


def _key(model: Any, dataset: Any, config: Any) -> str:
    """Return what a stored scan must match to be reused: model, data and settings."""
    text = json.dumps([model.fingerprint(), dataset.fingerprint(), repr(config)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _stored(partial: Path, keys: dict[str, str]) -> dict[str, Any]:
    """Return the stored scans whose key still matches (damaged ones are dropped)."""
    from trustbench.errors import InputError
    from trustbench.scorecard import Scorecard

    done = {}
    for name, key in keys.items():
        path = partial / f"{key}.json"
        if path.is_file():
            try:
                done[name] = Scorecard.from_json(path)
            except InputError:
                continue  # scanned again
    return done


def _load(model: str, arch: str | None, arch_kwargs: str | None, trust_pickle: bool) -> Any:
    """Load one candidate; a state_dict without --arch uses the JSON saved next to it."""
    from trustbench.harden.run import read_arch_reference
    from trustbench.models.loading import load_model

    ref = read_arch_reference(model) if arch is None and Path(model).is_file() else None
    if ref is not None:  # written by 'trustbench harden' (or save_with_arch): untrusted
        return load_model(model, arch=ref[0], arch_kwargs=ref[1], trust_pickle=trust_pickle,
                          arch_source=f"{Path(model).with_suffix('.json')} field 'arch'")
    return load_model(model, arch=arch, arch_kwargs=arch_kwargs, trust_pickle=trust_pickle)


def _cell(v: Any, key: str) -> str:
    if v is None:
        return "-"
    if key.startswith(("latency", "size")):
        return f"{v.value:.3g}"
    return f"{v.value:.1%}" if key != "ece" else f"{v.value:.3f}"


_SHORT = {"clean_acc": "clean", "mca": "corrupt", "ece": "ECE", "worst_group_acc": "worst grp",
          "latency_ms": "ms@1", "latency_ms@64": "ms@64", "size_mb": "MB"}


def _table(sel: Any) -> None:
    table = Table(title="Candidates, best eligible first (intervals: report.html)",
                  show_lines=False, pad_edge=False)
    heads = [_SHORT.get(c.key, c.key.replace("robust_acc@", "rob ")) for c in sel.criteria]
    for col in ("", "win", *heads, "front", "req"):
        table.add_column(col, overflow="fold")
    for n in sel.ranking:
        row = [printable(n), f"{sel.win_rate[n]:.2f}",
               *(_cell(sel.values[n].get(c.key), c.key) for c in sel.criteria),
               "yes" if n in sel.front else "",
               "out" if sel.missed[n] else "met"]
        table.add_row(*row, style="bold" if n == sel.recommended else None)
    console.print(table)

