"""Accuracy before labels: trustbench's estimate against NannyML's CBPE, under covariate shift.

A binary problem with a known answer: labels follow ``sigmoid(x . w)``, and the model is a
logistic regression trained on other rows (close to calibrated). The reference (20,000
rows, labelled) calibrates both estimators. Then 20 windows of 5,000 rows each move the
inputs step by step away from the reference (covariate shift; the labels' rule does not
change, the assumption both methods make). Each estimator estimates every window's
accuracy from the model's probabilities alone; the mean absolute error against the
realised accuracy is reported, with an overconfident variant of the model (its logits
times 3), where calibrating on the reference matters.

    bash benchmarks/setup_drift_env.sh
    .venv/bin/python benchmarks/cbpe.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
NANNYML = ROOT / ".bench-drift" / "nannyml" / "bin" / "python"
WINDOWS, ROWS = 20, 5000

CHILD = """
import json, sys
import nannyml as nml, pandas as pd
ref, ana = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
est = nml.CBPE(y_pred_proba="p1", y_pred="pred", y_true="y", metrics=["accuracy"],
               problem_type="classification_binary", chunk_size=int(sys.argv[3]))
est.fit(ref)
res = est.estimate(ana).filter(period="analysis").to_df()
print(json.dumps([float(v) for v in res[("accuracy", "value")]]))
"""


def data(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 5 features shifted by ``shift`` along the first two, and their labels."""
    x = rng.normal(size=(n, 5))
    x[:, :2] += shift
    w = np.array([1.0, -0.5, 0.8, 0.0, 0.3])
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ w)))).astype(int)
    return x, y


def main() -> None:
    """Run both estimators on both models and print a Markdown table."""
    from sklearn.linear_model import LogisticRegression

    from trustbench.monitor.estimate import ConfidenceCalibration, estimate_accuracy

    rng = np.random.default_rng(0)
    x_train, y_train = data(rng, 20_000, 0.0)
    model = LogisticRegression().fit(x_train, y_train)
    x_ref, y_ref = data(rng, 20_000, 0.0)
    windows = [data(rng, ROWS, 1.5 * (k + 1) / WINDOWS) for k in range(WINDOWS)]
    print("| model | trustbench MAE (points) | NannyML CBPE MAE (points) | windows |")
    print("|---|---|---|---|")
    for name, sharpen in (("logistic regression", 1.0), ("overconfident (logits x 3)", 3.0)):
        def proba(x: np.ndarray, sharpen: float = sharpen) -> np.ndarray:
            p1 = 1 / (1 + np.exp(-sharpen * model.decision_function(x)))
            return np.stack([1 - p1, p1], 1)

        p_ref = proba(x_ref)
        cal = ConfidenceCalibration.fit(y_ref, p_ref)
        ours, realised = [], []
        for x, y in windows:
            p = proba(x)
            ours.append(estimate_accuracy(cal, p).value)
            realised.append(float((p.argmax(1) == y).mean()))
        theirs: list[float] = []
        if NANNYML.exists():
            with tempfile.TemporaryDirectory() as tmp:
                def frame(p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
                    return pd.DataFrame({"p1": p[:, 1], "pred": p.argmax(1), "y": y})

                frame(p_ref, y_ref).to_parquet(Path(tmp) / "ref.parquet")
                pd.concat([frame(proba(x), y) for x, y in windows]).to_parquet(
                    Path(tmp) / "ana.parquet")
                done = subprocess.run([str(NANNYML), "-c", CHILD, str(Path(tmp) / "ref.parquet"),
                                       str(Path(tmp) / "ana.parquet"), str(ROWS)],
                                      capture_output=True, text=True, check=False)
                if done.returncode == 0:
                    theirs = json.loads(done.stdout.strip().splitlines()[-1])
                else:
                    print(done.stderr[-2000:], file=sys.stderr)
        mae = 100 * float(np.mean(np.abs(np.array(ours) - realised)))
        mae_theirs = (100 * float(np.mean(np.abs(np.array(theirs) - realised)))
                      if len(theirs) == WINDOWS else float("nan"))
        print(f"| {name} | {mae:.2f} | {mae_theirs:.2f} | {WINDOWS} of {ROWS} rows |")


if __name__ == "__main__":
    main()
