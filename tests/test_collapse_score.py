"""Scoring on hand-made cases whose answers are worked out by hand: DER parts (pyannote.metrics and the
10 ms frame scorer agree), the optimal speaker mapping, and the turn-taking damage measures."""

from __future__ import annotations

import numpy as np
import pytest

from twotrack.collapse.diarize import cluster, estimate_speakers, smooth_labels, window_starts
from twotrack.collapse.score import (DerParts, der, frame_der, label_masks, mapped_lanes, optimal_mapping,
                                     reference_segments, turn_damage)
from twotrack.collapse.summary import summarise
from twotrack.collapse.run import RecordingCollapse, score_hypothesis
from twotrack.model import Segment, TrackActivity
from twotrack.timeline import segments_to_mask

S = Segment
REF = [("A", S(0, 4)), ("B", S(3, 6))]
# S1 is A's voice, S2 is B's: [2, 3) is confused, [3, 4) misses A (overlap), [5.5, 6) misses B, [7, 8) is a false alarm
HYP = [("S1", S(0, 2)), ("S2", S(2, 5.5)), ("S1", S(7, 8))]


def _masks(segments, n=1000, labels=None):
    return label_masks(segments, n, labels)[1]


def test_hand_made_case_by_pyannote_and_by_frames():
    want = DerParts(total_s=7.0, missed_s=1.5, false_alarm_s=1.0, confusion_s=1.0)
    got = der(REF, HYP, 10.0)
    frames = frame_der(_masks(REF), _masks(HYP))
    for parts in (got, frames):
        for name in ("total_s", "missed_s", "false_alarm_s", "confusion_s"):
            assert getattr(parts, name) == pytest.approx(getattr(want, name), abs=1e-6)
        assert parts.der == pytest.approx(0.5)
    # Without the reference's overlap [3, 4): 5 s of speech, 0.5 missed, 1 false alarm, 1 confused.
    no_ovl = der(REF, HYP, 10.0, skip_overlap=True)
    assert (no_ovl.total_s, no_ovl.missed_s, no_ovl.false_alarm_s, no_ovl.confusion_s) == pytest.approx((5, 0.5, 1, 1))
    assert frame_der(_masks(REF), _masks(HYP), skip_overlap=True).shares() == pytest.approx(no_ovl.shares())


def test_perfect_hypothesis_scores_zero_whatever_its_labels():
    renamed = [("spk_9" if lab == "A" else "spk_1", seg) for lab, seg in REF]
    for hyp in (REF, renamed):
        parts = der(REF, hyp, 10.0)
        assert parts.total_s == pytest.approx(7.0)
        assert parts.der == pytest.approx(0.0, abs=1e-9)
        assert frame_der(_masks(REF), _masks(hyp)).der == pytest.approx(0.0, abs=1e-9)


def test_mapping_follows_the_voices_not_the_names():
    ref = _masks(REF, labels=["A", "B"])
    # hypothesis speaker 0 talks where B does, speaker 1 where A does
    hyp = _masks([("S0", S(3, 6)), ("S1", S(0, 3.9))], labels=["S0", "S1"])
    mapping = optimal_mapping(ref, hyp)
    assert mapping == {0: 1, 1: 0}
    lanes = mapped_lanes(hyp, mapping, 2)
    assert lanes[0].sum() == 390 and lanes[1].sum() == 300
    # an extra hypothesis speaker that shares nothing with the truth is left unmapped
    extra = np.vstack([hyp, _masks([("S2", S(8, 9))])])
    assert optimal_mapping(ref, extra) == {0: 1, 1: 0}


def _two_lane(a_segs, b_segs, n=2000):
    return np.stack([segments_to_mask(a_segs, n), segments_to_mask(b_segs, n)])


# A dialogue on the 10 ms grid: A, then B takes over with 0.4 s of overlap, A backchannels inside B's turn,
# then A takes the floor back after a 0.3 s gap.
A_SEGS = [S(0.5, 3.0), S(6.0, 6.3), S(9.3, 12.0)]
B_SEGS = [S(2.6, 9.0)]


def test_truth_against_itself_loses_nothing():
    truth = _two_lane(A_SEGS, B_SEGS)
    d = turn_damage(truth, truth)
    r = d.rates()
    assert d.onsets == 4 and d.overlaps == 1 and d.backchannels == 1 and d.transfers == 2
    assert r["onset_hit_rate"] == r["overlap_recall"] == r["backchannel_recall"] == 1.0
    assert r["overlap_time_recall"] == pytest.approx(1.0)
    assert r["transfer_wrong_speaker_share"] == 0.0 and r["fto_wasserstein_s"] == 0.0
    assert r["overlap_precision"] == 1.0


def test_one_label_per_frame_loses_the_overlap_and_the_backchannel():
    truth = _two_lane(A_SEGS, B_SEGS)
    # what a one-speaker-per-frame diarizer gives: B from where it starts, A's backchannel swallowed by B
    mono = _two_lane([S(0.5, 2.6), S(9.3, 12.0)], B_SEGS)
    d = turn_damage(truth, mono)
    r = d.rates()
    assert r["overlap_recall"] == 0.0 and r["backchannel_recall"] == 0.0
    assert d.overlaps_diarized == 0 and np.isnan(r["overlap_precision"])
    assert d.onsets_hit == 3  # A's backchannel onset is gone, the others are where they were
    assert d.fto_true == pytest.approx((-0.4, 0.3)) and d.fto_diarized == pytest.approx((0.0, 0.3))
    assert r["fto_wasserstein_s"] == pytest.approx(0.2)
    assert r["transfer_wrong_speaker_share"] == 0.0


def test_a_turn_given_to_the_wrong_speaker_is_counted():
    truth = _two_lane(A_SEGS, B_SEGS)
    # B's long turn is labelled A from 5 s on and A's last turn is labelled B: the diarized view has a transfer
    # at 9.3 s as the truth does, but to B instead of A (and a spurious one to A at 5 s)
    diar = _two_lane([S(0.5, 3.0), S(5.0, 9.0)], [S(3.0, 5.0), S(9.3, 12.0)])
    d = turn_damage(truth, diar)
    assert (d.transfers, d.transfers_diarized) == (2, 3)
    assert (d.transfers_wrong_speaker, d.transfers_missed) == (1, 0)
    assert d.rates()["transfer_wrong_speaker_share"] == 0.5
    # move B's label by 0.2 s only: the transfer is found, to the right speaker, 0.2 s late
    late = _two_lane(A_SEGS, [S(2.8, 9.0)])
    d2 = turn_damage(truth, late)
    assert d2.transfers_wrong_speaker == 0 and d2.transfers_missed == 0


def test_recording_scores_and_corpus_summary_add_up():
    activity = (TrackActivity(0, tuple(A_SEGS)), TrackActivity(1, tuple(B_SEGS)))
    hyp = [("S0", s) for s in (S(0.5, 2.6), S(9.3, 12.0))] + [("S1", S(2.6, 9.0))]
    res = score_hypothesis("d1", activity, hyp, 20.0)
    assert res.mapping == {"S0": "A", "S1": "B"}
    shares = res.der.shares()
    assert shares["missed"] + shares["false_alarm"] + shares["confusion"] == pytest.approx(shares["der"])
    assert all(0.0 <= shares[k] <= 1.0 for k in ("der", "missed", "false_alarm", "confusion"))
    # 0.4 s of A's overlap and A's 0.3 s backchannel are missed, nothing else
    assert res.der.missed_s == pytest.approx(0.7) and res.der.false_alarm_s == 0 and res.der.confusion_s == 0
    assert [a.segments for a in res.lanes] == [(S(0.5, 2.6), S(9.3, 12.0)), (S(2.6, 9.0),)]
    # two copies pool to the same rates; a failed recording is counted, not pooled
    summary = summarise([res, res, RecordingCollapse("bad", error="boom")])
    assert summary["recordings"] == 2 and summary["failed"] == 1
    assert summary["der"]["der"] == pytest.approx(res.der.der)
    assert summary["turn_taking"]["overlap_recall"] == 0.0
    assert summary["sentence"].startswith("On your data (2 recording(s)")
    assert RecordingCollapse.from_dict(res.to_dict()) == res
    assert reference_segments(activity)[0] == ("A", S(0.5, 3.0))


def test_clustering_and_speaker_count_on_separable_embeddings():
    rng = np.random.default_rng(0)
    centres = np.abs(rng.standard_normal((2, 32)))
    emb = np.concatenate([c + 0.15 * np.abs(rng.standard_normal((30, 32))) for c in centres])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels, cent = cluster(emb, 2)
    assert list(labels[:30]) == [0] * 30 and list(labels[30:]) == [1] * 30
    assert cent.shape == (2, 32)
    assert estimate_speakers(emb, 8) == 2


def test_smoothing_and_windows():
    labels = np.array([0, 0, 0, 1, 0, 0, -1, 1, -1, 1, 1, 0, 1, 1])
    # the lone 1 inside 0-speech goes; the lone 1 between silences stays; the 0 inside 1-speech goes
    assert smooth_labels(labels, 2).tolist() == [0, 0, 0, 0, 0, 0, -1, 1, -1, 1, 1, 1, 1, 1]
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert window_starts(11, 4, 3).tolist() == [0, 3, 6, 7]
    assert window_starts(3, 4, 3).tolist() == [0]
