"""Output folders and baselines: no finished result is lost, mixed or misjudged.

- an output folder that cannot be written fails before any work, naming it;
- one that becomes unwritable during the run keeps the scorecard in a rescue folder;
- a folder never holds the files of two runs, two runs never write one folder at once,
  and a scan never writes over the baseline it compares against;
- NaN or infinity in a result is a finding, never a crash of the JSON writer;
- scorecards of other data or other settings are not compared unless asked;
- the time budget holds from the first model call; Ctrl-C says what was kept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hostile_harness import clean_error, cli
from torch import nn

from trustbench.checks import ScanConfig
from trustbench.data import load_builtin
from trustbench.scan import scan
from trustbench.scorecard import NON_FINITE_ID, Scorecard
from trustbench.testing.toy import toy_digits_mlp

FAST = ["--n", "20", "--attacks", "fgsm", "--no-calibration", "--no-ood", "--no-subgroups",
        "--no-validity", "--shifts", "none", "--batch-size", "64", "-q"]


@pytest.fixture
def digits_model(tmp_path: Path) -> Path:
    """A TorchScript digits MLP (sure to load, no pickle)."""
    import warnings

    path = tmp_path / "model.ts"
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; it still saves
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(toy_digits_mlp(0).module).save(str(path))
    return path


def _scan(model: Path, out: str | Path, *extra: str):
    return cli("scan", "--model", model, "--data", "digits", "--out", out, *FAST, *extra)


# -- an unwritable output folder fails before any work -------------------------------------


def test_out_that_is_a_file_fails_before_any_work(digits_model: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    text = clean_error(_scan(digits_model, "taken"), "--out taken is a file, not a folder")
    assert "pass a folder" in text
    assert (tmp_path / "taken").read_text() == "not a folder"


@pytest.mark.parametrize("out", ["taken/sub", "/proc/trustbench-out"])
def test_out_that_cannot_be_created_fails_before_any_work(digits_model: Path, tmp_path: Path,
                                                         out: str) -> None:
    (tmp_path / "taken").write_text("x")
    clean_error(_scan(digits_model, out), f"--out {out}: cannot create the folder")


@pytest.mark.parametrize("command", [
    ["audit", "--data", "breast_cancer"],
    ["compress", "--model", "MODEL", "--data", "digits", "--arch", "trustbench.demo:DemoCNN"],
    ["harden", "--arch", "trustbench.demo:DemoCNN", "--data", "digits", "--epochs", "1"],
])
def test_every_command_checks_its_out_before_work(tmp_path: Path, command: list[str]) -> None:
    from safetensors.torch import save_file

    from trustbench.demo import DemoCNN

    save_file(DemoCNN().state_dict(), str(tmp_path / "w.safetensors"))
    (tmp_path / "taken").write_text("x")
    args = [str(tmp_path / "w.safetensors") if a == "MODEL" else a for a in command]
    t = time.perf_counter()
    clean_error(cli(*args, "--out", "taken", "-q"), "--out taken is a file, not a folder")
    assert time.perf_counter() - t < 60  # nothing was trained or scanned first


# -- the folder holds one run's files, written together -------------------------------------


def test_a_second_run_leaves_no_file_of_the_first(digits_model: Path, tmp_path: Path) -> None:
    assert _scan(digits_model, "out").exit_code == 0
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {
        "scorecard.json", "report.html", "summary.md", "junit.xml"}
    (tmp_path / "out" / "notes.txt").write_text("mine")  # not the scan's: left alone
    cfg = tmp_path / "scan.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        model: {{path: {digits_model}}}
        data: {{source: digits}}
        scan: {{n: 20, attacks: [fgsm], calibration: false, ood: false, subgroups: false,
                validity: false, shifts: [], batch_size: 64}}
        output: {{out: out, formats: [json]}}
    """))
    assert cli("scan", "--config", cfg, "-q").exit_code == 0
    left = {p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")}
    assert left == {"scorecard.json", "notes.txt"}
    assert not list((tmp_path / "out").glob(".staging-*"))


def test_two_runs_cannot_write_one_folder(digits_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(  # another process holds the folder's lock, as a running scan does
        [sys.executable, "-c", textwrap.dedent(f"""\
            import fcntl, os, sys, time
            fd = os.open({str(out / '.trustbench.lock')!r}, os.O_RDWR | os.O_CREAT)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, str(os.getpid()).encode())
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        text = clean_error(_scan(digits_model, out), "another trustbench run is writing")
        assert f"process {holder.pid}" in text
    finally:
        holder.kill()
        holder.communicate()
    assert _scan(digits_model, out).exit_code == 0  # free again once the other run is gone


def test_a_scan_never_writes_over_its_baseline(digits_model: Path, tmp_path: Path) -> None:
    assert _scan(digits_model, "out").exit_code == 0
    before = (tmp_path / "out" / "scorecard.json").read_bytes()
    clean_error(_scan(digits_model, "out", "--baseline", "out/scorecard.json"),
                "would write scorecard.json over out/scorecard.json")
    assert (tmp_path / "out" / "scorecard.json").read_bytes() == before
    assert _scan(digits_model, "new", "--baseline", "out/scorecard.json").exit_code == 0


# -- a folder that fails at the end: the scorecard is rescued --------------------------------


def test_a_folder_lost_during_the_run_keeps_the_scorecard(tmp_path: Path, tmp_cache: Path) -> None:
    # the model's own code removes the output folder mid-scan and puts a file in its place
    (tmp_path / "sabotage.py").write_text(textwrap.dedent("""\
        import shutil
        from pathlib import Path

        import torch
        from trustbench.testing.toy import toy_digits_mlp

        class Sabotage(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = toy_digits_mlp(0).module
                self.calls = 0

            def forward(self, x):
                self.calls += 1
                out = Path("out")
                if self.calls == 3 and out.is_dir():
                    shutil.rmtree(out)
                    out.write_text("in the way")
                return self.inner(x)

        model = Sabotage()
    """))
    result = cli("scan", "--model", "sabotage:model", "--data", "digits", "--out", "out", *FAST)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = " ".join(result.stderr.split())
    assert "could not write the results" in message and "the scorecard was kept at" in message
    kept = Path(message.split("the scorecard was kept at ")[1].split(" -- ")[0])
    assert kept.is_relative_to(tmp_cache)
    card = Scorecard.from_json(kept)
    assert card.get("accuracy.clean") is not None and card.get("robustness.fgsm.linf.0.01")


# -- NaN and infinity -------------------------------------------------------------------------


def test_nan_in_evidence_and_provenance_is_written_as_null_and_reported(tmp_path: Path) -> None:
    from trustbench.findings import Finding

    card = Scorecard([Finding("x", "x", "info", evidence={
        "value": float("nan"), "curve": np.array([1.0, np.inf, -np.inf]),
        "fine": [1.0, 2.0], "nested": {"deep": [np.float32("nan")]}})],
        {"data": {"schema": {"lower": float("-inf")}}})
    path = card.to_json(tmp_path / "s.json")
    d = json.loads(path.read_text())  # strict JSON: parses without NaN extensions
    ev = d["findings"][0]["evidence"]
    assert ev["value"] is None and ev["curve"] == [1.0, None, None] and ev["fine"] == [1.0, 2.0]
    flagged = next(f for f in d["findings"] if f["id"] == NON_FINITE_ID)
    assert flagged["severity"] == "warn"
    assert set(flagged["evidence"]["fields"]) == {
        "x.evidence.value", "x.evidence.curve[...]", "x.evidence.nested.deep[0]",
        "provenance.data.schema.lower"}
    card.to_json(tmp_path / "again.json")  # flagged once, not once per write
    assert [f.id for f in card.findings].count(NON_FINITE_ID) == 1


class NanOffGrid(nn.Module):
    """Finite logits on the digits grid (pixels k/16), NaN anywhere else: a model that
    breaks only on perturbed inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = toy_digits_mlp(0).module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)  # (N, C)
        off = ((x * 16 - (x * 16).round()).abs() > 1e-4).flatten(1).any(1)  # (N,)
        return torch.where(off[:, None], torch.full_like(out, float("nan")), out)


def test_a_model_that_returns_nan_on_perturbed_inputs_is_a_failed_finding(tmp_path: Path) -> None:
    data = load_builtin("digits", split="test")
    card = scan(NanOffGrid(), data, ScanConfig(n=40, eps=[0.05], attacks=["fgsm"], shifts=[],
                                               calibration=False, ood=False, subgroups=False,
                                               validity=False, batch_size=64))
    f = card.get("model.non_finite_scores")
    assert f is not None and f.severity == "fail" and card.verdict == "fail"
    assert f.metrics["non_finite_rows"].value > 0
    json.loads(card.to_json(tmp_path / "s.json").read_text())


def test_a_finite_model_has_no_non_finite_finding() -> None:
    card = scan(toy_digits_mlp(0), load_builtin("digits", split="test"),
                ScanConfig(n=20, eps=[0.05], attacks=["fgsm"], shifts=[], calibration=False,
                           ood=False, subgroups=False, validity=False, batch_size=64))
    assert card.get("model.non_finite_scores") is None


# -- like with like -------------------------------------------------------------------------


@pytest.fixture
def two_scorecards(tmp_path: Path, digits_model: Path) -> tuple[Path, Path]:
    from sklearn.linear_model import LogisticRegression

    skops = pytest.importorskip("skops.io")
    train = load_builtin("breast_cancer", split="train")
    skops.dump(LogisticRegression(max_iter=2000).fit(train.x, train.y), tmp_path / "bc.skops")
    assert _scan(digits_model, "digits-out").exit_code == 0
    r = cli("scan", "--model", tmp_path / "bc.skops", "--data", "breast_cancer", "--out", "bc-out",
            "--n", "20", "--attacks", "none", "--no-calibration", "--no-ood", "--no-subgroups",
            "--no-validity", "--shifts", "none", "-q")
    assert r.exit_code == 0, r.output
    return tmp_path / "digits-out" / "scorecard.json", tmp_path / "bc-out" / "scorecard.json"


def test_compare_refuses_scorecards_of_other_data(two_scorecards: tuple[Path, Path]) -> None:
    a, b = two_scorecards
    text = clean_error(cli("compare", a, b, "--fail-on", "accuracy drop > 1pt"),
                       "not like for like", "different data", "--allow-mismatch")
    assert str(a) in text
    allowed = cli("compare", a, b, "--allow-mismatch")
    assert allowed.exit_code == 0, allowed.output
    assert "different data" in " ".join(allowed.stdout.split())


def test_scan_refuses_a_baseline_of_other_data_before_any_work(
        two_scorecards: tuple[Path, Path], digits_model: Path, tmp_path: Path) -> None:
    _, bc = two_scorecards
    t = time.perf_counter()
    clean_error(_scan(digits_model, "third", "--baseline", bc), "--baseline", "different data")
    assert not (tmp_path / "third" / "scorecard.json").exists()
    assert time.perf_counter() - t < 30


def test_scan_refuses_a_baseline_with_other_settings(digits_model: Path) -> None:
    assert _scan(digits_model, "a").exit_code == 0
    clean_error(_scan(digits_model, "b", "--baseline", "a/scorecard.json", "--norm", "l2",
                      "--eps", "0.5"), "config norm differs")
    assert _scan(digits_model, "c", "--baseline", "a/scorecard.json", "--norm", "l2", "--eps",
                 "0.5", "--allow-mismatch").exit_code == 0


# -- the budget holds from the first model call ---------------------------------------------


class Slow(nn.Module):
    """A digits MLP that takes ``delay`` seconds a call and records when each call began."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.inner = toy_digits_mlp(0).module
        self.delay = delay
        self.starts: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.starts.append(time.perf_counter())
        time.sleep(self.delay)
        return self.inner(x)


def test_no_model_call_starts_after_the_budget() -> None:
    model, data = Slow(0.05), load_builtin("digits", split="test")
    budget = 1.0
    t0 = time.perf_counter()  # a little before the scan's own clock starts: a stricter test
    card = scan(model, data,
                ScanConfig(n=60, eps=[0.05, 0.1], attacks=["pgd", "square"], budget=budget,
                           severities=[1, 5], attack_params={"square": {"n_queries": 5000}}))
    # (the clock is read just before each call: 10 ms for the step from there into forward)
    late = [s - t0 for s in model.starts if s - t0 > budget + 0.01]
    assert late == [], late  # every call checked the clock first: none began past the budget
    assert card.get("budget.exhausted") is not None
    assert card.get("accuracy.clean") is not None  # the clean predictions always complete
    assert any("ran out" in s for s in card.not_measured)


# -- Ctrl-C ---------------------------------------------------------------------------------


def test_ctrl_c_says_what_was_kept_and_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "slowmod.py").write_text(textwrap.dedent("""\
        import time
        from pathlib import Path

        import torch
        from trustbench.testing.toy import toy_digits_mlp

        class Slow(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = toy_digits_mlp(0).module

            def forward(self, x):
                Path("started").touch()
                time.sleep(0.05)
                return self.inner(x)

        model = Slow()
    """))
    out = tmp_path / "out"
    out.mkdir()
    (out / "scorecard.json").write_text("{\"earlier\": true}")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "trustbench"), "scan", "--model", "slowmod:model", "--data",
         "digits", "--out", "out", "-q"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        # a shell that starts a job in the background (`make test &`, a CI runner) ignores
        # SIGINT in it, and Python keeps an ignored SIGINT ignored: give the scan the
        # default disposition, as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (tmp_path / "started").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # well inside the scan's work
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, stderr[-2000:])
    assert "Traceback" not in stderr
    assert stderr.strip().startswith("interrupted: nothing of this scan was written")
    assert (out / "scorecard.json").read_text() == "{\"earlier\": true}"
    assert not list(out.glob(".staging-*"))
