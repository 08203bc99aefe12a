"""Turn-taking events on hand-built activity patterns whose events are known exactly.

Patterns are written in frames (10 ms): ``A=[(50, 200)]`` means track A speaks in frames 50..199,
i.e. from 0.50 s to 2.00 s. Expected events are written in seconds.
"""

import numpy as np
import pytest

from twotrack.config import TurnsConfig
from twotrack.model import Event, EventKind as K
from twotrack.turns import analyse, as_table, events_from_table, events_to_table, extract_events, extract_table, ipus

CFG = TurnsConfig()  # pause 0.2 s, backchannel <= 1.0 s, every overlap frame counts


def masks(n, A=(), B=None):
    """Activity of one or two tracks from frame spans."""
    tracks = [A] if B is None else [A, B]
    m = np.zeros((len(tracks), n), bool)
    for t, spans in enumerate(tracks):
        for a, b in spans:
            m[t, a:b] = True
    return m


def ev(kind, start, end, track=None, from_track=None, value=None):
    return Event(kind, start, end, track, from_track, value)


def of(events, *kinds):
    return [e for e in events if e.kind in kinds]


def same(actual, expected):
    """Events equal up to float rounding, in time order."""
    key = lambda e: (e.start, e.end, e.kind.value)  # noqa: E731
    actual, expected = sorted(actual, key=key), sorted(expected, key=key)
    assert len(actual) == len(expected), f"\n got {actual}\nwant {expected}"
    for a, b in zip(actual, expected):
        assert (a.kind, a.track, a.from_track) == (b.kind, b.track, b.from_track), f"{a} != {b}"
        assert a.start == pytest.approx(b.start) and a.end == pytest.approx(b.end), f"{a} != {b}"
        assert (a.value is None) == (b.value is None), f"{a} != {b}"
        if a.value is not None:
            assert a.value == pytest.approx(b.value), f"{a} != {b}"


# ---------------------------------------------------------------------------------------------
# IPUs
# ---------------------------------------------------------------------------------------------


def test_ipus_bridge_silences_shorter_than_the_threshold():
    m = masks(200, [(10, 30), (49, 60), (80, 90), (90, 95)])[0]  # silences of 19 and 20 frames
    s, e = ipus(m, 20)
    assert s.tolist() == [10, 80] and e.tolist() == [60, 95]
    s, e = ipus(m, 0)  # no bridging at all
    assert s.tolist() == [10, 49, 80] and e.tolist() == [30, 60, 95]
    s, e = ipus(np.zeros(50, bool), 20)
    assert len(s) == len(e) == 0


def test_pause_threshold_from_config_in_seconds():
    m = masks(300, [(10, 100), (115, 200)])  # a 0.15 s silence
    assert len(of(extract_events(m, TurnsConfig(pause_threshold_s=0.2)), K.IPU)) == 1
    assert len(of(extract_events(m, TurnsConfig(pause_threshold_s=0.15)), K.IPU)) == 2


# ---------------------------------------------------------------------------------------------
# Gaps, pauses, transfers
# ---------------------------------------------------------------------------------------------


def test_plain_alternation_with_a_gap_and_pauses():
    # A: 0.5-2.0, pause 0.3, 2.3-3.0 | gap 0.5 | B: 3.5-5.0
    m = masks(600, A=[(50, 200), (230, 300)], B=[(350, 500)])
    same(
        extract_events(m, CFG),
        [
            ev(K.IPU, 0.5, 2.0, 0), ev(K.IPU, 2.3, 3.0, 0), ev(K.IPU, 3.5, 5.0, 1),
            ev(K.TURN, 0.5, 3.0, 0), ev(K.TURN, 3.5, 5.0, 1),
            ev(K.PAUSE, 2.0, 2.3, 0, None, 0.3),
            ev(K.GAP, 3.0, 3.5, 1, 0, 0.5),
            ev(K.FLOOR_TRANSFER, 3.0, 3.5, 1, 0, 0.5),
        ],
    )


def test_speech_at_file_start_and_end_has_no_silence_event_outside():
    m = masks(400, A=[(0, 150)], B=[(180, 400)])
    events = extract_events(m, CFG)
    same(of(events, K.GAP, K.PAUSE), [ev(K.GAP, 1.5, 1.8, 1, 0, 0.3)])
    same(of(events, K.TURN), [ev(K.TURN, 0.0, 1.5, 0), ev(K.TURN, 1.8, 4.0, 1)])


def test_leading_and_trailing_silence_are_not_events():
    events = extract_events(masks(1000, A=[(300, 400)], B=[(500, 600)]), CFG)
    assert min(e.start for e in events) == pytest.approx(3.0)
    assert max(e.end for e in events) == pytest.approx(6.0)


def test_zero_gap_transfer_has_no_gap_and_no_overlap():
    events = extract_events(masks(400, A=[(50, 200)], B=[(200, 350)]), CFG)
    same(of(events, K.FLOOR_TRANSFER), [ev(K.FLOOR_TRANSFER, 2.0, 2.0, 1, 0, 0.0)])
    assert not of(events, K.GAP, K.PAUSE, K.OVERLAP_BETWEEN, K.OVERLAP_WITHIN, K.INTERRUPTION)


# ---------------------------------------------------------------------------------------------
# Overlaps and interruptions
# ---------------------------------------------------------------------------------------------


def test_overlapped_transfer_is_an_interruption_with_negative_fto():
    # A 0.5-3.0; B starts at 2.6 while A is mid-IPU and keeps the floor to 5.0
    events = extract_events(masks(600, A=[(50, 300)], B=[(260, 500)]), CFG)
    same(
        of(events, K.FLOOR_TRANSFER, K.OVERLAP_BETWEEN, K.INTERRUPTION, K.OVERLAP_WITHIN, K.GAP),
        [
            ev(K.FLOOR_TRANSFER, 2.6, 3.0, 1, 0, -0.4),  # start < end, value = FTO < 0
            ev(K.OVERLAP_BETWEEN, 2.6, 3.0, 1, 0, 0.4),
            ev(K.INTERRUPTION, 2.6, 3.0, 1, 0, 0.4),
        ],
    )
    same(of(events, K.TURN), [ev(K.TURN, 0.5, 3.0, 0), ev(K.TURN, 2.6, 5.0, 1)])


def test_failed_interruption_long_ipu_inside_the_other_is_within_overlap():
    # B talks 1.5 s entirely inside A's IPU: never heard alone, the floor stays with A.
    events = extract_events(masks(800, A=[(50, 500), (550, 700)], B=[(200, 350)]), CFG)
    assert not of(events, K.BACKCHANNEL, K.FLOOR_TRANSFER, K.OVERLAP_BETWEEN, K.INTERRUPTION)
    same(of(events, K.OVERLAP_WITHIN), [ev(K.OVERLAP_WITHIN, 2.0, 3.5, 1, 0, 1.5)])
    same(of(events, K.TURN), [ev(K.TURN, 0.5, 7.0, 0)])
    same(of(events, K.PAUSE, K.GAP), [ev(K.PAUSE, 5.0, 5.5, 0, None, 0.5)])


def test_min_overlap_hides_short_overlaps_but_not_the_transfer():
    m = masks(600, A=[(50, 300)], B=[(297, 500)])  # 30 ms overlap
    cfg = TurnsConfig(min_overlap_s=0.05)
    events = extract_events(m, cfg)
    assert not of(events, K.OVERLAP_BETWEEN, K.OVERLAP_WITHIN, K.INTERRUPTION)
    same(of(events, K.FLOOR_TRANSFER), [ev(K.FLOOR_TRANSFER, 2.97, 3.0, 1, 0, -0.03)])
    assert len(of(extract_events(m, CFG), K.INTERRUPTION)) == 1


# ---------------------------------------------------------------------------------------------
# Backchannels
# ---------------------------------------------------------------------------------------------


def test_backchannel_inside_the_other_speakers_ipu():
    events = extract_events(masks(700, A=[(50, 600)], B=[(200, 240)]), CFG)
    same(
        [e for e in events if e.kind is not K.IPU],
        [
            ev(K.TURN, 0.5, 6.0, 0),
            ev(K.BACKCHANNEL, 2.0, 2.4, 1, 0),
            ev(K.OVERLAP_WITHIN, 2.0, 2.4, 1, 0, 0.4),
        ],
    )


def test_backchannel_in_the_other_speakers_pause_splits_the_pause():
    # A pauses 2.0-3.0; B says "mhm" 2.3-2.6; A goes on.
    events = extract_events(masks(600, A=[(50, 200), (300, 500)], B=[(230, 260)]), CFG)
    same(
        [e for e in events if e.kind is not K.IPU],
        [
            ev(K.TURN, 0.5, 5.0, 0),
            ev(K.PAUSE, 2.0, 2.3, 0, None, 0.3),
            ev(K.BACKCHANNEL, 2.3, 2.6, 1, 0),
            ev(K.PAUSE, 2.6, 3.0, 0, None, 0.4),
        ],
    )


def test_backchannel_running_past_the_speakers_ipu_end():
    # B's "yeah" starts inside A's IPU and ends in A's pause; A resumes: within overlap + pause.
    events = extract_events(masks(600, A=[(50, 200), (300, 500)], B=[(180, 230)]), CFG)
    same(
        [e for e in events if e.kind is not K.IPU],
        [
            ev(K.TURN, 0.5, 5.0, 0),
            ev(K.BACKCHANNEL, 1.8, 2.3, 1, 0),
            ev(K.OVERLAP_WITHIN, 1.8, 2.0, 1, 0, 0.2),
            ev(K.PAUSE, 2.3, 3.0, 0, None, 0.7),
        ],
    )


def test_two_backchannels_in_one_pause():
    events = extract_events(masks(800, A=[(50, 200), (500, 700)], B=[(250, 280), (350, 380)]), CFG)
    same(of(events, K.BACKCHANNEL), [ev(K.BACKCHANNEL, 2.5, 2.8, 1, 0), ev(K.BACKCHANNEL, 3.5, 3.8, 1, 0)])
    assert not of(events, K.FLOOR_TRANSFER, K.GAP)
    assert len(of(events, K.PAUSE)) == 3


def test_backchannel_length_limit_is_inclusive_and_configurable():
    # exactly 1.0 s is a backchannel; 1.01 s takes the floor (and A takes it back)
    exact = extract_events(masks(800, A=[(50, 200), (500, 700)], B=[(300, 400)]), CFG)
    assert len(of(exact, K.BACKCHANNEL)) == 1 and not of(exact, K.FLOOR_TRANSFER)
    longer = extract_events(masks(800, A=[(50, 200), (500, 700)], B=[(300, 401)]), CFG)
    assert not of(longer, K.BACKCHANNEL)
    same(
        of(longer, K.FLOOR_TRANSFER),
        [ev(K.FLOOR_TRANSFER, 2.0, 3.0, 1, 0, 1.0), ev(K.FLOOR_TRANSFER, 4.01, 5.0, 0, 1, 0.99)],
    )
    same(of(longer, K.GAP), [ev(K.GAP, 2.0, 3.0, 1, 0, 1.0), ev(K.GAP, 4.01, 5.0, 0, 1, 0.99)])
    wide = extract_events(masks(800, A=[(50, 200), (500, 700)], B=[(300, 401)]), TurnsConfig(backchannel_max_s=1.5))
    assert len(of(wide, K.BACKCHANNEL)) == 1


def test_short_ipu_that_takes_the_floor_is_not_a_backchannel():
    # B answers "yes" (0.3 s) and goes on talking; A stays silent.
    events = extract_events(masks(800, A=[(50, 200)], B=[(250, 280), (320, 600)]), CFG)
    assert not of(events, K.BACKCHANNEL)
    same(of(events, K.TURN), [ev(K.TURN, 0.5, 2.0, 0), ev(K.TURN, 2.5, 6.0, 1)])
    same(of(events, K.FLOOR_TRANSFER), [ev(K.FLOOR_TRANSFER, 2.0, 2.5, 1, 0, 0.5)])
    same(of(events, K.PAUSE), [ev(K.PAUSE, 2.8, 3.2, 1, None, 0.4)])


def test_speakers_own_short_last_ipu_is_part_of_their_turn():
    # A: long IPU, then "right." (0.3 s), then B takes the floor.
    events = extract_events(masks(900, A=[(50, 300), (330, 360)], B=[(400, 800)]), CFG)
    assert not of(events, K.BACKCHANNEL)
    same(of(events, K.TURN), [ev(K.TURN, 0.5, 3.6, 0), ev(K.TURN, 4.0, 8.0, 1)])
    same(of(events, K.FLOOR_TRANSFER), [ev(K.FLOOR_TRANSFER, 3.6, 4.0, 1, 0, 0.4)])


def test_short_exchange_resolves_forward_in_time():
    # A long, B "yes", A "ok", B long: B's "yes" is a backchannel (A goes on), A's "ok" continues
    # A's turn, B's long IPU takes the floor. Documented tie-break of an ambiguous pattern.
    events = extract_events(masks(1000, A=[(50, 300), (400, 430)], B=[(330, 360), (480, 900)]), CFG)
    same(of(events, K.BACKCHANNEL), [ev(K.BACKCHANNEL, 3.3, 3.6, 1, 0)])
    same(of(events, K.TURN), [ev(K.TURN, 0.5, 4.3, 0), ev(K.TURN, 4.8, 9.0, 1)])
    same(of(events, K.FLOOR_TRANSFER), [ev(K.FLOOR_TRANSFER, 4.3, 4.8, 1, 0, 0.5)])


def test_short_ipu_at_file_start_is_not_a_backchannel():
    events = extract_events(masks(700, A=[(200, 600)], B=[(50, 80)]), CFG)
    assert not of(events, K.BACKCHANNEL)
    same(of(events, K.TURN), [ev(K.TURN, 0.5, 0.8, 1), ev(K.TURN, 2.0, 6.0, 0)])
    same(of(events, K.GAP), [ev(K.GAP, 0.8, 2.0, 0, 1, 1.2)])


def test_last_short_ipu_with_nobody_after_takes_the_floor():
    # B's "bye" overlaps A's end and nobody speaks after: B had the last word.
    events = extract_events(masks(700, A=[(50, 300)], B=[(280, 320)]), CFG)
    assert not of(events, K.BACKCHANNEL)
    same(of(events, K.FLOOR_TRANSFER), [ev(K.FLOOR_TRANSFER, 2.8, 3.0, 1, 0, -0.2)])


# ---------------------------------------------------------------------------------------------
# Simultaneous starts (tie rule), silent tracks, mono, bad input
# ---------------------------------------------------------------------------------------------


def test_simultaneous_start_longer_ipu_takes_the_floor():
    events = extract_events(masks(600, A=[(100, 130)], B=[(100, 400)]), CFG)
    same(of(events, K.TURN), [ev(K.TURN, 1.0, 4.0, 1)])
    same(of(events, K.BACKCHANNEL), [ev(K.BACKCHANNEL, 1.0, 1.3, 0, 1)])
    same(of(events, K.OVERLAP_WITHIN, K.OVERLAP_BETWEEN), [ev(K.OVERLAP_WITHIN, 1.0, 1.3, 0, 1, 0.3)])


def test_simultaneous_start_after_a_gap():
    # A's turn, silence, then both start at 3.0; B goes on longer and keeps the floor.
    events = extract_events(masks(800, A=[(50, 200), (300, 350)], B=[(300, 700)]), CFG)
    same(of(events, K.TURN), [ev(K.TURN, 0.5, 2.0, 0), ev(K.TURN, 3.0, 7.0, 1)])
    same(of(events, K.FLOOR_TRANSFER), [ev(K.FLOOR_TRANSFER, 2.0, 3.0, 1, 0, 1.0)])
    same(of(events, K.GAP), [ev(K.GAP, 2.0, 3.0, 1, 0, 1.0)])
    same(of(events, K.BACKCHANNEL), [ev(K.BACKCHANNEL, 3.0, 3.5, 0, 1)])


def test_identical_ipus_tie_goes_to_track_a():
    events = extract_events(masks(500, A=[(100, 300)], B=[(100, 300)]), CFG)
    same(of(events, K.TURN), [ev(K.TURN, 1.0, 3.0, 0)])
    same(of(events, K.OVERLAP_WITHIN, K.OVERLAP_BETWEEN), [ev(K.OVERLAP_WITHIN, 1.0, 3.0, 1, 0, 2.0)])
    assert not of(events, K.FLOOR_TRANSFER, K.BACKCHANNEL)


def test_one_silent_track():
    events = extract_events(masks(600, A=[(50, 200), (300, 500)], B=[]), CFG)
    same(
        events,
        [
            ev(K.IPU, 0.5, 2.0, 0), ev(K.IPU, 3.0, 5.0, 0), ev(K.TURN, 0.5, 5.0, 0),
            ev(K.PAUSE, 2.0, 3.0, 0, None, 1.0),
        ],
    )


def test_mono_gives_ipus_and_pauses_only():
    m = masks(600, A=[(50, 200), (300, 500)])
    expected = [ev(K.IPU, 0.5, 2.0, 0), ev(K.IPU, 3.0, 5.0, 0), ev(K.PAUSE, 2.0, 3.0, 0, None, 1.0)]
    same(extract_events(m, CFG), expected)
    same(extract_events(m[0], CFG), expected)  # a 1-D mask is one track


def test_no_speech_no_events():
    assert extract_events(np.zeros((2, 500), bool), CFG) == []
    assert extract_events(np.zeros((2, 0), bool), CFG) == []


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="one or two tracks"):
        extract_events(np.zeros((3, 10), bool), CFG)
    with pytest.raises(ValueError, match="n_tracks, n_frames"):
        extract_events(np.zeros((2, 3, 4), bool), CFG)
    with pytest.raises(ValueError, match="pause_threshold_s"):
        extract_events(np.zeros((2, 10), bool), TurnsConfig(pause_threshold_s=-1))


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.4, 2.0, -1.0])
def test_a_mask_that_is_not_speech_or_silence_is_a_clear_error(bad):
    # astype(bool) would read NaN, a probability or a 2 as speech: an IPU made of nothing.
    m = np.zeros((2, 10))
    m[0, 2:5] = bad
    with pytest.raises(ValueError, match="0/1"):
        extract_events(m, CFG)
    with pytest.raises(ValueError, match="0/1"):
        extract_table(m[0], CFG)


def test_masks_of_0_and_1_in_any_dtype_read_as_booleans():
    m = masks(100, A=[(0, 30)], B=[(50, 90)])
    for dtype in (np.int8, np.int64, np.float32, np.float64, np.uint8):
        same(extract_events(m.astype(dtype), CFG), extract_events(m, CFG))


# ---------------------------------------------------------------------------------------------
# Table form and structural invariants on random conversations
# ---------------------------------------------------------------------------------------------


def test_table_round_trip():
    m = masks(900, A=[(50, 300), (330, 360), (600, 700)], B=[(200, 230), (400, 800)])
    events = extract_events(m, CFG)
    table = events_to_table(events)
    assert set(table) == {"kind", "start", "end", "track", "from_track", "value"}
    assert table["track"].dtype == np.int64 and table["value"].dtype == np.float64
    assert events_from_table(table) == events
    direct = extract_table(m, CFG)
    for col in table:
        np.testing.assert_array_equal(direct[col], table[col])


def test_as_table_reads_arrow_tables_and_null_columns():
    import pyarrow as pa

    table = extract_table(masks(900, A=[(50, 300), (600, 700)], B=[(200, 230), (400, 800)]), CFG)
    back = as_table(pa.table(table))
    for col in table:
        np.testing.assert_array_equal(back[col], table[col])
    # a database hands NULL tracks/values back as masked columns: they read as -1 / NaN
    nulls = dict(table)
    nulls["from_track"] = np.ma.masked_less(table["from_track"], 0)
    nulls["value"] = np.ma.masked_invalid(table["value"])
    read = as_table(nulls)
    np.testing.assert_array_equal(read["from_track"], table["from_track"])
    np.testing.assert_array_equal(np.isnan(read["value"]), np.isnan(table["value"]))


def random_conversation(rng, n=6000):
    """Alternating turns with random pauses, overlaps and short listener IPUs."""
    m = np.zeros((2, n), bool)
    t, who = int(rng.integers(0, 50)), 0
    while t < n - 50:
        end = t + int(rng.integers(30, 400))
        for _ in range(int(rng.integers(1, 4))):
            m[who, t:min(end, n)] = True
            t = end + int(rng.integers(5, 60))
            end = t + int(rng.integers(20, 300))
        if rng.random() < 0.5:  # a short listener IPU somewhere
            a = int(rng.integers(max(0, t - 300), t + 1))
            m[1 - who, a:a + int(rng.integers(10, 120))] = True
        t += int(rng.integers(-80, 150))
        t = max(t, 0)
        who = 1 - who
    return m


def random_runs(rng, n=20000):
    """Two independent on/off processes: chaos with no conversational order at all."""
    m = np.zeros((2, n), bool)
    for t in range(2):
        pos = 0
        while pos < n:
            on, off = int(rng.exponential(80)), int(rng.exponential(60))
            m[t, pos:pos + on] = True
            pos += on + off + 1
    return m


@pytest.mark.parametrize("seed", range(40))
def test_invariants_on_random_conversations(seed):
    rng = np.random.default_rng(seed)
    m = random_conversation(rng, 30000) if seed % 2 else random_runs(rng)
    st = analyse(m, CFG)
    events = extract_events(m, CFG)
    turns = of(events, K.TURN)
    transfers = of(events, K.FLOOR_TRANSFER)
    # consecutive turns alternate speakers, and every pair is one transfer with FTO = start - end
    assert all(a.track != b.track for a, b in zip(turns, turns[1:]))
    assert len(transfers) == len(turns) - 1
    for a, b, tr in zip(turns, turns[1:], transfers):
        assert tr.value == pytest.approx(b.start - a.end)
        assert tr.start <= tr.end and (tr.track, tr.from_track) == (b.track, a.track)
    # gaps are exactly the positive transfers; between-overlaps and interruptions the negative ones
    pos = [(tr.start, tr.end) for tr in transfers if tr.value > 0]
    neg = [(tr.start, tr.end) for tr in transfers if tr.value < 0]
    assert [(g.start, g.end) for g in of(events, K.GAP)] == pos
    assert [(o.start, o.end) for o in of(events, K.OVERLAP_BETWEEN)] == neg
    assert [(o.start, o.end) for o in of(events, K.INTERRUPTION)] == neg
    # backchannels are short IPUs of the listener, never part of a turn
    bcs = of(events, K.BACKCHANNEL)
    assert all(b.duration <= CFG.backchannel_max_s + 1e-9 and b.track != b.from_track for b in bcs)
    assert not np.any(st.ipu_backchannel & (st.ipu_turn >= 0))
    # silence, overlap and single-speaker time partition the span from first to last speech
    span = of(events, K.IPU)
    first, last = min(e.start for e in span), max(e.end for e in span)
    silence = sum(e.duration for e in of(events, K.PAUSE, K.GAP))
    overlap = sum(e.duration for e in of(events, K.OVERLAP_BETWEEN, K.OVERLAP_WITHIN))
    ipu_time = sum(e.duration for e in span)
    assert silence + ipu_time - overlap == pytest.approx(last - first)


def test_transfer_times_undo_the_time_ordering():
    from twotrack.turns import transfer_times

    events = extract_events(masks(900, A=[(50, 300), (600, 800)], B=[(260, 500)]), CFG)
    tr = of(events, K.FLOOR_TRANSFER)
    assert [transfer_times(e) for e in tr] == [(pytest.approx(3.0), pytest.approx(2.6)),
                                              (pytest.approx(5.0), pytest.approx(6.0))]
    with pytest.raises(ValueError):
        transfer_times(of(events, K.IPU)[0])


# ---------------------------------------------------------------------------------------------
# Edge cases of the audit of 2026-12-05 (hand-derived answers)
# ---------------------------------------------------------------------------------------------


def test_interruption_after_which_the_first_speaker_takes_the_floor_back_in_overlap():
    # A 0-3 s; B 2-4 s (long, heard alone 3.0-3.5): B takes the floor in overlap; A comes back at 3.5
    # while B still talks and goes on alone to 6 s: a second overlapped transfer, back to A.
    events = extract_events(masks(700, A=[(0, 300), (350, 600)], B=[(200, 400)]), CFG)
    same(of(events, K.TURN), [ev(K.TURN, 0.0, 3.0, 0), ev(K.TURN, 2.0, 4.0, 1), ev(K.TURN, 3.5, 6.0, 0)])
    same(of(events, K.FLOOR_TRANSFER, K.INTERRUPTION, K.OVERLAP_BETWEEN, K.OVERLAP_WITHIN, K.GAP, K.PAUSE), [
        ev(K.FLOOR_TRANSFER, 2.0, 3.0, 1, 0, -1.0), ev(K.INTERRUPTION, 2.0, 3.0, 1, 0, 1.0),
        ev(K.OVERLAP_BETWEEN, 2.0, 3.0, 1, 0, 1.0),
        ev(K.FLOOR_TRANSFER, 3.5, 4.0, 0, 1, -0.5), ev(K.INTERRUPTION, 3.5, 4.0, 0, 1, 0.5),
        ev(K.OVERLAP_BETWEEN, 3.5, 4.0, 0, 1, 0.5),
    ])


def test_a_one_frame_overlap_is_an_overlapped_transfer_and_a_touching_one_is_fto_zero():
    one = extract_events(masks(100, A=[(0, 31)], B=[(30, 80)]), CFG)
    same(of(one, K.FLOOR_TRANSFER, K.OVERLAP_BETWEEN, K.INTERRUPTION, K.GAP), [
        ev(K.FLOOR_TRANSFER, 0.3, 0.31, 1, 0, -0.01), ev(K.OVERLAP_BETWEEN, 0.3, 0.31, 1, 0, 0.01),
        ev(K.INTERRUPTION, 0.3, 0.31, 1, 0, 0.01)])
    touching = extract_events(masks(100, A=[(0, 30)], B=[(30, 80)]), CFG)
    same(of(touching, K.FLOOR_TRANSFER, K.OVERLAP_BETWEEN, K.OVERLAP_WITHIN, K.INTERRUPTION, K.GAP),
         [ev(K.FLOOR_TRANSFER, 0.3, 0.3, 1, 0, 0.0)])


def test_three_hours_of_events_sit_exactly_on_the_10_ms_grid():
    # A talks 3 s, 0.5 s gap, B talks 3 s, 1 s gap, again and again for 3 h: every time is frames / 100 exactly
    # (the correctly rounded decimal, as float(str) reads it), with no drift at the end.
    n = 3 * 3600 * 100
    m = np.zeros((2, n), bool)
    periods = range(0, n - 750, 750)  # 1439 periods of 7.5 s
    for k in periods:
        m[0, k:k + 300] = True
        m[1, k + 350:k + 650] = True
    tb = extract_table(m, CFG)
    for col in ("start", "end"):
        frames = np.rint(tb[col] * 100)
        assert np.array_equal(tb[col], frames / 100.0)
    last = tb["start"][tb["kind"] == K.IPU.value][-1]
    assert last == (len(periods) - 1) * 7.5 + 3.5 == 10788.5  # the last B IPU, in the last period
    gaps = tb["value"][tb["kind"] == K.GAP.value]
    assert set(gaps.tolist()) == {0.5, 1.0} and len(gaps) == 2 * len(periods) - 1
