"""Bad inputs get errors naming the file, the column and the fix; tables read as a scan
reads them (same fingerprint)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.audit import audit, read_table
from trustbench.audit.io import dataset_fingerprint, parse_expect, read_schema
from trustbench.data import load_data
from trustbench.errors import InputError


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "x", "y"], "y": [0, 1, 0, 1]})
    path = tmp_path / "train.csv"
    df.to_csv(path, index=False)
    return path


def _error(**kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as e:
        audit(**kw)
    return str(e.value)


def test_no_target_column(csv: Path) -> None:
    msg = _error(train=csv, target="label")
    assert "train.csv" in msg and "'label' does not exist" in msg and "columns are: a, b, y" in msg


def test_target_guessed(csv: Path) -> None:
    card = audit(csv, checks=["imbalance"])
    assert card.provenance["roles"]["target"] == "y"


def test_all_nan_column(csv: Path, tmp_path: Path) -> None:
    df = pd.read_csv(csv).assign(empty=np.nan)
    df.to_csv(tmp_path / "t.csv", index=False)
    msg = _error(train=tmp_path / "t.csv", target="y")
    assert "t.csv" in msg and "'empty' holds no values" in msg and "drop the column" in msg


def test_single_class(csv: Path, tmp_path: Path) -> None:
    pd.read_csv(csv).assign(y=1).to_csv(tmp_path / "one.csv", index=False)
    msg = _error(train=tmp_path / "one.csv", target="y")
    assert "one.csv" in msg and "has a single class (1)" in msg and "--target" in msg


def test_close_column_names_are_suggested(csv: Path) -> None:
    msg = _error(train=csv, target="y", groups=["B"])
    assert "--group column 'B' does not exist -- did you mean 'b'? columns are: a, b, y" in msg


def test_infinite_values(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1.0, np.inf, 3.0, -np.inf], "b": ["x", "y", "x", "y"],
                       "y": [0, 1, 0, 1]})
    assert _error(train=df, target="y") == (
        "DataFrame: column 'a' holds 2 infinite values (the first in data row 2: inf) -- "
        "replace them with numbers, or leave those cells empty (missing)")
    df.to_csv(tmp_path / "inf.csv", index=False)
    assert "inf.csv: column 'a' holds 2 infinite values" in _error(train=tmp_path / "inf.csv")


def test_duplicate_columns(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,y,y\n1,0,0\n2,1,1\n")
    assert "d.csv: column 'y' appears twice (columns 2 and 3)" in _error(train=tmp_path / "d.csv")


def test_missing_labels(csv: Path, tmp_path: Path) -> None:
    pd.read_csv(csv).assign(y=[0, np.nan, 1, 0]).to_csv(tmp_path / "m.csv", index=False)
    assert "1 missing values" in _error(train=tmp_path / "m.csv", target="y")


def test_mismatched_columns(csv: Path, tmp_path: Path) -> None:
    pd.read_csv(csv).rename(columns={"b": "c"}).to_csv(tmp_path / "test.csv", index=False)
    msg = _error(train=csv, test=tmp_path / "test.csv", target="y")
    assert "test.csv" in msg and "missing ['b']" in msg and "unexpected ['c']" in msg


def test_missing_role_column_in_test(csv: Path, tmp_path: Path) -> None:
    pd.read_csv(csv).drop(columns="b").to_csv(tmp_path / "test.csv", index=False)
    assert "--group column 'b' does not exist" in _error(train=csv, test=tmp_path / "test.csv",
                                                         target="y", groups=["b"])


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    assert "no such file" in _error(train=tmp_path / "nope.csv")
    (tmp_path / "x.txt").write_text("a")
    assert "unknown table format .txt" in _error(train=tmp_path / "x.txt")


def test_bad_expect_schema_and_arrays(csv: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="COLUMN=VALUE:SHARE"):
        parse_expect(["g=a"])
    with pytest.raises(InputError, match="sum to 1"):
        parse_expect(["g=a:0.5,b:0.2"])
    (tmp_path / "s.json").write_text('{"features": {"a": {"maximum": 3}}}')
    with pytest.raises(InputError, match="unknown field 'maximum'"):
        read_schema(tmp_path / "s.json")
    assert "shape (3, 2)" in _error(train=csv, target="y", pred_probs=np.ones((3, 2)))
    assert "unknown audit check 'dupes'" in _error(train=csv, target="y", checks=["dupes"])


def test_fingerprint_matches_the_scan_loader(csv: Path) -> None:
    table = read_table(csv)
    assert dataset_fingerprint(table, "y") == load_data(csv, target="y").fingerprint()
    assert dataset_fingerprint(table, "y", "b") == load_data(csv, target="y",
                                                             group="b").fingerprint()


def test_builtin_splits_match_the_scan() -> None:
    test = read_table("breast_cancer", split="test")
    assert test.frame.shape == (171, 31) and test.source == "breast_cancer"
    assert dataset_fingerprint(test, "target") == load_data("breast_cancer").fingerprint()
    digits = read_table("digits", split="train")
    assert digits.frame.shape[1] == 65 and digits.dataset.x.shape[1:] == (1, 8, 8)


def test_fingerprint_none_when_a_scan_would_refuse(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1.0, np.nan], "y": [0, 1]})
    assert dataset_fingerprint(read_table(df), "y") is None
