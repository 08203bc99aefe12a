"""The workspace: one folder per project, the only code that reads or writes it.

Layout (docs/workspace.md)::

    WORKSPACE/
      workspace.duckdb      tables: recordings, tracks, speakers, sources, checks, track_quality,
                            track_activity, activity, events, errors, stage_results, runs, frame_files
      frames/<kind>/        Parquet: bulk per-frame arrays (one file per recording and stage key)
      rights/               the consent ledger and anything else the rights stage keeps
      exports/              what the export stage writes
      .session.lock, .turnstile.lock, .scan.lock   coordination between processes

Concurrency: DuckDB admits one read-write process or many read-only ones, never both, and fails
instead of waiting. Every access here is a short *session* under a fair inter-process reader/writer
lock (``locks.SessionLock``): the scan's writer opens the database for one commit at a time, readers
open it read-only for one query batch, so readers and a running scan interleave instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ConfigError
from ..model import FRAMES, CheckResult, ErrorRecord, Event, Recording, RecordingResult, TrackActivity
from ..paths import LEDGER_RELPATH
from .locks import LockTimeout, SessionLock
from .rows import (
    STAGES, Columns, ResultWrite, SourceRecord, activity_from_rows, add_activity, add_checks, add_errors, add_events,
    add_recording, add_source, add_tracks, checks_from_json, dumps, events_from_rows, recording_from_json,
)
from .schema import SCHEMA_VERSION, current_version, migrate

DB_NAME = "workspace.duckdb"

#: Which stage owns each table of per-recording results (its rows are replaced when the stage reruns).
STAGE_TABLES = {"checks": ("checks", "track_quality"), "activity": ("track_activity", "activity"),
                "events": ("events",)}
#: Which stage owns each kind of per-frame array kept in Parquet.
FRAME_KINDS = {"speech_prob": "activity"}


class WorkspaceError(ConfigError):
    """The workspace folder is missing, not a workspace, or from a newer twotrack (exit code 2)."""


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


class Workspace:
    """A project's results on disk. Cheap to construct; every method opens and closes its own session.

    >>> ws = Workspace("workspace/demo")          # doctest: +SKIP
    >>> [r.recording_id for r in ws.recordings()] # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = False, timeout_s: float = 300.0):
        self.path = Path(path).absolute()
        self.timeout_s = timeout_s
        if not (self.path / DB_NAME).exists():
            if not create:
                raise WorkspaceError(f"{self.path}: no workspace here (run `twotrack scan ... -w {path}` first)")
            if self.path.exists() and not self.path.is_dir():
                raise WorkspaceError(f"{self.path}: exists and is not a folder")
            self.path.mkdir(parents=True, exist_ok=True)
        self._lock = SessionLock(self.path)
        self._ensure_schema()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -----------------------------------------------------------------------------------------
    # places other stages may use
    # -----------------------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    def folder(self, name: str) -> Path:
        """A sub-folder of the workspace a stage owns (created on first use), e.g. ``rights``, ``exports``."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bad workspace folder name {name!r}")
        out = self.path / name
        out.mkdir(exist_ok=True)
        return out

    @property
    def ledger_path(self) -> Path:
        """Where the rights stage keeps the consent ledger of this workspace."""
        return self.folder(LEDGER_RELPATH.parent.name) / LEDGER_RELPATH.name

    @property
    def exports_dir(self) -> Path:
        return self.folder("exports")

    # -----------------------------------------------------------------------------------------
    # sessions
    # -----------------------------------------------------------------------------------------

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        # Our lock orders our own processes; a foreign one (the duckdb CLI, a notebook) may still hold
        # DuckDB's file lock, so wait for it too instead of failing.
        deadline = time.monotonic() + self.timeout_s
        delay = 0.01
        while True:
            try:
                return duckdb.connect(str(self.db_path), read_only=read_only)
            except duckdb.IOException as exc:
                if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                    raise WorkspaceBusy(f"{self.db_path}: {exc}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for a few queries; do not hold it for long (the scan waits)."""
        with self._lock.shared(self.timeout_s):
            con = self._connect(read_only=True)
            try:
                yield con
            finally:
                con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The read-write connection, for one commit."""
        with self._lock.exclusive(self.timeout_s):
            con = self._connect(read_only=False)
            try:
                yield con
            finally:
                con.close()

    def _ensure_schema(self) -> None:
        if self.db_path.exists():
            with self.read() as con:
                version = current_version(con)
            if version == SCHEMA_VERSION:
                return
            if version > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"{self.path}: workspace schema v{version} is newer than this twotrack (v{SCHEMA_VERSION})"
                )
        with self.write() as con:
            migrate(con)

    def schema_version(self) -> int:
        with self.read() as con:
            return current_version(con)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Any read-only SQL over the workspace tables, as a list of dicts."""
        with self.read() as con:
            return _dicts(con.execute(sql, params or []))

    def counts(self) -> dict[str, int]:
        """Row count of every result table."""
        names = ("recordings", "tracks", "speakers", "sources", "checks", "track_quality", "track_activity",
                 "activity", "events", "errors", "stage_results", "runs", "frame_files")
        with self.read() as con:
            return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}

    # -----------------------------------------------------------------------------------------
    # read API (for every stage and notebook)
    # -----------------------------------------------------------------------------------------

    def recordings(self, status: str | None = None) -> list[Recording]:
        """Every recording the workspace knows, in id order (``status``: ok, partial or failed)."""
        sql = "SELECT recording FROM recordings"
        params: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        with self.read() as con:
            return [recording_from_json(r[0]) for r in con.execute(sql + " ORDER BY recording_id", params).fetchall()]

    def recording(self, recording_id: str) -> Recording | None:
        with self.read() as con:
            row = con.execute("SELECT recording FROM recordings WHERE recording_id = ?", [recording_id]).fetchone()
        return recording_from_json(row[0]) if row else None

    def recording_table(self) -> list[dict[str, Any]]:
        """One dict per recording: id, status, duration, analysis rate, layout, tracks, license, tags, when."""
        with self.read() as con:
            return _dicts(con.execute(
                "SELECT recording_id, status, duration_s, sample_rate, layout, source_type, n_tracks, license, "
                "tags, run_id, scanned_at FROM recordings ORDER BY recording_id"))

    def durations(self) -> dict[str, float]:
        """Duration in seconds of every recording that decoded."""
        with self.read() as con:
            rows = con.execute("SELECT recording_id, duration_s FROM recordings WHERE duration_s IS NOT NULL")
            return {rid: float(d) for rid, d in rows.fetchall()}

    def checks(self, recording_id: str) -> CheckResult | None:
        with self.read() as con:
            return _checks(con, recording_id)

    def activity(self, recording_id: str) -> tuple[TrackActivity, ...]:
        with self.read() as con:
            return _activity(con, recording_id)

    def activity_by_recording(self) -> dict[str, tuple[TrackActivity, ...]]:
        """Activity of every recording that has it (the input of ``twotrack.evaluate``)."""
        with self.read() as con:
            summary = con.execute(
                "SELECT recording_id, track, detector FROM track_activity ORDER BY recording_id, track").fetchall()
            segments = con.execute(
                "SELECT recording_id, track, start_s, end_s FROM activity ORDER BY recording_id, track, start_s"
            ).fetchall()
        by_sum: dict[str, list[tuple]] = defaultdict(list)
        by_seg: dict[str, list[tuple]] = defaultdict(list)
        for rid, t, d in summary:
            by_sum[rid].append((t, d))
        for rid, t, a, b in segments:
            by_seg[rid].append((t, a, b))
        return {rid: activity_from_rows(s, by_seg.get(rid, [])) for rid, s in by_sum.items()}

    def events(self, recording_id: str) -> tuple[Event, ...]:
        with self.read() as con:
            return _events(con, recording_id)

    def event_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Every recording's events as numpy columns (the ``turns.table`` form: kind, start, end,
        track and from_track with -1 for none, value with NaN for none), read in one query."""
        with self.read() as con:
            ids = [r[0] for r in con.execute(
                "SELECT recording_id FROM stage_results WHERE stage = 'events' AND status = 'ok' "
                "ORDER BY recording_id").fetchall()]
            cols = con.execute(
                "SELECT recording_id, kind, start_s, end_s, coalesce(track, -1) AS track, "
                "coalesce(from_track, -1) AS from_track, coalesce(value, 'NaN'::DOUBLE) AS value FROM events "
                "ORDER BY recording_id, start_s, kind, track").fetchnumpy()
        out: dict[str, dict[str, np.ndarray]] = {}
        rid = np.asarray(cols["recording_id"], dtype=object)
        bounds = np.flatnonzero(rid[1:] != rid[:-1]) + 1 if len(rid) else np.zeros(0, np.int64)
        starts = np.concatenate(([0], bounds)) if len(rid) else np.zeros(0, np.int64)
        stops = np.concatenate((bounds, [len(rid)])) if len(rid) else np.zeros(0, np.int64)
        for a, b in zip(starts.tolist(), stops.tolist()):
            out[rid[a]] = {
                "kind": np.asarray(cols["kind"][a:b], dtype=str),
                "start": np.asarray(cols["start_s"][a:b], np.float64),
                "end": np.asarray(cols["end_s"][a:b], np.float64),
                "track": np.asarray(cols["track"][a:b], np.int64),
                "from_track": np.asarray(cols["from_track"][a:b], np.int64),
                "value": np.asarray(cols["value"][a:b], np.float64),
            }
        empty = {"kind": np.zeros(0, "<U16"), "start": np.zeros(0), "end": np.zeros(0),
                 "track": np.zeros(0, np.int64), "from_track": np.zeros(0, np.int64), "value": np.zeros(0)}
        return {r: out.get(r, {k: v.copy() for k, v in empty.items()}) for r in ids}

    def speech_seconds(self) -> dict[str, tuple[float, ...]]:
        """recording_id -> speech seconds per track (from the activity stage)."""
        out: dict[str, list[float]] = defaultdict(list)
        with self.read() as con:
            for rid, _, s in con.execute(
                    "SELECT recording_id, track, speech_s FROM track_activity ORDER BY recording_id, track").fetchall():
                out[rid].append(float(s))
        return {k: tuple(v) for k, v in out.items()}

    def errors(self) -> list[ErrorRecord]:
        """What failed and why: current errors (a fixed file's old errors are gone after its rescan)."""
        return [
            ErrorRecord(path=r["path"], problem=r["problem"], stage=r["stage"], recording_id=r["recording_id"])
            for r in self.error_table()
        ]

    def error_table(self) -> list[dict[str, Any]]:
        with self.read() as con:
            return _dicts(con.execute(
                "SELECT recording_id, path, stage, problem, origin, run_id, created_at FROM errors "
                "ORDER BY path, stage, recording_id"))

    def result(self, recording_id: str) -> RecordingResult | None:
        """Everything stored for one recording, as the pipeline's result type."""
        with self.read() as con:
            row = con.execute(
                "SELECT recording, duration_s, sample_rate FROM recordings WHERE recording_id = ?", [recording_id]
            ).fetchone()
            if not row:
                return None
            errors = con.execute(
                "SELECT path, problem, stage, recording_id FROM errors WHERE recording_id = ? ORDER BY stage",
                [recording_id]).fetchall()
            return RecordingResult(
                recording=recording_from_json(row[0]), duration_s=float(row[1] or 0.0), sample_rate=int(row[2] or 0),
                checks=_checks(con, recording_id), activity=_activity(con, recording_id),
                events=_events(con, recording_id),
                errors=tuple(ErrorRecord(path=p, problem=q, stage=s, recording_id=r) for p, q, s, r in errors),
            )

    def results(self, batch: int = 200) -> Iterator[RecordingResult]:
        """Every stored recording's result, in id order, reading ``batch`` recordings per session."""
        with self.read() as con:
            ids = [r[0] for r in con.execute("SELECT recording_id FROM recordings ORDER BY recording_id").fetchall()]
        for i in range(0, len(ids), batch):
            chunk = ids[i:i + batch]
            with self.read() as con:
                out = [self._result_in(con, rid) for rid in chunk]
            yield from (r for r in out if r is not None)

    def _result_in(self, con, rid: str) -> RecordingResult | None:
        row = con.execute("SELECT recording, duration_s, sample_rate FROM recordings WHERE recording_id = ?",
                          [rid]).fetchone()
        if not row:
            return None
        errors = con.execute("SELECT path, problem, stage, recording_id FROM errors WHERE recording_id = ?",
                             [rid]).fetchall()
        return RecordingResult(
            recording=recording_from_json(row[0]), duration_s=float(row[1] or 0.0), sample_rate=int(row[2] or 0),
            checks=_checks(con, rid), activity=_activity(con, rid), events=_events(con, rid),
            errors=tuple(ErrorRecord(path=p, problem=q, stage=s, recording_id=r) for p, q, s, r in errors),
        )

    def stage_table(self, recording_id: str | None = None) -> list[dict[str, Any]]:
        """Which stage of which recording was computed under which key, with what status."""
        sql = ("SELECT recording_id, stage, status, note, stage_key, source_key, seconds, run_id, computed_at "
               "FROM stage_results")
        params = []
        if recording_id is not None:
            sql += " WHERE recording_id = ?"
            params.append(recording_id)
        with self.read() as con:
            return _dicts(con.execute(sql + " ORDER BY recording_id, stage", params))

    def runs(self) -> list[dict[str, Any]]:
        with self.read() as con:
            return _dicts(con.execute("SELECT * FROM runs ORDER BY run_id"))

    def frames(self, recording_id: str, kind: str = "speech_prob") -> np.ndarray | None:
        """A stored per-frame array (n_tracks, n_frames), or None when none was kept."""
        with self.read() as con:
            row = con.execute("SELECT path FROM frame_files WHERE recording_id = ? AND kind = ?",
                              [recording_id, kind]).fetchone()
        if not row:
            return None
        tbl = pq.read_table(self.path / row[0])
        return np.stack([tbl.column(name).to_numpy() for name in tbl.column_names])

    # -----------------------------------------------------------------------------------------
    # write API (used by the scan's single writer)
    # -----------------------------------------------------------------------------------------

    def stage_state(self, recording_ids: Sequence[str] | None = None) -> dict[str, dict[str, tuple[str, str, str]]]:
        """recording_id -> stage -> (source_key, stage_key, status): what the planner compares against
        (all recordings, or only ``recording_ids``)."""
        with self.read() as con:
            return _stage_state(con, recording_ids)

    def stored_recordings(self, recording_ids: Sequence[str] | None = None
                          ) -> dict[str, tuple[str, float | None, int | None]]:
        """recording_id -> (recording JSON, duration_s, sample_rate) for the planner."""
        with self.read() as con:
            return _stored_recordings(con, recording_ids)

    def stored_inputs(self, recording_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored results a partial rerun builds on: checks and activity of each recording."""
        ids = list(recording_ids)
        if not ids:
            return {}
        with self.read() as con:
            return _stored_inputs(con, ids)

    def source_cache(self, paths: Sequence[str] | None = None) -> dict[str, SourceRecord]:
        """path -> what the last scan saw there (sha256 is reused while size and mtime are unchanged)."""
        with self.read() as con:
            return _source_cache(con, paths)

    def plan_view(self, recording_ids: Sequence[str], paths: Sequence[str]) -> PlanView:
        """What the planner needs about some recordings and source files, read in one session."""
        with self.read() as con:
            return PlanView(cache=_source_cache(con, paths), state=_stage_state(con, recording_ids),
                            stored=_stored_recordings(con, recording_ids))

    def begin_run(self, paths: Sequence[str], config: dict[str, Any], stage_keys: dict[str, str], jobs: int,
                  version: str) -> int:
        """Open a run; runs left ``running`` by a killed scan are marked ``abandoned`` first."""
        with self.write() as con:
            con.execute("BEGIN TRANSACTION")
            con.execute("UPDATE runs SET status = 'abandoned' WHERE status = 'running'")
            run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0]
            con.execute(
                "INSERT INTO runs (run_id, started_at, status, paths, config, stage_keys, jobs, twotrack_version, "
                "host, pid) VALUES (?, now(), 'running', ?, ?, ?, ?, ?, ?, ?)",
                [run_id, list(paths), dumps(config), dumps(stage_keys), jobs, version, os.uname().nodename,
                 os.getpid()])
            con.execute("COMMIT")
        return int(run_id)

    def end_run(self, run_id: int, status: str, *, n_found: int, n_scanned: int, n_skipped: int, n_failed: int,
                audio_s: float, wall_s: float, notes: Sequence[str] = ()) -> None:
        with self.write() as con:
            con.execute(
                "UPDATE runs SET finished_at = now(), status = ?, n_found = ?, n_scanned = ?, n_skipped = ?, "
                "n_failed = ?, audio_s = ?, wall_s = ?, notes = ? WHERE run_id = ?",
                [status, n_found, n_scanned, n_skipped, n_failed, audio_s, wall_s, list(notes), run_id])

    def replace_discovery_errors(self, roots: Sequence[str], errors: Sequence[ErrorRecord], run_id: int) -> None:
        """Discovery errors under ``roots`` are replaced by this run's (a fixed file's error disappears)."""
        cols = Columns()
        add_errors(cols, errors, "discover", run_id)
        with self.write() as con:
            con.execute("BEGIN TRANSACTION")
            for root in roots:
                root = str(root).rstrip("/")
                con.execute("DELETE FROM errors WHERE origin = 'discover' AND (path = ? OR starts_with(path, ?))",
                            [root, root + "/"])
            if errors:
                _insert(con, "errors", cols.tables()["errors"])
            con.execute("COMMIT")

    def update_recordings(self, recordings: Sequence[Recording]) -> None:
        """Metadata-only update (license, tags, speakers changed in a manifest; content unchanged)."""
        if not recordings:
            return
        cols = Columns()
        for rec in recordings:
            add_tracks(cols, rec)
        ids = pa.table({"recording_id": pa.array([r.recording_id for r in recordings], pa.string()),
                        "recording": pa.array([dumps(r.to_dict()) for r in recordings], pa.string()),
                        "license": pa.array([r.license for r in recordings], pa.string()),
                        "tags": pa.array([dumps(r.tags) for r in recordings], pa.string()),
                        "metadata": pa.array([dumps(r.metadata) for r in recordings], pa.string()),
                        "source_type": pa.array([r.source_type.value for r in recordings], pa.string()),
                        "transcript": pa.array([r.transcript for r in recordings], pa.string())})
        with self.write() as con:
            con.execute("BEGIN TRANSACTION")
            con.register("upd", ids)
            con.execute("UPDATE recordings SET recording = upd.recording, license = upd.license, tags = upd.tags, "
                        "metadata = upd.metadata, source_type = upd.source_type, transcript = upd.transcript "
                        "FROM upd WHERE recordings.recording_id = upd.recording_id")
            con.execute("DELETE FROM tracks WHERE recording_id IN (SELECT recording_id FROM upd)")
            _insert(con, "tracks", cols.tables()["tracks"])
            _insert_speakers(con)
            con.execute("COMMIT")
            con.unregister("upd")

    def commit(self, items: Sequence[ResultWrite], run_id: int) -> None:
        """Commit the results of several recordings in ONE transaction (each recording all or nothing).

        For each item, the rows of the recording and of every stage in ``item.stages`` are replaced;
        stages not listed keep their stored rows (a threshold change rewrites activity and events only).
        """
        with self.writer() as session:
            session.commit(items, run_id)

    def writer(self) -> WriteSession:
        """A read-write session for many commits (the scan's writer); close it to let readers in."""
        return WriteSession(self)

    def _commit_in(self, con, items: Sequence[ResultWrite], run_id: int) -> None:
        if not items:
            return
        cols = Columns()
        frame_rows: list[dict[str, Any]] = []
        for item in items:
            rid = item.recording_id
            res = item.result
            add_recording(cols, item, run_id)
            for src in item.sources:
                add_source(cols, src, run_id)
            for st in item.stages:
                cols.add("stage_results", recording_id=rid, stage=st.stage, source_key=item.source_key,
                         stage_key=st.stage_key, status=st.status, note=st.note, seconds=st.seconds, run_id=run_id)
            if item.computed("checks") and res.checks is not None:
                add_checks(cols, rid, res.checks)
            if item.computed("activity"):
                add_activity(cols, rid, res.activity)
            if item.computed("events"):
                add_events(cols, rid, res.events)
            add_errors(cols, res.errors, "scan", run_id)
            for kind, (stage_key, array) in item.frames.items():
                frame_rows.append(self._write_frames(rid, kind, stage_key, array))
        for row in frame_rows:
            cols.add("frame_files", **row)
        tables = cols.tables()

        ids = [it.recording_id for it in items]
        per_stage = {s: [it.recording_id for it in items if it.computed(s)] for s in STAGES}
        cleared = pa.table({
            "recording_id": pa.array([it.recording_id for it in items for _ in range(len(it.stages) + 1)], pa.string()),
            "stage": pa.array([s for it in items for s in [st.stage for st in it.stages] + ["worker"]], pa.string()),
        })
        frame_owned = [it.recording_id for it in items if any(it.computed(FRAME_KINDS[k]) for k in FRAME_KINDS)]

        old_frames = set()
        if frame_owned:
            old_frames = {r[0] for r in con.execute(
                "SELECT path FROM frame_files WHERE list_contains(?, recording_id)", [frame_owned]).fetchall()}
        con.execute("BEGIN TRANSACTION")
        try:
            _delete_ids(con, ("recordings", "tracks"), ids)
            for stage, stage_ids in per_stage.items():
                _delete_ids(con, STAGE_TABLES.get(stage, ()), stage_ids)
            _delete_ids(con, ("frame_files",), frame_owned)
            con.register("cleared", cleared)
            # Stage rows of the stages rerun; errors of those stages (the decode stage's errors are
            # filed under the reader's own stage names: ingest, ...) and of a crashed worker.
            con.execute("DELETE FROM stage_results USING cleared WHERE stage_results.recording_id = "
                        "cleared.recording_id AND stage_results.stage = cleared.stage")
            con.execute("DELETE FROM errors USING cleared WHERE errors.origin = 'scan' AND "
                        "errors.recording_id = cleared.recording_id AND (errors.stage = cleared.stage OR "
                        "(cleared.stage = 'decode' AND errors.stage NOT IN ('checks', 'activity', 'events')))")
            con.unregister("cleared")
            if "sources" in tables:
                con.execute("DELETE FROM sources WHERE list_contains(?, path)",
                            [tables["sources"].column("path").to_pylist()])
            for name, tbl in tables.items():
                _insert(con, name, tbl)
            _insert_speakers(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for path in old_frames - {r["path"] for r in frame_rows}:
            (self.path / path).unlink(missing_ok=True)

    def _write_frames(self, rid: str, kind: str, stage_key: str, array: np.ndarray) -> dict[str, Any]:
        if kind not in FRAME_KINDS:
            raise ValueError(f"unknown frame kind {kind!r} (known: {sorted(FRAME_KINDS)})")
        array = np.atleast_2d(np.asarray(array))
        name = hashlib.sha1(rid.encode()).hexdigest()[:20]
        rel = Path("frames") / kind / f"{name}-{stage_key}.parquet"
        out = self.path / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        pq.write_table(pa.table({f"track_{i}": array[i] for i in range(array.shape[0])}), tmp, compression="zstd")
        os.replace(tmp, out)
        return {"recording_id": rid, "kind": kind, "stage_key": stage_key, "path": str(rel),
                "n_frames": int(array.shape[1]), "hop_s": FRAMES.hop_s}


class WorkspaceBusy(LockTimeout):
    """Another process kept the database locked for longer than the timeout."""


class WriteSession:
    """The read-write connection held across commits, released whenever a reader queues up.

    Opening DuckDB and checkpointing on close cost tens of milliseconds; a scan committing many
    small batches keeps one connection while nobody else waits, and gives the workspace up (closes,
    which checkpoints, and unlocks) as soon as ``yield_if_waited`` sees a reader queued.
    """

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._handle: int | None = None
        self._con = None
        self._opened_at = 0.0
        self.opens = 0

    @property
    def is_open(self) -> bool:
        return self._con is not None

    def open(self) -> None:
        if self._con is None:
            self._handle = self.ws._lock.acquire(True, self.ws.timeout_s)
            try:
                self._con = self.ws._connect(read_only=False)
            except BaseException:
                self.ws._lock.release(self._handle)
                self._handle = None
                raise
            self.opens += 1
            self._opened_at = time.monotonic()

    def commit(self, items: Sequence[ResultWrite], run_id: int) -> None:
        self.open()
        self.ws._commit_in(self._con, items, run_id)

    def others_waiting(self) -> bool:
        return self.ws._lock.others_waiting()

    def yield_if_waited(self, min_hold_s: float = 0.0) -> bool:
        """Close when another process waits for the workspace and the session has been open for at
        least ``min_hold_s`` (which bounds how often a stream of readers makes the writer reopen);
        True when it closed."""
        if self._con is not None and time.monotonic() - self._opened_at >= min_hold_s and self.others_waiting():
            self.close()
            return True
        return False

    def close(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            finally:
                self._con = None
                self.ws._lock.release(self._handle)
                self._handle = None

    def __enter__(self) -> WriteSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# helpers inside one session
# ---------------------------------------------------------------------------------------------



# The planner's reads: everything, or only the given keys (a semi-join on an unnested list, so a
# batch of a huge workspace costs one scan of the table, not one query per key).
def _only(column: str, values: Sequence[str] | None) -> tuple[str, list[Any]]:
    if values is None:
        return "", []
    return f" WHERE {column} IN (SELECT unnest(?::VARCHAR[]))", [list(values)]


def _stage_state(con, recording_ids: Sequence[str] | None) -> dict[str, dict[str, tuple[str, str, str]]]:
    where, params = _only("recording_id", recording_ids)
    out: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for rid, stage, sk, key, status in con.execute(
            "SELECT recording_id, stage, source_key, stage_key, status FROM stage_results" + where, params).fetchall():
        out[rid][stage] = (sk, key, status)
    return dict(out)


def _stored_recordings(con, recording_ids: Sequence[str] | None) -> dict[str, tuple[str, float | None, int | None]]:
    where, params = _only("recording_id", recording_ids)
    return {rid: (js, d, sr) for rid, js, d, sr in con.execute(
        "SELECT recording_id, recording, duration_s, sample_rate FROM recordings" + where, params).fetchall()}


def _stored_inputs(con, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {rid: {"checks": _checks(con, rid), "activity": _activity(con, rid)} for rid in ids}


def _source_cache(con, paths: Sequence[str] | None) -> dict[str, SourceRecord]:
    from ..model import AudioInfo

    where, params = _only("path", paths)
    rows = con.execute("SELECT path, sha256, size_bytes, mtime_ns, probe FROM sources" + where, params).fetchall()
    return {
        p: SourceRecord(path=p, sha256=h, size_bytes=int(sz), mtime_ns=int(mt),
                          info=AudioInfo.from_dict(json.loads(probe)) if probe else None)
        for p, h, sz, mt, probe in rows
    }


@dataclass(frozen=True)
class PlanView:
    """The stored state of a batch of recordings, as the planner compares against it."""

    cache: dict[str, SourceRecord]  # source path -> what the last scan saw there
    state: dict[str, dict[str, tuple[str, str, str]]]  # recording_id -> stage -> (source key, stage key, status)
    stored: dict[str, tuple[str, float | None, int | None]]  # recording_id -> (JSON, duration_s, sample_rate)


def _dicts(cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _insert(con, name: str, tbl: pa.Table) -> None:
    con.register("incoming", tbl)
    try:
        con.execute(f"INSERT INTO {name} ({', '.join(tbl.column_names)}) SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def _insert_speakers(con) -> None:
    con.execute("INSERT INTO speakers SELECT DISTINCT speaker_id, '{}' FROM tracks WHERE speaker_id IS NOT NULL "
                "AND speaker_id NOT IN (SELECT speaker_id FROM speakers)")


def _delete_ids(con, tables: Iterable[str], ids: list[str]) -> None:
    if not ids:
        return
    for name in tables:
        con.execute(f"DELETE FROM {name} WHERE list_contains(?, recording_id)", [ids])


def _checks(con, rid: str) -> CheckResult | None:
    row = con.execute("SELECT result FROM checks WHERE recording_id = ?", [rid]).fetchone()
    return checks_from_json(row[0]) if row else None


def _activity(con, rid: str) -> tuple[TrackActivity, ...]:
    summary = con.execute("SELECT track, detector FROM track_activity WHERE recording_id = ? ORDER BY track",
                          [rid]).fetchall()
    segments = con.execute("SELECT track, start_s, end_s FROM activity WHERE recording_id = ? ORDER BY track, start_s",
                           [rid]).fetchall()
    return activity_from_rows(summary, segments)


def _events(con, rid: str) -> tuple[Event, ...]:
    rows = con.execute("SELECT kind, start_s, end_s, track, from_track, value FROM events WHERE recording_id = ? "
                       "ORDER BY start_s, kind, track", [rid]).fetchall()
    return events_from_rows(rows)


__all__ = ["Workspace", "WorkspaceError", "WorkspaceBusy", "WriteSession", "SCHEMA_VERSION"]
