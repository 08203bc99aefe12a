"""The scan as a library call: incremental, config-aware, and robust to broken files.

Corpora are short excerpts (a few seconds) of the bundled clean dialogues, cut by the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import soundfile as sf

from twotrack.config import Config
from twotrack.run import scan
from twotrack.store import Workspace, queries

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
RESULT_TABLES = ("recordings", "tracks", "sources", "checks", "track_quality", "track_activity", "activity",
                 "events", "errors", "stage_results")


def excerpt(src: Path, dst: Path, start_s: float, dur_s: float) -> Path:
    info = sf.info(str(src))
    data, rate = sf.read(str(src), start=int(start_s * info.samplerate), frames=int(dur_s * info.samplerate),
                         dtype="int16", always_2d=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), data, rate, subtype="PCM_16")
    return dst


def telephone_excerpt(src: Path, dst: Path, start_s: float, dur_s: float) -> Path:
    """A WAV excerpt of a telephone SPHERE dialogue (8 kHz, with its -28 dB / 3 ms crosstalk), read by twotrack."""
    from twotrack.ingest.discover import discover
    from twotrack.ingest.tracks import load_tracks

    (rec,), _ = discover([src])
    audio = load_tracks(rec)
    a, b = int(start_s * audio.sample_rate), int((start_s + dur_s) * audio.sample_rate)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), audio.samples[:, a:b].T, audio.sample_rate, subtype="PCM_16")
    return dst


def make_corpus(folder: Path, n: int = 3, dur_s: float = 6.0) -> list[Path]:
    """``n`` two-track WAV excerpts of the sample dialogues (different content each)."""
    sources = sorted((SAMPLE / "clean").glob("*.flac"))
    return [excerpt(sources[i % len(sources)], folder / f"d{i:02d}.wav", 2.0 + dur_s * (i // len(sources)), dur_s)
            for i in range(n)]


def result_counts(ws: Workspace) -> dict[str, int]:
    counts = queries.counts(ws)
    return {t: counts[t] for t in RESULT_TABLES}


def stage_runs(ws: Workspace) -> dict[tuple[str, str], int]:
    return {(r["recording_id"], r["stage"]): r["run_id"] for r in queries.stage_table(ws)}


def test_rescan_skips_everything_and_adding_a_file_scans_one(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=3)
    ws = Workspace(tmp_path / "ws", create=True)

    first = scan([corpus], ws, jobs=0)
    assert first.status == "completed" and first.exit_code == 0
    assert (first.found, first.scanned, first.skipped) == (3, 3, 0)
    assert {r.recording_id for r in queries.recordings(ws)} == {"d00", "d01", "d02"}
    counts = result_counts(ws)
    assert counts["recordings"] == 3 and counts["activity"] > 0 and counts["events"] > 0
    runs_before = stage_runs(ws)

    again = scan([corpus], ws, jobs=0)
    assert (again.found, again.scanned, again.skipped) == (3, 0, 3)
    assert all(c == {"reused": 3} for c in again.stages.values())
    assert result_counts(ws) == counts
    assert stage_runs(ws) == runs_before  # nothing rewritten

    excerpt(sorted((SAMPLE / "clean").glob("*.flac"))[0], corpus / "d09.wav", 30.0, 6.0)
    third = scan([corpus], ws, jobs=0)
    assert (third.found, third.scanned, third.skipped) == (4, 1, 3)
    assert queries.recording(ws, "d09") is not None
    new_runs = stage_runs(ws)
    assert {k: v for k, v in new_runs.items() if k[0] != "d09"} == runs_before
    assert {v for k, v in new_runs.items() if k[0] == "d09"} == {third.run_id}


def test_vad_threshold_change_recomputes_activity_and_events_not_checks(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=1)
    # A telephone excerpt: its crosstalk makes the stored checks (bleed) an input of activity.
    telephone_excerpt(sorted((SAMPLE / "telephone").glob("*.sph"))[0], corpus / "d01.wav", 5.0, 12.0)
    ws = Workspace(tmp_path / "ws", create=True)
    first = scan([corpus], ws, jobs=0)
    before = stage_runs(ws)
    checks_before = {r: queries.checks(ws, r) for r in ("d00", "d01")}

    cfg = Config().with_overrides({"activity.onset": 0.8, "activity.offset": 0.6})
    second = scan([corpus], ws, cfg, jobs=0)
    after = stage_runs(ws)
    for rid in ("d00", "d01"):
        assert after[(rid, "checks")] == before[(rid, "checks")] == first.run_id
        assert after[(rid, "activity")] == after[(rid, "events")] == second.run_id
        assert queries.checks(ws, rid) == checks_before[rid]
    assert second.stages["checks"] == {"reused": 2}
    assert second.stages["activity"] == {"ok": 2} and second.stages["events"] == {"ok": 2}
    # The plan hands the stored checks to activity (its bleed input) and stored activity to events.
    from twotrack.ingest.discover import stream as discover_stream
    from twotrack.run.scanning import make_plan
    from twotrack.run.keys import stage_keys, unavailable_stages

    found = discover_stream([corpus], cfg, hash_files=False)
    missing = unavailable_stages()
    turns_cfg = cfg.with_overrides({"turns.pause_threshold_s": 0.3})
    plan = make_plan(ws, found, turns_cfg, stage_keys(turns_cfg, missing), missing)
    job = next(j for j in plan.jobs if j.recording.recording_id == "d01")
    assert job.run == ("events",)
    assert job.reuse.checks == queries.checks(ws, "d01") and job.reuse.activity == queries.activity(ws, "d01")
    assert job.reuse.duration_s == queries.durations(ws)["d01"]
    strict = cfg.with_overrides({"activity.onset": 0.9})
    plan = make_plan(ws, found, strict, stage_keys(strict, missing), missing)
    job = next(j for j in plan.jobs if j.recording.recording_id == "d01")
    assert job.run == ("decode", "activity", "events", "words")  # words (switched off) is recorded skipped
    assert job.reuse.checks == queries.checks(ws, "d01") and job.reuse.checks is not None and job.reuse.activity == ()

    # The incremental result is the result a scan from scratch under the new config stores.
    fresh = Workspace(tmp_path / "fresh", create=True)
    scan([corpus], fresh, cfg, jobs=0)
    for rid in ("d00", "d01"):
        assert queries.checks(ws, rid) == queries.checks(fresh, rid)
        assert queries.activity(ws, rid) == queries.activity(fresh, rid)
        assert sorted(queries.events(ws, rid), key=repr) == sorted(queries.events(fresh, rid), key=repr)

    # The turns section only touches events: activity is kept.
    third = scan([corpus], ws, cfg.with_overrides({"turns.pause_threshold_s": 0.5}), jobs=0)
    final = stage_runs(ws)
    assert third.stages["activity"] == {"reused": 2} and third.stages["events"] == {"ok": 2}
    assert final[("d00", "activity")] == second.run_id and final[("d00", "events")] == third.run_id


def test_broken_files_end_in_errors_and_the_rest_is_scanned(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=2)
    (corpus / "empty.wav").write_bytes(b"")
    (corpus / "notes.wav").write_text("this is a text file, not audio\n")
    good = (corpus / "d00.wav").read_bytes()
    (corpus / "truncated.wav").write_bytes(good[: len(good) // 3])
    shutil.copy(corpus / "d01.wav", corpus / "lonely.A.wav")  # half of a pair without its partner
    ws = Workspace(tmp_path / "ws", create=True)

    summary = scan([corpus], ws, jobs=0)
    assert summary.status == "completed"
    assert summary.exit_code == 1
    scanned_ok = {r.recording_id for r in queries.recordings(ws) if queries.activity(ws, r.recording_id)}
    assert {"d00", "d01"} <= scanned_ok
    failed_paths = {Path(e.path).name for e in queries.errors(ws)}
    assert {"empty.wav", "notes.wav", "lonely.A.wav"} <= failed_paths
    # The truncated file is either read as far as it goes or named as an error; never lost silently.
    assert "truncated.wav" in failed_paths or "truncated" in scanned_ok
    for e in queries.errors(ws):
        assert e.problem and e.path

    # A rescan does not retry deterministic failures and says so; fixing a file clears its error.
    again = scan([corpus], ws, jobs=0)
    assert again.scanned == 0 and again.exit_code == 1
    (corpus / "empty.wav").unlink()
    (corpus / "notes.wav").unlink()
    (corpus / "lonely.A.wav").unlink()
    (corpus / "truncated.wav").unlink()
    fixed = scan([corpus], ws, jobs=0)
    assert fixed.exit_code == 0
    assert queries.errors(ws) == []


def test_a_manifest_change_updates_metadata_without_recomputing(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=2, dur_s=4.0)
    manifest = tmp_path / "corpus.csv"
    rows = "recording_id,path,speaker_a,speaker_b,license,tags\n"
    manifest.write_text(rows + "call-0,corpus/d00.wav,spk1,spk2,CC-BY-4.0,register:casual\n"
                        "call-1,corpus/d01.wav,spk3,spk1,CC-BY-4.0,register:formal\n")
    ws = Workspace(tmp_path / "ws", create=True)
    first = scan([manifest], ws, jobs=0)
    assert (first.found, first.scanned) == (2, 2)
    assert queries.recording(ws, "call-0").speakers == ("spk1", "spk2")
    runs = stage_runs(ws)

    manifest.write_text(rows + "call-0,corpus/d00.wav,spk1,spk9,LicenseRef-Proprietary,register:formal\n"
                        "call-1,corpus/d01.wav,spk3,spk1,CC-BY-4.0,register:formal\n")
    second = scan([manifest], ws, jobs=0)
    assert (second.scanned, second.skipped, second.metadata_updated) == (0, 2, 1)
    rec = queries.recording(ws, "call-0")
    assert rec.license == "LicenseRef-Proprietary" and rec.speakers == ("spk1", "spk9")
    assert rec.tags == {"register": "formal"}
    assert stage_runs(ws) == runs  # nothing recomputed
    assert {r["speaker_id"] for r in ws.query("SELECT speaker_id FROM tracks")} == {"spk1", "spk3", "spk9"}


def test_events_apply_to_two_tracks_only_and_say_why_not(tmp_path):
    """A mono file and a four-channel file are scanned without errors; their events are not-applicable,
    with the reason (the real 4-channel SPHERE fixture once failed here as an internal error)."""
    corpus = tmp_path / "corpus"
    (two,) = make_corpus(corpus, n=1, dur_s=3.0)
    data, rate = sf.read(str(two), dtype="int16")
    sf.write(str(corpus / "mono.wav"), data[:, 0], rate, subtype="PCM_16")
    sf.write(str(corpus / "four.wav"), data[:, [0, 1, 0, 1]], rate, subtype="PCM_16")
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([corpus], ws, jobs=0)
    assert summary.exit_code == 0 and queries.errors(ws) == []
    events = {r["recording_id"]: (r["status"], r["note"]) for r in queries.stage_table(ws) if r["stage"] == "events"}
    assert events["d00"][0] == "ok"
    assert events["mono"][0] == "not-applicable" and "events need two tracks" in events["mono"][1]
    assert events["four"][0] == "not-applicable" and "4 tracks" in events["four"][1] and "pair" in events["four"][1]


def test_a_file_name_that_is_not_utf8_is_one_error_and_the_scan_goes_on(tmp_path):
    """Hostile paths: bytes that are not UTF-8 cannot be stored as text; the file is named (escaped)
    in one error, and the recordings beside it are scanned."""
    import os

    corpus = tmp_path / "corpus"
    (good,) = make_corpus(corpus, n=1, dur_s=3.0)
    bad = os.fsencode(str(corpus)) + b"/caf\xe9.wav"  # latin-1 bytes
    shutil.copy(good, os.fsdecode(bad))
    (corpus / "line\nbreak.wav").write_bytes(good.read_bytes())  # odd but valid text: scanned
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([corpus], ws, jobs=0)
    assert summary.status == "completed" and summary.exit_code == 1
    assert sorted(r.recording_id for r in queries.recordings(ws)) == ["d00", "line\nbreak"]
    (error,) = queries.errors(ws)
    assert error.path == f"{corpus}/caf\\xe9.wav" and "not valid UTF-8" in error.problem


def test_the_run_is_closed_on_the_writers_own_session_or_in_one_of_its_own(tmp_path):
    """The scan's last write (the ``runs`` row's end) goes through the result writer's open session; when no
    result was written (nothing to scan) it goes through a session of its own. Either way the row is complete."""
    from twotrack.run.scanning import Writer

    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=1)
    ws = Workspace(tmp_path / "ws", create=True)
    first = scan([corpus], ws, jobs=0)
    again = scan([corpus], ws, jobs=0)
    rows = queries.runs(ws)
    assert [r["status"] for r in rows] == ["completed", "completed"]
    assert [r["n_scanned"] for r in rows] == [first.scanned, again.scanned] == [1, 0]
    assert all(r["finished_at"] is not None and r["wall_s"] > 0 for r in rows)

    run_id = rows[-1]["run_id"]
    writer = Writer(ws, run_id)
    writer.start()

    def end(session):
        session.end_run(run_id, "interrupted", n_found=1, n_scanned=7, n_skipped=0, n_failed=0, audio_s=1.0,
                        wall_s=2.0)

    assert writer.close(end) is True
    assert writer.opens == 1  # the writer's one session (a writer with results has it open already)
    assert (queries.runs(ws)[-1]["status"], queries.runs(ws)[-1]["n_scanned"]) == ("interrupted", 7)

    def broken(session):
        raise RuntimeError("disk full")

    failing = Writer(ws, rows[-1]["run_id"])
    failing.start()
    assert failing.close(broken) is False and isinstance(failing.error, RuntimeError)
