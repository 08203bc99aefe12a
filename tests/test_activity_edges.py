"""Activity edges: the onset bound relative to the speech's own level (and the same bound on offsets,
an option that is off) (docs/activity.md, "Edges, 2026-12-04")."""

import numpy as np

from twotrack.activity.energy import frame_energy_db, noise_floor_db
from twotrack.activity.refine import RefineParams, decay_onsets, refine_edges
from twotrack.config import ActivityConfig
from twotrack.timeline import runs

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
