"""Bleed and sync with known answers, built from the real speech of the sample corpus.

- telephone renditions (8 kHz mu-law SPHERE): each channel holds the other at -28 dB, 3 ms late;
- clean renditions (16 kHz FLAC, digital silence between phrases): no bleed;
- clean speech with bleed inserted at -20/-30/-40 dB, 1.7 ms late, under white noise at -45 dBFS;
- tests/data/paired-with-bleed: two per-speaker files from "two devices" (truth in .sync.json).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.checks import BleedEstimate, SyncEstimate, estimate_bleed, estimate_sync, run_checks
from twotrack.config import ChecksConfig
from twotrack.ingest.sphere import read_sphere
from twotrack.model import FRAMES, CheckResult, Isolation, Layout, Segment
from twotrack.timeline import segments_to_mask

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
PAIRED = ROOT / "tests" / "data" / "paired-with-bleed"
IDS = ["demo01_367_1688", "demo02_3080_2033", "demo03_2609_367"]


def read_telephone(rid: str) -> tuple[np.ndarray, int]:
    x, sr = read_sphere(SAMPLE / "telephone" / f"{rid}.sph")
    return (x.T.astype(np.float32) / 32768.0), sr


def read_clean(rid: str) -> tuple[np.ndarray, int]:
    x, sr = sf.read(SAMPLE / "clean" / f"{rid}.flac", dtype="float32")
    return np.ascontiguousarray(x.T), sr


def delayed(x: np.ndarray, samples: float) -> np.ndarray:
    """``x`` delayed by a (fractional) number of samples, band-limited (FFT phase ramp)."""
    nfft = 1 << int(np.ceil(np.log2(x.size + 4096)))
    spec = np.fft.rfft(x, nfft) * np.exp(-2j * np.pi * np.arange(nfft // 2 + 1) * samples / nfft)
    return np.fft.irfft(spec, nfft)[: x.size].astype(np.float32)


def with_bleed(tracks: np.ndarray, sr: int, level_db: float, lag_ms: float, noise_dbfs: float, seed: int = 0) -> np.ndarray:
    """Each track gets the other at ``level_db``, ``lag_ms`` late, then white noise at ``noise_dbfs``."""
    a, b = tracks
    g = 10.0 ** (level_db / 20.0)
    d = lag_ms * sr / 1000.0
    rng = np.random.default_rng(seed)
    noise = 10.0 ** (noise_dbfs / 20.0) * rng.standard_normal(tracks.shape).astype(np.float32)
    return np.stack([a + g * delayed(b, d), b + g * delayed(a, d)]) + noise


def ctm_masks(rid: str, n_frames: int) -> np.ndarray:
    """Gold word times -> one activity mask per track on the 10 ms grid."""
    words: dict[int, list[Segment]] = {0: [], 1: []}
    for line in (SAMPLE / "gold" / f"{rid}.ctm").read_text().splitlines():
        if not line.strip() or line.startswith(";;"):
            continue
        _, ch, start, dur, *_ = line.split()
        words["AB".index(ch)].append(Segment(float(start), float(start) + float(dur)))
    return np.stack([segments_to_mask(words[i], n_frames) for i in (0, 1)])


# ------------------------------------------------------------------------------------------
# telephone renditions: -28 dB, 3 ms, both directions
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", IDS)
def test_telephone_reports_its_crosstalk(rid):
    x, sr = read_telephone(rid)
    result = run_checks(x, sr, codec="ULAW", layout=Layout.MULTICHANNEL)
    assert result.isolation is Isolation.LEAKY  # -28 dB: above the -35 dB leaky threshold
    assert result.bleed_db == pytest.approx(-28.0, abs=2.0)
    assert result.bleed_lag_ms == pytest.approx(3.0, abs=1.0)
    for direction in ("A->B", "B->A"):
        assert result.metrics[f"bleed_db.{direction}"] == pytest.approx(-28.0, abs=2.0)
        assert result.metrics[f"bleed_lag_ms.{direction}"] == pytest.approx(3.0, abs=1.0)
        assert result.metrics[f"bleed_floor_db.{direction}"] < -40.0
    # one file, one clock: the shared bleed puts the tracks in sync
    assert result.offset_ms == pytest.approx(0.0, abs=0.5)
    assert result.drift_ppm == pytest.approx(0.0, abs=2.0)
    assert result.reasons[0].startswith("bleed ") and "leaky threshold -35 dB" in result.reasons[0]
    assert result.codec == "ULAW" and result.sample_rate == 8000


def test_telephone_bleed_with_gold_activity_masks():
    rid = IDS[1]
    x, sr = read_telephone(rid)
    masks = ctm_masks(rid, FRAMES.n_frames(x.shape[1] / sr))
    est = estimate_bleed(x[0], x[1], sr, activity=masks)
    assert isinstance(est, BleedEstimate) and est.detected
    for p in est.paths:
        assert p.detected
        assert p.level_db == pytest.approx(-28.0, abs=2.0)
        assert p.lag_ms == pytest.approx(3.0, abs=1.0)
    assert est.level_into(1) == est.path(0, 1).level_db
    # the same masks through run_checks: speech shares follow the gold word times
    result = run_checks(x, sr, codec="ULAW", activity=masks)
    assert result.isolation is Isolation.LEAKY and result.bleed_db == pytest.approx(-28.0, abs=2.0)
    for q, m in zip(result.tracks, masks):
        assert q.speech_share == pytest.approx(m.mean(), abs=0.02)


@pytest.mark.parametrize("rid", IDS)
def test_clean_renditions_report_no_bleed(rid):
    x, sr = read_clean(rid)
    result = run_checks(x, sr, codec="PCM_16", layout=Layout.MULTICHANNEL)
    assert result.isolation is Isolation.ISOLATED
    assert result.bleed_db is None and result.bleed_lag_ms is None and result.bleed_direction is None
    assert result.offset_ms is None and result.drift_ppm is None  # nothing shared to sync on
    assert not result.duplicate_channels
    assert "no bleed detected" in result.reasons[0]


# ------------------------------------------------------------------------------------------
# bleed inserted into clean speech at known levels and lag, under realistic noise
# ------------------------------------------------------------------------------------------

NOISE_DBFS = -45.0  # white noise on both tracks: ~20 dB below the speech (median word RMS -24 dBFS)
LAG_MS = 1.7  # 27.2 samples at 16 kHz: a fractional lag


@pytest.fixture(scope="module")
def clean02():
    return read_clean(IDS[1])


@pytest.mark.parametrize("level_db, verdict", [(-20.0, Isolation.LEAKY), (-30.0, Isolation.LEAKY),
                                               (-40.0, Isolation.ISOLATED)])
def test_inserted_bleed_is_measured(clean02, level_db, verdict):
    x, sr = clean02
    noisy = with_bleed(x, sr, level_db, LAG_MS, NOISE_DBFS)
    est = estimate_bleed(noisy[0], noisy[1], sr)
    for p in est.paths:
        # with this noise every level, -40 dB included, is above the noise floor: it must be measured
        assert p.noise_floor_db is not None and p.noise_floor_db < level_db - 6
        assert p.detected
        assert p.level_db == pytest.approx(level_db, abs=2.0)
        assert p.lag_ms == pytest.approx(LAG_MS, abs=1.0)
    result = run_checks(noisy, sr)
    assert result.isolation is verdict
    assert result.bleed_db == pytest.approx(level_db, abs=2.0)
    assert result.bleed_lag_ms == pytest.approx(LAG_MS, abs=1.0)


def test_bleed_below_the_noise_floor_is_none_detected(clean02):
    x, sr = clean02
    noisy = with_bleed(x, sr, -75.0, LAG_MS, NOISE_DBFS)  # far under the noise
    est = estimate_bleed(noisy[0], noisy[1], sr)
    assert not est.detected and est.level_db is None and est.lag_ms is None
    assert est.noise_floor_db is not None and est.noise_floor_db > -75.0
    result = run_checks(noisy, sr)
    assert result.isolation is Isolation.ISOLATED and result.bleed_db is None
    assert "no bleed detected" in result.reasons[0] and "noise floor" in result.reasons[0]


def test_strong_bleed_is_not_isolated(clean02):
    x, sr = clean02
    noisy = with_bleed(x, sr, -10.0, LAG_MS, NOISE_DBFS)
    result = run_checks(noisy, sr)
    assert result.isolation is Isolation.NOT_ISOLATED
    assert result.bleed_db == pytest.approx(-10.0, abs=2.0)
    assert "not-isolated threshold -15 dB" in result.reasons[0]


def test_thresholds_come_from_the_config(clean02):
    x, sr = clean02
    noisy = with_bleed(x, sr, -30.0, LAG_MS, NOISE_DBFS)
    strict = ChecksConfig(bleed_leaky_db=-45.0, bleed_not_isolated_db=-32.0)
    assert run_checks(noisy, sr, cfg=strict).isolation is Isolation.NOT_ISOLATED
    lax = ChecksConfig(bleed_leaky_db=-25.0)
    assert run_checks(noisy, sr, cfg=lax).isolation is Isolation.ISOLATED


# ------------------------------------------------------------------------------------------
# paired per-speaker files from two devices: offset and drift
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paired():
    truth = json.loads((PAIRED / "demo02_3080_2033.sync.json").read_text())
    a, sr = sf.read(PAIRED / "demo02_3080_2033.A.flac", dtype="float32")
    b, _ = sf.read(PAIRED / "demo02_3080_2033.B.flac", dtype="float32")
    x = np.zeros((2, max(a.size, b.size)), np.float32)
    x[0, : a.size], x[1, : b.size] = a, b
    return x, sr, truth


def test_paired_files_offset_and_drift(paired):
    x, sr, truth = paired
    result = run_checks(x, sr, codec="PCM_16", layout=Layout.PAIRED)
    assert result.offset_ms == pytest.approx(truth["offset_s"] * 1000.0, abs=5.0)
    assert result.drift_ppm == pytest.approx(truth["drift_ppm"], abs=5.0)
    # once aligned, the bleed both files hold is measured too
    assert result.bleed_db == pytest.approx(truth["bleed_db"], abs=2.0)
    assert result.bleed_lag_ms == pytest.approx(truth["bleed_lag_ms"], abs=1.0)
    assert result.isolation is Isolation.LEAKY
    assert any(r.startswith("sync: B offset") for r in result.reasons)


def test_estimate_sync_directly(paired):
    x, sr, truth = paired
    sync = estimate_sync(x[0], x[1], sr)
    assert isinstance(sync, SyncEstimate) and sync.measured
    assert sync.offset_ms == pytest.approx(truth["offset_s"] * 1000.0, abs=5.0)
    assert sync.drift_ppm == pytest.approx(truth["drift_ppm"], abs=5.0)
    assert sync.n_windows >= 5 and sync.residual_ms < 0.5
    # each path alone carries the bleed delay, with opposite signs
    via_ab, via_ba = sync.path_offsets_ms
    assert via_ab - via_ba == pytest.approx(2 * truth["bleed_lag_ms"], abs=1.0)
    # the bleed along the measured line
    est = estimate_bleed(x[0], x[1], sr, offset_ms=sync.offset_ms, drift_ppm=sync.drift_ppm)
    assert est.level_db == pytest.approx(truth["bleed_db"], abs=2.0)
    assert est.lag_ms == pytest.approx(truth["bleed_lag_ms"], abs=1.0)


def test_paired_files_without_shared_signal_have_no_sync():
    """data/sample/paired holds each speaker alone (no bleed): nothing to align on."""
    a, sr = sf.read(SAMPLE / "paired" / f"{IDS[0]}.A.wav", dtype="float32")
    b, _ = sf.read(SAMPLE / "paired" / f"{IDS[0]}.B.wav", dtype="float32")
    x = np.zeros((2, max(a.size, b.size)), np.float32)
    x[0, : a.size], x[1, : b.size] = a, b
    result = run_checks(x, sr, codec="ULAW", layout=Layout.PAIRED)
    assert result.offset_ms is None and result.drift_ppm is None
    assert result.bleed_db is None
    assert any("no shared signal" in r for r in result.reasons)


# ------------------------------------------------------------------------------------------
# the JSON shape `twotrack show` prints
# ------------------------------------------------------------------------------------------


def test_result_serialises_with_the_required_keys():
    x, sr = read_telephone(IDS[0])
    result = run_checks(x, sr, codec="ULAW")
    d = json.loads(json.dumps(result.to_dict()))
    for key in ("isolation", "bleed_db", "bleed_lag_ms", "offset_ms", "drift_ppm", "duplicate_channels", "reasons"):
        assert key in d
    assert d["isolation"] == "leaky" and isinstance(d["reasons"], list) and isinstance(d["duplicate_channels"], bool)
    assert CheckResult.from_dict(d) == result


def test_sync_line_fit_ignores_outlier_windows():
    """Window lags on a known line, with the bleed delay on each path and a few wild windows."""
    from twotrack.checks.sync import fit_sync

    rng = np.random.default_rng(3)
    offset, drift, delay = 0.35, 60e-6, 0.002
    t_ab = np.arange(2.0, 300.0, 8.0)
    lag_ab = delay + drift * t_ab + rng.normal(0, 2e-5, t_ab.size)  # searched along (0.35, rate 1)
    lag_ab[[3, 17]] += (0.03, -0.04)  # wrong peaks
    t_ba = np.arange(6.0, 300.0, 8.0)
    t_a = (t_ba - offset) / (1 + drift)
    lag_ba = delay + (t_a - (t_ba - offset)) + rng.normal(0, 2e-5, t_ba.size)
    sync = fit_sync((t_ab, lag_ab), (t_ba, lag_ba), offset, 1.0, ChecksConfig())
    assert sync.offset_ms == pytest.approx(350.0, abs=0.1)
    assert sync.drift_ppm == pytest.approx(60.0, abs=0.5)
    assert sync.n_windows == t_ab.size + t_ba.size - 2
    assert sync.path_offsets_ms[0] - sync.path_offsets_ms[1] == pytest.approx(4.0, abs=0.1)
    # two windows that disagree, one path: an offset, no drift, and no crash
    lone = fit_sync((np.array([5.0, 13.0]), np.array([0.0, 0.01])), (np.zeros(0), np.zeros(0)), 0.0, 1.0,
                    ChecksConfig())
    assert lone.measured and lone.drift_ppm is None
