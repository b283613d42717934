"""Hostile scan configs: settings that fake robustness, YAML that exhausts memory or time,
and values that would be silently misread. ``trustbench scan --config FILE`` must exit 2
with one short line naming the file and the field, before any model is loaded -- or run
correctly. The model file of the malformed configs does not exist: had a config passed
validation, the error would name the model file instead of the field.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from hostile_harness import clean_error, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustbench.demo import DemoCNN

SECTIONS = ("version", "model", "data", "scan", "gate", "output")
MISSING_MODEL = "missing.pt"


def config(values: dict[str, str], *, name: str = "scan.yaml") -> Path:
    """A config of ``model.path: missing.pt`` and ``data.source: digits`` with each dotted
    field of ``values`` set to its YAML text (as written, unquoted unless it quotes)."""
    fields: dict[str, dict[str, str]] = {"model": {"path": MISSING_MODEL},
                                         "data": {"source": "digits"}}
    top: dict[str, str] = {}
    for dotted, text in values.items():
        section, _, key = dotted.partition(".")
        if key:
            fields.setdefault(section, {})[key] = text
        else:
            top[section] = text
    lines = [f"{k}: {top[k]}" for k in top]
    for section in SECTIONS:
        if section in fields:
            lines.append(f"{section}:")
            lines += [f"  {k}: {v}" for k, v in fields[section].items()]
    path = Path(name)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scan_error(path: Path, *needles: str) -> str:
    """``scan --config path`` exits 2 naming the file and every needle, not the model."""
    text = clean_error(cli("scan", "--config", path, "--quiet"), str(path), *needles)
    assert MISSING_MODEL not in text, text  # refused before anything was loaded
    assert " -- " in text, text  # with a fix
    return text


# -- settings that fake robustness ----------------------------------------------------------

FAKING = [
    ("pgd", "steps", "0"), ("pgd", "steps", "-1"), ("pgd", "steps", "true"),
    ("pgd", "steps", "'20'"), ("pgd", "steps", "2.5"), ("pgd", "steps", "[20]"),
    ("pgd", "steps", "null"), ("pgd", "steps", "100000"), ("pgd", "restarts", "0"),
    ("pgd", "step_size", "0"), ("pgd", "step_size", "-0.1"), ("pgd", "step_size", ".inf"),
    ("pgd", "step_size", ".nan"), ("pgd", "random_start", "'false'"),
    ("pgd", "random_start", "0"), ("pgd", "early_stop", "null"),
    ("apgd-ce", "steps", "0"), ("apgd-ce", "rho", "0"), ("apgd-ce", "rho", "1.5"),
    ("apgd-ce", "loss", "hinge"), ("apgd-dlr", "restarts", "0"),
    ("apgd-t", "n_target_classes", "0"), ("apgd-t", "steps", "false"),
    ("square", "n_queries", "0"), ("square", "n_queries", "1.0e3"),
    ("square", "p_init", "0"), ("square", "p_init", "2"),
    ("square", "rescale_schedule", "'yes'"), ("standard", "steps", "0"),
    ("standard", "n_queries", "-5"), ("standard", "n_target_classes", "true"),
]


@pytest.mark.parametrize(("attack", "param", "value"), FAKING,
                         ids=[f"{a}.{p}={v}" for a, p, v in FAKING])
def test_attack_parameters_out_of_type_or_range(attack: str, param: str, value: str) -> None:
    path = config({"scan.attack_params": f"{{{attack}: {{{param}: {value}}}}}"})
    text = scan_error(path, f"field scan.attack_params.{attack}.{param}:")
    assert "--attack-params" not in text  # the config's field, not a flag


@pytest.mark.parametrize(("params", "needles"), [
    ("{pgd: {eps: 1.0}}", ["scan.attack_params.pgd.eps", "set by the scan"]),
    ("{pgd: {norm: l2}}", ["scan.attack_params.pgd.norm", "set by the scan"]),
    ("{square: {seed: 7}}", ["scan.attack_params.square.seed", "set by the scan"]),
    ("{pgd: {stepz: 5}}", ["scan.attack_params.pgd.stepz", "early_stop, random_start, restarts, "
                           "step_size, steps"]),
    ("{fgsm: {steps: 5}}", ["scan.attack_params.fgsm.steps", "no parameters besides"]),
    ("{pdg: {steps: 5}}", ["scan.attack_params.pdg", "unknown attack", "apgd-ce"]),
    ("{pgd: 5}", ["scan.attack_params.pgd", "a valid dictionary, got 5"]),
    ("[pgd]", ["scan.attack_params", "got [\"pgd\"]"]),
    ("{pgd: {steps: {n: 5}}}", ["scan.attack_params.pgd.steps", "expected a number"]),
])
def test_attack_parameters_the_attack_does_not_take(params: str, needles: list[str]) -> None:
    scan_error(config({"scan.attack_params": params}), *needles)


def test_compress_refuses_the_same_parameters_before_loading() -> None:
    r = cli("compress", "--model", "missing.safetensors", "--arch", "trustbench.demo:DemoCNN",
            "--data", "digits", "--attack-params", '{"pgd": {"steps": 0}}')
    text = clean_error(r, "--attack-params.pgd.steps: expected an integer in [1, 10000], got 0")
    assert "missing.safetensors" not in text
    r = cli("compress", "--model", "missing.safetensors", "--data", "digits",
            "--attack-params", '{"square": {"eps": 1}}')
    clean_error(r, "--attack-params.square.eps", "set by the scan")


# -- silent misreading ----------------------------------------------------------------------

MISREAD = [
    # (field, YAML text of its value, what the message shows of the value)
    ("scan.n", "true", "true"), ("scan.n", "2.5", "2.5"), ("scan.n", "'5'", '"5"'),
    ("scan.n", "0", "0"), ("scan.n", "-3", "-3"), ("scan.n", "[5]", "[5]"),
    ("scan.seed", "-1", "-1"), ("scan.seed", str(2**63), str(2**63)),
    ("scan.seed", str(2**64), str(2**64)), ("scan.seed", "1.5", "1.5"),
    ("scan.seed", "true", "true"), ("scan.seed", "null", "null"),
    ("scan.eps", "['0.1']", '"0.1"'), ("scan.eps", "[]", "[]"), ("scan.eps", "[-0.1]", "-0.1"),
    ("scan.eps", "[.nan]", "NaN"), ("scan.eps", "[.inf]", "Infinity"),
    ("scan.eps", "0.1", "0.1"), ("scan.eps", "[true]", "true"),
    ("scan.norm", "l3", '"l3"'), ("scan.norm", "1", "1"), ("scan.eps_units", "pixels", '"pixels"'),
    ("scan.budget", ".inf", "Infinity"), ("scan.budget", ".nan", "NaN"), ("scan.budget", "0", "0"),
    ("scan.budget", "-5", "-5"), ("scan.budget", "'60'", '"60"'), ("scan.budget", "true", "true"),
    ("scan.threads", "0", "0"), ("scan.threads", "2.0", "2.0"), ("scan.threads", "true", "true"),
    ("scan.batch_size", "0", "0"), ("scan.batch_size", "true", "true"),
    ("scan.batch_size", "'256'", '"256"'), ("scan.batch_size", "2.5", "2.5"),
    ("scan.batch_size", "Auto", '"Auto"'),
    ("scan.validity", "'false'", '"false"'), ("scan.validity", "0", "0"),
    ("scan.validity", "no", '"no"'), ("scan.calibration", "1", "1"),
    ("scan.ood", "null", "null"), ("scan.subgroups", "off", '"off"'),
    ("scan.eot_draws", "0", "0"), ("scan.eot_draws", "1001", "1001"), ("scan.eot_draws", "2.5", "2.5"),
    ("scan.severities", "[true]", "true"), ("scan.severities", "[0]", "0"),
    ("scan.severities", "[6]", "6"), ("scan.severities", "[]", "[]"),
    ("scan.severities", "[1.5]", "1.5"), ("scan.severities", "['3']", '"3"'),
    ("scan.severities", "3", "3"),
    ("scan.attacks", "[nope]", '"nope"'), ("scan.attacks", "[pgd, pgd]", '"pgd"'),
    ("scan.attacks", "pgd", '"pgd"'), ("scan.attacks", "[1]", "1"), ("scan.attacks", "['']", '""'),
    ("scan.shifts", "[blurr]", "blurr"), ("scan.shifts", "[true]", "true"),
    ("scan.shifts", "[contrast, contrast]", '"contrast"'),
    ("model.trust_pickle", "'1'", '"1"'), ("model.trust_pickle", "1", "1"),
    ("model.trust_pickle", "yes", '"yes"'), ("model.trust_pickle", "on", '"on"'),
    ("model.trust_pickle", "'true'", '"true"'),
    ("model.arch", "1", "1"), ("model.arch", "''", '""'),
    ("model.arch_kwargs", "[1]", "[1]"), ("model.arch_kwargs", "{width: .nan}", "width"),
    ("model.arch_kwargs", "{1: 2}", "1"), ("model.arch_kwargs", "'{width: 4}'", "width"),
    ("model.arch_kwargs", "{a: [[[[[[[[[1]]]]]]]]]}", "8 levels"),
    ("model.arch_kwargs", "{w: !!binary aGVsbG8=}", "w"),
    ("model.mean", "['0.5']", '"0.5"'), ("model.mean", "[]", "[]"), ("model.mean", "0.5", "0.5"),
    ("model.std", "[0]", "0"), ("model.std", "[-1]", "-1"), ("model.std", "[.inf]", "Infinity"),
    ("data.split", "validation", '"validation"'), ("data.split", "true", "true"),
    ("data.bounds", "[.nan, 1]", "NaN"), ("data.bounds", "[0, .inf]", "Infinity"),
    ("data.bounds", "[-.inf, 1]", "-Infinity"), ("data.bounds", "[1, 0]", "1.0"),
    ("data.bounds", "[0.5, 0.5]", "0.5"), ("data.bounds", "[0]", "[0]"),
    ("data.bounds", "[0, 1, 2]", "[0, 1, 2]"), ("data.bounds", "['0', '1']", '"0"'),
    ("data.bounds", "[true, 2]", "true"), ("data.bounds", "0", "0"),
    ("data.target", "1", "1"), ("data.group", "true", "true"), ("data.schema", "[]", "[]"),
    ("data.audit", "false", "false"),
    ("gate.fail_on", "'any fail'", '"any fail"'), ("gate.fail_on", "[1]", "1"),
    ("gate.baseline", "1", "1"),
    ("output.formats", "[]", "[]"), ("output.formats", "[pdf]", '"pdf"'),
    ("output.formats", "json", '"json"'), ("output.out", "1", "1"), ("output.out", "''", '""'),
    ("output.out", "null", "null"),
    ("version", "2", "2"), ("version", "true", "true"), ("version", "1.0", "1.0"),
    ("version", "'1'", '"1"'),
    ("scan", "[]", "[]"), ("model", "m.pt", '"m.pt"'), ("output", "true", "true"),
]


@pytest.mark.parametrize(("field", "value", "shown"), MISREAD,
                         ids=[f"{f}={v}" for f, v, _ in MISREAD])
def test_values_that_would_be_misread(field: str, value: str, shown: str) -> None:
    if field in ("model", "scan", "output"):  # a whole section replaced by a scalar
        path = Path("scan.yaml")
        body = {"model": f"model: {{path: {MISSING_MODEL}}}", "data": "data: {source: digits}"}
        body[field] = f"{field}: {value}"
        path.write_text("\n".join(body.values()) + "\n", encoding="utf-8")
    else:
        path = config({field: value})
    scan_error(path, f"field {field}", shown)


@pytest.mark.parametrize(("field", "value"), [
    ("version", '"\\udc00\\ud800"'), ("data.target", '"\\udcff"'), ("scan.attacks", '["\\ud83d"]'),
    ("scan.attack_params", '{"\\ud800": {}}'),
])
def test_escaped_surrogates_are_not_text(field: str, value: str) -> None:
    """A double-quoted \\ud800 escape gives a lone surrogate: refused where it is written."""
    scan_error(config({field: value}), "UTF-16 surrogate", "line ")


def test_an_escaped_surrogate_pair_is_the_character() -> None:
    """JSON writes an astral character as a pair of escapes (json.dumps of "𐀀"): that is text."""
    scan_error(config({"version": '"\\ud800\\udc00"'}), 'field version: expected 1, got "𐀀"')


@pytest.mark.parametrize(("field", "value"), [
    ("scan.epsilon", "[0.1]"), ("scan.attack-params", "{}"), ("model.trust_pickles", "true"),
    ("data.schemas", "s.json"), ("output.format", "[json]"), ("gate.fail-on", "[]"),
    ("scna", "{}"), ("versions", "1"),
])
def test_unknown_fields_list_the_valid_ones(field: str, value: str) -> None:
    text = scan_error(config({field: value}), f"field {field}: unknown field", "use one of:")
    assert "(unknown keys are refused)" in text


@pytest.mark.parametrize(("text", "needles"), [
    ("model: {path: a.pt}\nmodel: {path: missing.pt}\ndata: {source: digits}\n",
     ["line 2", 'field model: duplicate key "model"', "first at line 1"]),
    ("model: {path: missing.pt}\ndata: {source: digits}\nscan:\n  n: 20\n  seed: 1\n  n: 1\n",
     ["line 6", 'field scan.n: duplicate key "n"', "first at line 4"]),
    ("model: {path: missing.pt}\ndata: {source: digits}\n"
     "scan: {attack_params: {pgd: {steps: 50, steps: 0}}}\n",
     ['field scan.attack_params.pgd.steps: duplicate key "steps"']),
    ('{"model": {"path": "missing.pt"}, "data": {"source": "digits", "source": "x.csv"}}\n',
     ['field data.source: duplicate key "source"']),
])
def test_duplicated_keys_name_the_key_and_the_lines(text: str, needles: list[str]) -> None:
    path = Path("dup.yaml")
    path.write_text(text, encoding="utf-8")
    scan_error(path, *needles)


# -- resource exhaustion --------------------------------------------------------------------

BOMB = """\
model: {path: missing.pt}
data: {source: digits}
scan:
  attack_params:
    pgd:
      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
      d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
      e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
      f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
      g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
      h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
      i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_a_billion_laughs_is_refused_at_once() -> None:
    path = Path("bomb.yaml")
    path.write_text(BOMB, encoding="utf-8")
    start = time.perf_counter()
    text = scan_error(path, "line 6", "field scan.attack_params.pgd.a",
                      "anchors and aliases (&name, *name) are not allowed")
    assert time.perf_counter() - start < 0.5, text


@pytest.mark.parametrize(("body", "needles"), [
    ("scan: {n: &n 20, seed: 1}", ["field scan.n", "anchors and aliases"]),
    ("scan: {n: 20, seed: *n}", ["anchors and aliases"]),  # an undefined alias
    ("scan: {<<: {n: 20}}", ["merge keys (<<)"]),
    ("scan: {attack_params: " + "{a: " * 40 + "1" + "}" * 40 + "}", ["nested deeper than 16"]),
    ("scan: {eps: " + "[" * 50_000 + "]" * 50_000 + "}", ["nested deeper than 16"]),
    ("? " + "{" * 100 + "}" * 100 + "\n: 1", ["nested deeper than 16"]),  # through keys
    ("scan: {eps: [" + "0, " * 20_000 + "0]}", ["field scan.eps", "more than 10000 values"]),
    ("scan:\n  attack_params:\n" + "".join(f"    k{i}: {{}}\n" for i in range(20_000)),
     ["more than 10000 values"]),
    ("scan: {n: " + "9" * 10_000 + "}", ["is not a usable integer"]),
    ("scan: {seed: !!int 12x}", ["is not a usable integer"]),
])
def test_yaml_that_would_exhaust_memory_or_time(body: str, needles: list[str]) -> None:
    path = Path("big.yaml")
    path.write_text(f"model: {{path: {MISSING_MODEL}}}\ndata: {{source: digits}}\n{body}\n",
                    encoding="utf-8")
    start = time.perf_counter()
    scan_error(path, *needles)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("size", [(1 << 20) + 1, 20 << 20])
def test_files_beyond_the_size_limit(size: int) -> None:
    path = Path("huge.yaml")
    head = f"model: {{path: {MISSING_MODEL}}}\ndata: {{source: digits}}\n# "
    path.write_bytes(head.encode() + b"x" * (size - len(head)))
    start = time.perf_counter()
    scan_error(path, "larger than the limit of 1048576 bytes (1 MiB)")
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(("content", "needles"), [
    (b"", ["expected a mapping"]),
    (b"- model\n- data\n", ["expected a mapping"]),
    (b"just text\n", ["expected a mapping"]),
    (b"model: {path: missing.pt\n", ["not valid YAML at line"]),
    (b"model:\n\tpath: missing.pt\n", ["not valid YAML at line 2"]),
    (b"model: {path: m\xe9.pt}\ndata: {source: digits}\n", ["not UTF-8 text"]),
    (b"\xff\xfe\x00\x00", ["not UTF-8 text"]),
    (b"model: {path: missing.pt}\ndata: {source: !!set {a, b}}\n", ["field data.source"]),
    (b"model: {path: missing.pt}\ndata: {source: digits}\nscan: {n: !!float 20}\n",
     ["field scan.n", "got 20.0"]),
    (b"model: {path: missing.pt}\ndata: {source: digits}\n[a]: 1\n", ["unhashable key"]),
])
def test_files_that_are_not_a_config(content: bytes, needles: list[str]) -> None:
    path = Path("odd.yaml")
    path.write_bytes(content)
    scan_error(path, *needles)


def test_a_folder_or_a_missing_file_as_config(tmp_path: Path) -> None:
    (tmp_path / "folder.yaml").mkdir()
    clean_error(cli("scan", "--config", "folder.yaml"), "folder.yaml", "cannot read")
    clean_error(cli("scan", "--config", "nope.yaml"), "nope.yaml: no such file")


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch PWNED']",
    "!!python/object/new:os.system ['touch PWNED']",
    "!!python/name:os.system",
    "!!python/module:os",
])
def test_python_tags_never_run(tag: str, canary: Path) -> None:
    path = config({"scan.attack_params": f"{{pgd: {{steps: {tag}}}}}"})
    scan_error(path, "not valid YAML")
    assert not canary.exists()


# -- valid configs still run; flags still override ------------------------------------------

@pytest.fixture
def weights(tmp_path: Path) -> Path:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    path = tmp_path / "net.safetensors"
    save_file(DemoCNN(width=4).state_dict(), str(path))
    return path


FAST_SCAN = ("{n: 20, attacks: [fgsm], calibration: false, ood: false, subgroups: false, "
             "validity: false, shifts: [], batch_size: 64}")


def _valid(weights: Path, **extra: str) -> Path:
    values = {"model.path": str(weights), "model.arch": "'trustbench.demo:DemoCNN'",
              "model.arch_kwargs": "{width: 4}", "scan": FAST_SCAN,
              "output.formats": "[json]", **extra}
    text = "\n".join(f"{k}: {v}" for k, v in values.items() if "." not in k)
    cfg = config({k: v for k, v in values.items() if "." in k}, name="valid.yaml")
    cfg.write_text(cfg.read_text(encoding="utf-8") + text + "\n", encoding="utf-8")
    return cfg


def test_a_valid_config_runs_and_flags_override_it(weights: Path) -> None:
    cfg = _valid(weights)
    r = cli("scan", "--config", cfg, "--quiet", "--out", "a")
    assert r.exit_code == 0, r.output
    card = json.loads(Path("a/scorecard.json").read_text(encoding="utf-8"))
    assert (card["provenance"]["config"]["n"], card["provenance"]["config"]["seed"]) == (20, 0)
    r = cli("scan", "--config", cfg, "--quiet", "--out", "b", "--n", "5", "--seed", "3",
            "--bounds", "0,1", "--eps", "0.1", "--severities", "1,2", "--budget", "60")
    assert r.exit_code == 0, r.output
    config_b = json.loads(Path("b/scorecard.json").read_text(encoding="utf-8"))["provenance"]
    assert (config_b["config"]["n"], config_b["config"]["seed"]) == (5, 3)
    assert config_b["config"]["eps"] == [0.1] and config_b["config"]["budget"] == 60.0


@pytest.mark.parametrize(("flag", "value", "needle"), [
    ("--seed", "-1", "--seed -1"), ("--n", "0", "--n 0"), ("--bounds", "1,0", "--bounds '1,0'"),
    ("--bounds", "nan,1", "--bounds 'nan,1'"), ("--eps", "inf", "--eps 'inf'"),
    ("--budget", "inf", "--budget inf"), ("--budget", "-1", "--budget -1"),
    ("--severities", "0", "--severities '0'"),
])
def test_bad_flags_over_a_config_name_the_flag(weights: Path, flag: str, value: str,
                                               needle: str) -> None:
    text = clean_error(cli("scan", "--config", _valid(weights), flag, value, "--quiet"), needle)
    assert "valid.yaml" not in text  # the flag is wrong, not the file


# -- mutations of a valid config: a clean exit 2 or a run, never a traceback ----------------

FIELDS = ["version", "model.path", "model.arch", "model.arch_kwargs", "model.mean", "model.std",
          "model.trust_pickle", "data.source", "data.target", "data.group", "data.split",
          "data.bounds", "data.schema", "data.audit", "scan.eps", "scan.norm", "scan.eps_units",
          "scan.attacks", "scan.attack_params", "scan.n", "scan.seed", "scan.batch_size",
          "scan.threads", "scan.budget", "scan.validity", "scan.shifts", "scan.severities",
          "scan.calibration", "scan.ood", "scan.subgroups", "scan.eot_draws", "gate.baseline",
          "gate.fail_on",
          "output.out", "output.formats"]

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**65), 2**65),
                     st.floats(allow_nan=True, allow_infinity=True),
                     st.text(max_size=8), st.sampled_from(["auto", "pgd", "digits", "linf"]))
# two levels of nesting, written out (st.recursive's "does it recurse" probe warns at random)
_FLAT = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3))
_VALUES = st.one_of(_FLAT, st.lists(_FLAT, max_size=3),
                    st.dictionaries(st.sampled_from(["pgd", "steps", "a", "width"]), _FLAT,
                                    max_size=2))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.dictionaries(st.sampled_from(FIELDS), _VALUES, min_size=1, max_size=3))
def test_random_mutations_exit_cleanly(mutations: dict[str, object], canary: Path) -> None:
    # JSON is YAML: every value keeps its type (strings stay quoted)
    path = config({k: json.dumps(v) for k, v in mutations.items()}, name="mutated.yaml")
    r = cli("scan", "--config", path, "--quiet", "--out", "report")
    text = clean_error(r)  # no config here can run: the model file does not exist
    if f"error: {path}" in text:  # refused by the config reader: it says where
        assert "field" in text or "line" in text, text
    assert not canary.exists()


@pytest.mark.parametrize(("rules", "index"), [
    ('["any fail", "accuracy < lots"]', 1), ('["robust_acc@linf:big < 0.5"]', 0),
    ('["not a rule at all"]', 0)])
def test_gate_rules_are_named_by_their_config_field(rules: str, index: int) -> None:
    text = scan_error(config({"gate.fail_on": rules}), f"field gate.fail_on[{index}]")
    assert "--fail-on" not in text.split(" -- ")[0]
