"""``trustbench align``: every command end to end on small synthetic files, and its errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustbench.cli import app

runner = CliRunner()


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from trustbench.align.synthetic import SyntheticTask

    folder = tmp_path_factory.mktemp("align-cli")
    task = SyntheticTask()
    prefs = task.preferences(400, seed=1)
    return {
        "prefs": _write(folder / "prefs.jsonl", [
            {"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected,
             "group": "a" if i % 2 else "b"} for i, p in enumerate(prefs)]),
        "sft": _write(folder / "sft.jsonl", [
            {"prompt": p, "response": r}
            for p, r in zip(task.prompts(200), task.responses(200), strict=True)]),
        "dir": folder}


def _ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_every_command_end_to_end(files: dict[str, Path]) -> None:
    pytest.importorskip("transformers")
    d = files["dir"]
    out = _ok(runner.invoke(app, ["align", "train-rm", "--prefs", str(files["prefs"]), "--out",
                                  str(d / "rm"), "--epochs", "2", "-q"]))
    assert "reward model picks the preferred response" in out
    card = json.loads((d / "rm" / "scorecard.json").read_text())
    assert {f["id"] for f in card["findings"]} >= {"align.reward_model", "align.length_bias",
                                                    "align.groups", "align.robustness",
                                                    "align.reward_hacking"}
    assert (d / "rm" / "model" / "config.json").is_file() and (d / "rm" / "report.html").is_file()
    _ok(runner.invoke(app, ["align", "sft", "--data", str(files["sft"]), "--out", str(d / "sft"),
                            "--epochs", "1", "--lr", "3e-3", "-q"]))
    out = _ok(runner.invoke(app, ["align", "dpo", "--prefs", str(files["prefs"]), "--policy",
                                  str(d / "sft" / "model"), "--out", str(d / "dpo"),
                                  "--beta", "1", "--lr", "1e-3", "-q"]))
    assert "DPO (sigmoid, beta 1)" in out
    dpo = json.loads((d / "dpo" / "scorecard.json").read_text())["findings"][0]
    assert "heldout_reward_accuracy" in dpo["metrics"]
    _ok(runner.invoke(app, ["align", "rl", "--policy", str(d / "sft" / "model"),
                            "--reward-model", str(d / "rm" / "model"), "--prompts",
                            str(files["prefs"]), "--out", str(d / "rl"), "--steps", "3",
                            "--max-new-tokens", "6", "-q"]))
    out = _ok(runner.invoke(app, ["align", "eval", "--reward-model", str(d / "rm" / "model"),
                                  "--prefs", str(files["prefs"]), "--out", str(d / "eval"),
                                  "--gold-reward-model", str(d / "rm" / "model"),
                                  "--policy", str(d / "dpo" / "model"), "--pool", "8"]))
    assert "over-optimisation" in out and "(true reward not raised)" in out


@pytest.mark.parametrize(("args", "needle"), [
    (["train-rm", "--prefs", "{bad}"], "line 1: no field 'rejected'"),
    (["train-rm", "--prefs", "{prefs}", "--test-fraction", "1.5"], "--test-fraction"),
    (["train-rm", "--prefs", "{prefs}", "--model", "{dir}/nowhere"], "no config.json"),
    (["dpo", "--prefs", "{prefs}", "--policy", "{dir}/nowhere"], "no config.json"),
    (["dpo", "--prefs", "{prefs}", "--policy", "{dir}/nowhere", "--lr", "0"], "--lr"),
    (["sft", "--data", "{prefs}"], "no field 'response'"),
    (["eval", "--synthetic", "--prefs", "{prefs}"], "not both"),
    (["eval", "--reward-model", "{dir}"], "go together"),
    (["eval", "--reward-model", "{dir}", "--prefs", "{prefs}", "--policy", "{dir}"], "gold"),
    (["label", "--pairs", "{prefs}", "--out", "{prefs}"], "is the --pairs file"),
    (["label", "--pairs", "{bad}", "--out", "{dir}/o.jsonl"], "line 1"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str,
                                          files: dict[str, Path]) -> None:
    bad = _write(files["dir"] / "bad.jsonl", [{"prompt": "p", "chosen": "c"}])
    paths = {"prefs": files["prefs"], "dir": files["dir"], "bad": bad}
    result = runner.invoke(app, ["align", *(a.format(**paths) for a in args)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert needle in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_without_the_extra_the_message_names_it(files: dict[str, Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "transformers" or m.startswith("transformers.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "transformers", None)
    result = runner.invoke(app, ["align", "train-rm", "--prefs", str(files["prefs"]), "--out",
                                 str(files["dir"] / "x")])
    assert result.exit_code == 2
    assert "pip install 'trustbench[align]'" in result.output


def test_label_serves_until_ctrl_c_and_says_what_was_kept(files: dict[str, Path],
                                                          tmp_path: Path) -> None:
    out = tmp_path / "mine.jsonl"
    env = {**os.environ, "COLUMNS": "200"}
    exe = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or "trustbench"
    proc = subprocess.Popen([exe, "align", "label", "--pairs", str(files["prefs"]),
                             "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/?", line)
        assert url, line
        with urllib.request.urlopen(url.group(0).rstrip("/") + "/api/next", timeout=10) as r:
            pair = json.load(r)
        request = urllib.request.Request(
            url.group(0).rstrip("/") + "/api/choice", method="POST",
            data=json.dumps({"id": pair["id"], "choice": "left"}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
        proc.communicate()
    assert "1 of 400" in stdout + stderr
    assert len(out.read_text().splitlines()) == 1
