"""Audio sweep 2026-12-05: a 32-bit float WAV whose samples go beyond +-1 (a mix left 9.5 dB hot, nothing
clipped in the file) was told "track A clips: 0.16% of samples at full scale". The note now says what a
float file's samples at or beyond full scale are: intact in the file, clipped once converted to integer PCM
(as the exports write it). Integer PCM keeps its note."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from twotrack.checks import run_checks

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_a_hot_float_file_is_not_said_to_clip():
    x, sr = sf.read(SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32")
    hot = np.ascontiguousarray(3.0 * x[: 30 * sr].T)
    assert np.abs(hot).max() > 1.5
    notes = [r for r in run_checks(hot, sr, codec="FLOAT").reasons if r.startswith("track A")]
    over = [r for r in notes if "full scale" in r]
    assert over and not any(" clips" in r for r in over), notes
    assert "float" in over[0] and "integer PCM" in over[0]
    # the same samples from a 16-bit file are clipped there: that note stays
    pcm = np.clip(hot, -1.0, 1.0)
    assert any(r.startswith("track A clips:") for r in run_checks(pcm, sr, codec="PCM_16").reasons)
