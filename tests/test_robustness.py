"""The robustness set (twotrack.robustness): each condition is what its name says, and the detector is
scored on it through twotrack.evaluate."""

from pathlib import Path

import numpy as np
import pytest

from twotrack import robustness as rb
from twotrack.ingest.resample import resample

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dialogues():
    ds = rb.load_dialogues(REPO / "data/sample/clean", REPO / "data/sample/gold")
    # 20 s excerpts keep the test fast; words inside the excerpt only
    out = []
    for d in ds:
        n = 20 * d.rate
        words = tuple(w for w in d.words if w.end <= 20.0)
        out.append(rb.Dialogue(d.id, d.tracks[:, :n].copy(), d.rate, words))
    return out


def _snr(clean, noisy, rate, words):
    p_speech = rb.speech_power(clean, rate, words)
    return 10 * np.log10(p_speech / np.mean((noisy - clean).astype(np.float64) ** 2))


@pytest.mark.parametrize("kind", rb.NOISES)
def test_noise_at_the_named_snr_per_track(dialogues, kind):
    d = dialogues[0]
    c = rb.make_condition(d, f"{kind}_10", dialogues)
    assert c.tracks.shape == d.tracks.shape and c.rate == d.rate and c.words == d.words
    for t in range(2):
        words = [w for w in d.words if w.track == t]
        assert abs(_snr(d.tracks[t], c.tracks[t], d.rate, words) - 10.0) < 0.05
    # each track has its own noise
    assert np.corrcoef(c.tracks[0] - d.tracks[0], c.tracks[1] - d.tracks[1])[0, 1] < 0.2


def test_babble_is_other_dialogues_speech(dialogues):
    rng = np.random.default_rng(1)
    b = rb.babble_noise(16000 * 5, [d.tracks[0] for d in dialogues[1:]], rng)
    assert abs(np.mean(b.astype(np.float64) ** 2) - 1.0) < 1e-3
    with pytest.raises(ValueError):
        rb.babble_noise(100, [], rng)


@pytest.mark.parametrize("codec", ["alaw", "gsm", "mp3_32"])
def test_codecs_keep_length_and_timing(dialogues, codec):
    d = dialogues[1]
    c = rb.make_condition(d, codec, dialogues)
    ref = d.tracks if c.rate == d.rate else np.stack([rb.bandpass(resample(x, d.rate, c.rate), c.rate)
                                                      for x in d.tracks])
    assert c.tracks.shape == ref.shape
    for t in range(2):  # aligned: the decoded audio correlates with its source at lag 0
        assert np.corrcoef(c.tracks[t], ref[t])[0, 1] > 0.9
    assert "kbps" in c.note


def test_quiet_and_speed(dialogues):
    d = dialogues[2]
    q = rb.make_condition(d, "quiet_b", dialogues)
    assert np.allclose(q.tracks[0], d.tracks[0])
    assert np.allclose(q.tracks[1] * 10.0, d.tracks[1], atol=1e-6)
    s = rb.make_condition(d, "speed_1.1", dialogues)
    assert abs(s.tracks.shape[1] - d.tracks.shape[1] / 1.1) < 20
    assert s.words[0].start == pytest.approx(d.words[0].start / 1.1)
    with pytest.raises(ValueError):
        rb.make_condition(d, "underwater", dialogues)


def test_scored_by_evaluate(dialogues):
    d = dialogues[0]
    c = rb.make_condition(d, "pink_20", dialogues)
    act = rb.detect_condition(c)
    out = rb.score([(c, act)])
    assert out["n_gold_ipus"] > 5 and out["frame_f1"] > 0.85
    one = rb.score([(c, act)], track=1)
    assert 0 < one["n_gold_ipus"] < out["n_gold_ipus"] and one["ipu_recall"] is not None


def test_codec_residue_counts_as_silence():
    from twotrack.activity.energy import SILENCE_DB, silence_below

    speech = np.full(100, -20.0, np.float32)
    residue = np.full(100, -95.0, np.float32)
    quiet_room = np.full(100, -70.0, np.float32)
    e = np.stack([np.r_[speech, residue], np.r_[speech - 30, quiet_room]])
    out = silence_below(e, 60.0)
    assert np.all(out[0, 100:] == SILENCE_DB) and np.all(out[0, :100] == -20.0)
    # relative to the track's own level: a speaker 30 dB quieter keeps a background 20 dB below it
    assert np.all(out[1] == e[1])


def test_codec_edges_stay_near_the_clean_edges(dialogues):
    """Under Opus the digitally silent pauses turn into residue; onsets must not follow it outwards."""
    d = dialogues[0]
    clean = rb.score([(c := rb.make_condition(d, "clean", dialogues), rb.detect_condition(c))])
    opus = rb.score([(c := rb.make_condition(d, "opus_24", dialogues), rb.detect_condition(c))])
    assert opus["ipu_onset_hit_rate"] >= clean["ipu_onset_hit_rate"] - 0.15
