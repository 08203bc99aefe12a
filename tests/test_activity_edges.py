"""Activity edges: the onset bound relative to the speech's own level (and the same bound on offsets,
an option that is off), and the noise floor of a sound alone in digital silence (docs/activity.md,
"Edges, 2026-12-04")."""

from pathlib import Path

import numpy as np

from twotrack.activity import detect_tracks
from twotrack.activity.energy import SILENCE_DB, frame_energy_db, noise_floor_db
from twotrack.activity.refine import RefineParams, decay_onsets, refine_edges
from twotrack.config import ActivityConfig
from twotrack.ingest.audio import read_all
from twotrack.timeline import runs

DATA = Path(__file__).resolve().parents[1] / "data" / "sample"
SR = 8000


def _tone(seconds: float, level_db: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (10 ** (level_db / 20) * np.sqrt(2) * np.sin(2 * np.pi * 300 * t + rng.uniform(0, 6))).astype(np.float32)


def _word_with_lead_and_tail(rng: np.random.Generator) -> np.ndarray:
    """1 s of noise at -65 dBFS; a lead-in from 0.85 to 1.0 s at -50 dBFS (breath, a slow ramp: 30 dB below
    the word, 15 dB above the background); a 'word' at -20 dBFS from 1.0 to 1.5 s; a tail from 1.5 to
    1.65 s at -50 dBFS (decay, breath); then noise."""
    x = rng.standard_normal(int(3 * SR)).astype(np.float32) * 10 ** (-65 / 20)
    x[int(0.85 * SR) : SR] += _tone(0.15, -50, rng)
    x[SR : int(1.5 * SR)] += _tone(0.5, -20, rng)
    x[int(1.5 * SR) : int(1.65 * SR)] += _tone(0.15, -50, rng)
    return x


def test_onset_starts_where_the_word_rises_not_where_the_lead_in_leaves_the_background():
    rng = np.random.default_rng(1)
    e = frame_energy_db(_word_with_lead_and_tail(rng), SR)
    floor = noise_floor_db(e)
    rough = np.zeros(e.size, bool)
    rough[95:160] = True  # a model's run
    plain = RefineParams(decay_db=0, offset_decay_db=0)
    starts, stops = runs(refine_edges(rough, e, floor, plain))
    assert abs(int(starts[0]) - 85) <= 1 and abs(int(stops[0]) - 165) <= 1  # background-relative: lead-in, tail
    starts, stops = runs(refine_edges(rough, e, floor, RefineParams(decay_db=25, decay_window=50)))
    assert abs(int(starts[0]) - 100) <= 1  # level-relative bound: the word's own rise
    assert abs(int(stops[0]) - 165) <= 1  # offsets keep the background-relative edge by default
    stops = runs(refine_edges(rough, e, floor, RefineParams(offset_decay_db=25, decay_window=50)))[1]
    assert abs(int(stops[0]) - 150) <= 1  # the offset option (off by default) ends the word at its decay


def test_default_config_bounds_onsets_only():
    from twotrack.activity.detect import _refine_params

    p = _refine_params(ActivityConfig())
    assert p.decay_db == 25 and p.offset_decay_db == 0 and p.decay_window == 50


def test_decay_bound_only_moves_edges_inwards_and_keeps_quiet_words():
    e = np.full(100, -60.0, np.float32)
    e[20:40] = -45.0  # a quiet word: every frame within 25 dB of its own peak
    e[40:45] = -80.0  # a dip below it
    starts = np.array([20])
    assert decay_onsets(e, starts, np.array([40]), 25.0, 50)[0] == 20
    e[20:25] = -75.0  # a lead-in 30 dB below the word
    assert decay_onsets(e, starts, np.array([40]), 25.0, 50)[0] == 25
    assert decay_onsets(e, starts, np.array([40]), 25.0, 3)[0] == 20  # the peak is looked for only this far in


def test_a_sound_alone_in_digital_silence_is_not_its_own_floor():
    e = np.full(600, SILENCE_DB, np.float32)
    e[300:320] = -30.0  # a 0.2 s word in a gated channel, 3 s of digital silence either side
    assert noise_floor_db(e)[310] < -100  # no evidence of a background: the word is 90 dB above it, not at it
    assert noise_floor_db(e, min_sound=0.0)[310] == -30.0  # every window read: the word is its own floor
    e[100:300] = -62.0  # with 2 s of real background before it, that background is the floor
    assert abs(noise_floor_db(e)[310] - (-62)) < 1


def test_a_short_word_alone_in_a_gated_track_is_found():
    """demo01 track B says "so" (39.87-40.06 s) with 3 s of digital silence before and 4 s after it; the
    floor taken from the word itself made the energy gate skip it and the support rule remove it."""
    x, sr = read_all(DATA / "clean" / "demo01_367_1688.flac")
    tracks = np.ascontiguousarray(x[38 * sr : 42 * sr].T)
    b = detect_tracks(tracks, sr, ActivityConfig())[1]
    starts, stops = runs(b.mask)
    gold = (1.87, 2.06)
    hit = [(s, t) for s, t in zip(starts / 100, stops / 100) if s < gold[1] and t > gold[0]]
    assert len(hit) == 1, list(zip(starts / 100, stops / 100))
    assert abs(hit[0][0] - gold[0]) <= 0.05 and abs(hit[0][1] - gold[1]) <= 0.1


def test_an_onset_after_digital_silence_starts_where_the_sound_starts():
    """demo02 track A says "so" (gold onset 58.86 s) after seconds of digital silence: its /s/ sounds from
    58.87 s at -50..-28 dBFS, the vowel peaks near -15 dBFS. Read against the floor of every window (the word
    is its own floor), the onset waited for the vowel (+120 ms); the gate's floor (no lone-sound evidence)
    lets it move out to the fricative, and the onset bound keeps it off the first faint frames."""
    x, sr = read_all(DATA / "clean" / "demo02_3080_2033.flac")
    t0 = 56
    tracks = np.ascontiguousarray(x[t0 * sr : 61 * sr].T)

    def onset(cfg: ActivityConfig) -> float:
        starts, stops = runs(detect_tracks(tracks, sr, cfg)[0].mask)
        (s,) = [s for s, t in zip(starts / 100 + t0, stops / 100 + t0) if s < 59.2 and t > 58.9]
        return float(s)

    assert abs(onset(ActivityConfig()) - 58.86) <= 0.05
    assert onset(ActivityConfig(refine_onset_heard_floor=False)) - 58.86 > 0.05  # the old floor: late
