"""One library's drift check on the benchmark's data, run in that library's own venv.

    python drift_libs.py LIBRARY FOLDER

Reads FOLDER/reference.parquet and FOLDER/current.parquet (see benchmarks/drift.py), runs
the library's standard drift check, and prints one JSON line: wall seconds of the check
(reading excluded), the columns it flagged, and the process's peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd


def evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    """Evidently 0.7: ``Report([DataDriftPreset()])``, its default per-column tests."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    num = [c for c in ref.columns if c.startswith("num_")]
    cat = [c for c in ref.columns if c.startswith("cat_")]
    definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
    r = Dataset.from_pandas(ref, data_definition=definition)
    c = Dataset.from_pandas(cur, data_definition=definition)
    result = Report([DataDriftPreset()]).run(c, r).dict()
    flagged = []
    for m in result["metrics"]:
        name = str(m.get("metric_name", m.get("metric_id", "")))
        if not name.startswith("ValueDrift"):
            continue
        column = m["config"]["column"]
        value, threshold = m["value"], m["config"].get("threshold")
        method = str(m["config"].get("method", ""))
        p_value_like = "p_value" in method or "test" in method.lower()
        if threshold is None:
            continue
        if (value < threshold) if p_value_like else (value >= threshold):
            flagged.append(column)
    return flagged


def alibi_detect(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    """alibi-detect 0.12: ``KSDrift`` on numeric and ``ChiSquareDrift`` on categorical columns."""
    import numpy as np
    from alibi_detect.cd import ChiSquareDrift, KSDrift

    num = [c for c in ref.columns if c.startswith("num_")]
    cat = [c for c in ref.columns if c.startswith("cat_")]
    flagged = []
    ks = KSDrift(ref[num].to_numpy(np.float32), p_val=0.05, correction="bonferroni")
    out = ks.predict(cur[num].to_numpy(np.float32), drift_type="feature")
    flagged += [c for c, d in zip(num, out["data"]["is_drift"], strict=True) if d]
    codes = {c: {v: i for i, v in enumerate(sorted(ref[c].unique()))} for c in cat}
    enc = lambda f: np.stack([f[c].map(codes[c]).fillna(-1).to_numpy() for c in cat], 1)  # noqa: E731
    chi = ChiSquareDrift(enc(ref), p_val=0.05, correction="bonferroni")
    out = chi.predict(enc(cur), drift_type="feature")
    flagged += [c for c, d in zip(cat, out["data"]["is_drift"], strict=True) if d]
    return flagged


def nannyml(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    """NannyML: ``UnivariateDriftCalculator`` (KS and chi-square) on ten chunks of each table.

    NannyML sets each method's alert thresholds from the spread of the statistic over the
    reference's chunks, so it needs several; a column counts as flagged when any analysis
    chunk alerts, as its dashboards show it.
    """
    import nannyml as nml

    columns = list(ref.columns)
    calc = nml.UnivariateDriftCalculator(column_names=columns, chunk_number=10,
                                         continuous_methods=["kolmogorov_smirnov"],
                                         categorical_methods=["chi2"])
    calc.fit(ref)
    res = calc.calculate(cur).filter(period="analysis").to_df()
    flagged = []
    for c in columns:
        for method in ("kolmogorov_smirnov", "chi2"):
            key = (c, method, "alert")
            if key in res.columns and bool(res[key].any()):
                flagged.append(c)
    return flagged


def trustbench_(ref_profile: Path, cur: pd.DataFrame) -> list[str]:
    """trustbench: sketch the window against the stored profile, then check it."""
    import json as _json

    from trustbench.monitor import build_profile, check_drift
    from trustbench.monitor.profile import Profile

    reference = Profile.from_dict(_json.loads(ref_profile.read_text()))
    window = build_profile(cur, reference=reference)
    return [c.column for c in check_drift(reference.features, window.features).alarms]


def main() -> None:
    """Run one library and print its JSON line."""
    lib, folder = sys.argv[1], Path(sys.argv[2])
    cur = pd.read_parquet(folder / "current.parquet")
    if lib == "trustbench":
        t = time.perf_counter()
        flagged = trustbench_(folder / "profile.json", cur)
    else:
        ref = pd.read_parquet(folder / "reference.parquet")
        t = time.perf_counter()
        flagged = {"evidently": evidently, "alibi-detect": alibi_detect,
                   "nannyml": nannyml}[lib](ref, cur)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    print(json.dumps({"library": lib, "seconds": wall, "flagged": sorted(flagged),
                      "peak_rss_mib": peak}))


if __name__ == "__main__":
    main()
