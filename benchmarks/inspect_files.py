"""trustbench inspect against picklescan, modelscan and fickling on one corpus, side by side.

The corpus is ``benchmarks/inspect_corpus.py``'s (malicious files named after the advisory
or write-up that describes them, benign files from torch, numpy, scikit-learn, joblib,
skops, ONNX and safetensors). Each tool scans every file through its Python API, in its
own process: trustbench in the project's environment, the others in a benchmark
environment of their own (never project dependencies)::

    python -m venv /tmp/benchenv && /tmp/benchenv/bin/pip install picklescan modelscan fickling
    python benchmarks/inspect_files.py --bench-python /tmp/benchenv/bin/python --out DIR

Per tool: malicious cases caught (flagged unsafe), benign files flagged (false positives),
errors (the tool could not scan a file: counted as not caught, and not as a false
positive), and the median time per file. ``review`` (a whole-module pickle of the user's
own class), ``code`` (TorchScript) and ``unreadable`` (corrupt) cases are listed apart.
Writes ``DIR/inspect-benchmark.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Runs inside the benchmark environment: one JSON line per file on stdout.
RUNNER = r'''
import json, sys, time, io, contextlib, logging
logging.disable(logging.CRITICAL)
tool, files = sys.argv[1], json.loads(sys.stdin.read())

def picklescan(path):
    from picklescan.scanner import scan_file_path
    r = scan_file_path(path)
    return r.infected_files > 0 or r.issues_count > 0, bool(r.scan_err)

def modelscan(path):
    from modelscan.modelscan import ModelScan
    r = ModelScan().scan(path)
    issues = r.get("issues") or []
    errors = r.get("errors") or []
    return len(issues) > 0, len(errors) > 0 and not issues

def fickling(path):
    import fickling as f
    try:
        safe = f.is_likely_safe(path)
    except Exception:
        return False, True
    return not safe, False

scan = {"picklescan": picklescan, "modelscan": modelscan, "fickling": fickling}[tool]
for path in files:
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            flagged, error = scan(path)
    except Exception as e:
        flagged, error = False, True
    print(json.dumps({"file": path, "flagged": bool(flagged), "error": bool(error),
                      "seconds": time.perf_counter() - t0}), flush=True)
'''


def _trustbench(files: list[str]) -> list[dict]:
    from trustbench.security.files.inspect import inspect_file

    out = []
    for f in files:
        t0 = time.perf_counter()
        r = inspect_file(f)
        out.append({"file": f, "flagged": r.verdict == "unsafe",
                    "error": r.verdict == "unreadable", "seconds": time.perf_counter() - t0})
    return out


def _other(tool: str, files: list[str], python: str) -> list[dict]:
    proc = subprocess.run([python, "-c", RUNNER, tool], input=json.dumps(files),
                          capture_output=True, text=True, timeout=3600, check=False)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if len(rows) != len(files):
        raise SystemExit(f"{tool}: {len(rows)} results for {len(files)} files\n{proc.stderr[-2000:]}")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Build the corpus, scan it with every tool and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-python", required=True,
                    help="Python of the environment with picklescan, modelscan, fickling")
    ap.add_argument("--out", type=Path, default=Path("inspect-benchmark"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import inspect_corpus

    corpus = Path(tempfile.mkdtemp(prefix="inspect-corpus-"))
    cases = inspect_corpus.build_corpus(corpus)
    files = [str(corpus / c["file"]) for c in cases]
    results = {"trustbench": _trustbench(files)}
    for tool in ("picklescan", "modelscan", "fickling"):
        results[tool] = _other(tool, files, args.bench_python)
    summary = {}
    for tool, rows in results.items():
        by = dict(zip(files, rows, strict=True))
        mal = [c for c in cases if c["expect"] == "unsafe"]
        ben = [c for c in cases if c["expect"] == "safe"]
        summary[tool] = {
            "caught": sum(by[str(corpus / c["file"])]["flagged"] for c in mal),
            "malicious": len(mal),
            "false_positives": sum(by[str(corpus / c["file"])]["flagged"] for c in ben),
            "benign": len(ben),
            "errors": sum(r["error"] for r in rows),
            "median_ms": 1000 * statistics.median(r["seconds"] for r in rows),
            "missed": [c["name"] for c in mal if not by[str(corpus / c["file"])]["flagged"]],
            "flagged_benign": [c["name"] for c in ben if by[str(corpus / c["file"])]["flagged"]],
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "inspect-benchmark.json").write_text(json.dumps(
        {"summary": summary, "cases": cases, "results": results}, indent=2))
    print("| tool | malicious caught | benign flagged | errors | median ms/file |")
    print("|---|---|---|---|---|")
    for tool, s in summary.items():
        print(f"| {tool} | {s['caught']}/{s['malicious']} | {s['false_positives']}/{s['benign']} "
              f"| {s['errors']} | {s['median_ms']:.1f} |")
    for tool, s in summary.items():
        if s["missed"]:
            print(f"\n{tool} missed: {', '.join(s['missed'])}")
        if s["flagged_benign"]:
            print(f"{tool} flagged benign: {', '.join(s['flagged_benign'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
