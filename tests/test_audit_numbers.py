"""Numbers printed by eval, stats and qualify on corner cases (audit of 2026-12-05)."""

import pytest

from twotrack.config import QualifyConfig
from twotrack.evaluate import evaluate_recording
from twotrack.model import Event, EventKind, Segment, TrackActivity, Word
from twotrack.qualify.phases import corpus_phase_fit
from twotrack.turns.stats import RecordingEvents, corpus_stats


def _gold():
    return [Word("r", 0, 1.0, 2.0, "w"), Word("r", 1, 3.0, 4.0, "w")]


def test_frame_f1_is_zero_when_the_detector_found_no_speech_at_all():
    # gold has 2 s of speech, the detector none: recall 0, precision undefined, F1 = 2tp/(2tp+fp+fn) = 0
    m = evaluate_recording([TrackActivity(0, ()), TrackActivity(1, ())], _gold(), 6.0)
    assert m["frame_recall"] == 0.0 and m["frame_precision"] is None
    assert m["frame_f1"] == 0.0


def test_frame_f1_is_zero_when_every_detected_frame_is_a_false_alarm():
    m = evaluate_recording([TrackActivity(0, (Segment(4.5, 5.5),)), TrackActivity(1, (Segment(0.0, 0.5),))],
                           _gold(), 6.0)
    assert m["frame_precision"] == 0.0 and m["frame_f1"] == 0.0


def test_frame_f1_matches_the_direct_formula():
    det = [TrackActivity(0, (Segment(1.2, 2.3),)), TrackActivity(1, (Segment(3.0, 3.5),))]
    m = evaluate_recording(det, _gold(), 6.0)
    tp, fp, fn = 80 + 50, 30, 20 + 50  # 10 ms frames
    assert m["frame_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_pretraining_reason_counts_only_the_hours_the_rule_counts():
    # 9000 h synthetic + 2000 h two-track: the rule counts two-track and mono hours (2000), not 11000
    fit = corpus_phase_fit({"synthetic": 9000.0, "two-track": 2000.0}, 0.0, False, QualifyConfig())
    reason = fit.reasons["pre"][0]
    assert fit.pre == "unfit"
    assert "2000.00 h" in reason and "11000" not in reason


def test_a_speaker_on_both_tracks_of_one_recording_counts_that_recording_once():
    ev = [Event(EventKind.IPU, 0.0, 1.0, 0), Event(EventKind.IPU, 2.0, 3.0, 1)]
    s = corpus_stats([RecordingEvents("r", 60.0, ev, speech_s=(1.0, 1.0), speakers=("spk", "spk"))])
    spk = s["by_speaker"]["spk"]
    assert spk["recordings"] == 1
    assert spk["duration_s"] == pytest.approx(60.0)
    assert spk["counts"]["ipu"] == 2 and spk["per_minute"]["ipu"] == pytest.approx(2.0)
    assert spk["speech_share"] == pytest.approx(2.0 / 60.0)


def test_speaker_hours_count_a_recording_once_for_a_speaker_on_two_tracks():
    from twotrack.qualify.inputs import CorpusInputs, RecordingInputs
    from twotrack.qualify.requirements import speaker_diversity

    # 'x' on both tracks of a 1 h recording, 'a' and 'b' on another 1 h recording: x holds 1 of 3 speaker-hours
    recs = (RecordingInputs("r1", 3600.0, speakers=("x", "x")), RecordingInputs("r2", 3600.0, speakers=("a", "b")))
    r = speaker_diversity(CorpusInputs(recordings=recs), QualifyConfig())
    assert r.evidence["largest_speaker_share"] == pytest.approx(1 / 3, abs=1e-4)


def test_speaker_diversity_without_speaker_ids_names_no_largest_speaker_share():
    from twotrack.qualify.inputs import CorpusInputs, RecordingInputs
    from twotrack.qualify.requirements import speaker_diversity

    r = speaker_diversity(CorpusInputs(recordings=(RecordingInputs("r1", 600.0, speakers=(None, None)),)),
                          QualifyConfig())
    assert not r.passed
    assert r.evidence["largest_speaker_share"] is None
    assert not any("None has" in x or "100.0%" in x for x in r.reasons)
    assert any("cannot be measured" in x for x in r.reasons)


def test_an_fto_band_with_no_transfers_says_not_measured_not_outside():
    from twotrack.qualify.inputs import CorpusInputs, RecordingInputs, RecordingStats
    from twotrack.qualify.requirements import qualify_corpus

    # two tracks, IPUs but no floor transfer: the FTO median is not measured
    st = RecordingStats(speech_s=(5.0, 5.0), overlap_s=0.1, n_ipus=(3, 3), ipus_s=(1.0,) * 6)
    rep = qualify_corpus(CorpusInputs(recordings=(RecordingInputs("r1", 60.0, stats=st),)))
    r3 = next(r for r in rep.requirements if r.id == 3)
    fto = [x for x in r3.reasons if x.startswith("fto_s")]
    assert fto and "not measured" in fto[0] and "None" not in fto[0]


def test_qualify_table_labels_the_corpus_median_and_the_reference_quantile_it_sits_beside():
    from twotrack.cli.qualify import comparison_cells
    from twotrack.qualify.reference import Comparison

    fmt = lambda v: "-" if v is None else f"{v:.3f} s"  # noqa: E731
    fto = Comparison(statistic="fto_s", unit="s", corpus_value=0.17, reference_value=None, band=(-0.1, 0.4),
                     passed=True, corpus_quantiles={"0.301": -0.16, "0.5": 0.17},
                     reference_quantiles={"0.301": 0.0})
    corpus, reference = comparison_cells(fto, fmt)
    assert corpus == "median 0.170 s"
    assert reference == "q0.301: 0.000 s (corpus -0.160 s)"
    gap = Comparison(statistic="gap_s", unit="s", corpus_value=0.445, reference_value=0.264, band=None,
                     passed=None, reference_quantiles={"0.5": 0.264})
    assert comparison_cells(gap, fmt) == ("median 0.445 s", "median 0.264 s")


def test_report_requirement_texts_state_the_bands_and_accepted_isolation_they_judge_by():
    from twotrack.config import Config
    from twotrack.show.glossary import requirement_texts

    t = requirement_texts(Config())
    assert "measured on real telephone calls" not in t[3]  # the bands are config choices, not a measurement
    assert "1%-20%" in t[3] and "15%-55%" in t[3] and "-0.1 to 0.4 s" in t[3]
    assert "isolated or leaky" in t[1]  # leaky passes requirement 1: the text said "isolated"


def test_map_row_never_rounds_a_partial_share_of_hours_to_100_or_0_percent():
    from twotrack.qualify.datamap import measured_row
    from twotrack.qualify.inputs import CorpusInputs, RecordingInputs, Verdict
    from twotrack.qualify.requirements import qualify_corpus

    ok = Verdict(True)
    # 999 h allowed, 1 h (another length entirely) blocked: 99.9 % of hours, "partly"
    recs = (RecordingInputs("long", 999 * 3600.0, rights=ok, consent=ok),
            RecordingInputs("short", 3600.0, rights=Verdict(False), consent=Verdict(False)))
    inputs = CorpusInputs(recordings=recs)
    row = measured_row(qualify_corpus(inputs), inputs)
    assert row["commercial_use"]["value"] == "partly"
    assert row["commercial_use"]["note"].startswith("99.9% of hours")
    assert row["consent"]["value"] == "99.9% of hours"


def test_corpus_transfer_statistics_of_a_handful_of_transfers_do_not_pass_requirement_3():
    from twotrack.qualify.inputs import CorpusInputs, RecordingInputs, RecordingStats
    from twotrack.qualify.requirements import qualify_corpus

    # one recording, 3 transfers: median 0.2 s and 1 of 3 overlapping sit inside the bands by chance
    st = RecordingStats(speech_s=(20.0, 20.0), overlap_s=1.0, n_ipus=(5, 5), ftos_s=(-0.1, 0.2, 0.3),
                        ipus_s=(4.0,) * 10)
    rep = qualify_corpus(CorpusInputs(recordings=(RecordingInputs("one", 60.0, stats=st),)))
    comps = {c.statistic: c for c in rep.comparisons}
    assert comps["fto_s"].passed is False and comps["overlap_transfer_share"].passed is False
    assert "3 floor transfer(s)" in comps["fto_s"].note
    r3 = next(r for r in rep.requirements if r.id == 3)
    assert not r3.passed and any("too few to judge" in x for x in r3.reasons)
    assert comps["overlap_speech_share"].passed is True  # speech time is measured whatever the transfer count


def test_eval_table_says_which_gold_was_not_scored():
    from twotrack.cli.evaluate import _table
    from twotrack.evaluate import evaluate_activity

    # a one-track (mono) recording against two-channel gold: B's gold IPU cannot be scored
    res = evaluate_activity({"r": [TrackActivity(0, (Segment(1.0, 2.0),))]}, {"r": _gold(), "other": _gold()},
                            {"r": 6.0})
    assert res["n_gold_ipus"] == 1 and res["ipu_onset_hit_rate"] == 1.0
    text = _table(res)
    assert "gold on track(s) B, which the recording does not have: not scored" in text
    assert "gold without a recording (not scored): other" in text


def test_speakers_of_a_recording_that_failed_to_decode_are_not_counted_as_diversity():
    from twotrack.qualify.inputs import CorpusInputs, RecordingInputs
    from twotrack.qualify.requirements import speaker_diversity

    ok = tuple(RecordingInputs(f"r{i}", 600.0, speakers=(f"s{2 * i}", f"s{2 * i + 1}")) for i in range(4))
    failed = RecordingInputs("broken", 0.0, speakers=("s8", "s9"))  # 0 h: never heard
    r = speaker_diversity(CorpusInputs(recordings=(*ok, failed)), QualifyConfig())
    assert r.evidence["unique_speakers"] == 8 and not r.passed


def test_tags_of_a_recording_that_failed_to_decode_do_not_count_as_coverage():
    from twotrack.qualify.inputs import CorpusInputs, RecordingInputs
    from twotrack.qualify.requirements import qualify_corpus

    recs = (RecordingInputs("a", 600.0, tags={"topic": "sport", "register": "casual"}),
            RecordingInputs("b", 600.0, tags={"topic": "food", "register": "casual"}),
            RecordingInputs("broken", 0.0, tags={"topic": "news", "register": "formal"}))
    r4 = next(r for r in qualify_corpus(CorpusInputs(recordings=recs)).requirements if r.id == 4)
    assert r4.evidence["topics"] == ["food", "sport"] and r4.evidence["registers"] == ["casual"]
    assert not r4.passed


def test_durations_carry_no_float_noise_below_a_grid_value():
    from twotrack.turns.stats import distributions

    # a pause 56.79-56.99 s is 0.2 s; the float difference is 0.19999999999999574 (under the pause threshold)
    ev = [Event(EventKind.PAUSE, 56.79, 56.99, 0), Event(EventKind.GAP, 49.9, 50.0, 1)]
    d = distributions([RecordingEvents("r", 60.0, ev)])
    assert d["pause"].tolist() == [0.2] and d["gap"].tolist() == [0.1]
    s = corpus_stats([RecordingEvents("r", 60.0, ev)])
    assert s["durations"]["pause"]["quantiles"]["5"] == 0.2
