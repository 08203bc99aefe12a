"""Audio sweep 2026-12-05: a DC offset (an old sound card, a badly calibrated recorder) raised the bleed
noise floor of the checks by 15 dB (0.1 of full scale) and at 0.4 reported a bleed that is not there
(`bleed A->B -47.5 dB`): the source is weighted by its frame mask before the band-pass, and a masked
constant is a train of steps with energy in every band. Its DC is removed first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.checks import run_checks

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def clean():
    x, sr = sf.read(SAMPLE / "clean" / "demo03_2609_367.flac", dtype="float32")
    hiss = 1e-3 * np.random.default_rng(1).standard_normal((2, 30 * sr))
    return (0.5 * x[: 30 * sr].T + hiss).astype(np.float32), sr


def floors(result):
    return [result.metrics[f"bleed_floor_db.{d}"] for d in ("A->B", "B->A")]


@pytest.mark.parametrize("dc, tolerance_db", [(0.1, 1.5), (0.4, 6.0)])
def test_a_dc_offset_does_not_change_the_bleed_estimate(clean, dc, tolerance_db):
    x, sr = clean
    plain = run_checks(x, sr)
    shifted = run_checks(x + np.float32(dc), sr)
    assert shifted.bleed_db is None, shifted.reasons  # the dialogue has no bleed
    assert shifted.isolation is plain.isolation
    # before: -48 dB floors against -62/-64 dB; left at 0.4 (-8 dBFS of DC): the steps where the file
    # starts and ends (the analysis resampler's transient, zero padding) still lift one floor by ~5 dB
    assert np.allclose(floors(shifted), floors(plain), atol=tolerance_db), (floors(shifted), floors(plain))
    assert abs(shifted.tracks[0].dc_offset - dc) < 1e-3  # the offset is still reported


def test_gated_audio_with_a_dc_offset_is_gated_audio(clean):
    """Pauses of digital silence shifted by a DC offset are constant, not sound: the bleed is "none" as
    for the unshifted file (it read as a -101 dB bleed at the edge of the lag range, 1576 sigma)."""
    x, sr = sf.read(SAMPLE / "clean" / "demo03_2609_367.flac", dtype="float32")
    x = 0.5 * x[: 30 * sr].T
    plain = run_checks(np.ascontiguousarray(x), sr)
    shifted = run_checks(np.ascontiguousarray(x + np.float32(0.4)), sr)
    assert plain.bleed_db is None and shifted.bleed_db is None, shifted.reasons
    assert floors(shifted) == floors(plain) == [None, None]
