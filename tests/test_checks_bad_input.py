"""Bad input gets an `unknown` verdict that says why; the checks never raise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.checks import estimate_bleed, estimate_sync, run_checks
from twotrack.model import Isolation

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def speech():
    x, sr = sf.read(SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", frames=20 * 16000)
    return np.ascontiguousarray(x.T), sr


def test_silent_file(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros((16000 * 5, 2), np.int16), 16000, subtype="PCM_16")
    x, sr = sf.read(path, dtype="float32")
    result = run_checks(x.T, sr, codec="PCM_16")
    assert result.isolation is Isolation.UNKNOWN
    assert result.reasons == ("every track is digital silence: cannot judge",)
    assert result.sample_rate == 16000 and result.codec == "PCM_16"


def test_tenth_of_a_second(speech):
    x, sr = speech
    result = run_checks(x[:, 9000:10600], sr)
    assert result.isolation is Isolation.UNKNOWN
    assert "0.10 s long, shorter than 1 s" in result.reasons[0]


def test_nans_in_a_float_wav(tmp_path, speech):
    x, sr = speech
    bad = x.T.copy()
    bad[1000:1010, 1] = np.nan
    bad[5000, 0] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, bad, sr, subtype="FLOAT")
    back, _ = sf.read(path, dtype="float32")
    assert np.isnan(back).any()
    result = run_checks(back.T, sr, codec="FLOAT")
    assert result.isolation is Isolation.UNKNOWN
    assert "NaN or infinite" in result.reasons[0]
    assert "track A: 1 " in result.reasons[0] and "track B: 10 " in result.reasons[0]


@pytest.mark.parametrize("tracks, rate, says", [
    (np.zeros((2, 2, 2)), 16000, "must be a (n_tracks, n_samples) array"),
    (np.zeros((2, 0)), 16000, "no audio"),
    ("not audio", 16000, "not a numeric array"),
    (np.ones((2, 16000), np.float32), 0, "not a usable audio rate"),
    (np.ones((2, 16000), np.float32), "fast", "not a number"),
    (np.ones((2, 16000), np.float32), 16000.5, "not a usable audio rate"),
])
def test_malformed_input_is_unknown(tracks, rate, says):
    result = run_checks(tracks, rate)
    assert result.isolation is Isolation.UNKNOWN
    assert says in result.reasons[0]


def test_soundfile_order_and_integers_are_accepted(speech):
    x, sr = speech
    frames_first = run_checks(x.T, sr)  # (samples, channels), as soundfile returns it
    assert frames_first.isolation is Isolation.ISOLATED
    assert any("transposed" in r for r in frames_first.reasons)
    pcm = run_checks((x * 32767).astype(np.int16), sr)
    assert pcm.isolation is Isolation.ISOLATED


def test_mismatched_activity_masks_fall_back_to_energy(speech):
    x, sr = speech
    result = run_checks(x, sr, activity=np.ones((3, 10), bool))
    assert result.isolation is Isolation.ISOLATED
    assert any("activity masks of shape (3, 10)" in r for r in result.reasons)


def test_estimators_do_not_raise_on_silence_or_nans():
    sr = 8000
    silent = np.zeros(sr * 3, np.float32)
    est = estimate_bleed(silent, silent, sr)
    assert not est.detected and est.level_db is None
    sync = estimate_sync(silent, silent, sr)
    assert not sync.measured
    nans = np.full(sr * 3, np.nan, np.float32)
    assert not estimate_bleed(nans, silent, sr).detected
    short = np.ones(100, np.float32)
    assert not estimate_bleed(short, short[:50], sr).detected
