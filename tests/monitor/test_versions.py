"""Model versions in a monitor: scored by their files, registered, compared on stored windows."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from typer.testing import CliRunner

from trustbench.cli import app
from trustbench.errors import InputError, UnsafeModelError
from trustbench.monitor.jobs import check_monitor, ingest_batch, ingest_labels, init_monitor
from trustbench.monitor.report import history_card
from trustbench.monitor.scoring import ROW_ID, InputSample, read_inputs
from trustbench.monitor.store import open_store
from trustbench.monitor.versions import register_version

runner = CliRunner()
FEATURES = ["x", "z", "city"]


def _table(n: int, *, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    city = rng.choice(["a", "b", "c"], n, p=[0.4, 0.3, 0.3])
    logit = 2 * x + 0.5 * z + np.where(city == "c", 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"id": np.arange(start, start + n), "x": x, "z": z, "city": city, "y": y})


def _fit(frame: pd.DataFrame) -> object:
    enc = make_column_transformer((StandardScaler(), ["x", "z"]), (OneHotEncoder(), ["city"]))
    return make_pipeline(enc, LogisticRegression()).fit(frame[FEATURES], frame["y"])


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A reference, three labelled windows, a good model, and one broken on city 'c'."""
    ref = _table(3000)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    joblib.dump(_fit(ref), tmp_path / "v1.joblib")
    flipped = ref.assign(y=np.where(ref["city"] == "c", 1 - ref["y"], ref["y"]))
    joblib.dump(_fit(flipped), tmp_path / "bad.joblib")
    for w in (1, 2, 3):
        t = _table(600, start=w * 10_000, seed=w)
        t.drop(columns="y").to_csv(tmp_path / f"w{w}.csv", index=False)
        t[["id", "y"]].to_csv(tmp_path / f"l{w}.csv", index=False)
    return tmp_path


def _monitor(store, d: Path, *, keep_inputs: int = 100_000, windows: int = 2) -> None:
    init_monitor(store, "m", d / "ref.csv", model=d / "v1.joblib", trust_pickle=True,
                 label_column="y", id_column="id", group_column="city", keep_inputs=keep_inputs)
    for w in range(1, windows + 1):
        ingest_batch(store, "m", d / f"w{w}.csv", trust_pickle=True)
        ingest_labels(store, "m", d / f"l{w}.csv")


def test_the_model_file_scores_every_batch(files: Path, db_url: str) -> None:
    with open_store(db_url) as store:
        _monitor(store, files, windows=1)
        ingest_batch(store, "m", files / "w2.csv", trust_pickle=True)
        rows = store.window_rows("m", 2)
        assert all(r["proba"] is not None for r in rows)
        model = joblib.load(files / "v1.joblib")
        want = model.predict_proba(pd.read_csv(files / "w2.csv")[FEATURES])
        got = np.stack([np.frombuffer(r["proba"], "<f4") for r in rows])
        np.testing.assert_allclose(got, want, atol=1e-6)
        card = check_monitor(store, "m")
        assert card.get("monitor.performance.estimated") is not None  # calibrated at init
        kept = read_inputs(store.window_inputs("m", 2))
        assert len(kept) == 600 and set(FEATURES) <= set(kept.columns)


def test_a_worse_version_raises_a_regression_alert_where_it_is_worse(files: Path,
                                                                     db_url: str) -> None:
    with open_store(db_url) as store:
        _monitor(store, files)
        reg = register_version(store, "m", "v2", model=files / "bad.joblib", trust_pickle=True,
                               reference=files / "ref.csv")
        labelled = next(f for f in reg.findings if f.id == "monitor.compare")
        shadow = next(f for f in reg.findings if f.id == "monitor.compare.shadow")
        assert labelled.severity == "warn" and labelled.evidence["worst_group"] == "c"
        assert labelled.metrics["negative_flip_rate"].value > 0.05
        assert reg.rows == 1200 and [w["window"] for w in shadow.evidence["windows"]] == [1, 2]
        assert [a["kind"] for a in store.alerts("m")] == ["regression"]
        assert store.versions("m") == ["v1", "v2"] and reg.calibrated
        (c,) = store.comparisons("m")
        assert (c["old"], c["new"]) == ("v1", "v2")
        # v2 now serves; its outputs drift against its own reference outputs, not v1's
        ingest_batch(store, "m", files / "w3.csv", trust_pickle=True)
        card = check_monitor(store, "m")
        assert card.provenance["version"] == "v2"
        assert not [f for f in card.findings if f.severity == "fail"]
        assert card.get("monitor.performance.estimated") is not None
        ids = [f.id for f in history_card(store, "m").findings]
        assert "monitor.versions.v2.compare" in ids and "monitor.versions.v2.compare.shadow" in ids


def test_the_same_model_again_changes_nothing(files: Path, tmp_path: Path) -> None:
    with open_store(tmp_path / "h.db") as store:
        _monitor(store, files)
        reg = register_version(store, "m", "v1-again", model=files / "v1.joblib",
                               trust_pickle=True)
        assert not reg.alerts and not reg.calibrated
        shadow = next(f for f in reg.findings if f.id == "monitor.compare.shadow")
        assert shadow.metrics["flip_rate"].value == 0.0
        ingest_batch(store, "m", files / "w3.csv", trust_pickle=True)
        card = check_monitor(store, "m")  # registered without a reference: outputs untested
        assert "not tested" in card.get("monitor.drift.__prediction__").title


def test_shadow_outputs_find_their_rows_by_id(files: Path, tmp_path: Path) -> None:
    with open_store(tmp_path / "h.db") as store:
        _monitor(store, files)
        bad = joblib.load(files / "bad.joblib")
        w1 = pd.read_csv(files / "w1.csv")
        p = bad.predict_proba(w1[FEATURES])
        w1.assign(q0=p[:, 0], q1=p[:, 1])[["id", "q0", "q1"]].to_csv(tmp_path / "shadow.csv",
                                                                   index=False)
        reg = register_version(store, "m", "v2", outputs=tmp_path / "shadow.csv",
                               proba_columns=["q0", "q1"])
        assert reg.rows == 600  # window 1's rows only: window 2 was not shadowed
        assert next(f for f in reg.findings if f.id == "monitor.compare").severity == "warn"


def test_windows_that_kept_no_inputs_leave_nothing_to_compare(files: Path, tmp_path: Path) -> None:
    with open_store(tmp_path / "h.db") as store:
        _monitor(store, files, keep_inputs=0)
        assert store.window_inputs("m", 1) is None
        reg = register_version(store, "m", "v2", model=files / "bad.joblib", trust_pickle=True)
        assert reg.rows == 0 and "no stored rows" in reg.findings[0].title


def test_a_failed_registration_stores_nothing(files: Path, tmp_path: Path) -> None:
    other = _table(500).rename(columns={"z": "w"})
    enc = make_column_transformer((StandardScaler(), ["x", "w"]), (OneHotEncoder(), ["city"]))
    joblib.dump(make_pipeline(enc, LogisticRegression()).fit(other[["x", "w", "city"]], other.y),
                tmp_path / "needs_w.joblib")
    with open_store(tmp_path / "h.db") as store:
        _monitor(store, files)
        with pytest.raises(InputError, match=r"column\(s\) w that the stored windows"):
            register_version(store, "m", "v2", model=tmp_path / "needs_w.joblib",
                             trust_pickle=True)
        with pytest.raises(UnsafeModelError):
            register_version(store, "m", "v2", model=files / "bad.joblib")
        with pytest.raises(InputError, match="already has a version 'v1'"):
            register_version(store, "m", "v1", model=files / "bad.joblib", trust_pickle=True)
        assert store.versions("m") == ["v1"] and store.comparisons("m") == []


def test_a_model_file_that_changed_is_refused_and_nothing_is_stored(files: Path,
                                                                    tmp_path: Path) -> None:
    with open_store(tmp_path / "h.db") as store:
        _monitor(store, files, windows=1)
        joblib.dump(joblib.load(files / "bad.joblib"), files / "v1.joblib")
        with pytest.raises(InputError, match="changed since it was registered"):
            ingest_batch(store, "m", files / "w2.csv", trust_pickle=True)
        assert len(store.windows("m")) == 1


def test_the_input_sample_does_not_depend_on_chunking() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=5000)})
    ids = [f"r{i}" for i in range(5000)]
    kept = []
    for size in (5000, 700, 64):
        sample = InputSample(300)
        for i in range(0, 5000, size):
            sample.add(ids[i : i + size], frame.iloc[i : i + size])
        rows, data = sample.to_bytes()
        kept.append(read_inputs(data))
        assert rows == 300
    for other in kept[1:]:
        pd.testing.assert_frame_equal(kept[0], other)
    positions = kept[0][ROW_ID].str[1:].astype(int)
    assert 1500 < positions.mean() < 3500  # spread over the batch, not its first rows


def _tb(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


def test_register_exits_1_on_a_regression_and_2_on_bad_input(files: Path) -> None:
    d = files
    db = ("--db", d / "h.db", "-n", "m")
    r = _tb("monitor", "init", *db, "-r", d / "ref.csv", "--model", d / "v1.joblib",
            "--proba", "p0,p1")
    assert r.exit_code == 2 and "--model and --proba" in r.output
    r = _tb("monitor", "init", *db, "-r", d / "ref.csv", "--model", d / "v1.joblib",
            "--trust-pickle", "--label", "y", "--id", "id", "--group", "city")
    assert r.exit_code == 0, r.output
    r = _tb("monitor", "ingest", *db, d / "w1.csv")  # the pickle needs trusting each time
    assert r.exit_code == 2 and "--trust-pickle" in r.output
    assert _tb("monitor", "ingest", *db, d / "w1.csv", "--trust-pickle").exit_code == 0
    assert _tb("monitor", "ingest", *db, d / "l1.csv", "--labels").exit_code == 0
    r = _tb("monitor", "register", *db, "--version", "v2")
    assert r.exit_code == 2 and "--model" in r.output
    r = _tb("monitor", "register", *db, "--version", "v2", "--model", d / "bad.joblib",
            "--trust-pickle", "--out", d / "cmp.json")
    assert r.exit_code == 1, r.output
    assert "ALERT monitor.compare:" in r.output and "group 'c'" in r.output
    assert (d / "cmp.json").exists()
    assert _tb("monitor", "ingest", *db, d / "w2.csv", "--trust-pickle").exit_code == 0  # v2's
    r = _tb("monitor", "register", *db, "--version", "v3", "--model", d / "bad.joblib",
            "--trust-pickle", "--fail-on", "monitor.compare.shadow:flip_rate > 0.5")
    assert r.exit_code == 0, r.output  # v3 is v2 again: no flips, the rule does not hold
