"""Waveform peaks: frame peaks, the on-disk pyramid, per-pixel windows, and the cache's compute-once rule."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from twotrack.show import peaks as P


def test_stream_peaks_equal_whole_peaks_for_any_block_split():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 16000 * 3 + 37)).astype(np.float32)
    whole = P.frame_peaks(x, 160)
    cuts = np.sort(rng.choice(x.shape[1], 9, replace=False))
    blocks = np.split(x, cuts, axis=1)
    assert np.array_equal(P.stream_peaks(blocks, 160), whole)
    assert whole.shape == (2, 2, 301)
    assert whole[0, 0, 5] == P._q(x[0, 800:960].min()) and whole[1, 1, -1] == P._q(x[1, 48000:].max())


def test_pyramid_levels_reduce_the_level_below():
    rng = np.random.default_rng(1)
    frames = np.sort(rng.integers(-30000, 30000, (2, 2, 1003)).astype(np.int16), axis=1)  # min <= max
    levels = P.pyramid(frames)
    assert [lv.shape[0] for lv in levels] == [1003, 126, 16, 2]
    for k in range(1, len(levels)):
        below, here = levels[k - 1], levels[k]
        for i in sorted({0, min(7, here.shape[0] - 1), here.shape[0] - 1}):
            chunk = below[i * 8:(i + 1) * 8]
            assert np.array_equal(here[i, :, 0], chunk[:, :, 0].min(axis=0))
            assert np.array_equal(here[i, :, 1], chunk[:, :, 1].max(axis=0))


@pytest.mark.parametrize("start,end,width", [(0.0, 10.0, 1000), (3.3, 97.1, 700), (0.0, 100.3, 50), (50.0, 51.0, 80)])
def test_window_bounds_each_pixel(tmp_path, start, end, width):
    rng = np.random.default_rng(2)
    n = 10030  # 100.3 s of 10 ms frames
    lo = rng.integers(-32000, 0, (2, n))
    frames = np.stack([lo, lo + rng.integers(0, 32000, (2, n))], axis=1).astype(np.int16)
    cache = P.PeakCache(tmp_path)
    pf = cache.get("k", lambda: frames)
    got_lo, got_hi = P.window(pf, [0, 1], start, end, width)
    assert got_lo.shape == got_hi.shape == (2, width)
    res = (end - start) / width
    level = max(k for k in range(P.N_LEVELS) if k == 0 or P.HOP_S * P.LEVEL_FACTOR ** k <= res)
    slack = P.LEVEL_FACTOR ** level  # frames in one entry of the level used
    for i in range(0, width, 3):
        a = int(np.floor((start + i * res) / P.HOP_S + 1e-6))
        b = max(a + 1, int(np.floor((start + (i + 1) * res) / P.HOP_S + 1e-6)))
        for t in (0, 1):
            inner_hi = frames[t, 1, a:b].max() / P.SCALE
            outer_hi = frames[t, 1, max(0, a - slack): b + slack].max() / P.SCALE
            inner_lo = frames[t, 0, a:b].min() / P.SCALE
            outer_lo = frames[t, 0, max(0, a - slack): b + slack].min() / P.SCALE
            assert inner_hi - 1e-6 <= got_hi[t, i] <= outer_hi + 1e-6
            assert outer_lo - 1e-6 <= got_lo[t, i] <= inner_lo + 1e-6
    assert np.allclose(pf.track_peak, np.abs(frames).max(axis=(1, 2)) / P.SCALE)


def test_cache_computes_once_and_reuses_the_files(tmp_path):
    calls = []
    frames = np.zeros((2, 2, 500), np.int16)
    frames[0, 1, 100] = 1000

    def compute():
        calls.append(1)
        return frames

    cache = P.PeakCache(tmp_path)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("abc", compute))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1
    again = P.PeakCache(tmp_path).get("abc", compute)  # a new process finds the files
    assert len(calls) == 1 and again.n_frames == 500
    assert np.array_equal(again.read(0, 99, 102)[:, 0, 1], [0, 1000, 0])
    (tmp_path / "abc.L0.npy").write_bytes(b"garbage")  # a damaged file is recomputed
    P.PeakCache(tmp_path).get("abc", compute)
    assert len(calls) == 2
