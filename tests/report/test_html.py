"""The HTML report: structure, escaping, figures, robustness to odd plot specs, round trip."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from report_cards import EVIL, N_FIGURES, build_card

from trustbench.findings import Finding, Metric
from trustbench.report import PlotSpecError, draw_plot, plotspec, render_html, write_html
from trustbench.report._html_parts import robustness_curves
from trustbench.report.plots import plot_html
from trustbench.scorecard import Scorecard

SECTION_ORDER = ["Accuracy", "Robustness", "Corruptions and shift", "Calibration",
                 "Out-of-distribution detection", "Subgroups and slices",
                 "Regression against baseline", "Evaluation validity", "Other findings",
                 "Not measured", "NIST AI RMF view", "Provenance"]


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(build_card())


def test_verdict_summary_and_sections_in_order(page: str) -> None:
    assert re.search(r'id="verdict"><span class="label">Verdict</span><strong>FAIL</strong>', page)
    assert 'data-verdict="fail"' in page
    # the summary names the headline numbers
    assert "Clean accuracy: <strong>90.0%</strong>" in page
    assert "Worst-case robust accuracy, L∞ eps=0.1 (raw units): <strong>20.0%</strong>" in page
    assert "Mean corruption accuracy: <strong>67.0%</strong>" in page
    assert "Of 16 findings, 2 failed and 3 raised a warning." in page
    main = page[page.index("<main>"):]
    positions = [main.index(f"<h2>{h}") for h in SECTION_ORDER]
    assert positions == sorted(positions)
    for anchor in ("robustness", "shift", "calibration", "ood", "subgroups", "regression",
                   "validity", "other", "not-measured", "nist", "provenance"):
        assert f'<a href="#{anchor}">' in page  # in the contents list


def test_user_strings_are_escaped(page: str) -> None:
    assert "<script>alert" not in page
    assert page.count("<script>") == 1  # only the page's own script
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page


def test_every_plot_kind_is_drawn(page: str) -> None:
    assert f'data-figures-expected="{N_FIGURES}"' in page
    assert 'data-figure-errors="0"' in page
    assert page.count('<figure class="plot"') == N_FIGURES
    assert page.count("<svg ") == 5  # lines (2), bars (2), reliability: vector
    assert page.count('src="data:image/png;base64,') == 2  # heat map, images: pixels


def test_self_contained(page: str) -> None:
    for pattern in (r"<link\b", r'src="(?!data:)', r"@import", r"url\((?!#)", r"<iframe"):
        assert not re.search(pattern, page), pattern
    assert not re.search(r'href="(?!#)', page)  # only in-page links


def test_round_trip_through_json_gives_the_same_page(tmp_path) -> None:
    card = build_card()
    card.findings[0].evidence["array"] = np.arange(3)  # in-memory values JSON reads back as lists
    card.findings[0].metrics["np"] = Metric(np.float32(0.25), unit="fraction")
    path = card.to_json(tmp_path / "scorecard.json")
    assert render_html(card) == render_html(Scorecard.from_json(path))


def test_write_html_is_atomic_and_complete(tmp_path, page: str) -> None:
    out = write_html(build_card(), tmp_path / "sub" / "report.html")
    assert out.read_text(encoding="utf-8") == page  # rendering is deterministic
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temporary left


def test_broken_plot_spec_gives_a_note_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    good = plotspec.bars("fine", ["a"], [1.0], value_label="v")
    card = Scorecard([Finding("custom.a", "a", "info", evidence={"plots": [good]})])
    card.findings[0].evidence["plots"] += [
        {"kind": "heatmap", "title": "bad heat", "rows": ["a"], "cols": ["b", "c"], "values": [[1.0]]},
        {"kind": "sunburst", "title": "unknown kind"}]
    with caplog.at_level(logging.WARNING, logger="trustbench.report.plots"):
        page = render_html(card)
    assert page.count("figure could not be drawn") == 2
    assert "“bad heat”: values have shape (1, 1), rows × cols is 1 × 2" in page
    assert 'data-figure-errors="2"' in page
    assert 'data-figures-expected="1"' in page and "<figcaption>fine</figcaption>" in page
    assert len([r for r in caplog.records if "could not be drawn" in r.getMessage()]) == 2


def test_empty_scorecard_renders() -> None:
    page = render_html(Scorecard())
    assert "<strong>PASS</strong>" in page
    assert 'data-figures-expected="0"' in page
    assert "<h2>Provenance" in page and "<h2>Robustness" not in page


def test_plain_informational_findings_fold_away() -> None:
    fs = [Finding(f"validity.c{i}", f"check {i}", "info") for i in range(6)]
    page = render_html(Scorecard([*fs, Finding("validity.bad", "bad one", "warn")]))
    start = page.index('<details class="more">')
    folded = page[start:page.index("</details>", start)]
    assert "6 more informational findings" in folded
    assert "bad one" not in folded  # warnings stay in view


def test_long_evidence_is_truncated(page: str) -> None:
    assert "… 980 more" in page  # evidence["long"] has 1000 entries
    (evidence,) = re.findall(r"<pre>([^<]*… 980 more[^<]*)</pre>", page)
    assert "999" not in evidence and "&quot;groups&quot;" in evidence


def test_robustness_curves_come_from_findings() -> None:
    card = build_card()
    rob = [f for f in card.findings if f.id.startswith("robustness.")]
    (spec,) = robustness_curves(rob, card.get("accuracy.clean").metrics["accuracy"], "raw")
    labels = [s["label"] for s in spec["series"]]
    assert labels == ["fgsm", "pgd", "worst case"]
    pgd = spec["series"][1]
    assert pgd["x"] == [0.0, 0.05, 0.1]  # clean accuracy at eps = 0 starts the curve
    assert pgd["y"] == [0.9, 0.6, 0.2]
    assert pgd["lo"] == pytest.approx([0.83, 0.5, 0.1]) and pgd["hi"] == pytest.approx([0.94, 0.7, 0.3])


ODD_SPECS = {
    "gaps and lonely points": plotspec.lines("t", [
        {"label": "a", "x": [0, 1, 2], "y": [None, 0.5, None], "lo": [None, 0.4, None],
         "hi": [None, 0.6, None]}, {"label": "b", "x": [1], "y": [2]}], x_label="x", y_label="y"),
    "no series": plotspec.lines("t", [], x_label="x", y_label="y"),
    "all empty": plotspec.lines("t", [{"label": "e", "x": [], "y": []}], x_label="x", y_label="y"),
    "huge heat map": plotspec.heatmap("t", np.random.default_rng(0).random((300, 80)),
                                      rows=[f"row {i} " + "x" * 60 for i in range(300)],
                                      cols=[str(i) for i in range(80)], value_label="v"),
    "all-NaN heat map": plotspec.heatmap("t", np.full((2, 3), np.nan), rows=["a", "b"],
                                         cols=["1", "2", "3"], value_label="v"),
    "constant heat map": plotspec.heatmap("t", np.ones((2, 2)), rows=["a", "b"], cols=["1", "2"],
                                          value_label="v"),
    "empty heat map": plotspec.heatmap("t", np.zeros((0, 0)), rows=[], cols=[], value_label="v"),
    "many long bars": plotspec.bars("t", ["label " * 30 + str(i) for i in range(500)],
                                    np.linspace(0, 1, 500), value_label="v", reference=0.5),
    "no bars": plotspec.bars("t", [], [], value_label="v"),
    "empty reliability bins": plotspec.reliability(
        "t", bin_edges=[0, 0.5, 1], bin_confidence=[None, None], bin_accuracy=[None, None],
        bin_count=[0, 0]),
    "many images": plotspec.images("t", [{"label": str(i), "clean": np.zeros((4, 4)),
                                          "perturbed": np.ones((3, 4, 4))} for i in range(40)]),
    "no images": plotspec.images("t", []),
}


@pytest.mark.parametrize("name", list(ODD_SPECS))
def test_odd_inputs_still_draw_a_small_figure(name: str) -> None:
    markup, drawn = plot_html(ODD_SPECS[name], fig_id="fig-1")
    assert drawn, markup
    assert len(markup) < 300_000


def test_big_inputs_are_cut_with_a_note() -> None:
    fig = draw_plot(ODD_SPECS["huge heat map"])
    assert "showing 40 of 300 rows, 30 of 80 columns" in [t.get_text() for t in fig.texts]
    fig = draw_plot(ODD_SPECS["many long bars"])
    assert "showing 40 of 500 bars" in [t.get_text() for t in fig.texts]
    assert all(len(t.get_text()) <= 40 for t in fig.axes[0].get_yticklabels())


@pytest.mark.parametrize("spec, message", [
    ({"kind": "pie", "title": "t"}, "unknown plot kind 'pie'"),
    ({"kind": "lines", "series": [{"label": "s", "x": [1, 2], "y": [1]}]}, "lengths differ"),
    ({"kind": "bars", "labels": ["a"], "values": ["high"]}, "must hold numbers"),
    ({"kind": "images", "pairs": [{"label": "p", "clean": np.zeros((5, 2, 2)).tolist(),
                                   "perturbed": [[0.0]]}]}, "expected (H, W), (1, H, W) or (3, H, W)"),
    ({"kind": "reliability", "bin_edges": [0, 1], "bin_confidence": [], "bin_accuracy": [],
      "bin_count": []}, "one confidence, accuracy and count per bin"),
    ({"kind": "lines", "series": [], "y_range": [1, 0]}, None),  # nothing drawn: range unused
])
def test_draw_plot_names_what_is_wrong(spec: dict, message: str | None) -> None:
    if message is None:
        draw_plot(spec)
        return
    with pytest.raises(PlotSpecError, match=re.escape(message)):
        draw_plot(spec)


def test_image_layouts_grey_and_colour() -> None:
    fig = draw_plot(plotspec.images("t", [
        {"label": "hw", "clean": np.zeros((5, 6)), "perturbed": np.ones((1, 5, 6))},
        {"label": "chw", "clean": np.zeros((3, 5, 6)), "perturbed": np.ones((3, 5, 6))}]))
    shapes = [ax.images[0].get_array().shape for ax in fig.axes if ax.images]
    assert shapes == [(5, 6), (5, 6), (5, 6, 3), (5, 6, 3)]


def test_evil_strings_in_every_field_are_escaped() -> None:
    f = Finding(f"custom.{EVIL}", EVIL, "warn", {EVIL: Metric(1.0, unit=EVIL)}, detail=EVIL,
                evidence={EVIL: EVIL, "plots": [plotspec.bars(EVIL, [EVIL], [1.0], value_label=EVIL)]})
    page = render_html(Scorecard([f], {"data": {"name": EVIL}, EVIL: EVIL, "config": {EVIL: EVIL}},
                                 [EVIL]))
    assert "<script>alert" not in page
    assert page.count("<script>") == 1


def test_repeated_finding_ids_get_unique_anchors() -> None:
    card = Scorecard([Finding("x.same", "first", "warn"), Finding("x.same", "second", "warn"),
                      Finding("x/odd id", "third", "info", evidence=[1, 2])])  # type: ignore[arg-type]
    page = render_html(card)
    ids = re.findall(r'<article [^>]*id="([^"]+)"', page)
    assert ids == ["f-x.same", "f-x.same-2", "f-x_odd_id"]
    assert "&quot;evidence&quot;: [" in page  # evidence that is not a dict is still shown


def test_evidence_table_is_drawn_as_an_escaped_table() -> None:
    from trustbench.findings import Finding
    from trustbench.report import render_html
    from trustbench.scorecard import Scorecard

    card = Scorecard([Finding("compress.tradeoff", "variants", "info",
                              evidence={"table": {"columns": ["variant", "size"],
                                                  "rows": [["<int8>", 48.5], ["float", None]]}})])
    html = render_html(card)
    assert "<th>variant</th>" in html and "&lt;int8&gt;" in html and "<int8>" not in html
    assert ">48.5<" in html
