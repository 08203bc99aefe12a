"""Issue 18, fault 6: on a file with three tracks, the bleed reasons of the pairs (A, C) and (B, C) name
the tracks they are about (they were written with the pair's own A/B before the indices were remapped)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.checks import run_checks

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
BLEED = re.compile(r"^bleed ([A-Z])->([A-Z])[ :]")


@pytest.fixture(scope="module")
def speech():
    x, sr = sf.read(SAMPLE / "clean" / "demo03_2609_367.flac", dtype="float32", frames=30 * 16000)
    return np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1]), sr


def _named(reason: str) -> set[str]:
    """Track names a bleed reason's text mentions (single capital letters standing alone)."""
    return set(re.findall(r"(?<![\w-])([A-Z])(?![\w-])", reason.split(":", 1)[1]))


@pytest.mark.parametrize("third", ["quiet", "zeros"])
def test_bleed_reasons_of_other_pairs_name_their_own_tracks(speech, third):
    a, b, sr = speech
    # C barely talks: every path out of C is "C talks alone for only ...", and with zeros "C is digital silence"
    c = np.zeros_like(a) if third == "zeros" else (1e-3 * np.random.default_rng(0).standard_normal(len(a))).astype(np.float32)
    result = run_checks(np.stack([a, b, c]), sr)
    bleed = [r for r in result.reasons if BLEED.match(r)]
    about_c = [r for r in bleed if "C" in BLEED.match(r).groups()]
    assert about_c, result.reasons  # the (A, C) and (B, C) paths are reported
    for r in bleed:
        src, dst = BLEED.match(r).groups()
        assert _named(r) <= {src, dst}, r  # e.g. not "bleed C->A: B talks alone"
    assert any(re.match(r"bleed C->[AB]: C talks alone", r) for r in about_c) or third == "zeros", about_c
