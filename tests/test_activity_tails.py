"""Offsets under line noise (``activity.denoise_offset_snr_db``, an option, off by default; docs/activity.md
"Offsets under line noise"): a track whose speech lies less than that above its background, but not so
close that its whole edges read the noise-subtracted level, has its offsets alone refined on that level."""

from pathlib import Path

import numpy as np
import pytest

from twotrack import robustness as rb
from twotrack.activity import detect_tracks, to_activity
from twotrack.activity.detect import noisy_edges
from twotrack.activity.refine import RefineParams, refine_edges
from twotrack.config import ActivityConfig
from twotrack.ingest.annotations import read_ctm
from twotrack.ingest.discover import discover
from twotrack.ingest.tracks import load_tracks
from twotrack.timeline import runs

REPO = Path(__file__).resolve().parents[1]
TAILS = ActivityConfig(denoise_offset_snr_db=40.0)


def test_an_offset_follows_a_tail_only_the_offset_level_shows():
    # one run, frames 100-200: the frame energy falls into the line noise at 180, the subtracted level still
    # holds the word's last consonant (15 dB over its own floor) until 192
    energy = np.full(400, -50.0, np.float32)
    energy[100:180] = -20.0
    level = np.full(400, -75.0, np.float32)
    level[100:180] = -21.0
    level[180:192] = -60.0
    mask = np.zeros(400, bool)
    mask[105:185] = True
    floor = np.full(400, -50.0, np.float32)
    plain = refine_edges(mask, energy, floor, RefineParams())
    tail = refine_edges(mask, energy, floor, RefineParams(), offset_level=(level, np.full(400, -75.0, np.float32)))
    (s0,), (e0,) = runs(plain)
    (s1,), (e1,) = runs(tail)
    assert s0 == s1 == 100  # onsets read the frame energy either way
    assert e0 == 180 and e1 == 192


def test_tracks_are_sorted_by_how_close_their_speech_lies_to_the_background():
    rng = np.random.default_rng(0)
    prob = np.zeros((4, 1000), np.float32)
    prob[:, 400:600] = 1.0
    energy = np.full((4, 1000), -120.0, np.float32)  # track 0: digital silence between words
    energy[:, 400:600] = -20.0
    for t, below in ((1, 15.0), (2, 30.0), (3, 50.0)):  # background this far under the speech
        energy[t] = np.where(prob[t] > 0, -20.0, -20.0 - below + rng.normal(0, 1, 1000))

    def made(tracks):
        return np.zeros((len(tracks), 2, 1000), np.float32)

    levels, offset_only = noisy_edges(prob, energy, TAILS, made)
    assert sorted(levels) == [1, 2] and offset_only == frozenset({2})
    levels, offset_only = noisy_edges(prob, energy, ActivityConfig(), made)  # the option off: the noisy track only
    assert sorted(levels) == [1] and offset_only == frozenset()


@pytest.fixture(scope="module")
def telephone():
    """demo01 (tune half) as the shipped 8 kHz mu-law SPHERE telephone rendition, with its gold words."""
    recordings, errors = discover([REPO / "data/sample/telephone"])
    assert not errors
    rec = next(r for r in recordings if "demo01" in r.recording_id)
    words = tuple(read_ctm(REPO / "data/sample/gold/demo01_367_1688.ctm"))
    return rb.Condition("telephone", "demo01_367_1688", load_tracks(rec, 8000).samples, 8000, words)


def test_telephone_offsets_move_onsets_stay(telephone):
    off, on = (detect_tracks(telephone.tracks, telephone.rate, cfg) for cfg in (ActivityConfig(), TAILS))
    moved = 0
    for a, b in zip(off, on):
        (s0, e0), (s1, e1) = runs(a.mask), runs(b.mask)
        # no onset moves: a later offset can join runs, and the crosstalk rule can cut a 50 ms piece off a
        # longer tail (seen once on this call: track B, 50.09 s), but no run of speech starts elsewhere
        assert set(s1[e1 - s1 > 10].tolist()) <= set(s0.tolist())
        moved += len(set(e1.tolist()) - set(e0.tolist()))
    assert moved > 0
    before, after = (rb.score([(telephone, to_activity(x))])["ipu_offset_hit_rate"] for x in (off, on))
    assert before <= 0.55 and after >= 0.6  # 13 -> 17 of 26 gold IPUs within +-50 ms


def test_tracks_with_digital_silence_keep_their_labels():
    dialogues = rb.load_dialogues(REPO / "data/sample/clean", REPO / "data/sample/gold")
    d = dialogues[0]
    x = d.tracks[:, : 20 * d.rate]
    for a, b in zip(detect_tracks(x, d.rate, ActivityConfig()), detect_tracks(x, d.rate, TAILS)):
        assert np.array_equal(a.mask, b.mask)


def test_pieces_decide_as_the_whole_with_offset_only_tracks(telephone):
    from twotrack.activity.denoise import band_frames, band_level
    from twotrack.activity.detect import analyse_stream, decide

    x = telephone.tracks[:, : 30 * telephone.rate]
    prob, energy = analyse_stream([x], telephone.rate)

    def make(tracks):
        bands = band_frames([x], telephone.rate, prob.shape[1], tracks)
        return np.stack([band_level(bands), band_level(bands, noise_window_s=TAILS.denoise_onset_floor_window_s)],
                        axis=1)

    levels, offset_only = noisy_edges(prob, energy, TAILS, make)
    assert offset_only and offset_only == frozenset(levels)  # line noise: offsets only, on every track
    whole = decide(prob, energy, TAILS, levels=levels, offset_only=offset_only).masks
    pieces = decide(prob, energy, TAILS, piece_frames=700, levels=levels, offset_only=offset_only).masks
    assert np.array_equal(whole, pieces)
    assert not np.array_equal(whole, decide(prob, energy, TAILS).masks)  # the level acted
