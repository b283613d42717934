"""trustbench's attacks against torchattacks and ART, side by side in one process.

Usage (from the repository root, in the benchmark's own environment):

    bash benchmarks/setup_env.sh
    .bench-venv/bin/python benchmarks/attacks.py            # full, ~15-20 min on 2 cores
    .bench-venv/bin/python benchmarks/attacks.py --quick    # smoke run, ~2 min

Prints markdown tables (the source of docs/benchmarks.md); ``--json PATH`` also writes the
raw rows. Every library attacks the same model object in eval mode and the same float32
tensors, all points as one batch, with the same threat model and seed. Times are medians
of ``--repeats`` runs after one counted warm-up run whose output is checked (robust
accuracy, inside the eps-ball and [0, 1]); the floor is k forward+backward passes over
the same points, measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare as compare_module
from compare import compare
from curve import curve_section
from ensemble import ensemble_section
from libs import LIBRARIES, Spec, trustbench_has
from memory import measure_all
from seeds import seeds_section
from zoo import build_setups

from report import Row, markdown_table, rows_table

log = logging.getLogger("bench")


def machine() -> dict[str, str]:
    from importlib.metadata import version

    def v(name: str) -> str:
        try:
            return version(name)
        except Exception:
            return "not installed"

    return {
        "date": datetime.date.today().isoformat(),
        "nproc": str(os.cpu_count()),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch threads": str(torch.get_num_threads()),
        "load average (1, 5, 15 min) at start": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
        "trustbench": v("trustbench"),
        "torchattacks": v("torchattacks"),
        "adversarial-robustness-toolbox": v("adversarial-robustness-toolbox"),
        "numpy": v("numpy"),
        "trustbench registry": ", ".join(sorted(__import__("trustbench.attacks",
                                                           fromlist=["REGISTRY"]).REGISTRY)),
    }


def specs_for(eps: dict[str, float], *, apgd_steps: int) -> list[Spec]:
    out = [Spec("fgsm", "linf", eps["linf"])]
    for norm in ("linf", "l2"):
        out.append(Spec("pgd", norm, eps[norm], steps=20, step_size=2.5 * eps[norm] / 20,
                        early_stop=False))
    if trustbench_has("apgd-ce"):
        out.append(Spec("apgd-ce", "linf", eps["linf"], steps=apgd_steps))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run (~2 min): fewer points")
    p.add_argument("--repeats", type=int, default=None, help="timed runs (default 5; 3 quick)")
    p.add_argument("--only", nargs="*", default=None,
                   help="sections: main seeds ensemble curve memory (default all)")
    p.add_argument("--json", type=Path, default=None, help="also write raw rows here")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads for every library (default: torch's own)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        stream=sys.stderr)
    logging.getLogger("art").setLevel(logging.WARNING)
    quick = args.quick
    if quick:  # a smoke run: no extra rounds for short attacks
        compare_module.MIN_TIMED_SECONDS = 0.0
    repeats = args.repeats or (3 if quick else 5)
    sections = set(args.only or ["main", "seeds", "ensemble", "curve", "memory"])
    # points attacked per setup (the synthetic CNN's pass cost grows fast with the batch)
    n_points = {"demo-cnn": 100 if quick else 540, "digits-mlp": 100 if quick else 540,
                "synth-cnn": 32 if quick else 256}
    started = time.perf_counter()

    info = machine()
    cmd = ".bench-venv/bin/python benchmarks/attacks.py " + " ".join(sys.argv[1:])
    print(f"# trustbench attack benchmark{' (--quick)' if quick else ''}\n")
    print(f"command: `{cmd.strip()}`\n")
    print(markdown_table(["what", "value"], [[k, v] for k, v in info.items()]), "\n")

    t0 = time.perf_counter()
    setups = build_setups(quick=quick)
    print(f"models trained/loaded in {time.perf_counter() - t0:.1f} s\n")
    rows: list[Row] = []
    extra: dict[str, object] = {"machine": info, "quick": quick, "repeats": repeats}

    if "main" in sections:
        for s in setups:
            x, y = s.head(n_points[s.name])
            print(f"## {s.name}: N={len(x)} points {tuple(x.shape[1:])}, clean accuracy "
                  f"{100 * s.clean_accuracy:.1f}% (on all {len(s.x)})\n")
            setup_rows: list[Row] = []
            for spec in specs_for(s.eps, apgd_steps=100):
                setup_rows += compare(s.name, spec, s.model, x, y, repeats=repeats,
                                      trustbench_variants=(False, True))
            if not trustbench_has("apgd-ce"):
                print("APGD-CE: skipped, 'apgd-ce' is not in trustbench's registry.\n")
            print(rows_table(setup_rows), "\n")
            rows += setup_rows
            sys.stdout.flush()

    if "seeds" in sections:
        n_seeds = 3 if quick else 5
        text, data = seeds_section(setups, n_points, seeds=n_seeds)
        print(f"## Robust accuracy over {n_seeds} seeds (same points as above)\n")
        print(text, "\n")
        extra["seeds"] = data
        sys.stdout.flush()

    if "ensemble" in sections:
        demo = setups[0]
        n_ens = 10 if quick else 100
        ens_rows, notes = ensemble_section(demo, n=n_ens, repeats=1 if quick else repeats,
                                           art_cap=300, run_art=not quick)
        print(f"## Standard ensemble, demo-cnn, {n_ens} points, L∞ eps=0.1\n")
        print("\n".join(notes), "\n")
        if ens_rows:
            print(rows_table(ens_rows), "\n")
        rows += ens_rows
        sys.stdout.flush()

    if "curve" in sections:
        demo = setups[0]
        text, data = curve_section(demo, repeats=repeats, n=n_points["demo-cnn"])
        print("## Robustness curve (5 eps) vs 5 independent runs\n")
        print(text, "\n")
        extra["curve"] = data
        sys.stdout.flush()

    if "memory" in sections:
        n = 1000 if quick else 10_000
        mem = measure_all(LIBRARIES, n, threads=torch.get_num_threads())
        print(f"## Peak memory: PGD-20 L∞ on {n:,} digits-sized points, demo-cnn, "
              f"batches of 1,000, one fresh process per library\n")
        table = [[m["library"], f"{m['rss_before_mib']:.0f}", f"{m['peak_during_mib']:.0f}",
                  f"{m['attack_peak_increase_mib']:.0f}", f"{m['wall']:.2f}",
                  f"{100 * m['robust_accuracy']:.1f}",
                  "" if m["peak_reset"] else "peak not reset: includes setup"]
                 if "error" not in m else [m["library"], "error", str(m["error"]), "", "", "", ""]
                 for m in mem]
        print(markdown_table(["library", "RSS before attack MiB",
                              "peak RSS (VmHWM) during attack MiB", "increase MiB", "time s (1 run)",
                              "robust acc %", "note"], table), "\n")
        extra["memory"] = mem

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"total benchmark time: {time.perf_counter() - started:.0f} s; load average at the "
          f"end: {load}")
    if args.json:
        args.json.write_text(json.dumps({"rows": [r.as_dict() for r in rows], **extra},
                                        indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
