"""One speaker recorded 30 dB quieter than the other. Both tracks are read in one recogniser pass
(``joint_tracks``); Whisper scales a window's log-mel to its loudest part, so the quiet track's speech beside
the loud track's was read as silence: B got no word at all (language ``en`` recorded, nothing else said),
while B alone, or with ``joint_tracks = false``, gives its 27-29 words. The joint pack now brings each track
to within 6 dB of the loudest track's level before the recogniser reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("faster_whisper")
pytest.importorskip("pocketsphinx")

from twotrack.activity import detect_tracks, to_activity  # noqa: E402
from twotrack.words import WordsConfig  # noqa: E402
from twotrack.words.chunks import Packed  # noqa: E402
from twotrack.words.transcribe import JOINT_LEVEL_SPAN_DB, _pack_joint, transcribe_tracks  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def test_joint_pack_raises_a_track_far_below_the_loudest():
    rng = np.random.default_rng(0)
    loud, quiet = rng.standard_normal(16000).astype(np.float32) * 0.1, rng.standard_normal(8000).astype(np.float32) * 0.003
    packs = [Packed(loud, 16000, np.array([[0.0, 1.0]]), np.array([0.0])),
             Packed(quiet, 16000, np.array([[2.0, 2.5]]), np.array([0.0]))]
    joint, first = _pack_joint(packs, 0.3)
    a, b = joint.audio[:16000], joint.audio[16000 + 4800:16000 + 4800 + 8000]  # 0.3 s gap between
    assert list(first) == [0, 1]
    span = 10 ** (-JOINT_LEVEL_SPAN_DB / 20)
    assert np.sqrt(np.mean(b ** 2)) == pytest.approx(np.sqrt(np.mean(a ** 2)) * span, rel=1e-4)
    assert np.array_equal(a, loud)  # the loudest track is read as it is
    near = Packed(loud * np.float32(0.7), 16000, np.array([[2.0, 3.0]]), np.array([0.0]))  # 3 dB down
    joint, _ = _pack_joint([packs[0], near], 0.3)
    assert np.array_equal(joint.audio[16000 + 4800:16000 + 4800 + 16000], near.audio)  # within the span: as it is


def test_a_track_30_db_quieter_still_gets_its_words():
    x, rate = sf.read(SAMPLE, dtype="float32", start=5 * 16000, stop=25 * 16000)  # 20 s, both talk
    x = x.T.copy()
    x[1] *= 10 ** (-30 / 20)
    act = [[(s.start, s.end) for s in a.segments] for a in to_activity(detect_tracks(x, rate))]
    assert act[1], "the activity stage finds B's speech"
    got = transcribe_tracks(x, rate, act, None, WordsConfig(multilingual_model=None))
    b = [w.text.strip(".,?!").lower() for w in got.words if w.track == 1]
    assert len(b) >= 20 and "steel" in b and "downstairs" in b
    assert sum(w.track == 0 for w in got.words) >= 20
