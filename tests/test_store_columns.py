"""The store's arrow builder gives the arrays ``pa.array`` gives (values, nulls, NaN, types), without pandas."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from twotrack.store.columns import SCHEMAS, arrow_array, arrow_table

CASES = [
    (["a", None, "ü€ 日本", ""], pa.string()),
    ([1.5, None, float("nan"), 3, np.float32(2.5), float("inf")], pa.float64()),
    ([1, None, np.int64(7), np.int32(-3)], pa.int32()),
    ([2**40, None, -1], pa.int64()),
    ([True, False, None, np.bool_(True)], pa.bool_()),
    ([["x", "y"], [], None, ("z",), ["ü"]], pa.list_(pa.string())),
    ([], pa.string()), ([], pa.list_(pa.string())), ([None, None], pa.float64()), ([], pa.int32()),
]


@pytest.mark.parametrize("values,typ", CASES)
def test_arrays_equal_what_pa_array_makes(values, typ):
    mine, ref = arrow_array(values, typ), pa.array(values, type=typ)
    mine.validate(full=True)
    assert mine.type == ref.type and mine.null_count == ref.null_count
    assert str(mine.to_pylist()) == str(ref.to_pylist())  # str: NaN == NaN


def test_a_float_in_an_integer_column_is_refused_as_pa_array_refuses_it():
    with pytest.raises(TypeError):
        arrow_array([1, 2.5], pa.int32())
    with pytest.raises(TypeError):
        arrow_array([1, "2"], pa.int32())


def test_numpy_frames_and_a_whole_schema():
    frames = np.arange(300, dtype=np.uint8)
    assert arrow_array(frames, pa.uint8()).to_pylist() == frames.tolist()
    schema = SCHEMAS["sources"]
    row = {"path": "a.wav", "sha256": None, "size_bytes": 2**33, "mtime_ns": None, "format": "WAV", "codec": "PCM_16",
           "channels": 2, "sample_rate": 8000, "n_samples": 10, "duration_s": float("nan"), "repairs": ["x"],
           "probe": "{}", "run_id": 1}
    got = arrow_table({c: ([row[c]], t) for c, t in schema.items()})
    ref = pa.table({c: pa.array([row[c]], type=t) for c, t in schema.items()})
    assert got.schema == ref.schema and str(got.to_pylist()) == str(ref.to_pylist())
