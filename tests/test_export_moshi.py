"""The Moshi fine-tuning layout, read the way kyutai-labs/moshi-finetune reads it (sphn.dataset_jsonl, then
``splitext(path)[0] + ".json"`` for the alignments), on a workspace made by the real scan."""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import export_corpus as C
from twotrack.export import export
from twotrack.model import EventKind
from twotrack.store import Workspace, queries

PURPOSE = "commercial-training"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return C.workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def moshi_a(ws, tmp_path_factory):
    out = tmp_path_factory.mktemp("moshi") / "a"
    summary = export(ws, out, "moshi", PURPOSE, max_duration_s=12.0)
    return out, summary


def _state(out: Path) -> dict:
    return json.loads((out / ".twotrack" / "export.json").read_text())


def _lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]


def moshi_finetune_samples(jsonl: Path, duration_sec: float):
    """What moshi-finetune's data loader hands its tokenizer: sphn's chunks of each manifest line, and the
    alignments of the chunk found by bisecting the sorted starts of ``<stem>.json``."""
    import sphn

    ds = sphn.dataset_jsonl(str(jsonl), duration_sec=duration_sec, num_threads=2, sample_rate=24000,
                            pad_last_segment=True)
    for sample in ds.seq(skip=0, step_by=1):
        wav = sample["data"][..., : sample["unpadded_len"]]
        with open(os.path.splitext(sample["path"])[0] + ".json") as fh:
            alignments = json.load(fh)["alignments"]
        starts = [a[1][0] for a in alignments]
        t0 = sample["start_time_sec"]
        window = alignments[bisect.bisect_left(starts, t0):bisect.bisect_left(starts, t0 + duration_sec)]
        yield sample["path"], wav, window


def test_only_allowed_recordings_and_the_layout_the_trainer_reads(moshi_a):
    out, summary = moshi_a
    state = _state(out)
    assert sorted(state["recordings"]) == C.COMMERCIAL_ALLOWED
    assert "clean/demo02" in summary.blocked and not summary.errors
    assert state["purpose"] == PURPOSE and len(state["ledger_head"]) == 64
    assert [p.name for p in out.rglob("*jsonl")] == ["train.jsonl"]  # the trainer globs every *jsonl
    lines = _lines(out)
    assert lines and all(set(x) == {"path", "duration"} for x in lines)
    for x in lines:
        info = sf.info(str(out / x["path"]))
        assert (info.channels, info.samplerate, info.subtype) == (2, 24000, "PCM_16")
        assert x["duration"] == pytest.approx(info.frames / 24000, abs=1e-9)
        assert (out / x["path"]).with_suffix(".json").exists()
    # read as moshi-finetune does: every chunk is stereo, every alignment sorted, positive and main-speaker
    n_chunks = 0
    for path, wav, window in moshi_finetune_samples(out / "train.jsonl", 10.0):
        assert wav.shape[0] == 2 and wav.shape[1] > 0
        n_chunks += 1
    assert n_chunks == sum(int(np.ceil(x["duration"] / 10.0)) for x in lines)
    for x in lines:
        ali = json.loads((out / x["path"]).with_suffix(".json").read_text())["alignments"]
        assert [a[1][0] for a in ali] == sorted(a[1][0] for a in ali)
        assert all(a[1][0] < a[1][1] <= x["duration"] + 1e-6 and a[2] == "SPEAKER_MAIN" and a[0] for a in ali)


def test_channel_zero_is_the_main_speaker_and_alignments_are_their_gold_words(ws, moshi_a, tmp_path):
    out_a, _ = moshi_a
    out_b = tmp_path / "b"
    export(ws, out_b, "moshi", PURPOSE, max_duration_s=12.0, main_speaker="B")
    w = Workspace(ws)
    gold = {r.recording_id: r for r in queries.recordings(w)}
    for rid, rec in _state(out_a)["recordings"].items():
        tracks = C.tracks_on_clock(w, rid, 24000)  # paired B on A's clock, as exported
        words = {}
        from twotrack.ingest.annotations import read_gold

        for ws_ in read_gold(gold[rid].transcript).values():
            for word in ws_:
                words.setdefault(word.track, []).append(word)
        rec_b = _state(out_b)["recordings"][rid]
        for pa, pb in zip(rec["pieces"], rec_b["pieces"]):
            assert pa["main_track"] == "A" and pb["main_track"] == "B" and pb["id"].endswith("_mainB")
            a_audio, _ = sf.read(str(out_a / pa["path"]), dtype="float32")
            b_audio, _ = sf.read(str(out_b / pb["path"]), dtype="float32")
            start = int(round(pa["start_s"] * 24000))
            ref = np.clip(tracks[:, start:start + len(a_audio)], -1, 1)  # PCM_16 clips resampler overshoot
            assert np.abs(a_audio[:, 0] - ref[0]).max() < 1e-4 and np.abs(a_audio[:, 1] - ref[1]).max() < 1e-4
            assert np.array_equal(b_audio[:, 0], a_audio[:, 1]) and np.array_equal(b_audio[:, 1], a_audio[:, 0])
            for out, piece, track in ((out_a, pa, 0), (out_b, pb, 1)):
                ali = json.loads((out / piece["path"]).with_suffix(".json").read_text())["alignments"]
                expected = [w_.text for w_ in sorted(words[track], key=lambda w_: w_.start)
                            if piece["start_s"] <= w_.start < piece["end_s"]]
                assert [a[0] for a in ali] == expected
                assert piece["main_words"] == len(expected)


def test_cuts_fall_in_silence_of_both_tracks(ws, moshi_a):
    out, _ = moshi_a
    w = Workspace(ws)
    split = False
    for rid, rec in _state(out)["recordings"].items():
        ipus = np.array([(e.start, e.end) for e in queries.events(w, rid) if e.kind is EventKind.IPU])
        from twotrack.ingest.annotations import read_gold

        words = np.array([(x.start, x.end) for ws_ in read_gold(queries.recording(w, rid).transcript).values() for x in ws_])
        speech = np.concatenate([ipus, words])
        for piece in rec["pieces"][1:]:
            split = True
            cut = piece["start_s"]
            assert not np.any((speech[:, 0] < cut) & (cut < speech[:, 1])), (rid, cut)
        assert all(p["end_s"] - p["start_s"] <= 12.0 + 1e-6 for p in rec["pieces"])
        assert rec["pieces"][-1]["end_s"] == pytest.approx(queries.durations(w)[rid], abs=0.01)
    assert split  # the 30 s excerpts were split at 12 s


def test_main_speaker_by_id_and_both_orientations(ws, tmp_path):
    s = export(ws, tmp_path / "spk", "moshi", PURPOSE, max_duration_s=0, main_speaker="libri-367")
    state = _state(tmp_path / "spk")
    # libri-367 is track A of demo01 and track B of demo03: channel 0 is theirs in both
    assert {rid: r["pieces"][0]["main_track"] for rid, r in state["recordings"].items()} == \
        {"clean/demo01": "A", "paired/demo03": "B"}
    assert all(p["main_speaker"] == "libri-367" for r in state["recordings"].values() for p in r["pieces"])
    s = export(ws, tmp_path / "other", "moshi", PURPOSE, main_speaker="libri-1688")
    assert s.skipped == {"paired/demo03": "speaker libri-1688 is not on this recording"}
    export(ws, tmp_path / "both", "moshi", PURPOSE, max_duration_s=0, main_speaker="both")
    lines = _lines(tmp_path / "both")
    assert sorted(Path(x["path"]).stem for x in lines) == sorted(
        ["clean__demo01", "clean__demo01_mainB", "paired__demo03", "paired__demo03_mainB"])


def test_rerun_is_idempotent_incremental_and_follows_option_changes(ws, tmp_path):
    out = tmp_path / "m"
    first = export(ws, out, "moshi", PURPOSE, max_duration_s=12.0)
    snap = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".export.lock"}
    again = export(ws, out, "moshi", PURPOSE, max_duration_s=12.0)
    assert again.written == [] and again.kept == len(first.written) and again.removed == []
    assert {p: p.read_bytes() for p in snap} == snap  # the same bytes, export.json and croissant.json included
    # a file lost (or removed by an audit) is rewritten, and only its recording
    victim = next(out.glob("audio/paired__demo03*.wav"))
    victim.unlink()
    third = export(ws, out, "moshi", PURPOSE, max_duration_s=12.0)
    assert third.written == ["paired/demo03"] and third.kept == 1 and victim.exists()
    # another maximum re-plans everything; stale pieces are removed
    fourth = export(ws, out, "moshi", PURPOSE, max_duration_s=0)
    assert sorted(fourth.written) == C.COMMERCIAL_ALLOWED
    assert sorted(p.name for p in (out / "audio").iterdir()) == [
        "clean__demo01.json", "clean__demo01.wav", "paired__demo03.json", "paired__demo03.wav"]
    state = _state(out)
    assert sorted(f["path"] for f in state["files"]) == sorted(
        [f"audio/{p}" for p in ("clean__demo01.json", "clean__demo01.wav", "paired__demo03.json",
                                "paired__demo03.wav")] + ["croissant.json", "train.jsonl", "README.md",
                                                          "metadata.csv", "events/clean__demo01.json",
                                                          "events/paired__demo03.json"])
    from twotrack.export.state import sha256_file

    assert all(f["sha256"] == sha256_file(out / f["path"]) for f in state["files"])


def test_recordings_without_gold_words_get_audio_and_manifest_only(tmp_path_factory, tmp_path):
    ws = C.private_copy(tmp_path_factory, tmp_path / "ws")
    w = Workspace(ws)
    import dataclasses

    rec = queries.recording(w, "clean/demo01")
    with w.writer() as session:
        session.update_recordings([dataclasses.replace(rec, transcript=None)])
    # no text at all (no transcript, no words stage): left out with the reason, unless --allow-no-text
    left = export(ws, tmp_path / "left", "moshi", PURPOSE, max_duration_s=0)
    assert "clean/demo01" in left.no_text and "no text" in left.skipped["clean/demo01"]
    assert not list((tmp_path / "left" / "audio").glob("clean__demo01*"))
    s = export(ws, tmp_path / "out", "moshi", PURPOSE, max_duration_s=0, allow_no_text=True)
    assert not (tmp_path / "out" / "audio" / "clean__demo01.json").exists()
    assert (tmp_path / "out" / "audio" / "clean__demo01.wav").exists()
    notes = _state(tmp_path / "out")["recordings"]["clean/demo01"]["notes"]
    assert any("annotate.py" in n for n in notes) and s.written
    # what annotate.py then writes beside the WAV is kept by reruns and listed with its recording, so an
    # audit or a withdrawal removes it with the audio
    ali = tmp_path / "out" / "audio" / "clean__demo01.json"
    ali.write_text(json.dumps({"alignments": [["hello", [0.5, 0.9], "SPEAKER_MAIN"]]}))
    again = export(ws, tmp_path / "out", "moshi", PURPOSE, max_duration_s=0, allow_no_text=True)
    assert again.written == [] and ali.exists()
    entry = next(f for f in _state(tmp_path / "out")["files"] if f["path"] == "audio/clean__demo01.json")
    assert entry["recording_ids"] == ["clean/demo01"]
    from twotrack.rights.ledger import Ledger, ledger_path

    Ledger(ledger_path(ws)).withdraw("libri-1688", "all", "2025-01-01")
    gone = export(ws, tmp_path / "out", "moshi", PURPOSE, max_duration_s=0, allow_no_text=True)
    assert "audio/clean__demo01.json" in gone.removed and not ali.exists()
