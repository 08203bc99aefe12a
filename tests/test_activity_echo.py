"""A late echo of the other side (network echo let through mid-call) is not the track's speech."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from twotrack import robustness
from twotrack.activity import detect_tracks, to_activity
from twotrack.activity.crosstalk import smoothed_level
from twotrack.activity.detect import decide
from twotrack.activity.echo import Echo, echo_only, find_echoes
from twotrack.activity.energy import silence_below
from twotrack.config import ActivityConfig

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def dialogues():
    return robustness.load_dialogues(SAMPLE / "clean", SAMPLE / "gold")


@pytest.fixture(scope="module")
def demo02(dialogues):
    return next(d for d in dialogues if d.id.startswith("demo02"))


def _levels(frames):
    energy = silence_below(np.stack([f.energy_db for f in frames]), ActivityConfig().silence_range_db)
    return energy, np.stack([f.floor_db for f in frames])


def test_a_late_echo_is_found_and_its_frames_are_not_speech(demo02):
    cond = robustness.make_condition(demo02, "echo_33")
    on = detect_tracks(cond.tracks, cond.rate)
    off = detect_tracks(cond.tracks, cond.rate, replace(ActivityConfig(), echo_rule=False))
    plain = robustness.make_condition(demo02, "clean")
    with_rule = robustness.score([(cond, to_activity(on))])
    without = robustness.score([(cond, to_activity(off))])
    clean = robustness.score([(plain, to_activity(detect_tracks(plain.tracks, plain.rate)))])
    # without the rule the echo is labelled speech; with it, precision is back near the clean rendition's
    assert without["frame_precision"] < clean["frame_precision"] - 0.05
    assert with_rule["frame_precision"] >= clean["frame_precision"] - 0.02
    assert with_rule["frame_recall"] >= clean["frame_recall"] - 0.01

    echoes = find_echoes(*_levels(on))
    assert {e.target for e in echoes} == {0, 1}
    lag = round(robustness.ECHO_DELAY_S * 100)
    assert all(abs(e.lag - lag) <= 1 and -40 <= e.level_db <= -30 for e in echoes)
    # every echo window lies inside the stretch of the call that has the echo
    n = on[0].n_frames
    assert all(e.start >= robustness.ECHO_SPAN[0] * n - 2000 and e.stop <= robustness.ECHO_SPAN[1] * n + 2000
               for e in echoes)


@pytest.mark.parametrize("name", ["clean", "babble_10", "music_10", "quiet_b"])
def test_no_echo_without_one(dialogues, demo02, name):
    cond = robustness.make_condition(demo02, name, dialogues)
    frames = detect_tracks(cond.tracks, cond.rate)
    assert find_echoes(*_levels(frames)) == []


def test_telephone_bleed_is_left_to_the_crosstalk_rule():
    from twotrack.ingest.discover import discover
    from twotrack.ingest.tracks import load_tracks

    recordings, errors = discover([SAMPLE / "telephone"])
    assert not errors and recordings
    tracks = load_tracks(recordings[0], 8000).samples
    frames = detect_tracks(tracks, 8000)
    # a -28 dB leak at lag 0 is the crosstalk rule's; the echo search starts at 30 ms
    assert find_echoes(*_levels(frames)) == []


def test_decided_in_pieces_as_a_whole(demo02):
    cond = robustness.make_condition(demo02, "echo_33")
    frames = detect_tracks(cond.tracks, cond.rate)
    prob = np.stack([f.prob for f in frames])
    energy = np.stack([f.energy_db for f in frames])
    whole = decide(prob, energy)
    pieces = decide(prob, energy, piece_frames=1500)
    assert whole.echoes == pieces.echoes and whole.echoes
    assert [e for f in frames for e in f.echoes] == sorted(whole.echoes, key=lambda e: e.target)
    whole, pieces = whole.masks, pieces.masks
    assert np.array_equal(whole, pieces)
    assert np.array_equal(whole, np.stack([f.mask for f in frames]))


def test_own_speech_over_an_echo_is_kept():
    # frame levels: the source talks in turns of syllables (a 4 Hz level swing); the target carries it
    # 20 frames late at -33 dB, and speaks itself (at the source's loudness) over part of the echo
    rng = np.random.default_rng(7)
    n = 3000
    source = np.full(n, -70.0)
    syllables = 10.0 * np.sin(2 * np.pi * np.arange(250) / 25.0)
    for start in range(0, n - 200, 400):
        source[start : start + 250] = -28.0 + syllables + rng.normal(0, 3, 250)
    target = np.full(n, -70.0) + rng.normal(0, 0.5, n)
    late = np.full(n, -120.0)
    late[20:] = source[:-20] - 33.0
    target = 10 * np.log10(10 ** (target / 10) + 10 ** (late / 10))
    own = slice(1210, 1300)  # inside the source's burst at 1200-1450 (echo at 1220-1470)
    target[own] = -22.0 + rng.normal(0, 4, own.stop - own.start)
    energy = np.stack([target, source]).astype(np.float32)
    floor = np.full(energy.shape, -70.0, np.float32)
    echoes = find_echoes(energy, floor)
    assert echoes and all(e.target == 0 and e.source == 1 and abs(e.lag - 20) <= 1 for e in echoes)
    only = echo_only(energy, echoes, margin_db=6.0, cap_db=-6.0)
    level = smoothed_level(energy)
    echo_frames = (late[:] > -80) & (np.arange(n) < own.start - 5) & (np.arange(n) > 30)
    assert only[0][echo_frames & (level[0] > -65)].mean() > 0.9  # the echo is removed
    assert not only[0][own.start + 5 : own.stop - 5].any()  # own speech is kept
    assert not only[1].any()  # nothing is removed from the source


def test_echo_only_stays_inside_its_window():
    energy = np.stack([np.full(500, -90.0), np.full(500, -40.0)]).astype(np.float32)
    only = echo_only(energy, [Echo(0, 1, 100, 200, 10, -30.0, 0.5)], 6.0, -6.0)
    assert only[0, 100:200].all() and not only[0, :100].any() and not only[0, 200:].any()
    assert not only[1].any()


def test_a_scan_names_the_echo_in_the_activity_note(tmp_path, demo02):
    """Through the real CLI: the echo's frames are not speech, and `show --json` says why."""
    import json

    import soundfile as sf
    from show_fixtures import run_cli

    folder = tmp_path / "calls"
    folder.mkdir()
    echoed = robustness.add_echo(demo02.tracks, demo02.rate, -33.0)
    sf.write(folder / "echoed.flac", echoed.T, demo02.rate)
    sf.write(folder / "plain.flac", demo02.tracks.T, demo02.rate)
    ws = tmp_path / "ws"
    run_cli("scan", str(folder), "-w", str(ws), "-j", "0")

    def activity_note(rid: str) -> str:
        shown = json.loads(run_cli("show", rid, "-w", str(ws), "--json").stdout)
        return next(s["note"] for s in shown["stages"] if s["stage"] == "activity")

    note = activity_note("echoed")
    assert "echo of A on B: 3" in note and "echo of B on A: 3" in note and "180 ms late" in note
    assert "echo" not in activity_note("plain")


def test_smoothed_level_a_track_at_a_time_is_the_all_tracks_formula():
    """smoothed_level works a track at a time (its float64 temporaries were the 6-hour scan's peak): the
    numbers are the whole-array formula's, to the bit, in float64 and cast to float32."""
    from scipy.ndimage import uniform_filter1d

    from twotrack.activity.crosstalk import smoothed_level

    rng = np.random.default_rng(11)
    energy = (rng.normal(-50, 15, (3, 20_000))).astype(np.float32)
    power = uniform_filter1d(10.0 ** (energy.astype(np.float64) / 10.0), 5, axis=1, mode="nearest")
    whole = 10.0 * np.log10(np.maximum(power, 1e-30))
    np.testing.assert_array_equal(smoothed_level(energy), whole)
    low = smoothed_level(energy, dtype=np.float32)
    assert low.dtype == np.float32
    np.testing.assert_array_equal(low, whole.astype(np.float32))
    np.testing.assert_array_equal(smoothed_level(energy[0]), whole[:1])
