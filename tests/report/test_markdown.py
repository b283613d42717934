"""The Markdown summary for pull requests."""

from __future__ import annotations

from report_cards import build_card

from trustbench.findings import Finding, Metric
from trustbench.gate.compare import compare_scorecards
from trustbench.report import render_markdown, write_markdown
from trustbench.scorecard import Scorecard


def test_summary_has_verdict_key_metrics_flagged_findings_and_gaps() -> None:
    md = render_markdown(build_card())
    lines = md.splitlines()
    assert lines[0] == "## ❌ trustbench: FAIL"
    assert "16 findings: 2 fail, 3 warn, 11 info." in lines
    assert "| Clean accuracy | 90.0% | 83.0%–94.0% |" in lines
    assert "| Worst-case robust accuracy, L∞ eps=0.1 (raw units) | 20.0% | 10.0%–30.0% |" in lines
    assert "| Mean corruption accuracy | 67.0% | 60.0%–73.0% |" in lines
    assert "| Expected calibration error (ECE) | 4.0% | 2.0%–6.0% |" in lines
    flagged = [s for s in lines if s.startswith("- **")]
    assert [s.split("**")[1] for s in flagged] == ["FAIL", "FAIL", "WARN", "WARN", "WARN"]
    assert "- **FAIL** Gate: 1 of 2 rules fired (`gate.rules`) — rule robust\\_acc&gt;=0.5 fired" in lines
    assert any(s.startswith("**Not measured:** out-of-distribution text;") for s in lines)
    assert len(lines) <= 60


def test_user_strings_cannot_inject_html_or_break_tables() -> None:
    md = render_markdown(build_card())
    assert "<script>" not in md.replace("`Model <script>", "")  # code spans show text as is
    assert "Worst group &lt;script&gt;alert('x')&lt;/script&gt; &amp; \"quoted\" \\| \\*bold\\*" in md
    for line in md.splitlines():
        if line.startswith("| "):
            assert line.replace("\\|", "").count("|") == 4  # three cells in every row


def test_stays_short_with_many_findings() -> None:
    findings = [Finding(f"validity.w{i}", f"warning {i}", "warn", detail="Why. " * 100)
                for i in range(200)]
    md = render_markdown(Scorecard(findings, not_measured=["a", "b"]))
    assert len(md.splitlines()) <= 60
    assert "- …and 188 more (see the HTML report)" in md
    assert "## ⚠️ trustbench: WARN" in md


def test_pass_without_provenance() -> None:
    md = render_markdown(Scorecard([Finding("accuracy.clean", "ok", "info",
                                            {"accuracy": Metric(1.0, unit="fraction")})]))
    assert md.startswith("## ✅ trustbench: PASS\n")
    assert "| Clean accuracy | 100.0% | – |" in md
    assert "Warnings and failures" not in md


def test_baseline_comparison_lists_the_largest_changes() -> None:
    current = build_card()
    baseline = build_card()
    baseline.findings[0] = Finding("accuracy.clean", "Clean", "info",
                                   {"accuracy": Metric(0.95, (0.89, 0.98), "fraction")})
    cmp = compare_scorecards(current, baseline)
    md = render_markdown(current, baseline_diff=cmp)
    assert "### Change against the baseline" in md
    row = next(s for s in md.splitlines() if s.startswith("| `accuracy.clean`"))
    assert row.startswith("| `accuracy.clean` : accuracy | 95.0% | 90.0% | -5.0 pp (")
    assert render_markdown(current, baseline_diff=cmp.to_dict()) == md  # the dict form too
    same = render_markdown(current, baseline_diff=compare_scorecards(current, current))
    assert "No metric changed." in same
    assert len(md.splitlines()) <= 60


def test_write_markdown(tmp_path) -> None:
    card = build_card()
    out = write_markdown(card, tmp_path / "summary.md")
    assert out.read_text(encoding="utf-8") == render_markdown(card)
