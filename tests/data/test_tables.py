"""The shared CSV/Parquet reader: what pandas would misread without a word is refused with an
error naming the file, the column or line and the fix -- by the scan loader and the audit
alike (one check, so both see the same message)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trustbench.audit import read_table
from trustbench.data import load_data, tables
from trustbench.data.tables import missing_column, numbers_with_text, read_frame
from trustbench.errors import InputError

ROWS = "".join(f"{i % 3},{i % 5},{i % 2}\n" for i in range(8))


def _both(path: Path) -> list[str]:
    """The error of the scan loader and of the audit reader for ``path``."""
    messages = []
    for read in (lambda: load_data(path, target="label"), lambda: read_table(path)):
        with pytest.raises(InputError) as e:
            read()
        messages.append(str(e.value))
    return messages


# -- column names ------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "message"), [
    ("a,label,label", r"column 'label' appears twice \(columns 2 and 3\)"),
    ("a,label, label", r"columns 'label' and ' label' differ only by surrounding spaces "
                       r"\(columns 2 and 3\)"),
    ("a ,a,label", r"columns 'a ' and 'a' differ only by surrounding spaces"),
    (",a,label", r"column 1 of 3 has no name \(a DataFrame index written by to_csv\?\)"),
    ("a,,label", "column 2 of 3 has no name -- name every column"),
    ("a,label,", r"column 3 of 3 has no name \(a trailing comma on every line\?\)"),
    ("a, ,label", "column 2 of 3 has no name"),
])
def test_bad_csv_header_is_refused_by_scan_and_audit(tmp_path: Path, header: str,
                                                     message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"{header}\n" + ROWS)
    for text in _both(path):
        assert text.startswith(f"{path}: ")
        assert re.search(message, text), text


def test_duplicate_label_would_otherwise_leak(tmp_path: Path) -> None:
    """What the check prevents: pandas renames the copy and keeps it as a feature."""
    path = tmp_path / "t.csv"
    path.write_text("a,label,label\n" + ROWS)
    assert list(pd.read_csv(path).columns) == ["a", "label", "label.1"]
    with pytest.raises(InputError, match="appears twice"):
        read_frame(path)


@pytest.mark.parametrize("names", [["a", "label", "label"], ["a", "label", "label "], ["a", "", "label"]])
def test_bad_parquet_names_are_refused_by_scan_and_audit(tmp_path: Path, names: list[str]) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table([pa.array([1.0, 2.0]), pa.array([0, 1]), pa.array([1, 0])],
                            names=names), path)
    expected = "has no name" if "" in names else ("appears twice" if names[2] == "label"
                                                  else "differ only by surrounding spaces")
    for text in _both(path):
        assert text.startswith(f"{path}: ") and expected in text, text


@pytest.mark.parametrize(("values", "kind"), [([[1, 2], [3]], "list<"),  # pyarrow names the item
                                              ([{"k": 1}, {"k": 2}], "struct<k: int64> values")])
def test_parquet_nested_column(tmp_path: Path, values: list, kind: str) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1.0, 2.0], "b": values, "label": [0, 1]}).to_parquet(path)
    for text in _both(path):
        assert f"column 'b' holds {kind}" in text and "not one number or text per cell" in text


def test_parquet_index_is_not_a_column(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": ["p", "q", "r"], "a": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    df.set_index("id").to_parquet(tmp_path / "t.parquet")
    assert list(read_frame(tmp_path / "t.parquet").columns) == ["a", "label"]


def test_duplicate_dataframe_columns_are_refused_by_the_audit() -> None:
    df = pd.DataFrame([[1, 2, 0]], columns=["a", "a", "label"])
    with pytest.raises(InputError, match=r"DataFrame: column 'a' appears twice"):
        read_table(df)
    with pytest.raises(InputError, match=r"train: column '1' appears twice"):
        read_table(pd.DataFrame([[1, 2]], columns=[1, "1"]), name="train")


# -- separators and encodings ------------------------------------------------------------------


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolons"), ("\t", "tabs"), ("|", "pipes")])
def test_other_separator_is_named(tmp_path: Path, sep: str, name: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"a{sep}b{sep}label\n" + ROWS.replace(",", sep))
    for text in _both(path):
        assert f"is separated by {name}" in text and f"sep={sep!r}" in text, text


def test_semicolon_file_with_decimal_commas_is_named(tmp_path: Path) -> None:
    """Decimal commas cut a semicolon header into pieces: still recognised."""
    path = tmp_path / "t.csv"
    path.write_text("height;weight,kg;label\n1,5;2,25;0\n")
    with pytest.raises(InputError, match=r"separated by semicolons.*decimal=','"):
        read_frame(path)


def test_separator_inside_some_names_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("p(a|b|c),x;y,label\n0.5,1,0\n0.25,2,1\n")
    assert list(read_frame(path).columns) == ["p(a|b|c)", "x;y", "label"]


@pytest.mark.parametrize(("encoding", "value", "byte", "offset"), [
    ("latin-1", "caf\u00e9", "0xe9", 14),  # 'city,label\n' is 11 bytes, then 'caf'
    ("cp1252", "\u201cq\u201d", "0x93", 11),
])
def test_non_utf8_byte_names_offset_and_line(tmp_path: Path, encoding: str, value: str,
                                             byte: str, offset: int) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(f"city,label\n{value},0\n".encode(encoding))
    for text in _both(path):
        assert f"byte {byte} at byte offset {offset} (line 2) is not UTF-8" in text, text
        assert "re-save it as UTF-8" in text


def test_offset_and_line_are_right_across_chunks(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "_CHUNK", 5)
    path = tmp_path / "t.csv"
    # valid 2- and 3-byte characters straddle the 5-byte chunks
    good = "a,b\n\u00e9\u00e9,\u20ac\n\u00e9\u20ac,x\n".encode()
    path.write_bytes(good + b"ok,\xff\n")
    with pytest.raises(InputError, match=rf"byte 0xff at byte offset {len(good) + 3} \(line 4\)"):
        read_frame(path)
    # a character begun at the end of one chunk, broken at the start of the next
    path.write_bytes(b"a,b\n\xe2\xffx,y\n")
    with pytest.raises(InputError, match=r"byte 0xe2 at byte offset 4 \(line 2\)"):
        read_frame(path)
    path.write_bytes(good)
    assert read_frame(path)["a"].tolist() == ["\u00e9\u00e9", "\u00e9\u20ac"]
    path.write_bytes(good + "a,\u20ac".encode()[:-1])  # cut inside the last character
    with pytest.raises(InputError, match=rf"ends inside a multi-byte character \(byte offset "
                                         rf"{len(good) + 2}\)"):
        read_frame(path)


@pytest.mark.parametrize(("data", "message"), [
    ("a,label\n1,0\n".encode("utf-16"), "UTF-16 text (it starts with a UTF-16 byte-order mark)"),
    ("a,label\n1,0\n".encode("utf-16-le"), "a NUL byte at byte offset 1 (line 1)"),
    (b"PK\x03\x04\x14\x00\x06\x00", "a zip archive, not CSV text"),
])
def test_utf16_and_binary_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    for text in _both(path):
        assert message in text, text


def test_utf8_bom_just_works(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("a,b,label\n".encode("utf-8-sig") + ROWS.encode())
    assert list(read_frame(path).columns) == ["a", "b", "label"]
    assert load_data(path).schema.feature_names == ["a", "b"]


# -- malformed tables --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty (no header, no rows)"),
    ("\n\n  \n", "the file is empty"),
    ("a,b,label\n", "the table has no rows (only column names)"),
    ("a,b,label\n1,2,0,9\n3,4,1,9\n", "the first data row has 4 fields but the header names 3 "
                                      "columns"),
    ("a,b,label\n1,2,0\n3,4,1,9\n", "line 3 has 4 fields but the header names 3 columns"),
    ('a,b,label\n1,"2\n', "not a readable CSV file"),
])
def test_malformed_csv(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    for error in _both(path):
        assert error.startswith(f"{path}: ") and message in error, error


def test_rows_with_more_fields_would_otherwise_shift(tmp_path: Path) -> None:
    """What the check prevents: pandas silently makes the first field the row index."""
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,0,9\n3,4,1,9\n")
    assert pd.read_csv(path)["label"].tolist() == [9, 9]
    with pytest.raises(InputError, match="first data row has 4 fields"):
        read_frame(path)


@pytest.mark.parametrize("cut", [0, 4, 100, -9])
def test_truncated_parquet(tmp_path: Path, cut: int) -> None:
    good = tmp_path / "good.parquet"
    pd.DataFrame({"a": np.arange(50.0), "label": np.arange(50) % 2}).to_parquet(good)
    path = tmp_path / "t.parquet"
    path.write_bytes(good.read_bytes()[:cut])
    for error in _both(path):
        assert f"{path}: not a readable Parquet file (" in error and "to_parquet" in error, error


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(InputError, match=r"d\.csv: not a file"):
        load_data(tmp_path / "d.csv")
    with pytest.raises(InputError, match=r"d\.csv: not a file"):
        read_table(tmp_path / "d.csv")


# -- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "hint"), [
    ("lable", "did you mean 'label'? "), ("Label", "did you mean 'label'? "),
    (" label", "did you mean 'label'? "), ("income", ""),
])
def test_missing_column_suggests_close_names(name: str, hint: str) -> None:
    e = missing_column("t.csv", "--target", name, ["age", "label", "sex"])
    assert str(e) == (f"t.csv: --target column {name!r} does not exist -- {hint}"
                      "columns are: age, label, sex")


@pytest.mark.parametrize(("values", "expected"), [
    (["1.5", "2", "?", "4", None], (2, "?")),  # numbers with a placeholder
    (["1", "low", "3", "high"], (1, "low")),  # half numbers: mixed
    (["low", "high", "3", "mid"], None),  # mostly words: categories
    (["1", "2", "3"], None),  # numbers stored as text, no exception
    ([None, None], None),
])
def test_numbers_with_text(values: list, expected) -> None:
    assert numbers_with_text(pd.Series(values, dtype=object)) == expected
