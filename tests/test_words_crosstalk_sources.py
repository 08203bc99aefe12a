"""The words stage's crosstalk rule compares a word with what the other tracks add over their own background
(``words.crosstalk.above_floor``): a hissing spare channel or a noisy far-end line is no other speaker's bleed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("faster_whisper")
pytest.importorskip("pocketsphinx")

from twotrack.activity import detect_tracks, to_activity  # noqa: E402
from twotrack.words import WordsConfig, transcribe_tracks  # noqa: E402
from twotrack.words.crosstalk import bleed_words_frames  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
CFG = WordsConfig(model="tiny.en", multilingual_model=None)


def test_a_word_under_another_tracks_steady_hiss_is_not_bleed():
    frames = np.full((2, 1000), 1e-7 * 160)  # 10 ms sums of squares at 16 kHz: -70 dB on A
    frames[0, 300:340] = 1e-4 * 160  # a word on A at -40 dB
    frames[1] = 10 ** (-20 / 10) * 160  # B: steady hiss at -20 dB, its own background all along
    starts, ends = np.array([3.0]), np.array([3.4])
    assert not bleed_words_frames(frames, 0, starts, ends, -15.0)[0]
    frames[1, 300:340] = 10 ** (0 / 10) * 160  # B speaking 20 dB over its hiss: the word on A is its bleed
    assert bleed_words_frames(frames, 0, starts, ends, -15.0)[0]


def test_a_hissing_spare_channel_takes_no_words(tmp_path):
    x, rate = sf.read(SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", always_2d=True)
    x = np.ascontiguousarray(x.T[:, : 30 * rate])
    act = [[(s.start, s.end) for s in a.segments] for a in to_activity(detect_tracks(x, rate))]
    hiss = np.random.default_rng(1).normal(0, 0.1, x.shape[1]).astype(np.float32)  # -20 dBFS on a third input
    two = transcribe_tracks(x, rate, act, None, CFG)
    three = transcribe_tracks(np.vstack([x, hiss[None]]), rate, [*act, []], None, CFG)
    # before: the quieter words of both talkers went as the hiss channel's "bleed"
    assert three.dropped_crosstalk == two.dropped_crosstalk
    assert [(w.track, w.text, w.start) for w in three.words] == [(w.track, w.text, w.start) for w in two.words]
