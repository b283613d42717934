"""Send production batches to ``trustbench monitor serve`` from a small serving loop.

A model serves requests; every 200 requests the serving code posts what it logged (the
inputs, the model's probabilities and a row id) to the monitoring service as one batch,
and the labels of earlier rows as they arrive. From batch 8 on the inputs drift; the
service checks each batch on arrival and answers with the alerts it raised. The dashboard
is at the printed address while the example runs (``--keep`` keeps it up at the end).

    python examples/monitor_serving.py --out serving-demo [--keep]

The service is started here as a subprocess over a SQLite file; in production it runs on
its own (``trustbench monitor serve --db ...``) and the serving code only needs the URL and
a key (``trustbench monitor key create``). Writes OUT/history.db, OUT/scorecard.json (the
last batch's check) and OUT/server.log.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from trustbench.monitor.jobs import check_monitor, init_monitor
from trustbench.monitor.keys import create_key
from trustbench.monitor.store import open_store

FEATURES = ["tenure", "spend", "plan"]


def requests(rng: np.random.Generator, n: int, drift: float = 0.0) -> pd.DataFrame:
    """Incoming requests of a churn model; ``drift`` moves ``spend`` (in its sd)."""
    tenure = rng.gamma(3, 8, n)
    spend = rng.normal(60 + 20 * drift, 20, n)
    plan = rng.choice([0, 1, 2], n, p=[0.5, 0.3, 0.2])
    logit = -0.05 * (tenure - 24) + 0.03 * (spend - 60) - 0.4 * plan
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"tenure": tenure, "spend": spend, "plan": plan, "churned": churned})


def post(url: str, key: str, body: dict) -> dict:
    """POST JSON with the key; return the answer (an error's body too)."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{url}: HTTP {e.code}: {e.read().decode()[:500]}") from None


def main() -> None:
    """Start the service, serve 12 batches of requests, print what it said."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("serving-demo"))
    ap.add_argument("--keep", action="store_true", help="Keep the service up at the end.")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    train = requests(rng, 5000)
    model = LogisticRegression(max_iter=1000).fit(train[FEATURES], train["churned"])

    def logged(frame: pd.DataFrame, start: int) -> pd.DataFrame:
        p = model.predict_proba(frame[FEATURES])
        return frame.assign(id=np.arange(start, start + len(frame)), p0=p[:, 0], p1=p[:, 1])

    db = out / "history.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    logged(requests(rng, 5000), 0).to_csv(out / "reference.csv", index=False)
    with open_store(db) as store:
        init_monitor(store, "churn", out / "reference.csv", proba_columns=["p0", "p1"],
                     label_column="churned", id_column="id", group_column="plan")
        _, key = create_key(store, "serving loop")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tb = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or "trustbench"
    log = (out / "server.log").open("wb")
    server = subprocess.Popen([tb, "monitor", "serve", "--db", str(db), "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"dashboard: {base}/monitors/churn (key: {key})")
        first_alert, waiting = None, []
        for b in range(1, 13):
            frame = logged(requests(rng, 200, drift=0.6 if b >= 8 else 0.0), b * 1000)
            rows = frame.drop(columns=["churned"]).to_dict("records")
            answer = post(f"{base}/api/monitors/churn/batches", key,
                          {"batch_id": f"batch-{b}", "rows": rows})
            waiting.append(frame[["id", "churned"]])
            if len(waiting) > 2:  # labels arrive two batches later
                labels = waiting.pop(0)
                post(f"{base}/api/monitors/churn/labels", key,
                     {"labels": [{"id": int(i), "label": int(y)}
                                 for i, y in labels.itertuples(index=False)]})
            alerts = answer["alerts"]
            print(f"batch {b:2d}: window {answer['window']}, "
                  f"{'ALERT ' + '; '.join(alerts) if alerts else 'quiet'}")
            if alerts and first_alert is None:
                first_alert = b
        if args.keep:
            print("the service is up; Ctrl-C stops it")
            server.wait()
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    with open_store(db) as store:
        check_monitor(store, "churn").to_json(out / "scorecard.json")
    if first_alert is None or not 8 <= first_alert <= 10:
        raise SystemExit(f"the service should alert within three batches of batch 8, first "
                         f"alert: {first_alert}")
    print(f"first alert at batch {first_alert}; the service's log is in {out / 'server.log'}")


if __name__ == "__main__":
    main()
