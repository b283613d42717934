"""Hostile data files through the real CLI: ``trustbench scan --model M --data FILE`` and
``trustbench audit --data FILE``. Every file either gives a correct result (checked in the
scorecard) or exits 2 with one short line naming the file, the column or line and the fix --
never a traceback, and never a silently misread column.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile_harness import clean_error, cli

#: The quickest scan that still loads the data, runs the model and attacks.
FAST = ("--n", "20", "--attacks", "fgsm", "--no-calibration", "--no-ood", "--no-subgroups",
        "--no-validity", "--shifts", "none", "--quiet")
HEADER = "a,b,c,label"
#: 30 rows of features a (float), b, c (integers) and a 0/1 label
ROWS = [f"{(i * 7 % 11) / 4},{i % 5},{i % 7},{i % 2}" for i in range(30)]


def text(body: str, *, encoding: str = "utf-8") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(body.encode(encoding))
    return write


def table(header: str = HEADER, rows: list[str] = ROWS, **kw: Any) -> Callable[[Path], None]:
    return text("\n".join([header, *rows]) + "\n", **kw)


def parquet(names: list[str]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        cols = [pa.array(np.arange(30.0) / 4), pa.array(np.arange(30) % 5), pa.array(np.arange(30) % 2)]
        pq.write_table(pa.table(cols, names=names), path)
    return write


def truncated_parquet(cut: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        table()(path.with_suffix(".csv"))
        pd.read_csv(path.with_suffix(".csv")).to_parquet(path)
        path.write_bytes(path.read_bytes()[:cut])
    return write


def npz(**arrays: Any) -> Callable[[Path], None]:
    return lambda path: np.savez(path, **arrays)


def raw(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


class WritesFile:
    """Unpickling this creates ``marker``: a stand-in for code carried by a pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.marker, "w"))


X = np.random.default_rng(0).normal(size=(30, 3))  # (N, 3)
Y = np.arange(30) % 2
X_NAN = np.where(np.arange(90).reshape(30, 3) == 4, np.nan, X)
ONE_CLASS = [r[:-1] + "0" for r in ROWS]
STRAY_TEXT = [r if i != 4 else "?,4,4,0" for i, r in enumerate(ROWS)]
HALF_WORDS = [(f"{'low' if i % 2 else i},{i % 5},{i % 7},{i % 2}") for i in range(30)]
ZIP = b"PK\x03\x04\x14\x00\x06\x00" + bytes(40)  # what an .xlsx starts with

# (file, writer, extra arguments, needles): both commands refuse the file the same way
BOTH: list[Any] = [
    pytest.param("d.csv", table("a,b,label,label"), (), ("column 'label' appears twice",
                 "(columns 3 and 4)", "rename or drop one"), id="duplicate-label"),
    pytest.param("d.csv", table("a,b,label, label"), (), (
        "columns 'label' and ' label' differ only by surrounding spaces",), id="space-duplicate"),
    pytest.param("d.csv", table(",b,c,label"), (), ("column 1 of 4 has no name",
                 "index=False"), id="unnamed-index"),
    pytest.param("d.csv", table("a,b,c,label,", [r + "," for r in ROWS]), (), (
        "column 5 of 5 has no name", "trailing comma"), id="trailing-comma"),
    pytest.param("d.parquet", parquet(["a", "label", "label"]), (), (
        "column 'label' appears twice",), id="parquet-duplicate"),
    pytest.param("d.parquet", parquet(["a", "b ", "b"]), (), (
        "columns 'b ' and 'b' differ only by surrounding spaces",), id="parquet-space-duplicate"),
    pytest.param("d.parquet", parquet(["a", "", "label"]), (), ("column 2 of 3 has no name",),
                 id="parquet-empty-name"),
    pytest.param("d.csv", table(HEADER.replace(",", ";"), [r.replace(",", ";") for r in ROWS]),
                 (), ("is separated by semicolons (;), not by commas", "sep=';'"), id="semicolons"),
    pytest.param("d.csv", table("a;b;label", ["1,5;2,25;0", "3,5;1;1"]), (),
                 ("separated by semicolons", "decimal=','"), id="semicolons-decimal-commas"),
    pytest.param("d.csv", table(HEADER.replace(",", "\t"), [r.replace(",", "\t") for r in ROWS]),
                 (), ("is separated by tabs", "sep='\\t'"), id="tabs"),
    pytest.param("d.csv", table(HEADER.replace(",", "|"), [r.replace(",", "|") for r in ROWS]),
                 (), ("is separated by pipes",), id="pipes"),
    pytest.param("d.csv", table("city," + HEADER, ["caf\u00e9," + r for r in ROWS],
                                encoding="latin-1"), (),
                 ("byte 0xe9 at byte offset 20 (line 2) is not UTF-8", "re-save it as UTF-8"),
                 id="latin-1"),
    pytest.param("d.csv", table("note," + HEADER, ["\u201cok\u201d," + r for r in ROWS],
                                encoding="cp1252"), (),
                 ("byte 0x93 at byte offset 17 (line 2)", "re-save it as UTF-8"), id="cp1252"),
    pytest.param("d.csv", table(encoding="utf-16"), (), ("UTF-16 text", "re-save it as UTF-8"),
                 id="utf-16-bom"),
    pytest.param("d.csv", table(encoding="utf-16-le"), (), ("a NUL byte at byte offset 1",),
                 id="utf-16-no-bom"),
    pytest.param("d.csv", raw(ZIP), (), ("a zip archive, not CSV text",), id="xlsx-as-csv"),
    pytest.param("d.csv", raw(b""), (), ("the file is empty",), id="empty-file"),
    pytest.param("d.csv", raw(b"\n\n   \n"), (), ("the file is empty",), id="blank-lines"),
    pytest.param("d.csv", table(rows=[]), (), ("the table has no rows (only column names)",),
                 id="header-only"),
    pytest.param("d.csv", table(rows=[*ROWS[:5], "1.0,2,3,", *ROWS[5:]]), (), (
        "column 'label' (the label) has 1 missing values", "drop the unlabelled rows"),
        id="label-nan"),
    pytest.param("d.csv", table(rows=[f"{i},{i % 3},,{i % 2}" for i in range(30)]), (), (
        "column 'c' holds no values at all (30 rows, all missing)", "separator"),
        id="empty-feature"),
    pytest.param("d.csv", table(rows=[*ROWS[:3], "inf,1,2,0", *ROWS[3:]]), (), (
        "column 'a' holds 1 infinite values (the first in data row 4: inf)",), id="inf"),
    pytest.param("d.csv", table(rows=[r + ",9" for r in ROWS]), (), (
        "the first data row has 5 fields but the header names 4 columns",), id="ragged-first"),
    pytest.param("d.csv", table(rows=[*ROWS, "1,2,3,0,9"]), (), (
        "line 32 has 5 fields but the header names 4 columns",), id="ragged-later"),
    pytest.param("d.csv", table(rows=[*ROWS, '1,"2,3,0']), (), ("not a readable CSV file",),
                 id="unterminated-quote"),
    pytest.param("d.parquet", truncated_parquet(300), (), ("not a readable Parquet file",
                 "to_parquet"), id="truncated-parquet"),
    pytest.param("d.parquet", raw(b"PAR1" + bytes(64)), (), ("not a readable Parquet file",),
                 id="garbage-parquet"),
    pytest.param("d.parquet", lambda path: pd.DataFrame({"a": [0.5, 1.5], "b": [[1], [2, 3]],
                                                         "label": [0, 1]}).to_parquet(path),
                 (), ("column 'b' holds list<", "not one number or text per cell", "flatten it"),
                 id="parquet-list-column"),
    pytest.param("d.csv", table(), ("--target", "lable"), (
        "--target column 'lable' does not exist", "did you mean 'label'?",
        "columns are: a, b, c, label"), id="unknown-target"),
    pytest.param("d.csv", table("a,b,sex,label"), ("--target", "label", "--group", "Sex"), (
        "--group column 'Sex' does not exist", "did you mean 'sex'?"), id="unknown-group"),
]

# (file, writer, extra arguments, needles): scan refuses; NPZ files and scan-only options
SCAN_ONLY: list[Any] = [
    pytest.param("d.csv", table(rows=ROWS[:1]), (), (
        "every feature holds a single value (1 row)", "--bounds LOWER,UPPER"), id="single-row"),
    pytest.param("d.csv", table(rows=[f"1.5,2,3,{i % 2}" for i in range(30)]), (), (
        "every feature holds a single value", "every attack radius would be 0", "--bounds"),
        id="constant-features"),
    pytest.param("d.csv", table(rows=STRAY_TEXT), (), (
        "column 'a' holds numbers but also text such as '?' (data row 5)",
        '"type": "categorical"'), id="text-in-numbers"),
    pytest.param("d.csv", table(rows=HALF_WORDS), (), (
        "column 'a' holds numbers but also text such as 'low' (data row 2)",), id="mixed-types"),
    # the option parser or the loader may refuse these first: either names the option
    pytest.param("d.csv", table(), ("--bounds", "nan,1"), ("--bounds", "nan,1", "finite"),
                 id="bounds-nan"),
    pytest.param("d.csv", table(), ("--bounds", "-inf,inf"), ("--bounds", "-inf,inf", "finite"),
                 id="bounds-inf"),
    pytest.param("d.csv", table(), ("--bounds", "1,0"), ("--bounds", "1,0",
                 "must be below the upper bound"), id="bounds-inverted"),
    pytest.param("d.npz", raw(b"not a zip at all"), (), (
        "not a readable .npz file (not a zip archive)",), id="npz-not-zip"),
    pytest.param("d.npz", npz(x=X, y=np.zeros(31)), (), (
        "'x' has 30 rows but 'y' has shape (31,)",), id="npz-lengths-differ"),
    pytest.param("d.npz", npz(x=X_NAN, y=Y), (), (
        "1 rows hold NaN or infinite values (columns: x1)",), id="npz-x-nan"),
    pytest.param("d.npz", npz(x=X[:, 0], y=Y), (), ("'x' has shape (30,)",), id="npz-1d-x"),
    pytest.param("d.npz", npz(x=np.zeros((30, 3)), y=Y), (), (
        "every feature holds a single value", "--bounds"), id="npz-all-zero"),
    pytest.param("d.npz", npz(x=X, y=np.where(Y == 1, np.nan, 0.0)), (), (
        "'y' (the labels) holds 15 NaN values",), id="npz-y-nan"),
    pytest.param("d.npz", npz(x=np.zeros((0, 3)), y=np.zeros(0)), (), (
        "'x' has shape (0, 3), which holds no rows",), id="npz-no-rows"),
    pytest.param("d.npz", npz(x=X, y=Y, lower=np.full(3, np.nan), upper=np.ones(3)), (), (
        "arrays 'lower' and 'upper': bounds must be finite numbers",), id="npz-nan-bounds"),
]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scaler + logistic-regression pipeline on three features, saved with skops."""
    sio = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    est = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, (X[:, 0] > 0).astype(int))
    path = tmp_path_factory.mktemp("model") / "model.skops"
    sio.dump(est, path)
    return path


def _file(tmp_path: Path, name: str, write: Callable[[Path], None]) -> Path:
    path = tmp_path / name
    write(path)
    return path


def _scan(model: Path, data: Path, *extra: str) -> Any:
    return cli("scan", "--model", model, "--data", data, "--out", "out", *FAST, *extra)


def _card(folder: str = "out") -> dict[str, Any]:
    return json.loads(Path(folder, "scorecard.json").read_text())


def _finding(card: dict[str, Any], finding_id: str) -> dict[str, Any]:
    return next(f for f in card["findings"] if f["id"] == finding_id)


@pytest.mark.parametrize(("name", "write", "extra", "needles"), BOTH + SCAN_ONLY)
def test_scan_refuses(tmp_path: Path, model: Path, name: str, write: Callable[[Path], None],
                      extra: tuple[str, ...], needles: tuple[str, ...]) -> None:
    path = _file(tmp_path, name, write)
    clean_error(_scan(model, path, *extra), f"{path}: " if "--bounds" not in extra else "",
                *needles)
    assert not Path("out").exists()


@pytest.mark.parametrize(("name", "write", "extra", "needles"), BOTH)
def test_audit_refuses(tmp_path: Path, name: str, write: Callable[[Path], None],
                       extra: tuple[str, ...], needles: tuple[str, ...]) -> None:
    path = _file(tmp_path, name, write)
    clean_error(cli("audit", "--data", path, "--out", "out", "--quiet", *extra), f"{path}: ",
                *needles)
    assert not Path("out", "scorecard.json").exists()


def test_folder_as_data(tmp_path: Path, model: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    clean_error(_scan(model, tmp_path / "d.csv"), "d.csv: not a file")
    # audit reads a folder as a table's shards: an empty one (even named like a file) says so
    clean_error(cli("audit", "--data", tmp_path / "d.csv"),
                "d.csv: a folder with no .parquet or .csv files")


@pytest.mark.parametrize("key", ["x", "y"])
def test_npz_object_array_is_not_unpickled(tmp_path: Path, model: Path, canary: Path,
                                           key: str) -> None:
    payload = np.array([WritesFile(str(canary))] * 30, dtype=object)
    arrays = {"x": X, "y": Y} | {key: payload}
    np.savez(tmp_path / "d.npz", **arrays)
    clean_error(_scan(model, tmp_path / "d.npz"), f"array {key!r} holds Python objects",
                "so it was not loaded")
    assert not canary.exists()


@pytest.mark.parametrize("command", ["scan", "audit"])
@pytest.mark.parametrize(("schema", "needle"), [
    ('{"bounds": [NaN, 1]}', "'bounds' is [nan, 1]: bounds must be finite numbers"),
    ('{"bounds": [0, Infinity]}', "'bounds' is [0, inf]: bounds must be finite numbers"),
    ('{"features": {"a": {"min": 2, "max": 1}}}', "features.a has min 2 and max 1"),
])
def test_bad_bounds_in_a_schema_file(tmp_path: Path, model: Path, command: str, schema: str,
                                     needle: str) -> None:
    data = _file(tmp_path, "d.csv", table())
    (tmp_path / "s.json").write_text(schema)
    args = ("--data", data, "--schema", tmp_path / "s.json", "--out", "out", "--quiet")
    result = (cli("scan", "--model", model, *args, *FAST) if command == "scan"
              else cli("audit", *args))
    clean_error(result, "s.json: ", needle)


# -- files that are fine: the result is right ---------------------------------------------------


def test_utf8_bom_is_read(tmp_path: Path, model: Path) -> None:
    data = _file(tmp_path, "d.csv", table(encoding="utf-8-sig"))
    assert _scan(model, data).exit_code == 0
    features = _card()["provenance"]["data"]["schema"]["features"]
    assert [f["name"] for f in features] == ["a", "b", "c"]  # not '\ufeffa'
    assert cli("audit", "--data", data, "--out", "audit", "--quiet").exit_code == 0
    card = _card("audit")
    assert card["provenance"]["roles"]["target"] == "label"
    assert [c["name"] for c in card["provenance"]["columns"]] == ["a", "b", "c", "label"]


def test_one_class_is_scanned_but_not_audited(tmp_path: Path, model: Path) -> None:
    data = _file(tmp_path, "d.csv", table(rows=ONE_CLASS))
    assert _scan(model, data).exit_code == 0
    assert _finding(_card(), "accuracy.clean")["metrics"]["n"]["value"] == 20
    clean_error(cli("audit", "--data", data, "--out", "audit"),
                "column 'label' (the label) has a single class (0)", "--target")


@pytest.mark.parametrize(("rows", "bounds", "n"), [
    (ROWS[:1], "-10,10", 1),
    ([f"1.5,2,3,{i % 2}" for i in range(30)], "0,10", 20),
])
def test_constant_data_with_declared_bounds_is_scanned(tmp_path: Path, model: Path,
                                                       rows: list[str], bounds: str,
                                                       n: int) -> None:
    data = _file(tmp_path, "d.csv", table(rows=rows))
    result = _scan(model, data, "--bounds", bounds)
    assert result.exit_code == 0, result.output
    card = _card()
    assert card["provenance"]["data"]["schema"]["bounds_source"] == "declared"
    assert _finding(card, "accuracy.clean")["metrics"]["n"]["value"] == n


def test_all_zero_npz_with_declared_bounds_is_scanned(tmp_path: Path, model: Path) -> None:
    data = _file(tmp_path, "d.npz", npz(x=np.zeros((30, 3)), y=Y))
    assert _scan(model, data, "--bounds", "0,1").exit_code == 0
    assert _card()["provenance"]["data"]["schema"]["upper_max"] == 1.0


@pytest.mark.parametrize(("rows", "finding", "evidence"), [
    (STRAY_TEXT, "audit.mixed_types", ("columns", "a")),
    ([f"1.5,2,3,{i % 2}" for i in range(30)], "audit.constant_columns", ("constant", "a")),
])
def test_audit_reports_what_the_scan_refuses(tmp_path: Path, rows: list[str], finding: str,
                                             evidence: tuple[str, str]) -> None:
    data = _file(tmp_path, "d.csv", table(rows=rows))
    assert cli("audit", "--data", data, "--out", "audit", "--quiet").exit_code == 0
    f = _finding(_card("audit"), finding)
    assert f["severity"] == "warn" and evidence[1] in f["evidence"][evidence[0]]


def test_missing_group_values_are_their_own_group(tmp_path: Path, model: Path) -> None:
    rows = [f"{r.rsplit(',', 1)[0]},{['', 'x', 'y'][i % 3]},{r[-1]}" for i, r in enumerate(ROWS)]
    data = _file(tmp_path, "d.csv", table("a,b,c,g,label", rows))
    fast = [a for a in FAST if a != "--no-subgroups"] + ["--n", "30"]
    result = cli("scan", "--model", model, "--data", data, "--group", "g", "--out", "out", *fast)
    assert result.exit_code == 0, result.output
    groups = {row["g"]: row["n"] for row in _finding(_card(), "subgroups.g")["evidence"]["table"]}
    assert groups == {"missing": 10, "x": 10, "y": 10}
    assert cli("audit", "--data", data, "--group", "g", "--out", "audit",
               "--quiet").exit_code == 0
    counts = _finding(_card("audit"), "audit.representation.g")["evidence"]["train_counts"]
    assert counts == {"(missing)": 10, "x": 10, "y": 10}


def test_extremely_wide_rows(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    width = 2000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(0, 9, (24, width)), columns=[f"f{j}" for j in range(width)])
    df["label"] = np.arange(24) % 2
    df.to_csv(tmp_path / "wide.csv", index=False)
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(width, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    with warnings.catch_warnings():  # torch deprecates TorchScript; it still saves
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(mlp).save(str(tmp_path / "m.pt"))
    result = _scan(tmp_path / "m.pt", tmp_path / "wide.csv")
    assert result.exit_code == 0, result.output
    assert _card()["provenance"]["data"]["schema"]["example_shape"] == [width]
    result = cli("audit", "--data", tmp_path / "wide.csv", "--checks", "missing,constant",
                 "--out", "audit", "--quiet")
    assert result.exit_code == 0, result.output
    assert _card("audit")["provenance"]["roles"]["features"] == width
