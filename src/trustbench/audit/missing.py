"""Missing values by column, and their pattern.

The pattern is which columns go missing together and whether missingness depends on the
label.

Thresholds: ``audit.missing`` warns when a column misses at least :data:`WARN_FRACTION` of
its values, or when text placeholders such as ``"?"`` or ``"n/a"`` stand in for missing
values; ``audit.missing.pattern`` warns when missingness of a column depends on the label
(chi-square p < :data:`ALPHA` and a class-share difference of at least
:data:`WARN_EFFECT`): a model can then learn the label from the gap itself.

References
----------
Little & Rubin, "Statistical Analysis with Missing Data", 3rd ed., Wiley 2019 (MCAR, MAR,
MNAR).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustbench import plotspec
from trustbench.audit.base import AuditContext
from trustbench.audit.tags import DATA_QUALITY
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics import wilson_interval

__all__ = ["ALPHA", "PLACEHOLDERS", "WARN_EFFECT", "WARN_FRACTION", "missing_values"]

WARN_FRACTION = 0.05
WARN_EFFECT = 0.05
ALPHA = 0.001
#: Text that usually means "missing" when it fills a cell.
PLACEHOLDERS = frozenset({"", "?", "na", "n/a", "nan", "null", "none", "-", "missing", "unknown"})


def missing_values(ctx: AuditContext) -> list[Finding]:
    """Per-column missing fractions, placeholders, co-missingness and label dependence."""
    miss = ctx.frame[ctx.features].isna().to_numpy()  # (N, F)
    frac = miss.mean(0)
    order = np.argsort(-frac, kind="stable")
    with_missing = [ctx.features[j] for j in order if frac[j] > 0]
    placeholders = _placeholders(ctx)
    heavy = [ctx.features[j] for j in order if frac[j] >= WARN_FRACTION]
    rows_any = int(miss.any(1).sum())
    severity: Severity = "warn" if heavy or placeholders else "info"
    shown = [j for j in order if frac[j] > 0][:30]
    first = _column_finding(ctx, frac, with_missing, heavy, placeholders, rows_any, severity,
                            shown)
    return [first, _pattern(ctx, miss, [j for j in order if frac[j] > 0])]


def _column_finding(ctx: AuditContext, frac: np.ndarray, with_missing: list[str],
                    heavy: list[str], placeholders: dict[str, dict[str, int]], rows_any: int,
                    severity: Severity, shown: list[int]) -> Finding:
    idx = {c: j for j, c in enumerate(ctx.features)}
    title = (f"{len(with_missing)} column(s) have missing values; "
             f"{len(heavy)} miss at least {WARN_FRACTION:.0%}" if with_missing
             else "No missing values")
    if placeholders:
        title += f"; {len(placeholders)} column(s) hold placeholder text for missing values"
    plots = [plotspec.bars("Missing values per column", [ctx.features[j] for j in shown],
                           [float(frac[j]) for j in shown], value_label="fraction missing")
             ] if shown else []
    return Finding(
        id="audit.missing", title=title, severity=severity,
        metrics={"columns_with_missing": Metric(len(with_missing), unit="count"),
                 "rows_with_missing": Metric(rows_any / ctx.n, wilson_interval(rows_any, ctx.n),
                                             "fraction")} | {
            f"missing.{c}": Metric(float(frac[idx[c]]), unit="fraction") for c in heavy[:20]},
        tags=DATA_QUALITY,
        detail="Fraction of empty cells per feature column (train and test together). "
        f"Thresholds: warn from {WARN_FRACTION:.0%} missing in a column, or for placeholder "
        "text ('?', 'n/a', 'null', ...) that a reader takes for a value.",
        evidence={"missing_fraction": {c: round(float(frac[idx[c]]), 5) for c in with_missing[:100]},
                  "placeholders": placeholders, "plots": plots},
    )


def _placeholders(ctx: AuditContext) -> dict[str, dict[str, int]]:
    sample = ctx.frame.iloc[ctx.sample(200_000, salt=7)]
    out: dict[str, dict[str, int]] = {}
    for c in ctx.features:
        if ctx.kinds[c] != "categorical":
            continue
        s = sample[c].dropna()
        s = s[s.map(lambda v: isinstance(v, str))]
        hits = s[s.str.strip().str.lower().isin(PLACEHOLDERS)]
        if len(hits):
            out[c] = {str(k): int(v) for k, v in hits.value_counts().head(5).items()}
    return out


def _pattern(ctx: AuditContext, miss: np.ndarray, cols: list[int]) -> Finding:
    from scipy.stats import chi2_contingency

    pairs, dependent = [], {}
    if cols:
        m = miss[:, cols].astype(np.float32)  # (N, k)
        both = m.T @ m  # (k, k) rows missing in both columns
        count = np.diag(both)
        union = count[:, None] + count[None, :] - both
        with np.errstate(invalid="ignore", divide="ignore"):
            jaccard = np.where(union > 0, both / union, 0.0)
        for a, b in zip(*np.triu_indices(len(cols), 1), strict=False):
            if jaccard[a, b] >= 0.5:
                pairs.append({"columns": [ctx.features[cols[a]], ctx.features[cols[b]]],
                              "jaccard": round(float(jaccard[a, b]), 4)})
        k = len(ctx.classes)
        for j in cols:
            col = miss[:, j]
            if col.sum() < 10 or (~col).sum() < 10:
                continue
            table = np.stack([np.bincount(ctx.y[col], minlength=k),
                              np.bincount(ctx.y[~col], minlength=k)])
            table = table[:, table.sum(0) > 0]
            if table.shape[1] < 2:
                continue
            p = float(chi2_contingency(table)[1])
            effect = 0.5 * float(np.abs(table[0] / table[0].sum() - table[1] / table[1].sum()).sum())
            if p < ALPHA and effect >= WARN_EFFECT:
                dependent[ctx.features[j]] = {"p_value": p, "class_share_difference": round(effect, 4)}
    patterns = pd.Series(map(bytes, np.packbits(miss[:, cols], axis=1))).value_counts() \
        if cols else pd.Series(dtype=int)
    top = [{"columns": [ctx.features[cols[i]] for i in np.flatnonzero(
        np.unpackbits(np.frombuffer(key, np.uint8))[:len(cols)])], "rows": int(n)}
        for key, n in patterns.head(5).items()]
    return Finding(
        id="audit.missing.pattern",
        title=(f"Missingness depends on the label in {len(dependent)} column(s): "
               f"{', '.join(list(dependent)[:5])}" if dependent else
               f"{len(patterns)} missingness pattern(s); none depends on the label" if cols
               else "No missing values, so no missingness pattern"),
        severity="warn" if dependent else "info",
        metrics={"patterns": Metric(len(patterns), unit="count"),
                 "co_missing_pairs": Metric(len(pairs), unit="count"),
                 "label_dependent_columns": Metric(len(dependent), unit="count")},
        tags=DATA_QUALITY,
        detail="Columns that go missing together (Jaccard >= 0.5 of their missing rows) "
        "usually share a cause; missingness that depends on the label (chi-square p < "
        f"{ALPHA}, class shares differing by >= {WARN_EFFECT:.0%}) is not random and can leak "
        "the label into a model through imputation. Thresholds: warn for label dependence.",
        evidence={"label_dependent": dependent, "co_missing": pairs[:50],
                  "top_patterns": top},
    )
