"""Reading CSV and Parquet tables for the scan loader and the audit alike.

The reader refuses what pandas would read wrongly without a word: bytes that are not UTF-8,
another separator than the comma, duplicate or empty column names (pandas renames ``label``
to ``label.1``, which then leaks the label into the features), rows with more fields than
the header (pandas turns the first field into the row index).

Every refusal is an :class:`~trustbench.errors.InputError` naming the file, the column or
line, what was found and the fix.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trustbench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_column_names", "check_finite", "check_no_empty_column", "columns_differ",
           "list_columns", "missing_column", "numbers_with_text", "read_frame", "shard_files"]

_SHARD_SUFFIXES = (".parquet", ".pq", ".csv")

#: A header read as one column that holds one of these was written with another separator.
SEPARATORS = {";": "semicolons (;)", "\t": "tabs", "|": "pipes (|)"}
#: A text column whose values parse as numbers this often (but not always) mixes the two;
#: the same threshold as the audit's ``mixed_types`` check.
NUMERIC_SHARE = 0.5
_CHUNK = 1 << 20
_NEWLINE = b"\n"
_RESAVE = ("re-save it as UTF-8, e.g. pd.read_csv(path, encoding='cp1252')"
           ".to_csv(path, index=False), or in Excel: Save As > CSV UTF-8")


def read_frame(path: Path) -> pd.DataFrame:
    """Read the rows of a ``.csv`` or ``.parquet``/``.pq`` file, with string column names."""
    try:
        df = _read_csv(path) if path.suffix.lower() == ".csv" else _read_parquet(path)
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror or e})") from None
    if len(df) == 0:
        raise InputError(f"{path}: the table has no rows (only column names)",
                         fix="write the data rows below the header")
    df.columns = [str(c) for c in df.columns]
    return df


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    _check_utf8(path)
    header, first_row = _csv_header(path)
    for sep, name in SEPARATORS.items():
        # a header read as one column, or cut into pieces at stray commas
        if all(sep in h for h in header):
            raise InputError(
                f"{path}: the header {_short(','.join(header))!r} is separated by {name}, "
                "not by commas",
                fix="re-save it comma-separated (its decimal commas, if any, as points), "
                f"e.g. pd.read_csv(path, sep={sep!r}, decimal=',').to_csv(path, index=False)")
    check_column_names(path, header)
    if first_row is not None and first_row > len(header):
        _more_fields(path, first_row, len(header))
    try:
        df = pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
    except pd.errors.ParserError as e:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if m is None:
            raise InputError(f"{path}: not a readable CSV file ({_first_line(e)})") from None
        raise InputError(f"{path}: line {m[2]} has {m[3]} fields but the header names {m[1]} "
                         "columns", fix="quote values that contain a comma, or remove the "
                         "extra fields") from None
    except Exception as e:  # pandas raises many types for malformed text
        raise InputError(f"{path}: not a readable CSV file ({type(e).__name__}: "
                         f"{_first_line(e)})") from None
    if not df.index.equals(pd.RangeIndex(len(df))):  # pandas made extra fields the index
        _more_fields(path, len(header) + df.index.nlevels, len(header))
    return df


def _more_fields(path: Path, n_fields: int, n_names: int) -> None:
    raise InputError(f"{path}: the first data row has {n_fields} fields but the header names "
                     f"{n_names} columns (a reader would make the extra ones the row index "
                     "and shift every column)",
                     fix="name every column in the header, or remove the extra fields "
                     "(a trailing comma on every row?)")


def _check_utf8(path: Path) -> None:
    """Raise unless the file is UTF-8 text (a UTF-8 byte-order mark is fine)."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(f"{path}: the file is UTF-16 text (it starts with a UTF-16 "
                             "byte-order mark); trustbench reads UTF-8",
                             fix=_RESAVE.replace("cp1252", "utf-16"))
        if head.startswith(b"PK\x03\x04"):
            raise InputError(f"{path}: the file is a zip archive, not CSV text (an Excel "
                             "workbook?)", fix="export the sheet as CSV UTF-8")
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset, line = 0, 1  # of the start of this chunk
        while chunk := fh.read(_CHUNK):
            pending = decoder.getstate()[0]  # an unfinished character from the last chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                data = pending + chunk
                at = offset - len(pending) + e.start
                where = line + data[:e.start].count(_NEWLINE)
                raise InputError(
                    f"{path}: byte 0x{data[e.start]:02x} at byte offset {at} (line {where}) "
                    "is not UTF-8 text (Latin-1 or Windows-1252?)", fix=_RESAVE) from None
            nul = chunk.find(b"\x00")
            if nul >= 0:
                where = line + chunk[:nul].count(_NEWLINE)
                raise InputError(f"{path}: a NUL byte at byte offset {offset + nul} (line "
                                 f"{where}): not UTF-8 CSV text "
                                 "(UTF-16 without a byte-order mark, or a binary file?)",
                                 fix=_RESAVE.replace("cp1252", "utf-16"))
            offset += len(chunk)
            line += chunk.count(_NEWLINE)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(f"{path}: the file ends inside a multi-byte character (byte "
                             f"offset {offset - len(decoder.getstate()[0])}): not UTF-8 text",
                             fix=_RESAVE) from None


def _csv_header(path: Path) -> tuple[list[str], int | None]:
    """Return the header's fields as written, and how many fields the first data row has.

    The fields are as written because pandas would rename duplicates and empty names; the
    count is ``None`` without a data row.
    """
    rows: list[list[str]] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                if any(field.strip() for field in row):  # pandas skips blank lines too
                    rows.append(row)
                    if len(rows) == 2:
                        break
    except csv.Error as e:
        raise InputError(f"{path}: the header cannot be read ({e})",
                         fix="check the first lines' quoting") from None
    if not rows:
        raise InputError(f"{path}: the file is empty (no header, no rows)",
                         fix="write a header line of column names, then the rows")
    return rows[0], len(rows[1]) if len(rows) == 2 else None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        index = {c for c in (schema.pandas_metadata or {}).get("index_columns", [])
                 if isinstance(c, str)}  # a DataFrame's index, restored as the index
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow",
                         fix="pip install pyarrow") from None
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for a broken file
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(e)})",
                         fix="write it again, e.g. with DataFrame.to_parquet(path)") from None
    check_column_names(path, [n for n in schema.names if n not in index])
    for field in schema:
        if pa.types.is_nested(field.type):  # lists, structs, maps: no single value per cell
            raise InputError(f"{path}: column {field.name!r} holds {field.type} values, not one "
                             "number or text per cell", fix="flatten it into plain columns, "
                             "or drop it")
    try:
        return pd.read_parquet(path)
    except Exception as e:
        raise InputError(f"{path}: not a readable Parquet file ({type(e).__name__}: "
                         f"{_first_line(e)})",
                         fix="write it again, e.g. with DataFrame.to_parquet(path)") from None


def check_column_names(where: str | Path, names: list[Any]) -> None:
    """Raise for an empty column name, or two names equal up to surrounding whitespace."""
    seen: dict[str, int] = {}
    for i, raw in enumerate(names):
        name = str(raw)
        key = name.strip()
        if not key:
            hint = (" (a DataFrame index written by to_csv?)" if i == 0 else
                    " (a trailing comma on every line?)" if i == len(names) - 1 else "")
            raise InputError(f"{where}: column {i + 1} of {len(names)} has no name{hint}",
                             fix="name every column in the header; write a DataFrame with "
                             "to_csv(path, index=False)")
        if key in seen:
            j = seen[key]
            first = str(names[j])
            what = (f"column {name!r} appears twice" if first == name else
                    f"columns {first!r} and {name!r} differ only by surrounding spaces")
            raise InputError(f"{where}: {what} (columns {j + 1} and {i + 1}); a reader would "
                             "keep both, one under a new name, and a copy of the label "
                             "could become a feature", fix="rename or drop one of them")
        seen[key] = i


def list_columns(cols: list[str], k: int = 20) -> str:
    """Join the first ``k`` column names with commas, noting how many there are in all."""
    return ", ".join(cols[:k]) + (f", ... ({len(cols)} in all)" if len(cols) > k else "")


def missing_column(where: str | Path, option: str, name: str, columns: list[str]) -> InputError:
    """Build the error for a role column (``--target``, ``--group``, ...) that is not in the table.

    The error suggests the closest names.
    """
    folded = {c.strip().lower(): c for c in columns}
    close = [folded[c] for c in difflib.get_close_matches(name.strip().lower(), folded, n=3,
                                                          cutoff=0.6)]
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    return InputError(f"{where}: {option} column {name!r} does not exist",
                      fix=f"{hint}columns are: {list_columns(columns)}")


def check_no_empty_column(where: str | Path, frame: pd.DataFrame) -> None:
    """Raise for a column without a single value."""
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise InputError(f"{where}: column {empty[0]!r} holds no values at all "
                         f"({len(frame)} rows, all missing)",
                         fix="drop the column, or check the file's separator and header")


def check_finite(where: str | Path, frame: pd.DataFrame, columns: list[str]) -> None:
    """Raise for infinite values in a numeric column (missing values are allowed)."""
    import pandas as pd

    for c in columns:
        s = frame[c]
        if pd.api.types.is_float_dtype(s):
            inf = np.isinf(s.to_numpy(np.float64, na_value=np.nan))
            if inf.any():
                i = int(np.flatnonzero(inf)[0])
                raise InputError(f"{where}: column {c!r} holds {int(inf.sum())} infinite "
                                 f"values (the first in data row {i + 1}: {s.iloc[i]})",
                                 fix="replace them with numbers, or leave those cells empty "
                                 "(missing)")


def numbers_with_text(s: pd.Series) -> tuple[int, Any] | None:
    """Find the first non-number in a text column whose values are mostly numbers.

    Returns its ``(data row, value)`` (e.g. for ``"1.5"``, ``"2"``, ``"n/a"``); ``None`` for
    a text column.
    """
    import pandas as pd

    counts = s.value_counts(dropna=True)
    if not len(counts):
        return None
    numeric = pd.to_numeric(pd.Series(counts.index, dtype=object), errors="coerce").notna()
    share = float(counts.to_numpy()[numeric.to_numpy()].sum() / counts.sum())
    if not NUMERIC_SHARE <= share < 1.0:
        return None
    text = set(counts.index[~numeric.to_numpy()])
    i = int(np.flatnonzero(s.isin(text).to_numpy())[0])
    return i, s.iloc[i]


def _short(text: str, k: int = 60) -> str:
    return text if len(text) <= k else text[:k] + "..."


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:160] if lines else type(e).__name__


def shard_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """Return a table's shards: a folder's .parquet/.csv files (sorted by name), or a list.

    One file is a list of one. A missing file, an empty folder or an empty list is an
    InputError.
    """
    if isinstance(source, str | Path) and Path(source).is_dir():
        files = sorted(p for p in Path(source).iterdir()
                       if p.suffix.lower() in _SHARD_SUFFIXES and p.is_file())
        if not files:
            raise InputError(f"{source}: a folder with no .parquet or .csv files (a folder "
                             "is read as one table's shards)",
                             fix="give a table file, or a folder of .parquet/.csv shards")
        return files
    paths = [Path(source)] if isinstance(source, str | Path) else [Path(p) for p in source]
    if not paths:
        raise InputError("no shard files given", fix="give a folder or a list of files")
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: no such file", fix="give the path of a CSV or Parquet file")
    return paths


def columns_differ(have: Sequence[Any], expected: Sequence[Any], *,
                   ordered: bool = True) -> str | None:
    """Say how ``have`` differs from ``expected`` (``None``: it does not).

    ``"missing [...]; unexpected [...]"`` (five names of each at most), or, when only the
    order differs and ``ordered``, ``"same names in another order"``.
    """
    have, expected = [str(c) for c in have], [str(c) for c in expected]
    if have == expected or (not ordered and set(have) == set(expected)):
        return None
    missing = [c for c in expected if c not in set(have)]
    extra = [c for c in have if c not in set(expected)]
    return "; ".join(filter(None, (f"missing {missing[:5]}" if missing else "",
                                   f"unexpected {extra[:5]}" if extra else ""))) \
        or "same names in another order"
