"""The checks over blocks (``run_checks_blocks``) against the checks over the whole array (``run_checks``),
and the pieces the streamed form is built from: gathering stretches from a block stream, a bounded sync
plan, blocks re-cut onto the 10 ms grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twotrack.checks import run_checks, run_checks_blocks
from twotrack.checks.gather import Group, gather
from twotrack.checks.stream import frame_aligned
from twotrack.checks.xcorr import path_spectra, plan_path
from twotrack.ingest.discover import discover
from twotrack.ingest.tracks import choose_analysis_rate, iter_track_blocks, load_tracks, source_infos

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _recordings(*ids: str):
    recs, errors = discover([SAMPLE / "manifest.csv"])
    assert not errors
    by_id = {r.recording_id: r for r in recs}
    return [by_id[i] for i in ids]


@pytest.mark.parametrize("rid", ["telephone/demo02_3080_2033", "clean/demo01_367_1688", "paired/demo01_367_1688"])
def test_streamed_checks_equal_whole_array_checks(rid):
    # telephone: bleed and sync of one file; clean: 16 kHz resampled to the 8 kHz bleed rate as it
    # streams; paired: the coarse offset search and the fitted clock line, each a pass of its own
    [rec] = _recordings(rid)
    infos = source_infos(rec)
    rate = choose_analysis_rate([i.sample_rate for i in infos.values()])
    whole = load_tracks(rec, rate, infos=infos)
    expected = run_checks(whole.samples, rate, layout=rec.layout)
    got = run_checks_blocks(lambda: iter_track_blocks(rec, rate, infos=infos), rate, layout=rec.layout)
    assert got.to_dict() == expected.to_dict()


def test_streamed_sync_of_paired_tracks_with_offset_and_drift():
    # the telephone dialogue's tracks share their crosstalk: B moved 0.35 s later and 60 ppm fast, as a
    # second device would record it, then checked as paired files (coarse search, then two fitted lines)
    import soxr

    from twotrack.model import Layout

    [rec] = _recordings("telephone/demo02_3080_2033")
    x = load_tracks(rec, 8000).samples
    b = soxr.resample(x[1], 8000, 8000 * (1 + 60e-6), quality="HQ").astype(np.float32)
    b = np.concatenate([np.zeros(2800, np.float32), b])
    n = max(x.shape[1], b.size)
    pair = np.zeros((2, n), np.float32)
    pair[0, : x.shape[1]], pair[1, : b.size] = x[0], b
    expected = run_checks(pair, 8000, layout=Layout.PAIRED)
    got = run_checks_blocks(lambda: (pair[:, i : i + 64000] for i in range(0, n, 64000)), 8000, layout=Layout.PAIRED)
    assert got.to_dict() == expected.to_dict()
    assert abs(got.offset_ms - 350.0) < 1.0 and abs(got.drift_ppm - 60.0) < 5.0


def test_streamed_checks_bad_input_is_unknown_not_a_crash():
    x = np.zeros((2, 16000), np.float32)
    x[1, 100] = np.nan
    got = run_checks_blocks(lambda: iter([x[:, :8000], x[:, 8000:]]), 8000)
    assert got.isolation.value == "unknown"
    assert "NaN or infinite" in got.reasons[0] and "track B: 1" in got.reasons[0]
    empty = run_checks_blocks(lambda: iter(()), 8000)
    assert empty.isolation.value == "unknown" and "no audio" in empty.reasons[0]


def test_odd_block_sizes_and_rates_on_the_frame_grid():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, 8000 * 6)) * 0.05).astype(np.float32)
    x[1] = 0.5 * x[0]  # a scaled copy: the zero-lag sums see it whatever the block cuts
    cuts = [0, 333, 8000, 8001, 30000, x.shape[1]]
    blocks = lambda: (x[:, a:b] for a, b in zip(cuts, cuts[1:]))
    aligned = list(frame_aligned(blocks(), 80))
    assert all(b.shape[1] % 80 == 0 for b in aligned[:-1]) and sum(b.shape[1] for b in aligned) == x.shape[1]
    np.testing.assert_array_equal(np.concatenate(aligned, axis=1), x)
    assert run_checks_blocks(blocks, 8000).to_dict() == run_checks(x, 8000).to_dict()
    # 11025 Hz has no whole-sample 10 ms frame: both forms resample to 8 kHz and say so
    y = (rng.standard_normal((2, 11025 * 3)) * 0.05).astype(np.float32)
    got = run_checks_blocks(lambda: iter([y[:, :5000], y[:, 5000:]]), 11025)
    assert got.to_dict() == run_checks(y, 11025).to_dict()
    assert any("11025 Hz has no whole-sample 10 ms frame" in r for r in got.reasons)


def test_gather_reads_stretches_across_block_edges_with_zeros_outside():
    signal = np.arange(1000, dtype=np.float32)[None, :].repeat(2, axis=0)
    signal[1] *= -1
    got = {}
    starts = np.array([-5, 0, 95, 200, 990])
    groups = [Group([(0, starts, 20), (1, np.array([50]), 10)], lambda bufs: got.setdefault("g", bufs))]
    n = gather((signal[:, a:a + 100] for a in range(0, 1000, 100)), groups)
    assert n == 1000
    a, b = got["g"]
    for k, s in enumerate(starts):
        want = np.array([v if 0 <= v < 1000 else 0 for v in range(s, s + 20)], np.float32)
        np.testing.assert_array_equal(a[k], want)
    np.testing.assert_array_equal(b[0], -np.arange(50, 60, dtype=np.float32))


def test_bounded_plan_keeps_evenly_spread_windows_and_every_block_for_bleed():
    rng = np.random.default_rng(5)
    fs, hop = 8000, 80
    src = rng.standard_normal(fs * 120).astype(np.float32)
    tgt = np.roll(src, 24) * 0.1 + 0.01 * rng.standard_normal(src.size).astype(np.float32)
    weight = np.ones(src.size // hop, np.float32)
    kw = dict(offset_s=0.0, rate=1.0, max_lag=400, block_len=3200, band=(150.0, 2800.0), window_s=8.0)
    full = path_spectra(src, tgt, plan_path(src.size, fs, weight, hop, **kw))
    bounded = plan_path(src.size, fs, weight, hop, max_windows=4, **kw)
    assert full.window_cross.shape[0] == 15 and bounded.out.window_cross.shape[0] == 4
    assert bounded.keep.size == -(-src.size // 3200)  # the bleed sums still take every block


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NaN/inf samples on purpose
def test_frame_power_from_shared_sums_is_the_same():
    """``frame_power_db(x, sr, sums)`` (the frame sums ``block_stats`` shares with the pair sums) gives
    the numbers of ``frame_power_db(x, sr)`` bit for bit: speech-like noise, digital silence, a frame
    of subnormals, -0.0, a DC frame, NaN and infinity, whole and partial last frames."""
    from twotrack.checks.channels import track_sums
    from twotrack.checks.power import frame_power_db

    rng = np.random.default_rng(11)
    for n in (80, 160, 8000, 8037, 64000, 64079, 79):
        for scale in (1e-6, 0.05, 0.9):
            x = (rng.standard_normal(n) * scale).astype(np.float32)
            x[: min(n, 160)] = 0.0
            x[80:90] = np.float32(1e-45)  # the smallest subnormal: its square is not zero in float64
            x[170:250] = -0.0
            x[250:330] = 0.25  # a constant frame: zero variance, not silence
            if n > 1000:
                x[900] = np.nan
                x[990] = np.inf
            want = frame_power_db(x, 8000)
            got = frame_power_db(x, 8000, track_sums(x, 80))
            assert want.tobytes() == got.tobytes(), (n, scale)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NaN/inf samples on purpose
def test_non_finite_samples_are_counted_per_track():
    from twotrack.checks.stream import block_stats
    from twotrack.config import ChecksConfig

    x = np.zeros((3, 24000), np.float32)
    x[1, 100], x[1, 20000], x[2, 5] = np.nan, np.inf, -np.inf
    x[0, 7] = np.float32(3e38)  # large but finite: a float64 sum does not overflow
    st = block_stats((x[:, a : a + 8000] for a in range(0, 24000, 8000)), 8000, 1.0, ChecksConfig())
    assert st.nonfinite.tolist() == [0, 2, 1]
