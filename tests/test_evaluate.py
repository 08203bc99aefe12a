"""Evaluation against gold: metrics on hand-made activity with known answers, id matching, the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.config import TurnsConfig
from twotrack.evaluate import (
    edge_hits, evaluate_activity, evaluate_recording, gold_ipus_by_track, gold_key,
)
from twotrack.ingest.annotations import transcribed_span
from twotrack.model import Segment, TrackActivity, Word

DATA = Path(__file__).resolve().parents[1] / "data" / "sample"


def words(rid, track, spans):
    return [Word(rid, track, a, b, "w") for a, b in spans]


GOLD = (words("r1", 0, [(1.0, 1.3), (1.4, 2.0), (4.0, 4.5)])  # A: IPUs [1.0, 2.0] (0.1 s pause) and [4.0, 4.5]
        + words("r1", 1, [(2.2, 3.6)]))  # B takes the floor in between
DETECTED = [
    TrackActivity(0, (Segment(1.04, 1.98), Segment(4.08, 4.52))),  # onsets +40 ms (hit), +80 ms (miss)
    TrackActivity(1, (Segment(2.25, 3.7),)),  # onset +50 ms (hit, tolerance inclusive), offset +100 ms (miss)
]


def test_gold_ipus_merge_words_across_short_pauses():
    ipus = gold_ipus_by_track(GOLD, 0.2)
    assert ipus == {0: [Segment(1.0, 2.0), Segment(4.0, 4.5)], 1: [Segment(2.2, 3.6)]}


def test_metrics_on_hand_made_activity():
    m = evaluate_recording(DETECTED, GOLD, duration_s=6.0)
    assert m["n_gold_ipus"] == 3 and m["n_detected_ipus"] == 3
    assert m["ipu_onset_hit_rate"] == pytest.approx(2 / 3)
    assert m["ipu_offset_hit_rate"] == pytest.approx(2 / 3)  # 1.98 and 4.52 hit, 3.70 misses
    # frames: A gold 150, detected 138, overlap 136; B gold 140, detected 145, overlap 135
    tp, fp, fn = 136 + 135, 2 + 10, 14 + 5
    assert m["frame_precision"] == pytest.approx(tp / (tp + fp))
    assert m["frame_recall"] == pytest.approx(tp / (tp + fn))
    assert m["frame_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # transfers A->B (gold FTO 0.20, detected 0.27) and B->A (gold 0.40, detected 0.38)
    assert m["n_gold_transfers"] == 2 and m["n_matched_transfers"] == 2
    assert m["fto_mae_s"] == pytest.approx((0.07 + 0.02) / 2, abs=1e-6)


def test_a_partly_transcribed_recording_is_scored_inside_its_span_only():
    # gold covers 0-6 s (as CALLHOME's transcripts cover 10 of up to 30 minutes); speech detected at 8-12 s has
    # no gold to be judged by: scored over the whole recording it reads as false alarms
    extra = [TrackActivity(0, DETECTED[0].segments + (Segment(8.0, 12.0),)), DETECTED[1]]
    whole = evaluate_recording(extra, GOLD, duration_s=14.0)
    inside = evaluate_recording(extra, GOLD, duration_s=14.0, span=Segment(0.0, 6.0))
    assert inside == evaluate_recording(DETECTED, GOLD, duration_s=6.0)
    assert whole["frame_precision"] < 0.5 < inside["frame_precision"] and whole["n_detected_ipus"] == 4
    pooled = evaluate_activity({"r1": extra}, {"r1": GOLD}, {"r1": 14.0}, scored={"r1": Segment(0.0, 6.0)})
    assert pooled["recordings"]["r1"]["scored_span_s"] == [0.0, 6.0]
    assert pooled["frame_precision"] == inside["frame_precision"]


def test_transcribed_span_is_read_from_metadata_or_not_at_all():
    assert transcribed_span({"transcribed_span_s": "383-983"}) == Segment(383.0, 983.0)
    assert transcribed_span({"transcribed_span_s": "0-20.5"}) == Segment(0.0, 20.5)
    for bad in ("", "12", "20-10", "a-b", "-5-3", "nan-4"):
        assert transcribed_span({"transcribed_span_s": bad}) is None, bad
    assert transcribed_span({}) is None


def test_perfect_activity_scores_one():
    perfect = [TrackActivity(0, (Segment(1.0, 2.0), Segment(4.0, 4.5))), TrackActivity(1, (Segment(2.2, 3.6),))]
    m = evaluate_recording(perfect, GOLD, 6.0)
    assert m["ipu_onset_hit_rate"] == m["ipu_offset_hit_rate"] == m["frame_f1"] == 1.0
    assert m["fto_mae_s"] == pytest.approx(0.0, abs=1e-9)


def test_detected_pauses_are_merged_like_the_gold():
    split = [TrackActivity(0, (Segment(1.0, 1.5), Segment(1.6, 2.0), Segment(4.0, 4.5))), DETECTED[1]]
    m = evaluate_recording(split, GOLD, 6.0)
    assert m["n_detected_ipus"] == 3  # the 0.1 s pause does not make a new IPU


def test_edge_hits_is_nearest_neighbour_within_tolerance():
    assert edge_hits(np.array([1.0, 2.0, 3.0]), np.array([1.05, 2.051, 9.0])) == 1
    assert edge_hits(np.array([1.0]), np.array([])) == 0


def test_overall_pools_recordings_and_ids_match_by_last_path_component():
    gold = {"r1": GOLD, "r2": words("r2", 0, [(0.5, 1.0)]), "orphan": words("orphan", 0, [(0, 1)])}
    activity = {"clean/r1": DETECTED, "r2": [TrackActivity(0, (Segment(0.5, 1.2),))], "nogold": DETECTED}
    out = evaluate_activity(activity, gold, {"clean/r1": 6.0, "r2": 2.0, "nogold": 6.0}, TurnsConfig())
    assert out["n_gold_ipus"] == 4
    assert out["ipu_onset_hit_rate"] == pytest.approx(3 / 4)
    assert out["recordings"]["clean/r1"]["gold_id"] == "r1"
    assert out["unmatched_recordings"] == ["nogold"] and out["unmatched_gold"] == ["orphan"]
    assert gold_key("a/b/r1", ["r1"]) == "r1" and gold_key("r1", ["x/r1"]) == "x/r1" and gold_key("q", ["r1"]) is None
    json.dumps(out)  # NaN-free


def test_a_track_without_detected_speech_counts_every_gold_ipu_as_missed():
    m = evaluate_recording([TrackActivity(0, ()), DETECTED[1]], GOLD, 6.0)
    assert m["n_gold_ipus"] == 3 and m["ipu_onset_hit_rate"] == pytest.approx(1 / 3)


@pytest.fixture(scope="module")
def excerpt(tmp_path_factory):
    """12 s of a demo dialogue as its own FLAC, with the gold words that fall inside it."""
    folder = tmp_path_factory.mktemp("eval")
    x, sr = sf.read(DATA / "clean" / "demo01_367_1688.flac", dtype="float32")
    sf.write(folder / "excerpt.flac", x[: 12 * sr], sr)
    lines = [ln.split() for ln in (DATA / "gold" / "demo01_367_1688.ctm").read_text().splitlines()
             if ln.strip() and not ln.startswith(";;")]
    kept = [f"excerpt {ch} {s} {d} {w}" for _, ch, s, d, w in lines if float(s) + float(d) <= 12.0]
    (folder / "excerpt.ctm").write_text("\n".join(kept) + "\n")
    return folder


def test_eval_cli_json(excerpt):
    res = CliRunner().invoke(main, ["eval", "--gold", str(excerpt / "excerpt.ctm"), str(excerpt / "excerpt.flac"),
                                    "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("ipu_onset_hit_rate", "ipu_offset_hit_rate", "frame_f1", "frame_precision", "frame_recall",
                "fto_mae_s", "n_gold_ipus", "recordings"):
        assert key in out
    assert set(out["recordings"]) == {"excerpt"}
    assert out["n_gold_ipus"] > 3 and out["frame_f1"] > 0.8
    table = CliRunner().invoke(main, ["eval", "--gold", str(excerpt / "excerpt.ctm"), str(excerpt / "excerpt.flac")])
    assert table.exit_code == 0 and "overall" in table.output


def test_eval_cli_needs_audio_or_a_workspace(excerpt):
    res = CliRunner().invoke(main, ["eval", "--gold", str(excerpt / "excerpt.ctm")])
    assert res.exit_code == 2 and "-w WORKSPACE" in res.output


def test_eval_cli_reads_activity_from_a_scanned_workspace(excerpt, tmp_path):
    runner = CliRunner()
    ws = tmp_path / "ws"
    scanned = runner.invoke(main, ["scan", str(excerpt / "excerpt.flac"), "-w", str(ws)])
    assert scanned.exit_code == 0, scanned.output
    direct = json.loads(runner.invoke(main, ["eval", "--gold", str(excerpt / "excerpt.ctm"),
                                             str(excerpt / "excerpt.flac"), "--json"]).output)
    res = runner.invoke(main, ["eval", "--gold", str(excerpt / "excerpt.ctm"), "-w", str(ws), "--json"])
    assert res.exit_code == 0, res.output
    stored = json.loads(res.output)
    assert set(stored["recordings"]) == {"excerpt"}
    assert stored["n_gold_ipus"] == direct["n_gold_ipus"]
    assert stored["frame_f1"] == pytest.approx(direct["frame_f1"], abs=0.05)


def test_an_ipu_of_exactly_the_short_length_is_not_short_wherever_it_lies():
    # 1.4 - 1.1 is 0.2999999999999998 in floats: that 0.3 s IPU counted as backchannel-sized (< 0.3 s),
    # the same length at 0.5-0.8 did not.
    from twotrack.evaluate import SHORT_IPU_S, ipus_found
    from twotrack.model import Segment
    from twotrack.timeline import Timeline

    speech = np.ones(400, bool)
    for a, b in ((1.1, 1.4), (0.5, 0.8), (3.6, 3.9)):
        assert ipus_found(Timeline([Segment(a, b)]), speech, max_s=SHORT_IPU_S) == (0, 0)
    assert ipus_found(Timeline([Segment(1.1, 1.39)]), speech, max_s=SHORT_IPU_S) == (1, 1)
