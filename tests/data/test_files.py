"""Loading CSV, Parquet and NPZ files, and the errors every bad input gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.data import Dataset, Schema, load_data
from trustbench.errors import InputError


class WritesFile:
    """Unpickling this creates ``marker``: a stand-in for code carried by a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.marker), "w"))


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [30, 45, 22, 61, 38, 45],  # integer
        "income": [1.5, 2.25, 0.5, 3.0, 2.0, 1.0],  # float
        "city": ["oslo", "rome", "oslo", "lima", "rome", "oslo"],  # string -> categorical
        "sex": ["f", "m", "m", "f", "f", "m"],  # the group column
        "outcome": [1, 0, 1, 0, 1, 1],
    })


def _write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_with_target_and_group(tmp_path: Path, suffix: str) -> None:
    df = _frame()
    ds = load_data(_write(df, tmp_path / f"people{suffix}"), target="outcome", group="sex")
    s = ds.schema
    assert s.modality == "tabular"
    assert s.feature_names == ["age", "income", "city"]
    assert s.feature_types == ["integer", "numeric", "categorical"]
    assert ds.x.shape == (6, 3) and ds.x.dtype == np.float32
    np.testing.assert_array_equal(ds.x[:, 0], df["age"])
    np.testing.assert_array_equal(ds.x[:, 1], df["income"].astype(np.float32))
    # string column -> integer codes, with the categories kept to decode them
    assert s.categories == {2: ["oslo", "rome", "lima"]}
    np.testing.assert_array_equal(ds.x[:, 2], [0, 1, 0, 2, 1, 0])
    np.testing.assert_array_equal(ds.y, df["outcome"])
    np.testing.assert_array_equal(ds.groups, df["sex"])
    # bounds from the data, said so in the notes
    assert s.bounds_source == "data"
    np.testing.assert_array_equal(s.lower, [22, 0.5, 0])
    np.testing.assert_array_equal(s.upper, [61, 3.0, 2])
    assert len(ds.notes) == 1 and "min and max" in ds.notes[0]
    assert ds.name.endswith(f"people{suffix}")

    frame = s.to_frame(ds.x)
    pd.testing.assert_frame_equal(frame, df[["age", "income", "city"]].astype(
        {"age": np.int64, "income": np.float32, "city": object}), check_dtype=False)
    assert frame["city"].tolist() == df["city"].tolist()
    assert frame["age"].dtype == np.int64


def test_to_frame_rounds_integers_and_clips_codes() -> None:
    s = Schema("tabular", np.zeros(2), np.array([10.0, 1.0]), feature_names=["n", "c"],
               feature_types=["integer", "categorical"], categories={1: ["a", "b"]})
    frame = s.to_frame(np.array([[2.6, 0.2], [3.4, 5.0], [0.0, -1.0]], np.float32))
    assert frame["n"].tolist() == [3, 3, 0]
    assert frame["c"].tolist() == ["a", "b", "a"]


@pytest.mark.parametrize("label", ["label", "target", "y", "Class"])
def test_label_column_is_auto_detected(tmp_path: Path, label: str) -> None:
    df = _frame().drop(columns=["sex"]).rename(columns={"outcome": label})
    ds = load_data(_write(df, tmp_path / "t.csv"))
    np.testing.assert_array_equal(ds.y, df[label])
    assert label not in ds.schema.feature_names


def test_ambiguous_or_missing_label_asks_for_target(tmp_path: Path) -> None:
    df = _frame().rename(columns={"outcome": "label", "sex": "y"})
    with pytest.raises(InputError, match=r"which column is the label\?.*--target.*"
                                         r"columns are: age, income, city, y, label"):
        load_data(_write(df, tmp_path / "two.csv"))
    with pytest.raises(InputError, match="--target"):
        load_data(_write(_frame(), tmp_path / "none.csv"))


def test_string_labels_and_label_indices(tmp_path: Path) -> None:
    df = _frame()
    df["outcome"] = np.where(df["outcome"] == 1, "yes", "no")
    ds = load_data(_write(df, tmp_path / "t.parquet"), target="outcome")
    assert ds.y.tolist() == df["outcome"].tolist()
    np.testing.assert_array_equal(ds.label_indices(np.array(["no", "yes"]), 2), [1, 0, 1, 0, 1, 1])
    with pytest.raises(InputError, match=r"labels are .* like 'yes'.*class indices 0..1"):
        ds.label_indices(None, 2)


def test_npz_with_groups_and_declared_bounds(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((12, 3, 4, 4)).astype(np.float32)
    y = np.arange(12) % 3
    groups = np.array(["a", "b"] * 6)
    lower = np.zeros((3, 1, 1), np.float32)
    upper = np.array([1.0, 2.0, 3.0], np.float32).reshape(3, 1, 1)
    np.savez(tmp_path / "d.npz", x=x, y=y, groups=groups, lower=lower, upper=upper)
    ds = load_data(tmp_path / "d.npz")
    np.testing.assert_array_equal(ds.x, x)
    np.testing.assert_array_equal(ds.y, y)
    np.testing.assert_array_equal(ds.groups, groups)
    assert ds.schema.modality == "image"
    assert ds.schema.bounds_source == "declared"
    assert ds.schema.upper.shape == (3, 4, 4)
    assert float(ds.schema.upper[2].min()) == 3.0
    assert ds.notes == []


def test_npz_tabular_without_bounds_uses_data_range(tmp_path: Path) -> None:
    x = np.array([[0.0, 5.0], [2.0, 7.0], [1.0, 6.0]])
    np.savez(tmp_path / "t.npz", x=x, y=np.array([0, 1, 0]))
    ds = load_data(tmp_path / "t.npz")
    assert ds.schema.feature_names == ["x0", "x1"]
    np.testing.assert_array_equal(ds.schema.lower, [0, 5])
    np.testing.assert_array_equal(ds.schema.upper, [2, 7])
    assert ds.schema.bounds_source == "data"
    assert any("--bounds" in n for n in ds.notes)
    declared = load_data(tmp_path / "t.npz", bounds=(0.0, 10.0))
    assert declared.schema.bounds_source == "declared" and declared.notes == []


def test_schema_file_sets_types_and_bounds(tmp_path: Path) -> None:
    csv = _write(_frame(), tmp_path / "t.csv")
    (tmp_path / "s.json").write_text(json.dumps({
        "features": {"age": {"type": "immutable", "min": 18, "max": 99},
                     "income": {"min": 0, "max": 10}},
    }))
    ds = load_data(csv, target="outcome", group="sex", schema=tmp_path / "s.json")
    assert ds.schema.feature_types == ["immutable", "numeric", "categorical"]
    np.testing.assert_array_equal(ds.schema.lower, [18, 0, 0])
    np.testing.assert_array_equal(ds.schema.upper, [99, 10, 2])
    assert ds.schema.bounds_source == "declared"
    assert ds.schema.categories == {2: ["oslo", "rome", "lima"]}


# -- errors ------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: no such file.*digits, breast_cancer"):
        load_data(tmp_path / "nope.csv")


def test_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(InputError, match=r"unknown data format \.xlsx.*\.csv, \.parquet or \.npz"):
        load_data(tmp_path / "d.xlsx")


@pytest.mark.parametrize(("name", "message"), [
    ("bad.parquet", "not a readable Parquet file"),
    ("bad.npz", r"not a readable \.npz file \(not a zip archive\)"),
    ("empty.csv", r"the file is empty \(no header, no rows\)"),
    ("bad.csv", "not a readable CSV file"),  # an unterminated quote
])
def test_unreadable_or_corrupt_file(tmp_path: Path, name: str, message: str) -> None:
    path = tmp_path / name
    if name == "empty.csv":
        path.write_text("")
    elif name == "bad.csv":
        path.write_bytes(b'a,b\n1,"2\n')
    else:
        path.write_bytes(b"\x01 this is not a " + name.encode())
    with pytest.raises(InputError, match=name.replace(".", r"\.") + ": " + message):
        load_data(path, target="b")


def test_npz_missing_y(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 2)), labels=np.zeros(3))
    with pytest.raises(InputError, match=r"no array named 'y' \(found: x, labels\)"):
        load_data(tmp_path / "d.npz")


@pytest.mark.parametrize(("arrays", "message"), [
    ({"x": np.zeros(3), "y": np.zeros(3)}, r"'x' has shape \(3,\)"),
    ({"x": np.array([["a"], ["b"]]), "y": np.zeros(2)}, "'x' has dtype <U1; expected numbers"),
    ({"x": np.zeros((3, 2)), "y": np.zeros(4)}, r"'x' has 3 rows but 'y' has shape \(4,\)"),
    ({"x": np.zeros((3, 2)), "y": np.zeros((3, 2))}, r"'x' has 3 rows but 'y' has shape \(3, 2\)"),
    ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, r"'x' has shape \(0, 2\), which holds no rows"),
    ({"x": np.zeros((3, 0)), "y": np.zeros(3)}, "which holds no features"),
    ({"x": np.ones((3, 2)), "y": np.array([0.0, np.nan, 1.0])},
     r"'y' \(the labels\) holds 1 NaN values -- drop the unlabelled rows"),
    ({"x": np.array([[1e39, 0.0], [0.0, 1.0]]), "y": np.zeros(2)}, "beyond float32's range"),
    ({"x": np.ones((2, 2)), "y": np.zeros(2), "lower": np.array([0.0, np.nan]), "upper": np.ones(2)},
     "arrays 'lower' and 'upper': bounds must be finite numbers"),
    ({"x": np.ones((2, 2)), "y": np.zeros(2), "lower": np.full(2, 2.0), "upper": np.ones(2)},
     "the lower bound must be at most the upper bound"),
    ({"x": np.zeros((3, 2)), "y": np.zeros(3), "groups": np.zeros(2)}, "3 inputs but 2 groups"),
    ({"x": np.full((2, 2), 2.0), "y": np.zeros(2), "lower": np.zeros(2), "upper": np.ones(2)},
     "outside the declared bounds"),
])
def test_npz_bad_arrays(tmp_path: Path, arrays: dict, message: str) -> None:
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(InputError, match=message):
        load_data(tmp_path / "d.npz")


def test_npz_bounds_of_the_wrong_shape(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 5)), y=np.zeros(4), lower=np.zeros(3),
             upper=np.ones(3))
    with pytest.raises(InputError, match="lower"):
        load_data(tmp_path / "d.npz")


def test_nan_and_inf_in_table_name_the_columns(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,c,label\n1,2.5,x,0\n2,,y,1\ninf,1.0,x,0\n3,4.0,y,1\n")
    with pytest.raises(InputError, match=r"t\.csv: column 'a' holds 1 infinite values \(the first "
                                         r"in data row 3: inf\) -- replace them"):
        load_data(tmp_path / "t.csv")
    (tmp_path / "t.csv").write_text("a,b,c,label\n1,2.5,x,0\n2,,y,1\n5,1.0,x,0\n3,,y,1\n")
    with pytest.raises(InputError, match=r"t\.csv: 2 rows hold missing values in columns b"):
        load_data(tmp_path / "t.csv")


def test_missing_text_category_and_missing_label(tmp_path: Path) -> None:
    df = _frame()
    df.loc[2, "city"] = None
    with pytest.raises(InputError, match="column 'city' has 1 missing values"):
        load_data(_write(df, tmp_path / "c.parquet"), target="outcome", group="sex")
    df = _frame().astype({"outcome": float})
    df.loc[0, "outcome"] = np.nan
    with pytest.raises(InputError, match=r"column 'outcome' \(the label\) has 1 missing values"):
        load_data(_write(df, tmp_path / "l.parquet"), target="outcome", group="sex")


def test_nan_in_arrays_is_input_error(tmp_path: Path) -> None:
    x = np.ones((4, 3))
    x[2, 1] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=np.zeros(4))
    with pytest.raises(InputError, match=r"1 rows hold NaN or infinite values \(columns: x1\)"):
        load_data(tmp_path / "d.npz")
    with pytest.raises(InputError, match="1 rows hold NaN"):
        Dataset(np.where(np.arange(8).reshape(2, 1, 2, 2) == 3, np.inf, 0.0), np.zeros(2),
                Schema("image", np.zeros((1, 2, 2)), np.ones((1, 2, 2))))


def test_empty_table(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("a,b,label\n")
    with pytest.raises(InputError, match="the table has no rows"):
        load_data(tmp_path / "e.csv")


def test_table_with_only_the_label(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("label\n0\n1\n")
    with pytest.raises(InputError, match="no feature columns"):
        load_data(tmp_path / "l.csv")


@pytest.mark.parametrize("option", ["target", "group"])
def test_unknown_column_lists_the_columns(tmp_path: Path, option: str) -> None:
    csv = _write(_frame(), tmp_path / "t.csv")
    kwargs = {"target": "outcome", option: "salary"}
    with pytest.raises(InputError, match=rf"--{option} column 'salary' does not exist -- "
                                         r"columns are: age, income, city, sex, outcome"):
        load_data(csv, **kwargs)


def test_unusable_column_type(tmp_path: Path) -> None:
    df = _frame()
    df["when"] = pd.to_datetime([f"2024-01-0{i}" for i in range(1, 7)])
    with pytest.raises(InputError, match="column 'when' has type datetime64"):
        load_data(_write(df, tmp_path / "t.parquet"), target="outcome", group="sex")


def test_labels_outside_the_models_classes() -> None:
    x = np.zeros((4, 2), np.float32)
    ds = Dataset(x, np.array([0, 1, 5, 7]), Schema.from_data(x), name="d.csv")
    with pytest.raises(InputError, match=r"d\.csv: labels \[5, 7\] are outside the model's "
                                         r"classes 0\.\.2"):
        ds.label_indices(None, 3)
    with pytest.raises(InputError, match=r"labels \['5', '7'\] are not among the model's classes"):
        ds.label_indices(np.array([0, 1, 2]), 3)
    np.testing.assert_array_equal(Dataset(x, np.array([0.0, 1.0, 2.0, 1.0]), Schema.from_data(x))
                                  .label_indices(None, 3), [0, 1, 2, 1])
    np.testing.assert_array_equal(Dataset(x, np.array([1, 2, 2, 1]), Schema.from_data(x))
                                  .label_indices(np.array([1.0, 2.0]), 2), [0, 1, 1, 0])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_data_outside_declared_bounds(tmp_path: Path, suffix: str) -> None:
    if suffix == ".npz":
        path = tmp_path / "d.npz"
        np.savez(path, x=np.array([[0.5, 3.0], [0.1, 0.2]]), y=np.array([0, 1]))
    else:
        path = _write(pd.DataFrame({"a": [0.5, 0.1], "b": [3.0, 0.2], "label": [0, 1]}),
                      tmp_path / f"d{suffix}")
    with pytest.raises(InputError, match=r"1 rows hold values outside the declared bounds \[0, 1\]"):
        load_data(path, bounds=(0.0, 1.0))
    assert load_data(path, bounds=(0.0, 3.0)).schema.bounds_source == "declared"


@pytest.mark.parametrize(("schema", "message"), [
    ({"modality": "tabular", "bound": [0, 1]}, "unknown schema field 'bound'.*'modality', 'bounds'"),
    ({"bounds": [0, 1, 2]}, r"'bounds' is \[0, 1, 2\] -- use \[lower, upper\] numbers"),
    ({"features": {"salary": {"type": "numeric"}}}, "feature 'salary' is not a column.*age, income"),
    ({"features": {"age": {"type": "ordinal"}}}, "features.age.type is 'ordinal'"),
    ({"bounds": [0, 10]}, "outside the declared bounds"),
    ([0, 1], "must be a JSON object"),
    ("{not json", "the schema file is not valid JSON"),
])
def test_bad_schema_file(tmp_path: Path, schema, message: str) -> None:
    csv = _write(_frame(), tmp_path / "t.csv")
    path = tmp_path / "schema.json"
    path.write_text(schema if isinstance(schema, str) else json.dumps(schema))
    with pytest.raises(InputError, match=message):
        load_data(csv, target="outcome", group="sex", schema=path)


def test_missing_schema_file(tmp_path: Path) -> None:
    csv = _write(_frame(), tmp_path / "t.csv")
    with pytest.raises(InputError, match="cannot read the schema file"):
        load_data(csv, target="outcome", schema=tmp_path / "missing.json")


@pytest.mark.parametrize("schema", [{"features": {"age": "integer"}}, {"bounds": ["low", "high"]}])
def test_malformed_schema_values_are_input_errors(tmp_path: Path, schema: dict) -> None:
    csv = _write(_frame(), tmp_path / "t.csv")
    (tmp_path / "s.json").write_text(json.dumps(schema))
    with pytest.raises(InputError, match=r"s\.json"):
        load_data(csv, target="outcome", group="sex", schema=tmp_path / "s.json")


def test_npz_target_and_group_keys(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, x=np.zeros((4, 2), np.float32), label=np.array([0, 1, 0, 1]),
             site=np.array(["a", "b", "a", "b"]))
    ds = load_data(p, target="label", group="site", bounds=(0.0, 1.0))
    assert ds.y.tolist() == [0, 1, 0, 1] and ds.groups.tolist() == ["a", "b", "a", "b"]
    assert ds.group_name == "site"
    with pytest.raises(InputError, match=r"no array named 'sex'.*--group"):
        load_data(p, target="label", group="sex")
    with pytest.raises(InputError, match="no array named 'y'"):
        load_data(p)


# -- values a scan would misread ---------------------------------------------------------------


@pytest.mark.parametrize("values", [["1.5", "2", "?", "4", "3"], ["1", "low", "3", "high"]])
def test_text_in_a_numeric_column(tmp_path: Path, values: list[str]) -> None:
    df = pd.DataFrame({"a": values, "b": [1, 2, 3, 4][:len(values)] + [5] * (len(values) - 4),
                       "label": ([0, 1] * 3)[:len(values)]})
    path = _write(df, tmp_path / "t.csv")
    bad = next(v for v in values if not v[0].isdigit())
    with pytest.raises(InputError, match=rf"t\.csv: column 'a' holds numbers but also text such "
                                         rf"as '{re.escape(bad)}' \(data row {values.index(bad) + 1}\)"
                                         r".*\"type\": \"categorical\""):
        load_data(path)
    (tmp_path / "s.json").write_text(json.dumps({"features": {"a": {"type": "categorical"}}}))
    ds = load_data(path, schema=tmp_path / "s.json")  # declared: read as categories
    assert ds.schema.feature_types == ["categorical", "integer"]
    assert ds.schema.categories[0] == values


def test_empty_feature_column(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,label\n1,,0\n2,,1\n3,,0\n")
    with pytest.raises(InputError, match=r"column 'b' holds no values at all \(3 rows, all "
                                         r"missing\) -- drop the column, or check the file's "
                                         "separator"):
        load_data(tmp_path / "t.csv")


def test_values_beyond_float32(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,label\n1,1e39,0\n2,3,1\n")
    with pytest.raises(InputError, match=r"column 'b' holds 1e\+39 \(data row 1\), beyond "
                                         "float32's range"):
        load_data(tmp_path / "t.csv")


def test_target_and_group_must_differ(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--target and --group both name 'outcome'"):
        load_data(_write(_frame(), tmp_path / "t.csv"), target="outcome", group="outcome")


def test_unknown_column_suggests_close_names(tmp_path: Path) -> None:
    csv = _write(_frame(), tmp_path / "t.csv")
    with pytest.raises(InputError, match=r"--group column 'Sex ' does not exist -- did you mean "
                                         r"'sex'\? columns are: age"):
        load_data(csv, target="outcome", group="Sex ")


def test_nullable_integers_with_missing_values(tmp_path: Path) -> None:
    df = _frame().astype({"age": "Int64"})
    df.loc[1, "age"] = pd.NA
    with pytest.raises(InputError, match="1 rows hold missing values in columns age"):
        load_data(_write(df, tmp_path / "t.parquet"), target="outcome", group="sex")


def test_object_npz_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    y = np.array([WritesFile(marker), 1, 0], dtype=object)
    np.savez(tmp_path / "d.npz", x=np.ones((3, 2)), y=y)
    with pytest.raises(InputError, match=r"array 'y' holds Python objects \(dtype=object\), "
                                         "which load only through pickle.*so it was not loaded"):
        load_data(tmp_path / "d.npz")
    assert not marker.exists()


def test_npz_member_that_is_not_an_array(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "d.npz", "w") as z:
        z.writestr("x", "not an array")
    with pytest.raises(InputError, match=r"d\.npz: member 'x' is not a \.npy array"):
        load_data(tmp_path / "d.npz")
    with zipfile.ZipFile(tmp_path / "d.npz", "w") as z:
        z.writestr("x.npy", b"\x93NUMPY junk")
    with pytest.raises(InputError, match=r"d\.npz: not a readable \.npz file \(ValueError: "):
        load_data(tmp_path / "d.npz")


# -- bounds of no width ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "npz", "image", "one row"])
def test_constant_data_without_bounds_is_refused(tmp_path: Path, kind: str) -> None:
    if kind == "csv":
        path = _write(pd.DataFrame({"a": [1.0] * 4, "b": [7] * 4, "label": [0, 1, 0, 1]}),
                      tmp_path / "t.csv")
    elif kind == "one row":
        path = _write(pd.DataFrame({"a": [0.5], "b": [3], "label": [1]}), tmp_path / "t.csv")
    else:
        path = tmp_path / "t.npz"
        np.savez(path, x=np.zeros((4, 2) if kind == "npz" else (4, 1, 3, 3)), y=np.arange(4) % 2)
    one = r" \(1 row\)" if kind == "one row" else ""
    with pytest.raises(InputError, match=rf"every feature holds a single value{one}, so bounds "
                                         r"taken from the data have zero width.*--bounds LOWER,"
                                         "UPPER or a schema file"):
        load_data(path)
    ds = load_data(path, bounds=(-1.0, 10.0))  # declared bounds: fine
    assert ds.schema.bounds_source == "declared" and float(ds.schema.span.min()) == 11.0
    (tmp_path / "s.json").write_text(json.dumps({"bounds": [-1, 10]}))
    assert load_data(path, schema=tmp_path / "s.json").schema.bounds_source == "declared"


def test_one_declared_feature_range_is_enough(tmp_path: Path) -> None:
    path = _write(pd.DataFrame({"a": [1.0] * 4, "b": [7] * 4, "label": [0, 1, 0, 1]}),
                  tmp_path / "t.csv")
    (tmp_path / "s.json").write_text(json.dumps({"features": {"a": {"min": 0, "max": 2}}}))
    ds = load_data(path, schema=tmp_path / "s.json")
    np.testing.assert_array_equal(ds.schema.span, [2.0, 0.0])
    (tmp_path / "s.json").write_text(json.dumps({"features": {"a": {"min": 1, "max": 1},
                                                              "b": {"min": 7, "max": 7}}}))
    with pytest.raises(InputError, match="the declared bounds have zero width for every feature"):
        load_data(path, schema=tmp_path / "s.json")
