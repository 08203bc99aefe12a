"""Corpus statistics on hand-made event lists whose answers are known, and on the sample corpus."""

import json

import numpy as np
import pytest

from twotrack.config import TurnsConfig
from twotrack.model import Event, EventKind as K
from twotrack.turns import events_to_table, extract_events
from twotrack.turns.stats import (
    FTO_BIN_EDGES,
    RecordingEvents,
    corpus_stats,
    distribution_distance,
    distributions,
    fto_histogram,
    quantiles,
    recording_stats,
)


def rec_one():
    """60 s: A speaks 20 s, B 11.5 s (its 1.5 s IPU inside A's); 2 s overlap; one gap of 0.5 s, one pause
    of 0.3 s; FTOs -0.5, 0.5."""
    return RecordingEvents(
        "r1",
        60.0,
        [
            Event(K.IPU, 0.0, 10.0, 0), Event(K.IPU, 10.3, 20.3, 0), Event(K.IPU, 19.8, 29.8, 1),
            Event(K.IPU, 5.0, 6.5, 1),  # the within overlap below is this IPU's
            Event(K.TURN, 0.0, 20.3, 0), Event(K.TURN, 19.8, 29.8, 1), Event(K.TURN, 30.3, 31.0, 0),
            Event(K.PAUSE, 10.0, 10.3, 0, None, 0.3),
            Event(K.OVERLAP_BETWEEN, 19.8, 20.3, 1, 0, 0.5),
            Event(K.OVERLAP_WITHIN, 5.0, 6.5, 1, 0, 1.5),
            Event(K.FLOOR_TRANSFER, 19.8, 20.3, 1, 0, -0.5),
            Event(K.INTERRUPTION, 19.8, 20.3, 1, 0, 0.5),
            Event(K.GAP, 29.8, 30.3, 0, 1, 0.5),
            Event(K.FLOOR_TRANSFER, 29.8, 30.3, 0, 1, 0.5),
            Event(K.BACKCHANNEL, 5.0, 5.4, 1, 0),
        ],
        speech_s=(20.0, 10.0),
        speakers=("alice", "bob"),
    )


def rec_two():
    """120 s, one track speaking 30 s in 3 IPUs, FTOs 0.0, 1.0, 1.5 (as a table)."""
    return RecordingEvents(
        "r2",
        120.0,
        events_to_table([
            Event(K.IPU, 0.0, 10.0, 0), Event(K.IPU, 20.0, 30.0, 1), Event(K.IPU, 40.0, 50.0, 0),
            Event(K.FLOOR_TRANSFER, 10.0, 10.0, 1, 0, 0.0),
            Event(K.FLOOR_TRANSFER, 30.0, 31.0, 0, 1, 1.0),
            Event(K.FLOOR_TRANSFER, 50.0, 51.5, 1, 0, 1.5),
        ]),
        speakers=("alice", None),
    )


def test_quantiles_and_histogram_known_values():
    q = quantiles(np.array([-0.5, 0.0, 0.5, 1.0, 1.5]))
    assert q == pytest.approx({"5": -0.4, "25": 0.0, "50": 0.5, "75": 1.0, "95": 1.4})
    assert quantiles(np.zeros(0)) == {"5": None, "25": None, "50": None, "75": None, "95": None}
    assert len(FTO_BIN_EDGES) == 41 and FTO_BIN_EDGES[0] == -2.0 and FTO_BIN_EDGES[-1] == 2.0
    h = fto_histogram(np.array([-2.5, -2.0, -0.05, 0.0, 0.05, 0.15, 2.0, 3.0]))
    assert h["below"] == 1 and h["above"] == 1
    counts = h["counts"]
    assert len(counts) == 40 and sum(counts) == 6
    assert counts[0] == 1  # -2.0 in [-2.0, -1.9)
    assert counts[19] == 1  # -0.05 in [-0.1, 0.0)
    assert counts[20] == 2  # 0.0 and 0.05 in [0.0, 0.1)
    assert counts[21] == 1  # 0.15
    assert counts[39] == 1  # +2.0 closes the last bin


def test_recording_stats_known_answers():
    s = recording_stats(rec_one())
    assert s["duration_s"] == 60.0 and s["hours"] == pytest.approx(60 / 3600)
    assert s["speech_share"] == pytest.approx({"A": 20 / 60, "B": 10 / 60})
    # overlap 0.5 + 1.5 = 2 s; IPU time 31.5 s; time with someone speaking 31.5 - 2 = 29.5 s
    assert s["overlap_s"] == pytest.approx(2.0)
    assert s["overlap_share_of_speech"] == pytest.approx(2 / 29.5)
    assert s["counts"] == {
        "ipu": 4, "turn": 3, "pause": 1, "gap": 1, "overlap": 2, "overlap_between": 1,
        "overlap_within": 1, "backchannel": 1, "interruption": 1, "floor_transfer": 2,
    }
    assert s["per_minute"]["ipu"] == pytest.approx(4.0) and s["per_minute"]["backchannel"] == pytest.approx(1.0)
    assert s["fto"]["n"] == 2 and s["fto"]["mean"] == pytest.approx(0.0)
    assert s["fto"]["share_overlap"] == pytest.approx(0.5)
    assert s["fto"]["quantiles"]["50"] == pytest.approx(0.0)
    assert s["durations"]["gap"]["quantiles"]["50"] == pytest.approx(0.5)
    assert s["durations"]["overlap"]["n"] == 2 and s["durations"]["overlap"]["mean"] == pytest.approx(1.0)
    assert s["durations"]["turn"]["quantiles"]["50"] == pytest.approx(10.0)


def test_corpus_pools_recordings_and_breaks_down_by_group_and_speaker():
    s = corpus_stats([rec_one(), rec_two()], groups={"r1": "chat", "r2": "interview"})
    assert s["recordings"] == 2 and s["duration_s"] == 180.0 and s["hours"] == pytest.approx(0.05)
    # r2 has no speech_s: its IPU time stands in (A 20 s, B 10 s)
    assert s["speech_share"] == pytest.approx({"A": 40 / 180, "B": 20 / 180})
    assert s["counts"]["ipu"] == 7 and s["per_minute"]["ipu"] == pytest.approx(7 / 3)
    assert s["fto"]["n"] == 5
    assert s["fto"]["quantiles"] == pytest.approx({"5": -0.4, "25": 0.0, "50": 0.5, "75": 1.0, "95": 1.4})
    assert s["fto"]["share_overlap"] == pytest.approx(0.2)
    assert sum(s["fto"]["histogram"]["counts"]) == 5
    assert set(s["by_group"]) == {"chat", "interview"}
    assert s["by_group"]["interview"]["recordings"] == 1
    assert s["by_group"]["interview"]["fto"]["quantiles"]["50"] == pytest.approx(1.0)
    assert s["by_group"]["chat"]["duration_s"] == 60.0
    # speakers: alice is track A of both recordings, bob track B of r1; r2's B is unknown
    alice, bob = s["by_speaker"]["alice"], s["by_speaker"]["bob"]
    assert set(s["by_speaker"]) == {"alice", "bob"}
    assert alice["recordings"] == 2 and alice["duration_s"] == 180.0
    assert alice["speech_share"] == pytest.approx(40 / 180)
    assert alice["counts"]["ipu"] == 4 and alice["counts"]["floor_transfer"] == 2  # transfers to alice
    assert bob["speech_share"] == pytest.approx(10 / 60)
    assert bob["counts"]["backchannel"] == 1 and bob["counts"]["interruption"] == 1
    assert bob["overlap_share_of_speech"] == pytest.approx(2.0 / 11.5)
    assert "histogram" not in bob["fto"]
    json.dumps(s)  # JSON-ready


def test_empty_corpus_and_group_mapping_gaps():
    s = corpus_stats([])
    assert s["recordings"] == 0 and s["per_minute"]["ipu"] is None and s["fto"]["quantiles"]["50"] is None
    json.dumps(s)
    s = corpus_stats([rec_one()], groups={})
    assert s["by_group"] == {}


def test_recording_input_is_validated():
    with pytest.raises(ValueError, match="duration"):
        RecordingEvents("bad", -1.0, [])
    with pytest.raises(ValueError, match="speech_s"):
        RecordingEvents("bad", 10.0, [], n_tracks=2, speech_s=(1.0,))


def test_distributions_are_the_raw_arrays():
    d = distributions([rec_one(), rec_two()])
    assert sorted(d["fto"].tolist()) == pytest.approx([-0.5, 0.0, 0.5, 1.0, 1.5])
    assert d["gap"].tolist() == pytest.approx([0.5]) and d["pause"].tolist() == pytest.approx([0.3])
    assert sorted(d["overlap"].tolist()) == pytest.approx([0.5, 1.5])
    assert len(d["ipu"]) == 7


def test_distribution_distance_sample_and_quantiles():
    rng = np.random.default_rng(1)
    x = rng.normal(0.2, 0.45, 20000)
    # against a sample: W1 of a shift is the shift
    assert distribution_distance(x, x + 0.3) == pytest.approx(0.3, abs=1e-9)
    # against quantiles of the same distribution: close to 0 (exact interpolation for a uniform,
    # whose quantile function is linear); against a shifted one: the shift
    u = rng.uniform(-1.0, 1.0, 20000)
    ref_u = {str(p): -1.0 + 2.0 * p / 100 for p in (5, 25, 50, 75, 95)}
    assert distribution_distance(u, ref_u) < 0.01
    assert distribution_distance(u, {k: v + 0.25 for k, v in ref_u.items()}) == pytest.approx(0.25, abs=0.01)
    # a normal's five quantiles, linearly interpolated, miss its curved quantile function by ~0.02 s
    from scipy.stats import norm

    ref = {str(p): norm.ppf(p / 100, 0.2, 0.45) for p in (5, 25, 50, 75, 95)}
    assert distribution_distance(x, ref) < 0.03
    fine = {str(p): norm.ppf(p / 100, 0.2, 0.45) for p in range(5, 96)}
    assert distribution_distance(x, fine) < 0.01
    # the fto entry of corpus_stats works as a reference as it is
    s = corpus_stats([rec_one(), rec_two()])
    assert distribution_distance(distributions([rec_one(), rec_two()])["fto"], s["fto"]) == pytest.approx(0.0, abs=1e-9)
    assert distribution_distance([], ref) is None
    with pytest.raises(ValueError, match="at least two"):
        distribution_distance(x, {"50": 0.2})
    with pytest.raises(ValueError, match="decrease"):
        distribution_distance(x, {"5": 1.0, "95": 0.0})


def test_stats_of_the_sample_corpus_match_its_construction():
    """End to end: events extracted from gold word times, then corpus stats; the FTO quantiles equal
    those of the constructed fto_speech values within a frame."""
    import test_turns_gold as gold

    recs, ftos = [], []
    cfg = TurnsConfig()
    for rec_id in gold.IDS:
        masks, truth = gold.gold_masks(rec_id, cfg)
        recs.append(RecordingEvents(rec_id, truth["duration"], extract_events(masks, cfg),
                                    speakers=(truth["channels"]["A"]["speaker"], truth["channels"]["B"]["speaker"])))
        ftos += [t["fto_speech"] for t in truth["transfers"]]
    s = corpus_stats(recs)
    want = quantiles(np.array(ftos))
    for p, v in s["fto"]["quantiles"].items():
        assert v == pytest.approx(want[p], abs=0.011)
    assert s["counts"]["backchannel"] == 11 and s["counts"]["floor_transfer"] == 30
    assert s["fto"]["share_overlap"] == pytest.approx(np.mean(np.array(ftos) < 0))
    assert "367" in s["by_speaker"]  # speaker 367 appears in two dialogues
    assert s["by_speaker"]["367"]["recordings"] == 2


def test_overlap_share_counts_speech_time_once_whatever_min_overlap_hides():
    # A speaks [0, 3) and [3.5, 6) s; B [2.95, 3.3) and [4.0, 4.2) s: overlaps of 0.05 s and 0.2 s.
    # Someone speaks in [0, 3.3) and [3.5, 6): 5.8 s, however many overlap events are reported.
    m = np.zeros((2, 700), bool)
    m[0, 0:300] = m[0, 350:600] = True
    m[1, 295:330] = m[1, 400:420] = True
    for min_overlap_s, reported in ((0.0, 0.25), (0.1, 0.2)):
        table = events_to_table(extract_events(m, TurnsConfig(min_overlap_s=min_overlap_s)))
        s = recording_stats(RecordingEvents("r", 7.0, table))
        assert s["overlap_s"] == pytest.approx(reported)
        assert s["overlap_share_of_speech"] == pytest.approx(reported / 5.8)


def test_durations_are_exact_to_the_microsecond_as_the_event_times_are():
    # 18.48 - 18.03 is 0.45000000000000284 in floats; a gap stored as [18.03, 18.48) lasts 0.45 s.
    far = 3 * 3600.0 - 1.0  # and late in a 3-hour recording, where the float spacing is coarser
    events = [Event(K.GAP, 18.03, 18.48, 1, 0, 0.45), Event(K.GAP, far + 0.03, far + 0.48, 0, 1, 0.45),
              Event(K.PAUSE, 7.1, 7.3, 0, None, 0.2)]
    s = recording_stats(RecordingEvents("r", 3 * 3600.0, events))
    assert s["durations"]["gap"]["quantiles"]["50"] == 0.45 and s["durations"]["gap"]["mean"] == 0.45
    assert s["durations"]["pause"]["mean"] == 0.2
    assert distributions([RecordingEvents("r", 3 * 3600.0, events)])["gap"].tolist() == [0.45, 0.45]


def test_a_speaker_on_both_tracks_of_a_recording_counts_its_minutes_once():
    # A manifest that names one speaker for both tracks (a self-recorded test, or a slip): their 60 s
    # recording is 60 s of theirs, not 120 s; every event of either track is theirs once.
    rec = RecordingEvents("r1", 60.0, rec_one().events, speech_s=(20.0, 10.0), speakers=("alice", "alice"))
    alice = corpus_stats([rec])["by_speaker"]["alice"]
    assert alice["recordings"] == 1 and alice["duration_s"] == 60.0
    assert alice["counts"]["ipu"] == 4 and alice["per_minute"]["ipu"] == pytest.approx(4.0)
    assert alice["speech_share"] == pytest.approx(30 / 60)
    assert alice["overlap_share_of_speech"] == pytest.approx(2.0 / 29.5)  # as the recording's: both are hers


def test_an_event_time_that_is_not_a_number_is_an_error_naming_the_recording():
    table = events_to_table([Event(K.IPU, 0.0, 1.0, 0), Event(K.IPU, 2.0, 3.0, 1)])
    table["start"][1] = np.nan
    with pytest.raises(ValueError, match="rec-nan.*start"):
        recording_stats(RecordingEvents("rec-nan", 10.0, table))
    with pytest.raises(ValueError, match="rec-nan"):
        corpus_stats([rec_one(), RecordingEvents("rec-nan", 10.0, table)])
