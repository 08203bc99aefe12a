"""An alignment does not depend on what the same process aligned before. The aligner keeps one pocketsphinx
decoder per thread and beam width and resets its front end per use; but after alignments it could not finish
(text that is not on the audio), the wide-beam decoder's search kept state: a line that finds no path in a
fresh process was then squeezed into its first 60 ms (a test of the words stage passed alone and failed after
another test's wrong transcript in the same pytest process). A decoder whose alignment failed is now dropped.
Real audio: the sample's clean demo01 (16 kHz), its gold-free spans and made-up lines."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pocketsphinx")

from twotrack.words.retime import ALIGN_RATE, align_detail  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"
#: (track, start, end, text): lines whose text is not on their audio, as in a vendor's wrong transcript
WRONG = ((0, 13.438, 18.668, "the quick brown fox jumps over the lazy dog and runs far away into the hills"),
         (0, 34.0, 39.0, "seven green bottles standing on the wall of an old white castle"))
LINE = (1, 0.4, 2.3, "so how are you doing today my friend")  # track B is silent there: A talks


def _span(x, track, start, end):
    return x[int((start - 0.15) * ALIGN_RATE):int((end + 0.15) * ALIGN_RATE), track]


def _in_new_thread(fn):
    """``fn()`` on a thread of its own: a fresh decoder (the aligner keeps one per thread)."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_an_alignment_after_failed_ones_is_the_one_a_fresh_decoder_gives():
    x, rate = sf.read(SAMPLE, dtype="float32")
    assert rate == ALIGN_RATE
    line = _span(x, LINE[0], LINE[1], LINE[2]), LINE[3].split()

    def fresh():
        return align_detail(*line, wide=True)

    def after_failures():
        for track, start, end, text in WRONG:
            for wide in (False, True):
                align_detail(_span(x, track, start, end), text.split(), wide=wide)
        return align_detail(*line, wide=True)

    first, later = _in_new_thread(fresh), _in_new_thread(after_failures)
    assert (first is None) == (later is None), (first, later)
    if first is not None:
        assert np.array_equal(first.times, later.times) and first.log_score == later.log_score
