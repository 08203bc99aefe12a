"""``framing.frames``: rows of ``length`` every ``hop`` as a read-only view, the same rows (and strides)
as ``sliding_window_view(x, length, axis)[::hop]``, which the stages used before it."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from twotrack.framing import frame_count, frames
from twotrack.voice.windows import window_starts, windows_at


def naive(x: np.ndarray, length: int, hop: int, axis: int) -> np.ndarray:
    """Row i of ``axis`` (>= 0): x[..., i hop : i hop + length, ...], its samples moved to a new last axis."""
    x = np.moveaxis(x, axis, -1)
    rows = [x[..., s : s + length] for s in range(0, x.shape[-1] - length + 1, hop)]
    out = np.stack(rows, axis=-2) if rows else np.zeros(x.shape[:-1] + (0, length), x.dtype)
    return np.moveaxis(out, -2, axis)


@pytest.mark.parametrize("shape,axis", [((37,), -1), ((3, 41), 1), ((3, 41), -1), ((29, 5), 0), ((2, 23, 3), 1)])
@pytest.mark.parametrize("length,hop", [(1, 1), (4, 1), (5, 2), (6, 6), (3, 7), (8, 3)])
def test_rows_are_the_naive_loop_and_numpys_view(shape, axis, length, hop):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    got = frames(x, length, hop, axis=axis)
    axis %= x.ndim  # the rows' axis counted from the front: the view has one axis more than x
    want = naive(x, length, hop, axis)
    assert got.shape == want.shape and got.dtype == x.dtype
    assert np.array_equal(got, want)
    numpy_view = np.moveaxis(np.moveaxis(sliding_window_view(x, length, axis=axis), axis, 0)[::hop], 0, axis)
    assert got.shape == numpy_view.shape and got.strides == numpy_view.strides
    assert got.shape[axis] == frame_count(shape[axis], length, hop)


def test_a_view_not_a_copy():
    x = np.arange(100, dtype=np.float32)
    v = frames(x, 10, 4)
    assert np.shares_memory(v, x) and not v.flags.writeable and not v.flags.owndata
    with pytest.raises(ValueError):
        v[0, 0] = 1.0
    x[8] = -1.0  # the rows see the signal as it is now: samples 8 are in rows 0 (index 8) and 2 (index 0)
    assert v[0, 8] == -1.0 and v[2, 0] == -1.0


def test_strided_and_reversed_inputs():
    base = np.arange(60, dtype=np.int64).reshape(3, 20)
    x = base[:, ::3]  # non-contiguous rows
    assert np.array_equal(frames(x, 3, 2, axis=1), naive(x, 3, 2, 1))
    y = np.arange(30.0)
    lags = frames(y, 25)[::-1]  # the echo rule's rows: row k is y shifted by k
    assert lags.shape == (6, 25) and np.array_equal(lags[0], y[5:]) and np.array_equal(lags[5], y[:25])
    assert np.array_equal(frames(np.arange(9) > 4, 3, 3), [[False] * 3, [False, False, True], [True] * 3])


def test_short_input_and_count():
    x = np.arange(10, dtype=np.float32)
    assert frames(x, 11, 1).shape == (0, 11) and frame_count(10, 11, 1) == 0
    assert frames(x[:0], 3, 2).shape == (0, 3)
    assert frames(x, 10, 3).shape == (1, 10) and frame_count(10, 10, 3) == 1
    assert frames(np.zeros((2, 5)), 6, 1, axis=1).shape == (2, 0, 6)
    assert np.array_equal(frames(x, 4, 2, count=2), [[0, 1, 2, 3], [2, 3, 4, 5]])
    assert frames(x, 4, 2, count=99).shape == (4, 4)  # a limit, never more rows than fit
    assert frames(x, 4, 2, count=0).shape == (0, 4)
    assert frames(x, 4, 2, count=-3).shape == (0, 4)


def test_bad_arguments():
    x = np.zeros(8)
    for length, hop in ((0, 1), (3, 0), (-2, 1)):
        with pytest.raises(ValueError, match="length >= 1 and hop >= 1"):
            frames(x, length, hop)
    with pytest.raises(ValueError, match="axis"):
        frames(x, 2, 1, axis=1)


def test_encoder_windows_at_starts():
    mel = np.random.default_rng(3).standard_normal((57, 40)).astype(np.float32)
    starts = window_starts(57, 16, 5)
    got = windows_at(mel, starts, 16)
    assert np.array_equal(got, np.stack([mel[s : s + 16] for s in starts]))
    assert got.shape == (len(starts), 16, 40) and not np.shares_memory(got, mel)  # copied: the rows overlap
    # the layout the diarizer and own-voice rule always gave the encoder
    assert got.strides == sliding_window_view(mel, 16, axis=0)[starts].transpose(0, 2, 1).strides
