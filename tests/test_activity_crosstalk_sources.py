"""The crosstalk rule's sources (activity/crosstalk.py ``bleed_only(floor_db=)``): a track bleeds onto another
only where it sounds above its own noise floor, so a hissing spare channel or a noisy far-end line does not
take the other tracks' quieter speech for its bleed."""

from pathlib import Path

import numpy as np
import pytest

from twotrack import robustness as rb
from twotrack.activity import detect_tracks
from twotrack.activity.crosstalk import bleed_only
from twotrack.activity.energy import SILENCE_DB

REPO = Path(__file__).resolve().parents[1]


def test_a_track_at_its_floor_is_no_source_of_bleed():
    energy = np.full((2, 300), -70.0)
    energy[0, 100:200] = -40.0  # quiet speech on A
    energy[1] = -25.0  # steady hiss on B, 15 dB over A's speech, at B's own floor
    floor = np.array([np.full(300, -70.0), np.full(300, -25.0)])
    assert bleed_only(energy, -10.0)[0, 100:200].all()  # compared with the hiss, A's speech read as bleed
    assert not bleed_only(energy, -10.0, floor_db=floor)[0].any()
    energy[1, 150:160] = -5.0  # B speaking (20 dB over its floor): A under it is bleed again
    assert bleed_only(energy, -10.0, floor_db=floor)[0, 152:158].all()


@pytest.fixture(scope="module")
def dialogue():
    d = rb.load_dialogues(REPO / "data/sample/clean", REPO / "data/sample/gold")[0]
    return d.tracks[:, : 30 * d.rate], d.rate


def test_a_hissing_spare_channel_leaves_the_talkers_speech_alone(dialogue):
    x, rate = dialogue
    hiss = np.random.default_rng(1).normal(0, 0.1, x.shape[1]).astype(np.float32)  # -20 dBFS
    two = detect_tracks(x, rate)
    three = detect_tracks(np.vstack([x, hiss[None]]), rate)
    assert not three[2].mask.any()
    for a, b in zip(two, three[:2]):  # before: A lost 29.9 -> 21.0 s, B 28.2 -> 20.8 s on the whole call
        assert np.array_equal(a.mask, b.mask)


def test_a_noisy_far_end_line_leaves_the_near_talker_alone(dialogue):
    x, rate = dialogue
    y = x.copy()
    y[1] += np.random.default_rng(2).normal(0, 10 ** (-30 / 20), x.shape[1]).astype(np.float32)  # B's line hiss
    clean, noisy = detect_tracks(x, rate)[0], detect_tracks(y, rate)[0]
    # before: A's quieter syllables under B's hiss - 15 dB went as bleed (whole call: 29.86 -> 28.26 s)
    assert noisy.mask.sum() >= 0.99 * clean.mask.sum()


def test_a_room_mic_keeps_no_speech_of_its_own(dialogue):
    """A room mic (a spare input hearing both talkers, 0.1 x (A + B) 4 ms late, over -60 dBFS hiss) is an unused
    channel only if the activity stage finds no speech on it. With sources limited to frames 6 dB over their own
    floor, a clean talker's soft word tails (its floor is its own quiet sounds: digital silence never sets it)
    were no source, and the mic kept 0.38 s of their copy, which blocked the recording (a speaker unknown) and
    its events (three tracks talk). Near a track's digital silence every sound of it is a source now (its
    floor there is its own quietest sound, not noise), and what the rule leaves of a cut run in the mic's own
    hiss is not speech."""
    x, rate = dialogue
    lag = int(0.004 * rate)
    room = np.zeros(x.shape[1], np.float32)
    room[lag:] = 0.1 * (x[0, :-lag] + x[1, :-lag])
    room += np.random.default_rng(5).normal(0, 10 ** (-60 / 20), x.shape[1]).astype(np.float32)
    two = detect_tracks(x, rate)
    three = detect_tracks(np.vstack([x, room[None]]), rate)
    assert three[2].mask.sum() == 0, three[2].mask.sum()
    for a, b in zip(two, three[:2]):
        assert b.mask.sum() >= 0.99 * a.mask.sum()


def test_a_clean_tracks_soft_sounds_are_a_source():
    energy = np.full((2, 600), -100.0)  # A: a word whose soft tail sits near its floor, digital silence around
    energy[0, 300:] = np.where(np.arange(300) < 100, -30.0, -55.0)
    energy[0, 500:] = -100.0
    energy[1] = -70.0  # B: a room mic's hiss, with the copy of A's word 20 dB down over it
    energy[1, 300:400] = -50.0
    floor = np.array([np.full(600, -58.0), np.full(600, -70.0)])  # A's floor: its own quietest sound
    energy[0, :300] = energy[0, 500:] = SILENCE_DB  # digital silence around the word
    # B's hiss frames under A's soft tail (-55 dB, 3 dB over A's floor): A is a source there, so they are bleed
    assert bleed_only(energy, -10.0, floor_db=floor)[1, 400:500].all()
    assert not bleed_only(energy, -10.0, floor_db=floor, clean_window_s=0.0)[1, 405:500].any()  # v9: they were not


def test_a_cut_run_left_in_the_tracks_own_hiss_is_no_speech():
    from twotrack.activity.crosstalk import inaudible_residues

    before = np.zeros(60, bool)
    before[10:50] = True  # one run of "speech"
    after = before.copy()
    after[20:30] = after[35:45] = False  # the crosstalk rule cut it: 10-20, 30-35, 45-50 remain
    energy = np.full(60, -60.0)
    energy[10:20] = -40.0  # the first piece is loud, the others lie in the track's own hiss
    floor = np.full(60, -60.0)
    out = inaudible_residues(before, after, energy, floor, 2.0)
    assert not out[10:20].any() and out[30:35].all() and out[45:50].all()
    untouched = np.zeros(60, bool)
    untouched[10:20] = True  # a run the rule did not cut is not judged, however quiet
    assert not inaudible_residues(untouched, untouched, np.full(60, -60.0), floor, 2.0).any()
