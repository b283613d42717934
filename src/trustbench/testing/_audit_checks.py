"""Conformance checks of an audit check ``check(ctx: AuditContext) -> list[Finding]``.

Each takes the function and calls it on fresh contexts from
:func:`~trustbench.testing.toy_tables.toy_audit_context`.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

from trustbench.audit.base import AuditCheck, AuditContext
from trustbench.findings import Finding
from trustbench.testing._common import Check, check_docstring_has_references, entry_name, expect
from trustbench.testing.toy_tables import toy_audit_context

__all__ = ["AUDIT_CHECKS"]


def _findings(check: AuditCheck, ctx: AuditContext, where: str) -> list[Finding]:
    out = check(ctx)
    expect(isinstance(out, list) and all(isinstance(f, Finding) for f in out),
           f"{where}: returned {type(out).__name__}, expected a list of Finding")
    return out


@lru_cache(maxsize=64)
def _full_run(check: AuditCheck) -> tuple[AuditContext, list[Finding], pd.DataFrame]:
    """``(ctx, findings, frame before)`` of one run on the context with every role.

    The checks that only read a run share this one (label errors alone fit models for
    0.3 s); :func:`check_same_seed_same_findings` compares it with a fresh run.
    """
    ctx = toy_audit_context()
    before = ctx.frame.copy(deep=True)
    return ctx, _findings(check, ctx, entry_name(check)), before


def _expect_well_formed(findings: list[Finding], where: str) -> None:
    from trustbench.plotspec import KINDS

    ids = [f.id for f in findings]
    expect(len(ids) == len(set(ids)), f"{where}: finding ids repeat: {ids}")
    for f in findings:
        expect(f.id.startswith("audit."), f"{where}: finding id {f.id!r} does not start with "
               "'audit.'")
        expect(f.tags.subcategories and f.tags.characteristics,
               f"{where}: {f.id} has no AI RMF subcategories or characteristics")
        try:
            json.dumps(f.to_dict(), allow_nan=False)
        except (TypeError, ValueError) as e:
            raise AssertionError(f"{where}: {f.id} is not JSON-safe ({e}); write plain "
                                 "numbers, strings, lists and dicts, no NaN") from None
        for plot in f.evidence.get("plots", []):
            expect(plot.get("kind") in KINDS and plot.get("title"),
                   f"{where}: {f.id} has a plot of kind {plot.get('kind')!r} or without a "
                   f"title (kinds: {KINDS})")


def check_findings_are_well_formed(check: AuditCheck) -> None:
    """With every role given, the check returns at least one well-formed Finding.

    The ids are unique and start with ``audit.``, each finding carries AI RMF tags, is
    JSON-safe (no NaN) and its plots have a known kind and a title.
    """
    where = entry_name(check)
    findings = _full_run(check)[1]
    expect(findings, f"{where}: no findings with every role given")
    _expect_well_formed(findings, where)


def check_same_seed_same_findings(check: AuditCheck) -> None:
    """On two fresh contexts with seed 1 the findings are equal.

    Randomness comes only from ``ctx.rng`` / ``ctx.sample``.
    """
    def text(findings: list[Finding]) -> dict[str, str]:  # NaN equals NaN here
        return {f.id: json.dumps(f.to_dict(), sort_keys=True, default=repr) for f in findings}

    a, b = text(_full_run(check)[1]), text(check(toy_audit_context()))
    expect(a == b, f"{entry_name(check)}: two runs with seed 1 differ in "
           f"{sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))}")


def check_measures_with_every_role(check: AuditCheck) -> None:
    """With every role given, the check lists nothing as not measured (``ctx.skipped``)."""
    ctx = _full_run(check)[0]
    expect(not ctx.skipped, f"{entry_name(check)}: not measured with every role given: "
           f"{ctx.skipped}")


def check_runs_with_few_roles(check: AuditCheck) -> None:
    """With few roles given, the check returns well-formed findings.

    On 150 train and 60 test rows with a label, one group, ids and times, and on 150 train
    rows with a label only, the check returns well-formed findings (what it cannot measure
    it lists in ``ctx.skipped``, it does not fail).
    """
    for roles in ("few", "bare"):
        where = f"{entry_name(check)} ({roles} roles)"
        _expect_well_formed(_findings(check, toy_audit_context(roles=roles), where), where)


def check_leaves_the_table_untouched(check: AuditCheck) -> None:
    """Check that the check does not modify ``ctx.frame`` (later checks read the same rows)."""
    ctx, _, before = _full_run(check)
    expect(ctx.frame.equals(before) and list(ctx.frame.columns) == list(before.columns),
           f"{entry_name(check)}: ctx.frame was modified")


#: Every audit check conformance check, in the order
#: :func:`~trustbench.testing.check_audit_check` runs them.
AUDIT_CHECKS: tuple[Check, ...] = (
    check_docstring_has_references,
    check_findings_are_well_formed,
    check_same_seed_same_findings,
    check_measures_with_every_role,
    check_runs_with_few_roles,
    check_leaves_the_table_untouched,
)
