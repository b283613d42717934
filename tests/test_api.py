"""The public API, pinned: every change to a face's ``__all__`` is a visible change here.

A *face* is the root package or any subpackage with an ``__init__.py``. Rules:

* every face has an ``__all__``, equal to the sorted list written below;
* every name in ``__all__`` exists on the face;
* every public (non-underscore) name a face's ``__init__.py`` *defines* (def, class,
  assignment) or *imports from its own package* must be in ``__all__``. Names it imports
  from elsewhere (the standard library, third parties, another trustbench subpackage, e.g.
  ``trustbench.models`` using ``trustbench.errors.InputError``) are implementation details;
  star imports are refused;
* no module imports an underscore name (``_name``, not a dunder) from another subpackage,
  nor reaches one as ``module._name``. Modules whose own name starts with ``_``
  (``trustbench._files``) may be imported; top-level modules of the root package form one
  unit, like a subpackage's modules. Attributes of *objects* (``model._mean``) cannot be
  seen statically; those are kept public by review.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import trustbench

SRC = Path(trustbench.__file__).parent  # .../src/trustbench

PINNED: dict[str, list[str]] = {
    "trustbench": [
        "Dataset",
        "Finding",
        "InputError",
        "Metric",
        "NotMeasured",
        "RunOptions",
        "ScanConfig",
        "ScanOutcome",
        "ScanPlan",
        "Schema",
        "Scorecard",
        "TrustbenchError",
        "UnsafeModelError",
        "__version__",
        "as_model",
        "load_builtin",
        "load_data",
        "load_model",
        "open_output",
        "plan_scan",
        "run_scan",
        "scan",
        "write_reports",
    ],
    "trustbench.attacks": [
        "APGD",
        "APGDDLR",
        "APGDT",
        "Attack",
        "AttackContext",
        "AttackResult",
        "FGSM",
        "PGD",
        "Param",
        "REGISTRY",
        "Square",
        "Standard",
        "check_attack_params",
        "get_attack",
        "robustness_curve",
    ],
    "trustbench.audit": [
        "AUDIT",
        "AuditContext",
        "CAVEATS_ID",
        "CHECKS",
        "ProgressFactory",
        "TEST_FLAGS_ID",
        "Table",
        "audit",
        "caveat_findings",
        "confident_joint",
        "dataset_card",
        "estimate_noise_rate",
        "find_label_issues",
        "label_quality",
        "rank_label_issues",
        "read_table",
        "render_card",
        "write_card",
    ],
    "trustbench.checks": [
        "AttackRuns",
        "AttackSpec",
        "Calibration",
        "CheckContext",
        "Checked",
        "ProgressFactory",
        "RunOptions",
        "SCAN",
        "ScanConfig",
        "ScanPlan",
        "ShiftResults",
        "Step",
        "Subgroups",
        "adversarial_robustness",
        "calibration_checks",
        "clean_accuracy",
        "ood_detection",
        "register_step",
        "scan_step",
        "scan_steps",
        "shift_robustness",
        "subgroup_performance",
        "validity_checks",
    ],
    "trustbench.commands": [],
    "trustbench.data": [
        "BUILTIN",
        "Dataset",
        "FEATURE_TYPES",
        "Schema",
        "load_builtin",
        "load_data",
    ],
    "trustbench.gate": [
        "Comparison",
        "GATE",
        "GateResult",
        "MetricDelta",
        "Rule",
        "RuleResult",
        "apply_gate",
        "compare_scorecards",
        "evaluate_rules",
        "parse_rule",
    ],
    "trustbench.harden": [
        "AugmentationResult",
        "DEFAULT_DOMAIN",
        "EpochRecord",
        "HARDEN",
        "METHODS",
        "QuantizationResult",
        "QuantizedModel",
        "TrainResult",
        "Trainer",
        "ard_loss",
        "compress_report",
        "default_student",
        "distill",
        "fast_at_loss",
        "harden_by_augmentation",
        "harden_to_dir",
        "kd_loss",
        "latency_per_example",
        "pgd_at_loss",
        "prediction_agreement",
        "quantize_int8",
        "rslad_loss",
        "trades_loss",
    ],
    "trustbench.metrics": [
        "GroupMetrics",
        "MetricByGroup",
        "ReliabilityBins",
        "Slice",
        "SliceReport",
        "TemperatureScaling",
        "brier_score",
        "by_group",
        "encode_groups",
        "energy_score",
        "expected_calibration_error",
        "expected_calibration_error_ci",
        "fpr_at_tpr",
        "log_softmax",
        "max_softmax_score",
        "maximum_calibration_error",
        "median_or_nan",
        "negative_log_likelihood",
        "ood_auroc",
        "pack_bools",
        "paired_difference",
        "reliability_bins",
        "unpack_bools",
        "weakest_slices",
        "wilson_interval",
    ],
    "trustbench.models": [
        "CallableModel",
        "Capabilities",
        "Model",
        "SklearnModel",
        "TorchModel",
        "as_model",
    ],
    "trustbench.report": [
        "PlotSpecError",
        "draw_plot",
        "render_html",
        "render_junit",
        "render_markdown",
        "render_terminal",
        "write_html",
        "write_junit",
        "write_markdown",
    ],
    "trustbench.shifts": [
        "Brightness",
        "CategorySwap",
        "Contrast",
        "DefocusBlur",
        "ElasticTransform",
        "FeatureNoise",
        "FeatureOffset",
        "FeatureScale",
        "Fog",
        "GaussianBlur",
        "GaussianNoise",
        "ImageShift",
        "ImpulseNoise",
        "JPEGCompression",
        "LabelShift",
        "MissingValues",
        "MotionBlur",
        "Pixelate",
        "SEVERITY_RANGE",
        "SHIFTS",
        "Saturate",
        "Shift",
        "ShotNoise",
        "TabularShift",
        "check_severity",
        "get_shift",
        "mean_change",
        "model_accepts_nan",
        "shift_class",
        "shifts_for",
    ],
    "trustbench.monitor": [
        "AccuracyEstimate",
        "CategoricalSketch",
        "ColumnDrift",
        "ConfidenceCalibration",
        "DRIFT_TESTS",
        "DriftResult",
        "DriftTest",
        "NumericSketch",
        "Profile",
        "WindowDrift",
        "benjamini_hochberg",
        "build_profile",
        "check_drift",
        "estimate_accuracy",
        "read_chunks",
        "register_drift_test",
        "window_alpha",
        "window_performance",
    ],
    "trustbench.monitor.serve": [],
    "trustbench.align": ["Agreement", "LabelSession", "Leakage", "Preference", "RewardModel",
                         "SyntheticTask", "annotator_agreement", "best_of_n", "dpo_loss",
                         "leakage_report", "load_policy", "load_reward_model", "read_demonstrations",
                         "read_pairs", "read_preferences", "read_prompts", "save_model",
                         "serve_labels", "split_preferences", "synthetic_study", "tiny_gpt2",
                         "train_dpo", "train_reward_model", "train_rloo", "train_sft"],
    "trustbench.select": ["Candidate", "Selection", "parse_requirement", "parse_weight",
                          "select_models", "selection_card"],
    "trustbench.execution": ["Executor", "LocalExecutor", "RayExecutor"],
    "trustbench.security": ["FileReport", "inspect_file", "inspect_path", "inspection_card"],
    "trustbench.security.files": [],
    "trustbench.security.detect": [],
    "trustbench.monitor.drift": [
        "DRIFT_TESTS",
        "DriftResult",
        "DriftTest",
        "MIN_ROWS",
        "default_test",
        "get_drift_test",
        "register_drift_test",
    ],
    "trustbench.testing": [
        "Check",
        "attack_checks",
        "audit_checks",
        "check_attack",
        "check_audit_check",
        "check_shift",
        "checks_for",
        "parametrize_with_checks",
        "parametrized_checks",
        "shift_checks",
    ],
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _faces() -> list[str]:
    return sorted(_module_name(p) for p in SRC.rglob("__init__.py"))


def _face_params() -> list[object]:
    return list(_faces())


def test_every_face_is_pinned() -> None:
    assert _faces() == sorted(PINNED), "a subpackage was added or removed: pin its __all__ here"


@pytest.mark.parametrize("face", _face_params())
def test_all_is_pinned(face: str) -> None:
    module = importlib.import_module(face)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{face} has no __all__"
    assert len(set(exported)) == len(exported), f"{face}.__all__ lists a name twice"
    assert sorted(exported) == PINNED[face]


@pytest.mark.parametrize("face", _faces())
def test_every_exported_name_exists(face: str) -> None:
    module = importlib.import_module(face)
    missing = [n for n in getattr(module, "__all__", []) if not hasattr(module, n)]
    assert missing == []


def _public_bindings(init: Path, face: str) -> set[str]:
    """Public names ``init`` defines or imports from ``face``'s own package (see the rules)."""
    own = face + "."
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(node, face, is_package=True)
                if any(a.name == "*" for a in node.names):
                    raise AssertionError(f"{init}: star import from {source}")
                if source == face or source.startswith(own):
                    names.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and (a.name == face or a.name.startswith(own)):
                        names.add(a.asname)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(node.orelse)
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                visit(getattr(node, "finalbody", []))

    visit(ast.parse(init.read_text(encoding="utf-8")).body)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("face", _faces())
def test_no_public_name_is_missing_from_all(face: str) -> None:
    init = SRC.parent.joinpath(*face.split("."), "__init__.py")
    module = importlib.import_module(face)
    exported = set(getattr(module, "__all__", []))
    assert sorted(_public_bindings(init, face) - exported) == []


def test_public_bindings_sees_definitions_and_own_imports(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text("from typing import Any\nfrom trustbench.errors import InputError\n"
                    "from trustbench.models.base import Model\nfrom .torch import TorchModel\n"
                    "LIMIT = 3\n_hidden = 1\ndef helper(): ...\nclass Thing: ...\n")
    assert _public_bindings(init, "trustbench.models") == {"Model", "TorchModel", "LIMIT",
                                                           "helper", "Thing"}


# -- private names stay inside their subpackage ------------------------------------------

def _resolve(node: ast.ImportFrom, module: str, *, is_package: bool) -> str:
    """The absolute module an ``ImportFrom`` reads from."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(name: str) -> bool:
    if not name.startswith("trustbench"):
        return False
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _unit(module: str) -> str:
    """``trustbench.<subpackage>``, or ``trustbench`` for the root package's own modules."""
    parts = module.split(".")
    if len(parts) > 1 and (SRC / parts[1] / "__init__.py").is_file():
        return ".".join(parts[:2])
    return "trustbench"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Underscore names that ``module`` takes from another subpackage, as readable lines."""
    tree = ast.parse(source)
    unit = _unit(module)
    aliases: dict[str, str] = {}  # local name -> trustbench module it is bound to
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source_module = _resolve(node, module, is_package=is_package)
            if not source_module.startswith("trustbench"):
                continue
            for a in node.names:
                full = f"{source_module}.{a.name}"
                if _is_module(full):
                    aliases[a.asname or a.name] = full
                elif _is_private(a.name) and _unit(source_module) != unit:
                    found.append(f"line {node.lineno}: from {source_module} import {a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("trustbench"):
                    if a.asname:
                        aliases[a.asname] = a.name
                    else:
                        aliases["trustbench"] = "trustbench"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        chain: list[str] = []
        value: ast.expr = node.value
        while isinstance(value, ast.Attribute):
            chain.insert(0, value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in aliases:
            owner = ".".join([aliases[value.id], *chain])
            if _is_module(owner) and not _is_module(f"{owner}.{node.attr}") \
                    and _unit(owner) != unit:
                found.append(f"line {node.lineno}: {owner}.{node.attr}")
    return found


def test_no_private_name_crosses_a_subpackage() -> None:
    offences = []
    for path in sorted(SRC.rglob("*.py")):
        uses = private_uses(path.read_text(encoding="utf-8"), _module_name(path),
                            is_package=path.name == "__init__.py")
        offences += [f"{path.relative_to(SRC.parent)} {u}" for u in uses]
    assert offences == [], "give these a public name in their home module:\n" + "\n".join(offences)


@pytest.mark.parametrize(("source", "module", "expected"), [
    ("from trustbench.metrics.temperature import _log_softmax", "trustbench.checks.calibration",
     ["line 1: from trustbench.metrics.temperature import _log_softmax"]),
    ("from ..metrics.temperature import _log_softmax", "trustbench.checks.calibration",
     ["line 1: from trustbench.metrics.temperature import _log_softmax"]),
    ("from trustbench.models import base\nbase._describe_output(1)", "trustbench.harden.run",
     ["line 2: trustbench.models.base._describe_output"]),
    ("import trustbench.models.base\ntrustbench.models.base._OUTPUT_FIX", "trustbench.scan",
     ["line 2: trustbench.models.base._OUTPUT_FIX"]),
    ("from trustbench.errors import _private", "trustbench.scan", []),  # one root unit
    ("from trustbench.models.base import _describe_output", "trustbench.models.torch", []),
    ("from trustbench import _files\nfrom trustbench._version import __version__",
     "trustbench.report.html", []),
    ("from trustbench.commands import _console", "trustbench.cli", []),
])
def test_private_uses_finds_crossings_and_allows_the_rest(source: str, module: str,
                                                          expected: list[str]) -> None:
    assert private_uses(source, module) == expected


# -- computing does not load the renderers -----------------------------------------------

LIBRARY = ("checks", "audit", "gate", "harden")  # they build plot specs, never draw them
# (module, function) of the imports of trustbench.report allowed there: none (harden_to_dir
# takes the HTML writer from its caller, the command).
RENDERER_IMPORTS_ALLOWED: set[tuple[str, str]] = set()


def renderer_imports(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, str]]:
    """``(enclosing function or "<module>", "line N: ...")`` for each import of trustbench.report."""
    found: list[tuple[str, str]] = []

    def reads_report(name: str) -> bool:
        return name == "trustbench.report" or name.startswith("trustbench.report.")

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ImportFrom):
                source_module = _resolve(child, module, is_package=is_package)
                targets = [source_module] + [f"{source_module}.{a.name}" for a in child.names]
                if any(reads_report(t) for t in targets):
                    names = ", ".join(a.name for a in child.names)
                    found.append((where, f"line {child.lineno}: from {source_module} import {names}"))
            elif isinstance(child, ast.Import):
                found.extend((where, f"line {child.lineno}: import {a.name}")
                             for a in child.names if reads_report(a.name))
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else where
            visit(child, inner)

    visit(ast.parse(source), "<module>")
    return found


def test_checks_audit_gate_and_harden_do_not_import_the_renderers() -> None:
    offences, allowed_seen = [], set()
    for package in LIBRARY:
        for path in sorted((SRC / package).rglob("*.py")):
            module = _module_name(path)
            for where, line in renderer_imports(path.read_text(encoding="utf-8"), module,
                                                is_package=path.name == "__init__.py"):
                if (module, where) in RENDERER_IMPORTS_ALLOWED:
                    allowed_seen.add((module, where))
                else:
                    offences.append(f"{path.relative_to(SRC.parent)} ({where}) {line}")
    assert offences == [], ("build figures with trustbench.plotspec; anything else these "
                            "need from report/ belongs in a core module:\n" + "\n".join(offences))
    assert allowed_seen == RENDERER_IMPORTS_ALLOWED, "drop the stale RENDERER_IMPORTS_ALLOWED entries"


@pytest.mark.parametrize(("source", "expected"), [
    ("from trustbench.report import plotspec",
     [("<module>", "line 1: from trustbench.report import plotspec")]),
    ("from trustbench import report", [("<module>", "line 1: from trustbench import report")]),
    ("import trustbench.report.html", [("<module>", "line 1: import trustbench.report.html")]),
    ("from ..report.plots import draw_plot",
     [("<module>", "line 1: from trustbench.report.plots import draw_plot")]),
    ("def f():\n    if True:\n        from trustbench.report import write_html",
     [("f", "line 3: from trustbench.report import write_html")]),
    ("from trustbench import plotspec\nfrom trustbench.findings import Finding\nimport reportlab", []),
])
def test_renderer_imports_finds_every_spelling(source: str, expected: list[tuple[str, str]]) -> None:
    assert renderer_imports(source, "trustbench.checks.shift") == expected


def test_importing_the_library_loads_no_renderer() -> None:
    code = ("import sys, trustbench.checks, trustbench.audit, trustbench.gate, trustbench.harden\n"
            "print(sorted(m for m in sys.modules if m.startswith(('trustbench.report', 'rich'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_torch_scan_loads_only_what_it_uses() -> None:
    # pandas, scikit-learn and scipy.stats cost a torch model's scan over a second of
    # imports; they load only for the data, models and checks that need them
    code = """
import sys, numpy as np, torch
import trustbench, trustbench.audit, trustbench.harden
from trustbench import Dataset, ScanConfig, Schema, scan
x = np.random.default_rng(0).random((40, 1, 4, 4), dtype=np.float32)
y = (x.mean((1, 2, 3)) > 0.5).astype(np.int64)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
data = Dataset(x, y, Schema("image", np.zeros((1, 4, 4)), np.ones((1, 4, 4))))
scan(model, data, ScanConfig(eps=[0.1], attacks=["fgsm"], eps_units="raw", shifts=[],
                             ood=False, calibration=False, subgroups=False))
print(sorted(m for m in ("pandas", "sklearn", "scipy.stats", "scipy.ndimage") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_test_files_have_unique_names() -> None:
    # the test folders are not packages: two test files of one name stop the collection
    names = [p.name for p in (SRC.parents[1] / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
