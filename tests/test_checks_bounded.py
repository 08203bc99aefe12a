"""The bleed and sync sums bounded to ``bleed_sum_windows`` windows (issue 22, the scan's speed)."""

from __future__ import annotations

import numpy as np

from twotrack.checks import run_checks
from twotrack.checks.xcorr import gain_curve, path_spectra, plan_path
from twotrack.config import ChecksConfig

FS, HOP = 8000, 80
KW = dict(offset_s=0.0, rate=1.0, max_lag=400, block_len=3200, band=(150.0, 2800.0), window_s=8.0)


def _pair(seconds: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    src = rng.standard_normal(FS * seconds).astype(np.float32)
    tgt = np.roll(src, 24) * 0.1 + 0.01 * rng.standard_normal(src.size).astype(np.float32)
    return src, tgt


def test_sum_windows_keeps_the_blocks_of_evenly_spread_windows_only():
    src, _ = _pair(120)
    weight = np.ones(src.size // HOP, np.float32)
    full = plan_path(src.size, FS, weight, HOP, **KW)
    bounded = plan_path(src.size, FS, weight, HOP, sum_windows=4, **KW)
    assert full.out.window_cross.shape[0] == 15 and bounded.out.window_cross.shape[0] == 4
    windows = np.unique(bounded.keep * 3200 // (8 * FS))
    assert windows.tolist() == [0, 5, 9, 14]  # first and last window kept, the rest evenly between
    assert bounded.keep.size == 4 * (8 * FS // 3200)  # every block of the chosen windows (20 per window)
    assert bounded.out.masked_s == full.out.masked_s  # the single talk available is still all of it
    # a bound at or above the window count changes nothing
    same = plan_path(src.size, FS, weight, HOP, sum_windows=15, **KW)
    np.testing.assert_array_equal(same.keep, full.keep)


def test_bounded_sums_give_the_same_gain_and_lag():
    src, tgt = _pair(120)
    weight = np.ones(src.size // HOP, np.float32)
    full = path_spectra(src, tgt, plan_path(src.size, FS, weight, HOP, **KW))
    bounded = path_spectra(src, tgt, plan_path(src.size, FS, weight, HOP, sum_windows=4, **KW))
    g_full = gain_curve(full.total, full.energy, full.nfft)[: 2 * 400 + 1]
    g_bounded = gain_curve(bounded.total, bounded.energy, bounded.nfft)[: 2 * 400 + 1]
    assert int(np.argmax(np.abs(g_full))) == int(np.argmax(np.abs(g_bounded))) == 400 + 24
    assert abs(g_bounded.max() - 0.1) < 0.002 and abs(g_full.max() - 0.1) < 0.002


def test_run_checks_bounded_and_unbounded_agree_on_a_long_pair():
    src, tgt = _pair(300, seed=7)
    # two talkers taking turns: A alone, then B alone (each carrying the other's bleed), 10 s turns
    turn = (np.arange(src.size) // (10 * FS)) % 2 == 0
    a = np.where(turn, src, 0.1 * np.roll(tgt, 24)).astype(np.float32)
    b = np.where(turn, tgt, src).astype(np.float32)
    x = np.stack([a, b])
    full = run_checks(x, FS, cfg=ChecksConfig(bleed_sum_windows=0))
    bounded = run_checks(x, FS, cfg=ChecksConfig(bleed_sum_windows=8))
    assert full.bleed_db is not None and bounded.bleed_db is not None
    assert abs(full.bleed_db - bounded.bleed_db) < 0.1
    assert full.bleed_lag_ms == bounded.bleed_lag_ms
    assert full.isolation == bounded.isolation
