from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trustbench.errors import InputError
from trustbench.monitor import Profile, build_profile, check_drift
from trustbench.monitor.profile import CONFIDENCE, PREDICTION


def _frame(n: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.normal(40 + 10 * shift, 10, n),
                         "income": rng.lognormal(10, 1, n),
                         "city": rng.choice(["paris", "lyon", "nice"], n),
                         "member": rng.choice([True, False], n),
                         "id": np.arange(n)})


def test_profile_types_counts_and_round_trip() -> None:
    p = build_profile(_frame(1000), exclude=["id"], kinds={"member": "categorical"})
    assert p.kinds == {"age": "numeric", "income": "numeric", "city": "categorical",
                       "member": "categorical"}
    assert p.rows == 1000 and p.columns["age"].n == 1000
    back = Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    assert back.to_dict() == p.to_dict()


def test_reading_in_chunks_gives_the_whole_tables_profile(tmp_path) -> None:
    frame = _frame(2500)
    whole = build_profile(frame, exclude=["id"])
    csv, parquet = tmp_path / "ref.csv", tmp_path / "ref.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet)
    for source in (csv, parquet):
        chunked = build_profile(source, exclude=["id"], chunk_rows=300)
        assert chunked.rows == 2500
        for name, s in whole.columns.items():
            c = chunked.columns[name]
            if s.kind == "numeric":
                assert c.n == s.n and c.mean == pytest.approx(s.mean)
                assert np.allclose(c.values, s.values)  # every value kept, sorted
            else:
                assert c.counts == s.counts


def test_a_window_is_checked_against_its_reference() -> None:
    ref = build_profile(_frame(5000), exclude=["id"])
    same = build_profile(_frame(800, seed=1), exclude=["id"], reference=ref)
    moved = build_profile(_frame(800, seed=2, shift=0.5), exclude=["id"], reference=ref)
    assert not check_drift(ref.features, same.features).alarms
    assert [c.column for c in check_drift(ref.features, moved.features).alarms] == ["age"]


def test_model_outputs_are_profiled_too() -> None:
    def scores(chunk: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-(chunk["age"].to_numpy() - 40) / 10))
        return np.stack([1 - p, p], 1)

    p = build_profile(_frame(1000), exclude=["id"], scores=scores, chunk_rows=256)
    assert p.columns[PREDICTION].n == 1000 and set(p.columns[PREDICTION].counts) == {"0", "1"}
    assert 0.5 <= p.columns[CONFIDENCE].minimum <= p.columns[CONFIDENCE].maximum <= 1
    assert PREDICTION not in p.features
    with pytest.raises(InputError, match=r"returned shape \(5,\) for 1000 rows"):
        build_profile(_frame(1000), scores=lambda c: np.ones(5))


def test_a_window_that_does_not_fit_the_profile_is_named(tmp_path) -> None:
    ref = build_profile(_frame(300), exclude=["id"])
    with pytest.raises(InputError, match="no column 'city' of the profile"):
        build_profile(_frame(50).drop(columns=["city"]), exclude=["id"], reference=ref)
    with pytest.raises(InputError, match="column 'id' is not in the profile"):
        build_profile(_frame(50), reference=ref)
    bad = _frame(50).astype({"age": object})
    bad.loc[7, "age"] = "forty"
    with pytest.raises(InputError, match=r"'age' is numeric in the profile, but row 8 holds 'forty'"):
        build_profile(bad, exclude=["id"], reference=ref)
    with pytest.raises(InputError, match="no such file"):
        build_profile(tmp_path / "missing.csv")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        build_profile(broken)
    with pytest.raises(InputError, match="no rows"):
        build_profile(iter([]))
    with pytest.raises(InputError, match="kind 'text' for column 'city'"):
        build_profile(_frame(10), kinds={"city": "text"})


def test_the_first_chunk_decides_the_column_kinds() -> None:
    first = pd.DataFrame({"v": [1.0, 2.0, 3.0]})
    later = pd.DataFrame({"v": ["x", "y", "z"]})
    with pytest.raises(InputError, match="'v' is numeric in the profile, but row 1 holds 'x'"):
        build_profile(iter([first, later]))
    with pytest.raises(InputError, match="a later chunk has other columns"):
        build_profile(iter([first, pd.DataFrame({"w": [1.0]})]))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_bad_value_is_named_by_its_row_in_the_file(tmp_path, suffix: str) -> None:
    ref = build_profile(_frame(300), exclude=["id"])
    bad = _frame(1000, seed=5)
    bad["age"] = bad["age"].astype(str)  # numbers as text, as a CSV export may give them
    bad.loc[733, "age"] = "forty"
    path = tmp_path / f"window{suffix}"
    bad.to_csv(path, index=False) if suffix == ".csv" else bad.to_parquet(path)
    with pytest.raises(InputError, match="row 734 holds 'forty'"):
        build_profile(path, exclude=["id"], reference=ref, chunk_rows=250)
