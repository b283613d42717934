"""Preference data: one-line errors, splits by prompt, leakage and annotator agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trustbench.align.data import (
    Preference,
    annotator_agreement,
    cohen_kappa,
    krippendorff_alpha,
    leakage_report,
    read_preferences,
    split_preferences,
)
from trustbench.errors import InputError


def _write(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


OK = {"prompt": "2+2?", "chosen": "4", "rejected": "5"}


def test_a_valid_file_reads_with_its_optional_fields(tmp_path: Path) -> None:
    f = _write(tmp_path / "p.jsonl", [OK, "", {**OK, "annotator": "a", "group": "en",
                                               "margin": 2, "id": 7}])
    rows = read_preferences(f)
    assert [r.line for r in rows] == [1, 3]
    assert rows[1] == Preference("2+2?", "4", "5", "a", "en", 2.0, "7", 3)


@pytest.mark.parametrize(("row", "needle"), [
    ("{not json", "line 1: not valid JSON"),
    ("[1, 2]", "a JSON list, not an object"),
    ({"prompt": "p", "chosen": "a"}, "no field 'rejected'"),
    ({**OK, "chosen": ""}, "field 'chosen' is \"\", not a non-empty string"),
    ({**OK, "chosen": 3}, "field 'chosen' is 3"),
    ({**OK, "rejected": "4"}, "'chosen' and 'rejected' are the same text"),
    ({**OK, "margin": "big"}, "field 'margin'"),
    ({**OK, "margin": True}, "field 'margin'"),
    ({**OK, "annotator": 5}, "field 'annotator'"),
    ({**OK, "id": [1]}, "field 'id'"),
    ({**OK, "prefered": "a"}, "unknown field 'prefered'"),
])
def test_each_bad_line_is_one_error_naming_file_line_and_field(tmp_path: Path, row: object,
                                                               needle: str) -> None:
    f = _write(tmp_path / "p.jsonl", [row])
    with pytest.raises(InputError) as e:
        read_preferences(f)
    text = str(e.value)
    assert text.startswith(f"{f} line 1: ") and needle in text and " -- " in text


def test_duplicate_ids_empty_files_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 2: id '1' is also on line 1"):
        read_preferences(_write(tmp_path / "d.jsonl", [{**OK, "id": 1}, {**OK, "id": "1"}]))
    with pytest.raises(InputError, match="holds no comparisons"):
        read_preferences(_write(tmp_path / "e.jsonl", ["", " "]))
    with pytest.raises(InputError, match="no such file"):
        read_preferences(tmp_path / "nope.jsonl")


def _prefs(n_prompts: int = 30, per: int = 3) -> list[Preference]:
    return [Preference(f"prompt {i}", f"good {i}.{j}", f"bad {i}.{j}", line=i * per + j)
            for i in range(n_prompts) for j in range(per)]


def test_a_split_keeps_every_prompt_on_one_side_and_does_not_depend_on_order() -> None:
    prefs = _prefs()
    train, test = split_preferences(prefs, test_fraction=0.2, seed=3)
    assert not {p.prompt for p in train} & {p.prompt for p in test}
    assert len({p.prompt for p in test}) == 6 and len(train) + len(test) == len(prefs)
    again = split_preferences(list(reversed(prefs)), test_fraction=0.2, seed=3)[1]
    assert {p.prompt for p in again} == {p.prompt for p in test}
    other = split_preferences(prefs, test_fraction=0.2, seed=4)[1]
    assert {p.prompt for p in other} != {p.prompt for p in test}
    with pytest.raises(InputError):
        split_preferences(prefs, test_fraction=1.0)


def test_leakage_finds_duplicates_contradictions_and_overlap() -> None:
    a = Preference("p", "x", "y", line=1)
    train = [a, Preference("p", "x", "y", line=2), Preference("p", "y", "x", line=3),
             Preference("q", "u", "v", line=4)]
    test = [Preference("q", "v", "u", line=9), Preference("r", "s", "t", line=10)]
    leak = leakage_report(train, test)
    assert leak.duplicates == {"train": 1, "test": 0}
    assert leak.contradictions == {"train": 1, "test": 0}
    assert leak.shared_prompts == 1 and leak.shared_pairs == 1
    assert leak.examples == ["train: line 2 repeats line 1"]


def test_kappa_and_alpha_match_hand_computations() -> None:
    assert cohen_kappa([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    # po = 0.5, pe = 0.5: chance-level agreement
    assert cohen_kappa([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0)
    # two coders, 10 units, 3 disagreements; by hand (Krippendorff 2011, nominal):
    # n = 20 values, n_0 = 15, n_1 = 5; observed disagreement: 3 units x 2 ordered pairs;
    # expected: 2 * 15 * 5 / (n - 1); alpha = 1 - 6 / (150 / 19) = 0.24
    a = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    b = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    units = list(zip(a, b, strict=True))
    assert krippendorff_alpha(units) == pytest.approx(1 - 6 / (150 / 19))
    prefs = []
    for i in range(20):
        for ann, flip in (("a", False), ("b", i < 4), ("c", i % 2 == 0)):
            good, bad = f"g{i}", f"b{i}"
            prefs.append(Preference(f"p{i}", bad if flip else good, good if flip else bad,
                                    annotator=ann))
    agree = annotator_agreement(prefs)
    assert agree.items == 20
    k_ab, n_ab = agree.kappa[("a", "b")]
    assert n_ab == 20 and 0.5 < k_ab < 1  # 80% agreement
    assert abs(agree.kappa[("a", "c")][0]) < 0.3  # coin flips
    assert 0 < agree.alpha < k_ab
