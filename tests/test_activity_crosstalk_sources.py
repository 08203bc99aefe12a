"""The crosstalk rule's sources (activity/crosstalk.py ``bleed_only(floor_db=)``): a track bleeds onto another
only where it sounds above its own noise floor, so a hissing spare channel or a noisy far-end line does not
take the other tracks' quieter speech for its bleed."""

from pathlib import Path

import numpy as np
import pytest

from twotrack import robustness as rb
from twotrack.activity import detect_tracks
from twotrack.activity.crosstalk import bleed_only

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
