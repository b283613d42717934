"""Carry an audit's flagged test rows into a scan.

The caveats say how many of the evaluated rows leaked or are likely mislabelled, and give
the scan's accuracies without them.

How a scan uses it (``trustbench scan --audit DIR/scorecard.json``,
:func:`trustbench.run_scan` with ``audit=``)::

    from trustbench.audit.caveats import apply_caveats
    card = scan(model, data, config)
    apply_caveats(card, Scorecard.from_json(audit_path))

Rows are matched by position, and only when the scan evaluated exactly the audited test
file: its data fingerprint must equal the audit's ``test_fingerprint`` (computed as
:func:`trustbench.data.load_data` would, with the same ``--target`` and ``--group``). A scan
of a sample (``--n``) evaluates other positions, so the caveats then need the full test set.
"""

from __future__ import annotations

import re

import numpy as np

from trustbench.audit.runner import TEST_FLAGS_ID
from trustbench.audit.tags import LEAKAGE
from trustbench.findings import Finding, Metric
from trustbench.metrics.stats import unpack_bools, wilson_interval
from trustbench.scorecard import NOT_AUDITED, Scorecard

__all__ = ["CAVEATS_ID", "apply_caveats", "caveat_findings"]

CAVEATS_ID = "audit.caveats"


def _not_applied(reason: str, evidence: dict) -> list[Finding]:
    return [Finding(CAVEATS_ID, f"Audit caveats not applied: {reason}", "warn", tags=LEAKAGE,
                    detail="The scan's accuracies still include any leaked or mislabelled test "
                    "rows the audit found.", evidence=evidence)]


def apply_caveats(scan_card: Scorecard, audit_card: Scorecard) -> Scorecard:
    """Add :func:`caveat_findings` to ``scan_card`` (in place, returned).

    Also drop its :data:`~trustbench.scorecard.NOT_AUDITED` record from ``not_measured``: the
    record is recognised by its ``check`` field (a card read back from JSON holds the plain
    sentence, recognised by being equal to it), never by a substring.
    """
    scan_card.findings += caveat_findings(scan_card, audit_card)
    scan_card.not_measured = [s for s in scan_card.not_measured if not _is_not_audited(s)]
    return scan_card


def _is_not_audited(entry: str) -> bool:
    check = getattr(entry, "check", None)
    return check == NOT_AUDITED.check if check is not None else entry == NOT_AUDITED.text


def caveat_findings(scan_card: Scorecard, audit_card: Scorecard) -> list[Finding]:
    """Return one ``audit.caveats`` finding: flagged rows among the scan's.

    The finding also gives clean and worst-case robust accuracy with those rows removed (or
    why that cannot be computed).
    """
    flags = audit_card.get(TEST_FLAGS_ID)
    if flags is None:
        return _not_applied("the audit has no test flags (it was run without --test)", {})
    ev = flags.evidence
    data = scan_card.provenance.get("data", {})
    fp, n, n_source = data.get("fingerprint"), data.get("n"), data.get("n_source")
    known = {ev.get("test_fingerprint"), *ev.get("test_fingerprints_by_group", {}).values()}
    where = {"scan_fingerprint": fp, "audit_test_fingerprint": ev.get("test_fingerprint"),
             "audit_test_name": ev.get("test_name")}
    if fp is None or fp not in known - {None}:
        if n is not None and n_source is not None and n < n_source:
            return _not_applied(f"the scan evaluated a sample of {n} of {n_source} rows (--n); "
                                "caveats need the full test set: scan without --n", where)
        return _not_applied("the scan's data is not the audited test set (fingerprints differ)",
                            where)
    correct = unpack_bools((scan_card.get("accuracy.clean") or Finding("", "", "info"))
                           .evidence.get("correct"))
    if correct is None or len(correct) != ev.get("n_test"):
        return _not_applied("the scan stores no per-row correctness (accuracy.clean)", where)
    n = len(correct)
    leak = np.zeros(n, bool)
    leak[np.asarray(ev["rows"].get("leak", []), np.int64)] = True
    label = np.zeros(n, bool)
    label[np.asarray(ev["rows"].get("label_error", []), np.int64)] = True
    flagged = leak | label
    keep = ~flagged
    k = int(keep.sum())
    metrics = {"flagged_rows": Metric(int(flagged.sum()), unit="count"),
               "leak_rows": Metric(int(leak.sum()), unit="count"),
               "label_error_rows": Metric(int(label.sum()), unit="count"),
               "clean_accuracy": Metric(float(correct.mean()), wilson_interval(int(correct.sum()), n),
                                        "fraction"),
               "clean_accuracy_without_flagged": _acc(correct[keep])}
    if flagged.any():
        metrics["clean_accuracy_on_flagged"] = _acc(correct[flagged])
    table = []
    for f in scan_card.findings:
        m = re.fullmatch(r"robustness\.worst\.(\w+)\.(.+)", f.id)
        robust = unpack_bools(f.evidence.get("robust")) if m else None
        if robust is None or len(robust) != n:
            continue
        tag = f"{m.group(1)}.{m.group(2)}"  # type: ignore[union-attr]
        metrics[f"robust_accuracy.{tag}"] = Metric(float(robust.mean()), unit="fraction")
        metrics[f"robust_accuracy_without_flagged.{tag}"] = _acc(robust[keep])
        table.append({"eps": m.group(2), "norm": m.group(1), "all_rows": round(float(robust.mean()), 4),  # type: ignore[union-attr]
                      "without_flagged": round(float(robust[keep].mean()), 4) if k else None})
    before, after = metrics["clean_accuracy"].value, metrics["clean_accuracy_without_flagged"].value
    return [Finding(
        id=CAVEATS_ID,
        title=f"{int(flagged.sum())} of {n} evaluated test rows were flagged by the audit; "
        f"clean accuracy {before:.1%} -> {after:.1%} without them",
        severity="warn" if flagged.any() else "info",
        metrics=metrics, tags=LEAKAGE,
        detail=f"From the audit of {ev.get('test_name')}: {int(leak.sum())} rows leaked from "
        f"training (shared, near-duplicate, same entity or earlier in time) and {int(label.sum())} "
        "are likely mislabelled. Leaked rows overstate accuracy; mislabelled rows can go either "
        "way. The accuracies without them are on the remaining rows (95% Wilson intervals).",
        evidence={"robust_accuracy": table, "leak_rows": np.flatnonzero(leak)[:100].tolist(),
                  "label_error_rows": np.flatnonzero(label)[:100].tolist(),
                  "audit_test_fingerprint": ev.get("test_fingerprint")},
    )]


def _acc(v: np.ndarray) -> Metric:
    if not len(v):
        return Metric(float("nan"), unit="fraction")
    return Metric(float(v.mean()), wilson_interval(int(v.sum()), len(v)), "fraction")
