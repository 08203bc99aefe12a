"""Noisy edges (activity/denoise.py, docs/activity.md "Noisy edges"): a track whose speech lies close to its
background has its edges refined on the level with each band's noise floor subtracted; every other track
keeps its labels exactly."""

from pathlib import Path

import numpy as np
import pytest

from twotrack import robustness as rb
from twotrack.activity import detect_stream, detect_tracks, to_activity
from twotrack.activity.denoise import (BandStream, LevelStream, band_frames, band_level, noisy_tracks, silenced,
                                      subtracted_level)
from twotrack.activity.energy import SILENCE_DB, floor_reach, frame_energy_db, moving_mean
from twotrack.config import ActivityConfig

REPO = Path(__file__).resolve().parents[1]
OFF = ActivityConfig(denoise_snr_db=0.0)


@pytest.fixture(scope="module")
def dialogues():
    return rb.load_dialogues(REPO / "data/sample/clean", REPO / "data/sample/gold")


def _onset_hits(cond, cfg):
    return rb.score([(cond, to_activity(detect_tracks(cond.tracks, cond.rate, cfg)))])["ipu_onset_hit_rate"]


def test_onsets_hold_under_pink_noise_at_10_db(dialogues):
    # the benchmark's pink_10 condition of demo02 (37 gold IPUs): the broadband refiner's anchor (15 dB over
    # the background) is out of reach of first syllables at 10 dB SNR, so onsets fell on later syllables
    d = next(x for x in dialogues if x.id == rb.REPORT[0])
    cond = rb.make_condition(d, "pink_10", dialogues)
    before, after = _onset_hits(cond, OFF), _onset_hits(cond, ActivityConfig())
    assert before < 0.8 and after >= 0.9


def test_clean_audio_keeps_its_labels_exactly(dialogues):
    d = dialogues[0]
    n = 20 * d.rate
    x = d.tracks[:, :n]
    on, off = detect_tracks(x, d.rate, ActivityConfig()), detect_tracks(x, d.rate, OFF)
    for a, b in zip(on, off):
        assert np.array_equal(a.mask, b.mask)


def test_the_switch_reads_the_background_against_the_speech():
    rng = np.random.default_rng(0)
    energy = np.full((3, 1000), -120.0, np.float32)  # digital silence between words
    prob = np.zeros((3, 1000), np.float32)
    prob[:, 400:600] = 1.0
    energy[:, 400:600] = -20.0
    energy[1] = np.where(prob[1] > 0, -20.0, -35.0 + rng.normal(0, 1, 1000))  # background 15 dB under speech
    energy[2] = np.where(prob[2] > 0, -20.0, -60.0)  # 40 dB under: quiet
    assert noisy_tracks(prob, energy, 0.5, 21.0).tolist() == [False, True, False]
    assert not noisy_tracks(np.zeros_like(prob), energy, 0.5, 21.0).any()  # no speech: nothing to judge


def test_band_frames_line_up_with_energy_frames_whatever_the_blocks():
    rng = np.random.default_rng(1)
    rate = 16000
    x = (rng.standard_normal((2, rate * 3 + 77)) * 0.1).astype(np.float32)
    n_frames = frame_energy_db(x[0], rate).size
    whole = band_frames([x], rate, n_frames)
    pieces = band_frames([x[:, i : i + 1234] for i in range(0, x.shape[1], 1234)], rate, n_frames)
    assert whole.shape == (2, 24, n_frames)
    np.testing.assert_allclose(whole, pieces, atol=1e-3)
    # white noise: the bands (100 Hz to 0.95 x Nyquist) hold about that share of the frame power
    total = 10 * np.log10(np.sum(10 ** (whole[0, :, 5:-5] / 10), axis=0))
    assert abs(np.median(total - frame_energy_db(x[0], rate)[5:-5]) - 10 * np.log10((7600 - 100) / 8000)) < 0.7
    # a tone lands in the band around its frequency, on its own frames
    t = np.arange(rate) / rate
    tone = np.zeros(2 * rate, np.float32)
    tone[rate // 2 : rate // 2 + rate] = 0.1 * np.sin(2 * np.pi * 1000 * t)
    b = BandStream(1, rate)
    bands = np.concatenate([b.feed(tone[None]), b.finish(200)], axis=2)[0]
    assert bands.shape == (24, 200)
    assert bands[:, 100].argmax() == bands[:, 120].argmax() and bands[:, 100].max() > -30
    # each frame's 32 ms window is centred on it: the frames 15-35 ms outside the tone hold none of it
    assert bands[:, 46].max() < -100 and bands[:, 153].max() < -100
    assert bands[:, 50].max() > -30 and bands[:, 149].max() > -30


def test_subtracting_the_band_floors_removes_stationary_noise_not_a_word():
    rng = np.random.default_rng(2)
    rate = 16000
    noise = rb.pink_noise(6 * rate, rng) * 0.05
    t = np.arange(int(0.4 * rate)) / rate
    word = np.zeros_like(noise)
    word[3 * rate : 3 * rate + t.size] = 0.05 * np.sin(2 * np.pi * 700 * t) * np.hanning(t.size)
    x = (noise + word).astype(np.float32)
    energy = frame_energy_db(x, rate)
    level = subtracted_level(band_frames([x[None]], rate, energy.size)[0], energy)
    quiet, loud = np.r_[50:250, 360:550], np.r_[310:330]
    # the noise falls to beta (-15 dB) of its floor, the word's band keeps its power: the contrast grows
    raw = np.median(energy[loud]) - np.median(energy[quiet])
    assert raw < 10
    assert np.median(level[loud]) - np.median(level[quiet]) > raw + 8


def test_a_stream_read_once_gets_the_frames_of_a_second_read(dialogues):
    d = dialogues[1]
    cond = rb.make_condition(d, "music_10", dialogues)
    x = cond.tracks[:, : 20 * cond.rate]

    def blocks():
        return (x[:, i : i + 8 * cond.rate] for i in range(0, x.shape[1], 8 * cond.rate))

    twice = detect_stream(blocks(), cond.rate, ActivityConfig(), reread=blocks)
    once = detect_stream(blocks(), cond.rate, ActivityConfig())
    off = detect_stream(blocks(), cond.rate, OFF, reread=blocks)
    assert any(not np.array_equal(a.mask, b.mask) for a, b in zip(twice, off))  # the rule acted here
    for a, b in zip(twice, once):
        for field in ("prob", "mask", "energy_db", "floor_db"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
        assert a.echoes == b.echoes


@pytest.fixture(scope="module")
def noisy_bands(dialogues):
    """Band dB (1, 24, 3000) of 30 s of a pink-noise track with 3 s of digital silence inside it."""
    cond = rb.make_condition(dialogues[0], "pink_10", dialogues)
    x = cond.tracks[:1, : 30 * cond.rate].copy()
    x[0, 5 * cond.rate : 8 * cond.rate] = 0.0
    return band_frames([x], cond.rate, frame_energy_db(x[0], cond.rate).size)


def _streamed(bands: np.ndarray, block: int, chunk: int = 500, extra: tuple[float, ...] = ()) -> np.ndarray:
    stream = LevelStream(chunk=chunk, extra_windows_s=extra)
    parts = [stream.feed(bands[..., i : i + block]) for i in range(0, bands.shape[-1], block)]
    return np.concatenate([*parts, stream.finish()], axis=-1)


@pytest.mark.parametrize("chunk", [1, 500])  # 1: every level goes out as soon as its reach has come
@pytest.mark.parametrize("block", [1, 7, 333, 10_000])
def test_the_streamed_level_is_the_whole_tracks_bit_for_bit(noisy_bands, block, chunk):
    silent = noisy_bands[0] <= SILENCE_DB + 1e-3
    # 2.6 s of digital silence in every band inside the track: at chunk 1 the stream computes on buffers that
    # hold nothing else (noise_floor_db's all-silent shortcut), which must give what the whole track gives
    assert silent[:, 520:780].all() and not silent.all()
    whole = band_level(noisy_bands)
    got = _streamed(noisy_bands, block, chunk)
    assert got.dtype == np.float32 and got.shape == whole.shape
    assert np.array_equal(got, whole)
    # the digital silence is put back per frame, after: the same as the one-track form
    energy = np.where(silent.all(axis=0), SILENCE_DB, -30.0).astype(np.float32)
    assert np.array_equal(silenced(got[0], energy), subtracted_level(noisy_bands[0], energy))
    # with the onsets' faster floors as well (one stream, the margin of the slower): both levels bit for bit
    both = _streamed(noisy_bands, block, chunk, extra=(0.35,))
    assert both.shape == (1, 2, whole.shape[-1])
    assert np.array_equal(both[:, 0], whole)
    assert np.array_equal(both[:, 1], band_level(noisy_bands, noise_window_s=0.35))


@pytest.mark.parametrize("n", [1, 40, 106, 107, 108, 200])
def test_a_track_shorter_than_the_streams_margin(noisy_bands, n):
    before, after = floor_reach(0.5)
    assert (before, after) == (55, 52)  # 0.1 s average, then the minimum and the maximum over 0.5 s
    part = noisy_bands[..., 900 : 900 + n]
    for block in (1, 7, 333):
        for chunk in (1, 500):
            assert np.array_equal(_streamed(part, block, chunk), band_level(part))


def test_the_moving_mean_is_scipys_and_does_not_depend_on_where_it_starts():
    from scipy.ndimage import uniform_filter1d

    x = 10.0 ** np.random.default_rng(3).normal(-3, 2, 5000)
    whole = moving_mean(x, 10)
    # scipy's running sum carries an error of about eps times the largest values it has passed
    np.testing.assert_allclose(whole, uniform_filter1d(x, 10, mode="nearest"), rtol=1e-12, atol=1e-12 * x.max())
    assert np.array_equal(moving_mean(x[1234:], 10)[5:-4], whole[1239:-4])


def test_the_level_tap_makes_the_whole_tracks_levels():
    from twotrack.activity.detect import _Levels
    from twotrack.activity.tap import Tap

    rng = np.random.default_rng(4)
    rate = 16000
    x = (rb.pink_noise(2 * 10 * rate + 2 * 77, rng).reshape(2, -1) * 0.05).astype(np.float32)
    x[1, 3 * rate : 6 * rate] = 0.0
    n = frame_energy_db(x[0], rate).size
    bands = band_frames([x[:, i : i + 1234] for i in range(0, x.shape[1], 1234)], rate, n, np.array([1]))
    both = np.stack([band_level(bands), band_level(bands, noise_window_s=0.35)], axis=1)
    for cfg, want in ((ActivityConfig(denoise_onset_floor_window_s=0.0), band_level(bands)), (ActivityConfig(), both)):
        tap = Tap(lambda n_tracks: _Levels(n_tracks, rate, cfg), np.array([1]))
        for _ in tap.tap(x[:, i : i + 1234] for i in range(0, x.shape[1], 1234)):
            pass
        assert np.array_equal(tap.finish(n), want)


def test_pieces_decide_as_the_whole(dialogues):
    from twotrack.activity.detect import analyse_stream, decide, noisy_edges

    cond = rb.make_condition(dialogues[0], "pink_10", dialogues)
    x = cond.tracks[:, : 30 * cond.rate]
    prob, energy = analyse_stream([x], cond.rate)
    cfg = ActivityConfig()
    def make(tracks):  # the level and the onsets' faster-floor level, as detect makes them
        bands = band_frames([x], cond.rate, prob.shape[1], tracks)
        return np.stack([band_level(bands), band_level(bands, noise_window_s=cfg.denoise_onset_floor_window_s)], axis=1)

    levels, offset_only = noisy_edges(prob, energy, cfg, make)
    assert sorted(levels) == [0, 1] and levels[0].shape == (2, prob.shape[1]) and not offset_only
    whole = decide(prob, energy, cfg, levels=levels).masks
    pieces = decide(prob, energy, cfg, piece_frames=700, levels=levels).masks
    assert np.array_equal(whole, pieces)


# --- music onsets: the faster band floors (refine.inner_onsets; docs/activity.md "Music onsets") ---------------

MUSIC_OFF = ActivityConfig(denoise_onset_floor_window_s=0.0)


def test_a_held_chord_before_a_word_is_background_for_the_faster_floors():
    from twotrack.activity.refine import RefineParams, refine_edges

    n = 300
    level = np.full(n, -60.0, np.float32)  # the level with 0.5 s band floors: a chord held 0.12 s stays in it
    level[118:130] = -40.0
    level[130:200] = -20.0  # the word
    fast = np.full(n, -60.0, np.float32)  # the faster floors followed the chord: only the word is left
    fast[130:200] = -20.0
    floor = np.full(n, -60.0, np.float32)
    mask = np.zeros(n, bool)
    mask[135:200] = True  # the model's run starts late, inside the word
    params = RefineParams(decay_db=25.0)
    onset = lambda m: int(np.flatnonzero(m)[0])  # noqa: E731
    assert onset(refine_edges(mask, level, floor, params)) == 118  # the chord starts the speech
    assert onset(refine_edges(mask, level, floor, params, inner=(fast, floor, 4))) == 130
    # the offsets are the slow level's either way
    assert np.flatnonzero(refine_edges(mask, level, floor, params, inner=(fast, floor, 4)))[-1] == 199
    # a move shorter than the shift (stationary noise: the two levels agree within a frame or two) is not made
    near = level.copy()
    near[118:127] = -60.0
    assert onset(refine_edges(mask, near, floor, params)) == 127
    assert onset(refine_edges(mask, near, floor, params, inner=(fast, floor, 4))) == 127
    assert onset(refine_edges(mask, near, floor, params, inner=(fast, floor, 3))) == 130
    # and an onset never moves out: a fast level whose onset lies earlier leaves it
    early = np.full(n, -60.0, np.float32)
    early[120:200] = -20.0
    assert onset(refine_edges(mask, early, floor, params)) == 120
    assert onset(refine_edges(mask, near, floor, params, inner=(early, floor, 4))) == 127


def _onsets(frames, cond):
    from twotrack.evaluate import gold_ipus_by_track
    from twotrack.timeline import runs

    out = {}
    for t, ipus in gold_ipus_by_track(cond.words, 0.2).items():
        starts = runs(frames[t].mask)[0] * 0.01
        for s in ipus:
            out[(t, round(s.start, 2))] = float(starts[np.argmin(np.abs(starts - s.start))] - s.start)
    return out


def test_onsets_under_music_leave_the_chord_and_stationary_noise_keeps_its_labels(dialogues):
    # demo01 (tune half) with the benchmark's music at 10 dB SNR: two onsets that started on a chord held
    # before the word (80-90 ms early) start at the word; the rule only moves onsets in
    d = next(x for x in dialogues if x.id == rb.TUNE[0])
    cond = rb.make_condition(d, "music_10", dialogues)
    off, on = detect_tracks(cond.tracks, cond.rate, MUSIC_OFF), detect_tracks(cond.tracks, cond.rate, ActivityConfig())
    before, after = _onsets(off, cond), _onsets(on, cond)
    for key in ((0, 9.07), (0, 51.77)):
        assert before[key] < -0.075 and abs(after[key]) <= 0.05, (key, before[key], after[key])
    assert sum(abs(v) <= 0.05 for v in after.values()) > sum(abs(v) <= 0.05 for v in before.values())
    for a, b in zip(off, on):
        assert not np.any(b.mask & ~a.mask)  # speech only shrinks: no onset moved out, no offset moved
    # pink noise (stationary): the faster floors find the same onsets, so nothing moves
    cond = rb.make_condition(d, "pink_10", dialogues)
    for a, b in zip(detect_tracks(cond.tracks, cond.rate, MUSIC_OFF), detect_tracks(cond.tracks, cond.rate)):
        assert np.array_equal(a.mask, b.mask)
