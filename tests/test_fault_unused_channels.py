"""Audio sweep 2026-12-05: a multichannel file with two talking channels and unused ones (a 6-channel
export with the speakers on C and D, an 8-channel recorder with two microphones plugged in) was judged
"only one side talks ... isolation cannot be judged" (unknown), though two sides talk. The unused
channels are named, and isolation is judged between the channels that talk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.checks import run_checks
from twotrack.model import Isolation

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def speech():
    x, sr = sf.read(SAMPLE / "clean" / "demo03_2609_367.flac", dtype="float32", frames=30 * 16000)
    return np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1]), sr


@pytest.mark.parametrize("layout", ["AB+zero", "zero+CD+zeros", "noise+AB"])
def test_two_talking_channels_among_unused_ones_are_judged(speech, layout):
    a, b, sr = speech
    zero = np.zeros_like(a)
    hiss = (1e-4 * np.random.default_rng(0).standard_normal(a.size)).astype(np.float32)
    tracks = {"AB+zero": [a, b, zero], "zero+CD+zeros": [zero, zero, a, b, zero, zero],
              "noise+AB": [hiss, a + hiss, b + hiss]}[layout]
    result = run_checks(np.stack(tracks), sr)
    talking = [i for i, q in enumerate(result.tracks) if not q.dead]
    assert len(talking) == 2, result.reasons
    assert "only one side talks" not in result.reasons[0], result.reasons
    # the sample dialogues are clean two-track audio: isolated between the two that talk
    assert result.isolation is Isolation.ISOLATED, result.reasons
    assert any("no speech of its own" in r for r in result.reasons), result.reasons


def test_one_talking_channel_among_three_is_still_one_sided(speech):
    a, _, sr = speech
    zero = np.zeros_like(a)
    result = run_checks(np.stack([zero, a, zero]), sr)
    assert result.isolation is Isolation.UNKNOWN
    assert "only one side talks" in result.reasons[0]
