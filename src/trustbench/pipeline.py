"""The whole scan pipeline, as the CLI runs it: scan → audit caveats → gate → reports.

``trustbench scan`` and ``trustbench demo`` are this module plus option parsing and the
console; a Python user (or an executor) gets the same files and findings from it::

    from trustbench import open_output, run_scan, write_reports

    with open_output("report", protect=["base/scorecard.json"]) as folder:  # checked, locked
        outcome = run_scan(model, data, config, baseline="base/scorecard.json",
                           rules=["robust_acc@linf:0.1 drop > 2pt"])
        paths = write_reports(outcome.card, folder)  # staged, then moved in together
    if outcome.gate.failed:
        ...

The output folder is checked writable and locked *before* the scan (``open_output``), so
a scan of minutes never ends on an unwritable folder; :func:`write_reports` given a path
instead opens, writes and releases it in one go.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trustbench._files import OutputFolder
from trustbench.errors import InputError
from trustbench.scorecard import Scorecard

if TYPE_CHECKING:
    from trustbench.checks import ProgressFactory, ScanConfig
    from trustbench.data import Dataset
    from trustbench.gate import GateResult, Rule

__all__ = ["FORMATS", "SCAN_FILES", "ScanOutcome", "load_inputs", "open_output", "run_scan",
           "write_reports"]

#: Report format -> the file it is written to in the output folder.
FORMATS = {"json": "scorecard.json", "html": "report.html", "markdown": "summary.md",
           "junit": "junit.xml"}

#: The files a scan writes into its output folder (only these are ever replaced there).
SCAN_FILES = tuple(FORMATS.values())

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ScanOutcome:
    """What :func:`run_scan` returns.

    Attributes
    ----------
    card
        The scorecard, with the audit caveats and the ``baseline.comparison`` and
        ``gate.result`` findings added.
    gate
        The gate's decision; ``gate.failed`` lists the rules that fired (``trustbench
        scan`` exits 1 when it is not empty).
    """

    card: Scorecard
    gate: GateResult


def _card(source: Scorecard | PathLike | None) -> Scorecard | None:
    if source is None or isinstance(source, Scorecard):
        return source
    return Scorecard.from_json(source)


def load_inputs(*, baseline: Scorecard | PathLike | None = None,
                audit: Scorecard | PathLike | None = None,
                rules: Iterable[str | Rule] = ()) -> tuple[Scorecard | None, Scorecard | None,
                                                           list[Rule]]:
    """Check a scan's gate inputs before any work.

    Parse ``rules`` (a typo fails here), read ``baseline`` and ``audit`` (Scorecards or
    scorecard.json paths) and refuse a rule that compares against a baseline when there is
    none. :func:`run_scan` calls it first; the CLI calls it before it even opens the output
    folder. Returns ``(baseline, audit, rules)`` as Scorecards and parsed rules.
    """
    from trustbench.gate import Rule, parse_rule

    parsed = [r if isinstance(r, Rule) else parse_rule(r) for r in rules]
    base, audit_card = _card(baseline), _card(audit)
    bad = next((r for r in parsed if r.needs_baseline), None)
    if bad is not None and base is None:
        raise InputError(f"--fail-on {bad.text!r} compares against a baseline: pass --baseline")
    return base, audit_card, parsed


def run_scan(model: Any, data: Dataset, config: ScanConfig | None = None, *,
             baseline: Scorecard | PathLike | None = None, rules: Iterable[str | Rule] = (),
             audit: Scorecard | PathLike | None = None, allow_mismatch: bool = False,
             progress: ProgressFactory | None = None, executor: Any = None,
             shard_size: int = 256, store: PathLike | None = None,
             resume: bool = False) -> ScanOutcome:
    """Scan ``model`` on ``data``, apply an audit's caveats, then gate the result.

    Parameters
    ----------
    model, data, config, progress
        As for :func:`trustbench.scan`.
    baseline
        An earlier scorecard (or its path) of the same data and settings: each metric's
        change is reported, and rules like ``"accuracy drop > 2pt"`` compare against it.
        One of other data or settings is refused before any work unless ``allow_mismatch``.
    rules
        Gate rules (``--fail-on`` grammar, see :func:`trustbench.gate.parse_rule`).
    audit
        The scorecard (or path) of ``trustbench audit`` on this test set: adds the
        ``audit.caveats`` finding and drops the "run trustbench audit" record from
        ``not_measured`` (:func:`trustbench.audit.caveats.apply_caveats`).
    executor, shard_size, store, resume
        An executor (:mod:`trustbench.execution`) to shard the attacks over, by blocks of
        ``shard_size`` point ids (:func:`trustbench.execution.sharded.sharded_scan`): the
        same scorecard as without one. ``None``: everything runs here. With ``store``, each
        finished block is kept there; ``resume`` reuses the blocks kept by an earlier run.

    Returns
    -------
    ScanOutcome
        ``card`` and ``gate``; nothing is written (see :func:`write_reports`).

    Examples
    --------
    >>> import numpy as np
    >>> from trustbench import Dataset, ScanConfig, Schema, run_scan
    >>> from trustbench.testing.toy import toy_blobs, toy_mlp
    >>> x, y = toy_blobs(60)
    >>> data = Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)))
    >>> cfg = ScanConfig(eps=[0.1], attacks=["fgsm"], eps_units="raw", shifts=[], ood=False)
    >>> outcome = run_scan(toy_mlp(0), data, cfg, rules=["accuracy < 0.99"])
    >>> [r.rule.text for r in outcome.gate.failed], outcome.card.get("gate.result").severity
    (['accuracy < 0.99'], 'fail')
    """
    from trustbench.gate import apply_gate
    from trustbench.scan import scan

    base, audit_card, parsed = load_inputs(baseline=baseline, audit=audit, rules=rules)
    if executor is None:
        card = scan(model, data, config, progress=progress, baseline=base,
                    allow_mismatch=allow_mismatch)
    else:  # the attacks sharded by point ids over the executor: the same scorecard
        from trustbench.execution.sharded import sharded_scan

        card = sharded_scan(model, data, config, executor=executor, shard_size=shard_size,
                            progress=progress, baseline=base, allow_mismatch=allow_mismatch,
                            store=store, resume=resume)
    if audit_card is not None:
        from trustbench.audit.caveats import apply_caveats

        apply_caveats(card, audit_card)
    gate = apply_gate(card, baseline=base, rules=parsed, allow_mismatch=allow_mismatch)
    return ScanOutcome(card, gate)


def open_output(out: PathLike, *, protect: Iterable[PathLike | None] = (),
                option: str = "--out") -> OutputFolder:
    """Return the scan's output folder, to enter (``with``) before :func:`run_scan`.

    On entry it is created if needed, checked writable and locked against a second run, and
    refused when a scan would write over a file in ``protect`` (its baseline or audit
    scorecard). Work that fails before :func:`write_reports` leaves it as it was. See
    :class:`trustbench._files.OutputFolder`.
    """
    return OutputFolder(out, owned=SCAN_FILES, option=option, protect=protect)


def write_reports(card: Scorecard, out: PathLike | OutputFolder, *,
                  formats: Sequence[str] = tuple(FORMATS),
                  protect: Iterable[PathLike | None] = ()) -> list[Path]:
    """Write ``card`` in ``formats`` into ``out`` and return the paths, the scorecard first.

    The formats are ``json``, ``html``, ``markdown`` and ``junit``.

    The scorecard.json is always written (it is the result; the others render it). The
    files are staged and moved into place together, the scan files of an earlier run that
    this one does not write are removed, and a scorecard the folder cannot take is kept in
    a rescue folder the raised InputError names. ``out`` is an entered :func:`open_output`
    (checked before the scan) or a path (opened, checked and locked now, with ``protect``).

    Examples
    --------
    >>> import tempfile
    >>> from trustbench import Scorecard, write_reports
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_reports(Scorecard(), tmp, formats=["json", "markdown"])]
    ['scorecard.json', 'summary.md']
    """
    from trustbench.report import write_html, write_junit, write_markdown

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"formats: unknown {unknown}, expected some of {list(FORMATS)}")
    if not isinstance(out, OutputFolder):
        with open_output(out, protect=protect) as folder:
            return write_reports(card, folder, formats=formats)
    renderers: dict[str, Callable[[Any, Path], Path]] = {
        "report.html": write_html, "summary.md": write_markdown, "junit.xml": write_junit}
    writers: dict[str, Callable[[Path], Path]] = {"scorecard.json": card.to_json}
    for fmt in formats:
        name = FORMATS[fmt]
        if name != "scorecard.json":
            writers[name] = functools.partial(renderers[name], card)
    return out.commit(writers, rescue="scorecard.json")
