"""The dataset card holds the measured facts and marks what a person must fill in; a scan's
accuracies are recomputed without the rows an audit flagged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trustbench.audit import audit, caveat_findings, dataset_card, render_card, write_card
from trustbench.findings import Finding
from trustbench.metrics.stats import pack_bools
from trustbench.scorecard import Scorecard


@pytest.fixture(scope="module")
def card(planted, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("tables")
    planted.train.to_csv(folder / "train.csv", index=False)
    planted.test.to_csv(folder / "test.csv", index=False)
    return audit(folder / "train.csv", folder / "test.csv", target="y", groups=["g"], id_column="uid",
                 time_column="t", expect=["g=x:0.7,y:0.3"],
                 checks=["missing", "imbalance", "duplicates", "leakage", "representation"])


def test_card_sections_and_facts(card) -> None:  # type: ignore[no-untyped-def]
    md = render_card(dataset_card(card))
    for heading in ("## Motivation", "## Composition", "## Collection Process",
                    "## Preprocessing/cleaning/labeling", "## Uses", "## Distribution",
                    "## Maintenance", "## Known issues"):
        assert heading in md
    assert "> TODO (dataset owner): For what purpose" in md
    assert "- **train**: 600 rows × 9 columns" in md
    assert card.provenance["data"]["train"]["sha256"] in md
    assert "8 of 200 test rows also appear in the training data" in md
    assert "Rows span 2024-01-01" in md and "--id uid --time t" in md


def test_write_card_round_trips(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    md, js = write_card(card, tmp_path / "sub" / "card.md")
    d = json.loads(js.read_text())
    assert md.read_text().startswith("# Dataset card")
    assert d["composition"]["classes"]["1"]["train"] == int(card.provenance["classes"]["1"]["train"])
    assert any(i["id"] == "audit.leakage.shared_rows" for i in d["known_issues"])
    again = Scorecard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert dataset_card(again)["known_issues"] == d["known_issues"]


def _scan(n: int, fingerprint: str, *, n_source: int | None = None) -> Scorecard:
    correct = np.ones(n, bool)
    correct[:4] = False  # the first (leaked) rows are wrong, for a visible change
    robust = correct.copy()
    robust[50:100] = False
    return Scorecard([
        Finding("accuracy.clean", "acc", "info", evidence={"correct": pack_bools(correct)}),
        Finding("robustness.worst.linf.0.1", "rob", "info", evidence={"robust": pack_bools(robust)}),
    ], provenance={"data": {"fingerprint": fingerprint, "n": n, "n_source": n_source or n}})


def test_caveats_recompute_accuracy(card) -> None:  # type: ignore[no-untyped-def]
    flags = card.get("audit.test_flags").evidence
    from trustbench.data import load_data

    scanned = load_data(flags["test_name"], target="y", group="g")
    assert flags["test_fingerprints_by_group"]["g"] == scanned.fingerprint()
    leak = np.array(flags["rows"]["leak"])
    [f] = caveat_findings(_scan(200, flags["test_fingerprint"]), card)
    keep = np.ones(200, bool)
    keep[leak] = False
    correct = np.ones(200, bool)
    correct[:4] = False
    assert f.severity == "warn" and f.metrics["leak_rows"].value == len(leak)
    assert f.metrics["clean_accuracy"].value == pytest.approx(0.98)
    assert f.metrics["clean_accuracy_without_flagged"].value == pytest.approx(correct[keep].mean())
    robust = correct.copy()
    robust[50:100] = False
    assert f.metrics["robust_accuracy_without_flagged.linf.0.1"].value == pytest.approx(
        robust[keep].mean())


def test_caveats_need_the_full_test_set(card) -> None:  # type: ignore[no-untyped-def]
    [f] = caveat_findings(_scan(100, "sha256:sample", n_source=200), card)
    assert f.severity == "warn" and "need the full test set" in f.title
    [f] = caveat_findings(_scan(200, "sha256:other"), card)
    assert "fingerprints differ" in f.title
    no_test = Scorecard([], provenance={})
    assert "without --test" in caveat_findings(_scan(200, "x"), no_test)[0].title
