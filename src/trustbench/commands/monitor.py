"""``trustbench monitor init|ingest|check|report|compare|register|serve|key``.

Thin commands over :mod:`trustbench.monitor`.

For cron jobs and CI steps: ``check`` and ``register`` print one line per alert on stdout
and exit 1 when one fired, 0 otherwise; bad input is one line on stderr and exit 2, with
nothing stored.
The database and SQLAlchemy load only when a monitor command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from trustbench.commands._console import console, err_console, names, printable
from trustbench.commands._execution import ADDRESS
from trustbench.errors import InputError

__all__ = ["check", "compare", "ingest", "init", "key_create", "key_list", "key_revoke",
           "register", "report", "serve"]

DB = Annotated[str, typer.Option(
    "--db", help="The monitoring database: a file path (SQLite) or postgresql://user@host/db.")]
NAME = Annotated[str, typer.Option("--name", "-n", help="The monitor (one per deployed model).")]
TRUST = Annotated[bool, typer.Option(
    "--trust-pickle", help="Allow a pickle/joblib model file (it can run arbitrary code).")]
FAIL_ON = Annotated[list[str] | None, typer.Option(
    "--fail-on", help="Exit 1 when a rule holds, e.g. 'monitor.compare:negative_flip_rate "
    "> 0.02' or 'any warn' (repeatable).")]


def init(
    db: DB,
    name: NAME,
    reference: Annotated[Path, typer.Option(
        "--reference", "-r", help="Reference table (.csv/.parquet), read once in chunks; or "
        "a folder of such shards with the same columns, profiled one shard per task on "
        "--executor.")],
    proba: Annotated[str | None, typer.Option(
        help="Columns with the model's class probabilities, comma-separated in class order.")] = None,
    model: Annotated[Path | None, typer.Option(
        "--model", "-m", help="The model's file (.skops, .onnx, TorchScript; a pickle with "
        "--trust-pickle): it scores the reference and every batch without --proba columns.")] = None,
    trust_pickle: TRUST = False,
    features: Annotated[str | None, typer.Option(
        help="Columns the model reads, comma-separated, when it was not fitted on a "
        "DataFrame (default: all but the id, label, group and excluded ones).")] = None,
    label: Annotated[str | None, typer.Option(
        help="Label column (class indices): calibrates label-free estimates; later labels "
        "arrive in this column.")] = None,
    id_column: Annotated[str | None, typer.Option(
        "--id", help="Row id column, by which late labels find their rows.")] = None,
    group: Annotated[str | None, typer.Option(help="Sensitive or slice column for fairness.")] = None,
    exclude: Annotated[str | None, typer.Option(
        help="Columns not to watch, comma-separated (timestamps, free text).")] = None,
    version: Annotated[str, typer.Option(help="The model version's name.")] = "v1",
    alpha: Annotated[float, typer.Option(
        help="False-alarm budget of the whole stream of windows.")] = 0.05,
    min_drop: Annotated[float, typer.Option(
        help="Smallest fall in accuracy (overall, or of a --group) from the reference's that "
        "alarms once labels arrive; needs --label.")] = 0.05,
    keep_inputs: Annotated[int, typer.Option(
        help="Input rows each window keeps (a uniform sample) so that a version registered "
        "later can score them; 0 keeps none.", min=0)] = 100_000,
    executor: Annotated[str, typer.Option(
        help="Where a folder of reference shards is profiled: local or ray.")] = "local",
    address: ADDRESS = None,
    processes: Annotated[int, typer.Option(
        help="--executor local: worker processes for the shards (0: this process).",
        min=0)] = 0,
) -> None:
    """Build a monitor's reference profile and store it.

    A folder of shards gives the same profile on any executor (the shards' paths, and the
    --model file, must be readable by every worker).
    """
    from trustbench.commands._execution import make_executor
    from trustbench.monitor.jobs import init_monitor
    from trustbench.monitor.store import open_store

    if (executor != "local" or address is not None or processes) and not reference.is_dir():
        raise InputError(f"--executor, --address and --processes spread a folder of reference "
                         f"shards; {reference} is not a folder", fix="give --reference a folder "
                         "of .parquet/.csv shards, or leave them out")
    runner = make_executor(executor, address, processes=processes)
    with open_store(db) as store:
        profile = init_monitor(store, name, reference, version=version,
                               proba_columns=names(proba) or [], model=model,
                               trust_pickle=trust_pickle, features=names(features),
                               label_column=label, id_column=id_column, group_column=group,
                               exclude=names(exclude) or [], alpha=alpha,
                               min_drop=min_drop, keep_inputs=keep_inputs,
                               executor=runner)
        kinds = profile.kinds
        console.print(printable(
            f"monitor {name!r}: {profile.rows} reference rows, "
            f"{sum(k == 'numeric' for k in kinds.values())} numeric and "
            f"{sum(k == 'categorical' for k in kinds.values())} categorical columns, in "
            f"{store.where}"), highlight=False, soft_wrap=True)


def ingest(
    db: DB,
    name: NAME,
    table: Annotated[Path, typer.Argument(help="The batch (.csv/.parquet).")],
    labels: Annotated[bool, typer.Option(
        "--labels", help="TABLE holds late labels (the monitor's id and label columns).")] = False,
    batch_id: Annotated[str | None, typer.Option(
        help="The batch's id; a batch sent again with it is stored once (default: its "
        "content).")] = None,
    version: Annotated[str | None, typer.Option(
        help="Model version that made the predictions (default: the newest).")] = None,
    trust_pickle: TRUST = False,
) -> None:
    """Store a production batch as the next window, or late labels with --labels.

    Labels re-check the windows they belong to: a fall in accuracy, overall or in a group,
    is stored as an alert and printed as an ALERT line (exit 0: 'check' is the gate).
    """
    from trustbench.monitor.jobs import ingest_batch, ingest_labels
    from trustbench.monitor.store import open_store

    with open_store(db, create=False) as store:
        if labels:
            r = ingest_labels(store, name, table)
            tail = f"; {len(r.unknown)} ids not found, e.g. {r.unknown[0]!r}" if r.unknown else ""
            shown = ", ".join(map(str, r.windows[:10])) + (", ..." if len(r.windows) > 10 else "")
            where = f" in window{'s' if len(r.windows) > 1 else ''} {shown}" if r.windows else ""
            console.print(printable(f"{r.labelled} rows labelled{where}{tail}"), highlight=False,
                          soft_wrap=True)
            for seq, f in r.alarms:
                typer.echo(printable(f"ALERT window {seq} {f.id}: {f.title}"))
            return
        r = ingest_batch(store, name, table, batch_id=batch_id, version=version,
                         trust_pickle=trust_pickle)
        what = "already stored as" if r.duplicate else "stored as"
        console.print(printable(f"{table}: {r.rows} rows {what} window {r.seq} of {name!r}"),
                      highlight=False, soft_wrap=True)


def check(
    db: DB,
    name: NAME,
    window: Annotated[int | None, typer.Option(
        help="The window to check (default: the latest).", min=1)] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the findings as a scorecard (JSON) to this file.")] = None,
) -> None:
    """Check a window against the reference: exit 1 when an alert fires, 0 otherwise."""
    from trustbench.monitor.jobs import check_monitor
    from trustbench.monitor.store import open_store

    with open_store(db, create=False) as store:
        card = check_monitor(store, name, window=window)
    if out is not None:
        card.to_json(out)
    alerts = [f for f in card.findings if f.severity == "fail"]
    for f in alerts:  # one line per alert, on stdout, for cron mail and CI logs
        typer.echo(printable(f"ALERT {f.id}: {f.title}"))
    if not alerts:
        console.print(Text(printable(
            f"window {card.provenance['window']} of {name!r}: no alert "
            f"({len(card.findings)} findings)")), highlight=False)
        return
    raise typer.Exit(1)


def compare(
    data: Annotated[Path, typer.Option(
        "--data", "-d", help="Rows both models answered (.csv/.parquet): a test set, or a "
        "production window logged in shadow mode.")],
    old: Annotated[str, typer.Option(
        "--old", help="The old model's probability columns, comma-separated in class order.")],
    new: Annotated[str, typer.Option(
        "--new", help="The new model's probability columns, in the same class order.")],
    label: Annotated[str | None, typer.Option(
        help="Label column (class indices); without it, flips only.")] = None,
    group: Annotated[str | None, typer.Option(help="Sensitive or slice column.")] = None,
    exclude: Annotated[str | None, typer.Option(
        help="Columns that are not features (ids, timestamps), comma-separated: the other "
        "columns are searched for slices where the new model is worse.")] = None,
    fail_on: FAIL_ON = None,
    out: Annotated[Path | None, typer.Option(help="Write the scorecard (JSON) here.")] = None,
) -> None:
    """Compare two model versions on the same rows: flips, negative flips, groups, slices."""
    import pandas as pd

    from trustbench.gate import apply_gate
    from trustbench.gate.rules import parse_rule
    from trustbench.monitor.compare import compare_versions
    from trustbench.monitor.jobs import labels_of, need_columns, probabilities
    from trustbench.monitor.profile import read_chunks
    from trustbench.scorecard import Scorecard

    rules = [parse_rule(r) for r in fail_on or []]  # a typo fails before any work
    frame = pd.concat(list(read_chunks(data)), ignore_index=True)
    where = str(data)
    old_cols, new_cols = names(old) or [], names(new) or []
    if len(old_cols) != len(new_cols):
        raise InputError(f"--old names {len(old_cols)} columns and --new {len(new_cols)}",
                         fix="give both models' probabilities for the same classes")
    pa, pb = probabilities(where, frame, old_cols), probabilities(where, frame, new_cols)
    y = labels_of(where, frame, label, len(old_cols)) if label else None
    need_columns(where, [c for c in (group,) if c] + (names(exclude) or []), frame.columns,
                 "--group/--exclude")
    features = frame.drop(columns=[*old_cols, *new_cols, *(c for c in (label,) if c),
                                   *(names(exclude) or [])])
    finding = compare_versions(pa, pb, y_true=y,
                               groups=frame[group].astype(str).to_numpy() if group else None,
                               features=features, names=(old, new))
    card = Scorecard([finding], provenance={"data": where, "old": old_cols, "new": new_cols})
    gate = apply_gate(card, rules=rules)
    if out is not None:
        card.to_json(out)
    console.print(printable(finding.title), highlight=False, soft_wrap=True)
    for r in gate.failed:
        typer.echo(printable(f"FAILED {r.rule.text}"))
    if gate.failed:
        raise typer.Exit(1)


def report(
    db: DB,
    name: NAME,
    out: Annotated[Path, typer.Option(help="Folder for report.html and scorecard.json.")] = Path(
        "monitor-report"),
) -> None:
    """Write the monitor's history as an HTML report: drift, performance, fairness, alerts."""
    from trustbench.monitor.report import history_card
    from trustbench.monitor.store import open_store
    from trustbench.report.html import write_html

    with open_store(db, create=False) as store:
        card = history_card(store, name)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out {out}: cannot create the folder ({e.strerror})") from None
    card.to_json(out / "scorecard.json")
    write_html(card, out / "report.html")
    console.print(printable(f"report: {out / 'report.html'} ({card.provenance['windows']} "
                            "windows)"), highlight=False, soft_wrap=True)


def register(
    db: DB,
    name: NAME,
    version: Annotated[str, typer.Option(help="The new model version's name.")],
    model: Annotated[Path | None, typer.Option(
        "--model", "-m", help="The new version's model file: it scores the inputs the stored "
        "windows kept, and later batches.")] = None,
    trust_pickle: TRUST = False,
    outputs: Annotated[Path | None, typer.Option(
        help="Instead of --model: the new version's probabilities logged in shadow mode on "
        "stored rows (the monitor's id column and --proba).")] = None,
    proba: Annotated[str | None, typer.Option(
        help="The probability columns of --outputs (and of --reference), in class order.")] = None,
    reference: Annotated[Path | None, typer.Option(
        "--reference", "-r", help="Labelled reference table to calibrate the new version's "
        "label-free estimates.")] = None,
    fail_on: FAIL_ON = None,
    out: Annotated[Path | None, typer.Option(help="Write the comparison (JSON) here.")] = None,
) -> None:
    """Register a new model version, compared with the previous one on the stored windows.

    Exits 1 when the new version is significantly worse (overall or in a group) or a
    --fail-on rule holds; the version is registered either way.
    """
    from trustbench.gate import apply_gate
    from trustbench.gate.rules import parse_rule
    from trustbench.monitor.store import open_store
    from trustbench.monitor.versions import register_version
    from trustbench.scorecard import Scorecard

    rules = [parse_rule(r) for r in fail_on or []]  # a typo fails before any work
    with open_store(db, create=False) as store:
        r = register_version(store, name, version, model=model, trust_pickle=trust_pickle,
                             outputs=outputs, proba_columns=names(proba) or [],
                             reference=reference)
    card = Scorecard(r.findings, provenance={"monitor": name, "version": version,
                                             "previous": r.previous, "rows": r.rows})
    gate = apply_gate(card, rules=rules)
    if out is not None:
        card.to_json(out)
    console.print(printable(
        f"monitor {name!r}: version {version!r} registered, compared with {r.previous!r} on "
        f"{r.rows} stored rows" + ("" if r.calibrated else
                                   " (no --reference: no label-free estimates for it)")),
        highlight=False, soft_wrap=True)
    for f in r.findings:
        if f.severity in ("warn", "fail"):
            typer.echo(printable(f"ALERT {f.id}: {f.title}"))
        else:
            console.print(printable(f"  {f.title}"), highlight=False, soft_wrap=True)
    for g in gate.failed:
        typer.echo(printable(f"FAILED {g.rule.text}"))
    if r.alerts or gate.failed:
        raise typer.Exit(1)


def serve(
    db: DB,
    host: Annotated[str, typer.Option(
        help="Address to listen on; loopback unless you say otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    open_dashboard: Annotated[bool, typer.Option(
        "--open-dashboard", help="Serve reads (the dashboard) without a key; writes always "
        "need one.")] = False,
    webhook: Annotated[list[str] | None, typer.Option(
        "--webhook", help="POST every new alert as JSON to this URL (repeatable); retried "
        "with back-off, never blocking ingest.")] = None,
    max_body_mb: Annotated[float, typer.Option(
        help="Largest request body, in MiB (413 above).", min=0.001)] = 64.0,
    trust_pickle: TRUST = False,
) -> None:
    """Serve the ingest API and the live dashboard over a monitoring database."""
    import logging
    from urllib.parse import urlparse

    from trustbench.extras import require_extra
    from trustbench.monitor.serve.app import create_app
    from trustbench.monitor.store import open_store

    uvicorn = require_extra("uvicorn", "monitor", what="trustbench monitor serve")
    require_extra("fastapi", "monitor", what="trustbench monitor serve")
    for url in webhook or []:
        if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
            raise InputError(f"--webhook {url!r} is not an http(s) URL",
                             fix="give e.g. --webhook https://hooks.example.com/trustbench")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    served_log = logging.getLogger("trustbench.monitor.serve")
    served_log.addHandler(handler)
    served_log.setLevel(logging.INFO)
    served_log.propagate = False
    _check_port(host, port)
    store = open_store(db, create=False)
    app = create_app(store, open_reads=open_dashboard, webhooks=webhook or [],
                     max_body=int(max_body_mb * 2**20), trust_pickle=trust_pickle)
    shown = f"[{host}]" if ":" in host else host
    console.print(printable(f"trustbench monitor: http://{shown}:{port}/ over {store.where}"
                            + ("" if host in ("127.0.0.1", "localhost", "::1") else
                               f" -- listening on {host}, not only loopback")),
                  highlight=False, soft_wrap=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        store.close()


def _check_port(host: str, port: int) -> None:
    """Fail with one line when ``host:port`` cannot be listened on (taken, or no such address)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):  # ValueError: NUL bytes; UnicodeError: not IDNA-encodable
        raise InputError(f"--host {host!r}: not an address of this machine",
                         fix="use 127.0.0.1 (loopback), or an address this machine has") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            raise InputError(f"cannot listen on {host}:{port} ({e.strerror})",
                             fix="choose another --port, or stop what uses it") from None


def key_create(
    db: DB,
    name: Annotated[str, typer.Option("--name", "-n", help="Who or what uses the key.")],
) -> None:
    """Create an API key; it is printed once and only its salted hash is stored."""
    from trustbench.monitor.keys import create_key
    from trustbench.monitor.store import open_store

    with open_store(db, create=False) as store:
        key_id, key = create_key(store, name)
    typer.echo(key)
    err_console.print(printable(f"key {key_id} ({name}): copy it now, it is not stored"),
                      highlight=False, soft_wrap=True)


def key_revoke(
    db: DB,
    key_id: Annotated[str, typer.Argument(help="The key's id (from 'key list').")],
) -> None:
    """Revoke an API key: requests with it get 403 from then on."""
    from trustbench.monitor.keys import revoke_key
    from trustbench.monitor.store import open_store

    with open_store(db, create=False) as store:
        done = revoke_key(store, key_id)
    console.print(printable(f"key {key_id} {'revoked' if done else 'was revoked already'}"),
                  highlight=False)


def key_list(db: DB) -> None:
    """List the API keys: id, name, created, revoked (never the keys themselves)."""
    from trustbench.monitor.keys import list_keys
    from trustbench.monitor.store import open_store

    with open_store(db, create=False) as store:
        keys = list_keys(store)
    if not keys:
        console.print("no API keys yet: create one with 'trustbench monitor key create'",
                      highlight=False)
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        typer.echo(printable(f"{k.key_id}  {k.name}  created {k.created_at:%Y-%m-%d %H:%M}  {state}"))
