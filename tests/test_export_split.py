"""Where long recordings are cut: in silences of both tracks, never inside speech."""

from __future__ import annotations

import numpy as np

from twotrack.export.split import plan_pieces, silences, speech_intervals
from twotrack.model import Word


def _inside_speech(t: float, speech: np.ndarray) -> bool:
    return bool(np.any((speech[:, 0] < t) & (t < speech[:, 1])))


def test_silences_are_the_complement_of_the_union():
    speech = np.array([[1.0, 2.0], [1.5, 3.0], [2.5, 2.7], [4.0, 5.0]])
    assert silences(speech, 6.0).tolist() == [[0.0, 1.0], [3.0, 4.0], [5.0, 6.0]]
    assert silences(np.zeros((0, 2)), 2.0).tolist() == [[0.0, 2.0]]
    assert silences(np.array([[0.0, 6.0]]), 6.0).tolist() == []


def test_random_conversations_are_cut_only_in_silence_and_pieces_cover_the_recording():
    rng = np.random.default_rng(7)
    for _ in range(50):
        duration = float(rng.uniform(200, 900))
        # two speakers, IPUs of 0.3-8 s separated by 0.05-3 s, overlapping each other at times
        tracks = []
        for _t in range(2):
            t, ipus = float(rng.uniform(0, 2)), []
            while t < duration:
                d = float(rng.uniform(0.3, 8.0))
                ipus.append((t, min(t + d, duration)))
                t += d + float(rng.uniform(0.05, 3.0))
            tracks.append(np.array(ipus))
        speech = np.concatenate(tracks)
        max_s = float(rng.uniform(20, 120))
        plan = plan_pieces(duration, speech, max_s)
        pieces = np.array(plan.pieces)
        assert pieces[0, 0] == 0.0 and abs(pieces[-1, 1] - duration) < 1e-6
        assert np.allclose(pieces[1:, 0], pieces[:-1, 1])  # contiguous
        for cut in pieces[1:, 0]:
            assert not _inside_speech(cut, speech), (cut, max_s)
        lengths = pieces[:, 1] - pieces[:, 0]
        over = set(plan.over_long)
        assert all(length <= max_s + 1e-6 for i, length in enumerate(lengths) if i not in over)


def test_continuous_speech_gives_one_over_long_piece_instead_of_a_cut_inside_it():
    speech = np.array([[0.0, 50.0], [49.0, 120.0]])  # the two tracks overlap: no silence until 120 s
    plan = plan_pieces(130.0, speech, 30.0)
    assert plan.pieces[0] == (0.0, 125.0)  # the first silence's middle
    assert 0 in plan.over_long


def test_no_split_when_short_or_disabled():
    assert plan_pieces(50.0, np.zeros((0, 2)), 60.0).pieces == ((0.0, 50.0),)
    assert plan_pieces(500.0, np.zeros((0, 2)), 0).pieces == ((0.0, 500.0),)
    assert plan_pieces(500.0, np.zeros((0, 2)), None).pieces == ((0.0, 500.0),)


def test_gold_words_count_as_speech_even_where_the_detector_saw_none():
    ipus = {0: np.array([[0.0, 9.0], [10.0, 20.0]]), 1: np.zeros((0, 2))}
    words = {1: [Word("r", 1, 9.1, 9.9, "yeah")]}  # a word the detector missed, in the only silence
    assert plan_pieces(20.0, speech_intervals(ipus), 12.0).pieces[0] == (0.0, 9.5)  # detector silence only
    plan = plan_pieces(20.0, speech_intervals(ipus, words), 12.0)
    assert plan.pieces[0] == (0.0, 9.95)  # the middle of what is left after the word
