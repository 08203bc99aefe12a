"""The workspace: schema and migrations, round trips of every result type, partial replacement,
atomic commits, Parquet frames, and the reader/writer hand-over."""

from __future__ import annotations

import threading
import time

import duckdb
import numpy as np
import pytest

from twotrack.model import (
    CheckResult, ErrorRecord, Event, EventKind, Isolation, Layout, Recording, RecordingResult, Segment,
    TrackActivity, TrackQuality, TrackSource,
)
from twotrack.store import SCHEMA_VERSION, ResultWrite, SourceRecord, StageRecord, Workspace, WorkspaceError, queries
from twotrack.store import schema as schema_mod
from twotrack.store import workspace as workspace_mod
from twotrack.store import writer as writer_mod


def recording(rid: str = "call-1", speakers=("spk-a", "spk-b")) -> Recording:
    return Recording(
        recording_id=rid, layout=Layout.MULTICHANNEL, speakers=speakers, license="CC-BY-4.0",
        tags={"register": "casual"}, metadata={"channels": "2"},
        tracks=(TrackSource("/corpus/call-1.flac", 0, "ab" * 32), TrackSource("/corpus/call-1.flac", 1, "ab" * 32)),
    )


def checks() -> CheckResult:
    return CheckResult(
        isolation=Isolation.LEAKY, bleed_db=-28.2, bleed_lag_ms=3.0, bleed_direction="A->B", offset_ms=0.4,
        drift_ppm=None, duplicate_channels=False, reasons=("bleed -28.2 dB above -35 dB",),
        tracks=(TrackQuality(0, snr_db=31.0, speech_share=0.4), TrackQuality(1, snr_db=29.5, digital_silence=False)),
        codec="FLAC", sample_rate=16000, metrics={"corr": 0.01},
    )


def activity(shift: float = 0.0) -> tuple[TrackActivity, ...]:
    return (TrackActivity(0, (Segment(0.5 + shift, 2.0), Segment(3.0, 4.2)), "silero"),
            TrackActivity(1, (), "silero"))


def events() -> tuple[Event, ...]:
    return (Event(EventKind.IPU, 0.5, 2.0, 0), Event(EventKind.FLOOR_TRANSFER, 2.0, 2.3, 1, 0, 0.3),
            Event(EventKind.GAP, 2.0, 2.3, 1, 0, 0.3), Event(EventKind.OVERLAP_BETWEEN, 4.0, 4.2, None, None, None))


def write(rec: Recording, stages=("decode", "checks", "activity", "events"), *, act=None, chk=True,
          errors=(), frames=None) -> ResultWrite:
    result = RecordingResult(recording=rec, duration_s=5.0, sample_rate=16000, checks=checks() if chk else None,
                             activity=act if act is not None else activity(), events=events(), errors=errors)
    return ResultWrite(result=result, source_key="key-1", status="ok",
                       stages=tuple(StageRecord(s, f"{s}-k", "ok") for s in stages),
                       sources=(SourceRecord("/corpus/call-1.flac", "ab" * 32, 1234, 99),), frames=frames or {})


def commit(ws: Workspace, items, run_id: int) -> None:
    """One write session for one commit (what the scan's writer does many times over)."""
    with ws.writer() as session:
        session.commit(items, run_id)


def test_new_workspace_has_the_current_schema_and_a_missing_one_is_a_clear_error(tmp_path):
    with pytest.raises(WorkspaceError, match="no workspace here"):
        Workspace(tmp_path / "nothing")
    ws = Workspace(tmp_path / "ws", create=True)
    assert queries.schema_version(ws) == SCHEMA_VERSION == len(schema_mod.MIGRATIONS)
    assert queries.schema_version(Workspace(tmp_path / "ws")) == SCHEMA_VERSION  # reopening migrates nothing
    assert ws.ledger_path.parent == tmp_path / "ws" / "rights"
    assert ws.exports_dir.is_dir()


def test_a_new_migration_step_upgrades_an_old_workspace(tmp_path, monkeypatch):
    Workspace(tmp_path / "ws", create=True)
    step = schema_mod.Migration("events get a confidence", ("ALTER TABLE events ADD COLUMN confidence DOUBLE",))
    monkeypatch.setattr(schema_mod, "MIGRATIONS", schema_mod.MIGRATIONS + (step,))
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr(workspace_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    ws = Workspace(tmp_path / "ws")
    assert queries.schema_version(ws) == SCHEMA_VERSION + 1
    cols = [r["column_name"] for r in ws.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'events'")]
    assert "confidence" in cols
    versions = [r["version"] for r in ws.query("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 2))


def test_a_workspace_from_a_newer_twotrack_is_refused(tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    con = duckdb.connect(str(ws.db_path))
    con.execute("INSERT INTO schema_version VALUES (?, 'from the future', now())", [SCHEMA_VERSION + 5])
    con.close()
    with pytest.raises(WorkspaceError, match="newer"):
        Workspace(tmp_path / "ws")


def test_results_round_trip(tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    err = ErrorRecord(path="/corpus/call-1.flac", problem="events: one silent track", stage="events",
                      recording_id="call-1")
    commit(ws, [write(recording(), errors=(err,))], run_id=1)
    assert queries.recordings(ws) == [recording()]
    assert queries.recording(ws, "call-1") == recording() and queries.recording(ws, "nope") is None
    assert queries.checks(ws, "call-1") == checks()
    assert queries.activity(ws, "call-1") == activity()
    assert queries.activity_by_recording(ws) == {"call-1": activity()}
    assert sorted(queries.events(ws, "call-1"), key=lambda e: (e.start, e.kind.value)) == sorted(
        events(), key=lambda e: (e.start, e.kind.value))
    assert queries.errors(ws) == [err]
    assert queries.durations(ws) == {"call-1": 5.0}
    result = queries.result(ws, "call-1")
    assert result.checks == checks() and result.errors == (err,) and result.duration_s == 5.0
    assert [r.recording.recording_id for r in queries.results(ws)] == ["call-1"]
    tables = queries.event_tables(ws)["call-1"]
    assert tables["track"].tolist().count(-1) == 1 and np.isnan(tables["value"]).sum() == 2
    assert queries.speech_seconds(ws) == {"call-1": (pytest.approx(2.7), 0.0)}
    assert ws.query("SELECT speaker_id FROM speakers ORDER BY 1") == [{"speaker_id": "spk-a"},
                                                                       {"speaker_id": "spk-b"}]
    assert ws.query("SELECT isolation, bleed_db FROM checks") == [{"isolation": "leaky", "bleed_db": -28.2}]


def test_recomputing_some_stages_replaces_only_their_rows(tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    commit(ws, [write(recording())], run_id=1)
    before = queries.counts(ws)
    # A VAD change: activity and events rerun; the checks rows must stay as they were.
    commit(ws, [write(recording(), stages=("decode", "activity", "events"), act=activity(0.25), chk=False)], run_id=2)
    after = queries.counts(ws)
    assert after == before  # replaced, not duplicated
    assert queries.checks(ws, "call-1") == checks()
    assert queries.activity(ws, "call-1") == activity(0.25)
    runs = {r["stage"]: r["run_id"] for r in queries.stage_table(ws, "call-1")}
    assert runs == {"decode": 2, "checks": 1, "activity": 2, "events": 2}


def test_a_failed_commit_leaves_nothing_half_written(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws", create=True)
    commit(ws, [write(recording("call-1"))], run_id=1)
    before = queries.counts(ws)

    def boom(con):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer_mod, "_insert_speakers", boom)  # fails after every insert of the batch
    with pytest.raises(RuntimeError, match="disk full"):
        commit(ws, [write(recording("call-1"), act=activity(0.3)), write(recording("call-2"))], run_id=2)
    assert queries.counts(ws) == before
    assert queries.activity(ws, "call-1") == activity() and queries.recording(ws, "call-2") is None


def test_frames_are_kept_in_parquet_and_replaced_with_their_stage(tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    probs = (np.arange(2 * 500, dtype=np.uint8) % 255).reshape(2, 500)
    commit(ws, [write(recording(), frames={"speech_prob": ("act-k1", probs)})], run_id=1)
    assert np.array_equal(queries.frames(ws, "call-1"), probs)
    first = {p.name for p in (ws.path / "frames" / "speech_prob").iterdir()}
    commit(ws, [write(recording(), frames={"speech_prob": ("act-k2", probs[:, ::-1])})], run_id=2)
    assert np.array_equal(queries.frames(ws, "call-1"), probs[:, ::-1])
    second = {p.name for p in (ws.path / "frames" / "speech_prob").iterdir()}
    assert len(first) == len(second) == 1 and first != second  # the old file is gone


def test_a_waiting_reader_makes_the_writer_hand_over(tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    reader_ws = Workspace(tmp_path / "ws")
    session = ws.writer()
    session.commit([write(recording())], run_id=1)
    assert session.is_open and not session.others_waiting()
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("ids", [r.recording_id for r in queries.recordings(reader_ws)]))
    reader.start()
    deadline = time.monotonic() + 10
    while not session.others_waiting() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert "ids" not in got  # the reader is queued behind the open writer
    assert session.yield_if_waited()
    reader.join(timeout=10)
    assert got["ids"] == ["call-1"]
    session.commit([write(recording("call-2"))], run_id=1)  # the writer reopens when it needs to
    session.close()
    assert [r.recording_id for r in queries.recordings(ws)] == ["call-1", "call-2"]
