"""Every command, every option, any value: a one-line error and exit 2, never a traceback.

A property-based test over the whole CLI, not a list of cases: for each command, hypothesis
picks options (any of the command's own, read from the app itself, so a new option is
covered the day it is added) and gives each a hostile value — negative, huge, NaN,
infinite, empty, malformed lists and JSON, paths outside the folder, text that is not
UTF-8 — plus a base invocation whose input file does not exist, so that nothing can start
real work. Whatever was drawn, the command must exit 2 with one short ``error:`` line on
stderr (the option's own error, or the missing file's), nothing on stdout and no
traceback, and must leave nothing behind but its output folder (``init``, which only
writes a config file, may also succeed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from hostile_harness import MAX_ERROR_LINES, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustbench.cli import app

#: Per command: the arguments that make it fail at its first input file, after every
#: option has been checked (and that the drawn options never replace).
BASES: dict[str, list[str]] = {
    "scan": ["--model", "missing-model.pt", "--data", "digits"],
    "demo": ["--baseline", "missing-baseline.json"],
    "compare": ["missing-a.json", "missing-b.json"],
    "audit": ["--data", "missing-train.csv"],
    "harden": ["--arch", "trustbench.demo:DemoCNN", "--data", "missing-train.npz"],
    "compress": ["--model", "missing-model.safetensors", "--data", "digits"],
    "init": [],
    "inspect": ["missing-model.pt"],
    "secure": ["--model", "missing-model.pt", "--data", "missing-data.npz"],
    "monitor init": ["--db", "missing-folder/h.db", "-n", "m", "-r", "missing-ref.csv"],
    "monitor ingest": ["--db", "missing.db", "-n", "m", "missing-batch.csv"],
    "monitor check": ["--db", "missing.db", "-n", "m"],
    "monitor report": ["--db", "missing.db", "-n", "m"],
    "monitor compare": ["--data", "missing-rows.csv", "--old", "p0,p1", "--new", "q0,q1"],
    "monitor register": ["--db", "missing.db", "-n", "m", "--version", "v2"],
    "monitor serve": ["--db", "missing.db"],
    "monitor key create": ["--db", "missing.db", "-n", "k"],
    "select": ["missing-a.pt", "missing-b.pt", "--data", "missing-data.npz"],
    "align train-rm": ["--prefs", "missing-prefs.jsonl"],
    "align sft": ["--data", "missing-sft.jsonl"],
    "align dpo": ["--prefs", "missing-prefs.jsonl", "--policy", "missing-policy"],
    "align rl": ["--policy", "missing-policy", "--reward-model", "missing-rm", "--prompts",
                 "missing-prompts.jsonl"],
    "align eval": ["--reward-model", "missing-rm", "--prefs", "missing-prefs.jsonl"],
    "align label": ["--pairs", "missing-pairs.jsonl", "--out", "labels.jsonl"],
}

HOSTILE = ["-1", "0", "-0", "nan", "NaN", "inf", "-inf", "1e400", str(2**64), str(-(2**63) - 1),
           "", " ", ",", ",,", "1,", ",1", "1,,2", "a,b", "0.1,nan", "1,0", "{", "}", "[]", "{}",
           '{"a": 1}', '{"pgd": {"steps": -1}}', '{"x": [1, {"y": null}]}', "null", "true",
           "auto", "none", "all", "linf", "l3", "pgd", "standard", "fgsm,pgd,pgd", "../x",
           "/", "/dev/null", "/proc/self/mem", "x\udcff", "😀", "0x10", "1_000", "1 000",
           "-", "--", "a" * 300, "trustbench.demo:DemoCNN", "os:system", "builtins:eval",
           "any fail", "accuracy <", "robust_acc@linf:abc drop > 2pt", "\n", "\t", "\x00"]

VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=10))


def _options(command: str) -> list[tuple[str, bool]]:
    """Return the command's options as (flag as typed, is a boolean flag), base ones left out."""
    group = typer.main.get_command(app)
    for word in command.split():  # "monitor key create": a command of a nested group
        group = group.commands[word]  # type: ignore[attr-defined]
    params = group.params
    base = set(BASES[command])
    out = []
    for p in params:
        if p.param_type_name != "option":
            continue
        flag = p.opts[0]
        if flag in base or flag in ("--help", "-h"):
            continue
        out.append((flag, bool(getattr(p, "is_flag", False))))
    return out


@pytest.mark.parametrize("command", sorted(BASES))
def test_any_options_give_a_one_line_error(command: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    options = _options(command)
    assert command == "init" or options, f"{command} has no options to draw"

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(picked=st.lists(st.sampled_from(options), max_size=4, unique=True) if options
           else st.just([]), values=st.lists(VALUES, min_size=4, max_size=4),
           path=VALUES)
    def run(picked: list[tuple[str, bool]], values: list[str], path: str) -> None:
        args: list[str] = list(BASES[command])
        if command == "init":
            args = [f"out/{path}" if path.strip() else "out/x.yaml"]
        for (flag, is_flag), value in zip(picked, values, strict=False):
            args += [flag] if is_flag else [flag, value]
        result = cli(*command.split(), *args)
        text = result.output
        assert "Traceback" not in text, (args, text[-2000:])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args, repr(result.exception))
        if command == "init" and result.exit_code == 0:
            return
        assert result.exit_code == 2, (args, result.exit_code, text[-2000:])
        assert result.stdout == "", (args, result.stdout[-1000:])
        assert result.stderr.startswith("error: "), (args, result.stderr[-1000:])
        assert len(result.stderr.strip().splitlines()) <= MAX_ERROR_LINES, (args, result.stderr)

    run()


def test_init_with_a_name_too_long_in_an_existing_folder(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # found by the test above: stat raises ENAMETOOLONG once the parent folder exists
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    result = cli("init", "out/" + "a" * 300)
    assert result.exit_code == 2 and "cannot use this path" in result.stderr
    assert "Traceback" not in result.output
