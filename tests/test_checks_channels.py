"""Duplicated and mixed channels, dead and one-sided tracks, mono files, per-track quality —
built from the real speech of the sample corpus (one speaker per channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from twotrack.checks import channel_relation, estimate_bleed, run_checks
from twotrack.checks.pair import track_frames
from twotrack.config import ChecksConfig
from twotrack.ingest.sphere import read_sphere
from twotrack.model import Isolation, Layout

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def speech():
    """Track A and B of a clean dialogue (16 kHz), 40 s of it: enough turns, quick to check."""
    x, sr = sf.read(SAMPLE / "clean" / "demo03_2609_367.flac", dtype="float32", frames=40 * 16000)
    return np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1]), sr


def noise(n: int, dbfs: float, seed: int) -> np.ndarray:
    return (10.0 ** (dbfs / 20.0) * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


# ------------------------------------------------------------------------------------------
# duplicated channels: mono presented as stereo
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, kind", [
    (lambda m: m, "identical"),
    (lambda m: -m, "inverted"),
    (lambda m: 0.5 * m, "scaled-copy"),
    (lambda m: -0.25 * m, "inverted-scaled-copy"),
])
def test_copies_of_a_mono_mix_are_mono(speech, make, kind):
    a, b, sr = speech
    mono = a + b  # a real mono mix of the two speakers
    result = run_checks(np.stack([mono, make(mono)]), sr)
    assert result.duplicate_channels
    assert result.channel_relation == kind
    assert result.isolation is Isolation.MONO
    assert "mono presented as two tracks" in result.reasons[0]
    assert result.bleed_db is None  # bleed between copies is not measured


def test_scaled_copy_reports_its_gain(speech):
    a, b, sr = speech
    mono = a + b + noise(a.size, -60, 1)
    result = run_checks(np.stack([mono, 0.5 * mono + noise(a.size, -70, 2)]), sr)
    assert result.channel_relation == "scaled-copy"
    assert "gain -6.0" in result.reasons[0]


@pytest.mark.parametrize("mixed", [0, 1])
def test_one_side_mixing_both_speakers_is_not_isolated(speech, mixed):
    a, b, sr = speech
    n1, n2 = noise(a.size, -60, 3), noise(a.size, -60, 4)
    tracks = np.stack([a + b + n1, b + n2]) if mixed == 0 else np.stack([a + n1, a + b + n2])
    result = run_checks(tracks, sr)
    assert not result.duplicate_channels
    assert result.channel_relation == "mix"
    assert result.isolation is Isolation.NOT_ISOLATED
    assert result.reasons[0].startswith(f"track {'AB'[mixed]} is a mix of both speakers")
    assert result.metrics["mix_copy_share"] >= 0.5


def test_separate_speakers_are_not_copies(speech):
    a, b, sr = speech
    cfg = ChecksConfig()
    fa, fb = track_frames(a, sr, cfg), track_frames(b, sr, cfg)
    rel = channel_relation(a, b, sr, fa.active, fb.active, cfg)
    assert rel.kind is None and not rel.duplicate
    assert abs(rel.correlation) < 0.1


# ------------------------------------------------------------------------------------------
# dead and one-sided tracks, mono files
# ------------------------------------------------------------------------------------------


def test_digitally_silent_track_is_dead(speech):
    a, _, sr = speech
    result = run_checks(np.stack([a, np.zeros_like(a)]), sr)
    assert result.isolation is Isolation.UNKNOWN
    assert "only one side talks" in result.reasons[0]
    qa, qb = result.tracks
    assert qb.digital_silence and qb.dead and qb.speech_share == 0.0
    assert not qa.dead and qa.speech_share > 0.2
    assert any("track B is digital silence throughout" in r for r in result.reasons)


def test_noise_only_track_is_dead(speech):
    a, _, sr = speech
    result = run_checks(np.stack([a + noise(a.size, -55, 5), noise(a.size, -55, 6)]), sr)
    assert result.isolation is Isolation.UNKNOWN
    qb = result.tracks[1]
    assert qb.dead and not qb.digital_silence
    assert any("track B has" in r and "dead" in r for r in result.reasons)


def test_track_holding_only_the_others_bleed_is_dead(speech):
    """A live mic that only picks up the other speaker: no speech of its own, but A's bleed in it."""
    a, _, sr = speech
    b = 10 ** (-30 / 20) * np.roll(a, 32) + noise(a.size, -60, 7)  # 2 ms late at 16 kHz
    result = run_checks(np.stack([a + noise(a.size, -60, 8), b]), sr)
    assert result.tracks[1].dead
    assert result.isolation is Isolation.UNKNOWN and "only one side talks" in result.reasons[0]
    assert result.bleed_direction == "A->B"
    assert result.bleed_db == pytest.approx(-30.0, abs=2.0)
    assert result.bleed_lag_ms == pytest.approx(2.0, abs=1.0)


def test_mono_file_is_mono(speech):
    a, b, sr = speech
    one = run_checks((a + b)[None, :], sr, codec="PCM_16")
    assert one.isolation is Isolation.MONO and one.reasons[0].startswith("one track")
    assert len(one.tracks) == 1 and one.tracks[0].speech_share > 0.5
    as_layout = run_checks((a + b)[None, :], sr, layout=Layout.MONO)
    assert as_layout.isolation is Isolation.MONO
    flat = run_checks(a + b, sr)  # a 1-D array is one track
    assert flat.isolation is Isolation.MONO


def test_three_tracks_find_the_copy(speech):
    a, b, sr = speech
    result = run_checks(np.stack([a, b, a]), sr)
    assert result.duplicate_channels and result.isolation is Isolation.MONO
    assert "track C is an identical copy of A" in result.reasons[0]


# ------------------------------------------------------------------------------------------
# quality: bandwidth, clipping, DC offset, SNR
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 22050])
def test_upsampled_telephone_audio_reads_narrowband(rate):
    x, sr = read_sphere(SAMPLE / "telephone" / "demo02_3080_2033.sph")
    up = soxr.resample(x.astype(np.float32) / 32768.0, sr, rate).T.copy()
    result = run_checks(up, rate)
    for q in result.tracks:
        assert q.effective_bandwidth_hz is not None and q.effective_bandwidth_hz < 4100
    assert sum("narrowband audio, likely upsampled" in r for r in result.reasons) == 2
    assert result.bleed_db == pytest.approx(-28.0, abs=2.0)  # the resampling keeps the crosstalk
    assert result.bleed_lag_ms == pytest.approx(3.0, abs=1.0)
    assert result.sample_rate == rate  # reported as read
    if rate == 22050:  # no whole-sample 10 ms frame: checked at 16 kHz, and said so
        assert any("checked at 16000 Hz" in r for r in result.reasons)


def test_wideband_speech_reads_wideband(speech):
    a, b, sr = speech
    result = run_checks(np.stack([a, b]), sr)
    for q in result.tracks:
        assert q.effective_bandwidth_hz > 6000
    assert not any("narrowband" in r for r in result.reasons)


def test_clipping_and_dc_offset(speech):
    a, b, sr = speech
    hot = np.clip(a * 12.0, -1.0, 1.0)  # driven into full scale
    result = run_checks(np.stack([hot, b + 0.05]), sr)
    qa, qb = result.tracks
    expected = np.mean(np.abs(a * 12.0) >= 0.999)
    assert qa.clipping_share == pytest.approx(expected, rel=0.01) and qa.clipping_share > 0.001
    assert qb.clipping_share == pytest.approx(np.mean(np.abs(b + 0.05) >= 0.999), abs=1e-6) and qb.clipping_share < 1e-4
    assert qb.dc_offset == pytest.approx(0.05 + float(np.mean(b)), abs=1e-4)
    assert any("track A clips" in r for r in result.reasons)
    assert any(r.startswith("track B has a DC offset of +0.04") for r in result.reasons)


def test_mu_law_full_scale_counts_as_clipping():
    """G.711 mu-law tops out at 32124/32768: those samples are clipped although below 1.0."""
    x, sr = read_sphere(SAMPLE / "telephone" / "demo01_367_1688.sph")
    f = x.T.astype(np.float32) / 32768.0
    hot = np.clip(f * 20.0, -32124 / 32768, 32124 / 32768)
    assert run_checks(hot, sr, codec="ULAW").tracks[0].clipping_share > 0.001
    assert run_checks(hot, sr, codec="PCM_16").tracks[0].clipping_share == 0.0


def test_snr_follows_the_noise(speech):
    a, b, sr = speech
    snr = {}
    for level in (-60.0, -50.0):
        r = run_checks(np.stack([a + noise(a.size, level, 9), b + noise(a.size, level, 10)]), sr)
        snr[level] = r.tracks[0].snr_db
    assert 25.0 < snr[-60.0] < 45.0
    assert snr[-60.0] - snr[-50.0] == pytest.approx(10.0, abs=1.5)


def test_gated_audio_has_no_snr(speech):
    a, b, sr = speech
    result = run_checks(np.stack([a, b]), sr)  # pauses are exact zeros in the clean renditions
    assert all(q.snr_db is None for q in result.tracks)
    assert any("pauses are digital silence" in r for r in result.reasons)


def test_estimate_bleed_none_between_separate_speakers(speech):
    a, b, sr = speech
    est = estimate_bleed(a + noise(a.size, -60, 11), b + noise(a.size, -60, 12), sr)
    assert not est.detected and est.level_db is None
    assert all(p.measured and p.noise_floor_db < -40 for p in est.paths)
