"""Audio sweep 2026-12-05: a track recorded far too quietly (a speaker at about -70 dBFS, a gain left
down) was reported as `has 0.0 s of speech of its own (< 1 s): dead`, like an empty channel: the checks'
energy rule ignores frames under `activity_floor_dbfs` (-60 dBFS). The note now says the track has
sound, how loud it is, and that it is under that floor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from twotrack.checks import run_checks

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_a_very_quiet_track_is_told_as_quiet_not_just_dead():
    x, sr = sf.read(SAMPLE / "clean" / "demo03_2609_367.flac", dtype="float32")
    x = x[: 30 * sr].T.copy()
    x[1] *= np.float32(10 ** (-60 / 20))  # B's speech ~-70 dBFS: a clean recording, far too quiet
    result = run_checks(x, sr)
    assert result.tracks[1].dead  # the rule itself is unchanged
    note = next(r for r in result.reasons if r.startswith("track B has"))
    assert "below the activity floor -60 dBFS" in note, note
    loud = result.metrics["loud_dbfs.B"]
    assert -80 < loud < -60, loud
    # an empty channel says nothing of the kind
    x[1] = 0.0
    assert not any("activity floor" in r for r in run_checks(x, sr).reasons)
