"""Catalogues: report/ and gate/ know no family by name, and a new family is one catalogue."""

from __future__ import annotations

import ast
import io
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import trustbench
from trustbench import catalogue, nist
from trustbench.catalogue import Alias, Catalogue, Headline, Section
from trustbench.checks import SCAN
from trustbench.findings import Finding, Metric
from trustbench.gate import apply_gate, parse_rule
from trustbench.gate.compare import better_direction
from trustbench.report import render_html, render_markdown, render_terminal
from trustbench.scorecard import Scorecard

SRC = Path(trustbench.__file__).parent
#: The one file in report/ or gate/ allowed to spell finding ids: the gate's own catalogue.
DECLARATIONS = {SRC / "gate" / "catalogue.py"}


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_every_built_in_family_is_registered_and_picklable() -> None:
    families = {c.family for c in catalogue.catalogues()}
    assert {"scan", "audit", "harden", "gate"} <= families
    assert pickle.loads(pickle.dumps(SCAN)) == SCAN


def test_report_and_gate_spell_no_finding_id() -> None:
    prefixes = catalogue.owned_prefixes()
    assert {"accuracy.", "robustness.", "audit.", "compress.", "gate."} <= set(prefixes)
    hits = []
    for package in ("report", "gate"):
        for path in sorted((SRC / package).rglob("*.py")):
            if path in DECLARATIONS:
                continue
            for line, text in _literals(path):
                for p in prefixes:
                    if text.startswith(p) if p.endswith(".") else text == p:
                        hits.append(f"{path.relative_to(SRC)}:{line}: {text[:40]!r}")
    assert hits == []


def test_a_scorecard_from_json_finds_every_catalogue_in_a_fresh_process() -> None:
    code = ("import sys\nfrom trustbench.report._common import section_of\n"
            "print(section_of('robustness.worst.linf.0.1'), section_of('gate.result'),"
            " 'trustbench.checks' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["robustness", "regression", "True"]


def test_declared_directions_agree_with_the_names() -> None:
    assert catalogue.direction("ece") == "lower"
    assert catalogue.direction("accuracy@3") == "higher"
    assert catalogue.direction("no_such_metric") == ""


def test_register_refuses_a_bad_direction() -> None:
    with pytest.raises(ValueError, match="direction"):
        catalogue.register_catalogue(Catalogue("bad", ("bad.",),
                                               aliases=(Alias("x", "bad.x:y", "up"),)))


TOY = Catalogue(
    family="toy",
    prefixes=("toy.",),
    sections=(Section("toy", "Toy family", 75, ("toy.",)),),
    headlines=(Headline("Toy score", "toy.check", ("toy_score",), 70),),
    aliases=(Alias("toy", "toy.check:toy_score", "higher"),),
    terminal=(("toy.", "summary"),),
)


@pytest.fixture
def toy_family(monkeypatch: pytest.MonkeyPatch) -> Scorecard:
    catalogue.catalogues()  # the built-in ones first, so the copy below holds them
    monkeypatch.setattr(catalogue, "_REGISTRY", dict(catalogue._REGISTRY))
    catalogue.register_catalogue(TOY)
    return Scorecard([
        Finding("accuracy.clean", "Clean accuracy 90.0%", "info",
                {"accuracy": Metric(0.9, (0.8, 0.95), "fraction")}, nist.ACCURACY),
        Finding("toy.check", "Toy check scored 40.0%", "warn",
                {"toy_score": Metric(0.4, unit="fraction")}, nist.ACCURACY,
                detail="The toy family's planted warning.")])


def test_a_new_family_gets_its_section_headline_and_alias(toy_family: Scorecard) -> None:
    card = toy_family
    html = render_html(card)
    section = html[html.index('<section id="toy">'):]
    section = section[:section.index("</section>")]
    assert "Toy family" in section and "Toy check scored 40.0%" in section
    assert html.index('<section id="accuracy">') < html.index('<section id="toy">')
    assert "Toy score" in render_markdown(card)

    out = io.StringIO()
    render_terminal(card, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    block = text[text.index("Beyond adversarial robustness"):]
    assert "WARN Toy check scored 40.0%" in block
    assert text.count("Toy check scored") == 1  # not repeated among the other findings

    assert parse_rule("toy < 0.5").key == "toy.check:toy_score"
    assert better_direction("toy_score") == "higher"
    gate = apply_gate(card, rules=["toy < 0.5", "toy < 0.3"])
    assert [r.fired for r in gate.results] == [True, False]
    assert catalogue.section_of("toy.check") == "toy"
