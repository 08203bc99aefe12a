"""The write side of a workspace: one read-write session, held by the scan (the only writer).

``Workspace.writer()`` gives a ``WriteSession``; every write goes through one: opening a run,
committing recordings' results (rows and per-frame Parquet files), replacing discovery errors,
updating metadata, closing the run. The session opens the database on its first write and keeps it
until closed or until ``yield_if_waited`` sees a reader queued; ``with ws.writer() as w:`` closes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..model import FRAMES, ErrorRecord, Recording
from . import columns as C
from . import rows as R

if TYPE_CHECKING:
    from .workspace import Workspace

#: Which stage owns each table of per-recording results (its rows are replaced when the stage reruns).
STAGE_TABLES = {"checks": ("checks", "track_quality"), "activity": ("track_activity", "activity"),
                "events": ("events",), "words": ("words", "track_languages", "line_fits")}
#: Which stage owns each kind of per-frame array kept in Parquet.
FRAME_KINDS = {"speech_prob": "activity"}


class WriteSession:
    """The read-write connection held across writes, released whenever a reader queues up.

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

    # ---- the session ---------------------------------------------------------------------------

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

    def _connection(self):
        self.open()
        return self._con

    # ---- runs ----------------------------------------------------------------------------------

    def begin_run(self, paths: Sequence[str], config: dict[str, Any], stage_keys: dict[str, str], jobs: int,
                  version: str) -> int:
        """Open a run; runs left ``running`` by a killed scan are marked ``abandoned`` first."""
        con = self._connection()
        con.execute("BEGIN TRANSACTION")
        con.execute("UPDATE runs SET status = 'abandoned' WHERE status = 'running'")
        run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0]
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, paths, config, stage_keys, jobs, twotrack_version, "
            "host, pid) VALUES (?, now(), 'running', ?, ?, ?, ?, ?, ?, ?)",
            [run_id, list(paths), R.dumps(config), R.dumps(stage_keys), jobs, version, os.uname().nodename,
             os.getpid()])
        con.execute("COMMIT")
        return int(run_id)

    def end_run(self, run_id: int, status: str, *, n_found: int, n_scanned: int, n_skipped: int, n_failed: int,
                audio_s: float, wall_s: float, notes: Sequence[str] = ()) -> None:
        self._connection().execute(
            "UPDATE runs SET finished_at = now(), status = ?, n_found = ?, n_scanned = ?, n_skipped = ?, "
            "n_failed = ?, audio_s = ?, wall_s = ?, notes = ? WHERE run_id = ?",
            [status, n_found, n_scanned, n_skipped, n_failed, audio_s, wall_s, list(notes), run_id])

    # ---- what discovery and the manifest change ------------------------------------------------

    def replace_discovery_errors(self, roots: Sequence[str], errors: Sequence[ErrorRecord], run_id: int) -> None:
        """Discovery errors under ``roots`` are replaced by this run's (a fixed file's error disappears)."""
        cols = C.Columns()
        C.add_errors(cols, errors, "discover", run_id)
        con = self._connection()
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
        cols = C.Columns()
        for rec in recordings:
            C.add_tracks(cols, rec)
        S = pa.string()
        ids = C.arrow_table({"recording_id": ([r.recording_id for r in recordings], S),
                             "recording": ([R.dumps(r.to_dict()) for r in recordings], S),
                             "license": ([r.license for r in recordings], S),
                             "tags": ([R.dumps(r.tags) for r in recordings], S),
                             "metadata": ([R.dumps(r.metadata) for r in recordings], S),
                             "source_type": ([r.source_type.value for r in recordings], S),
                             "transcript": ([r.transcript for r in recordings], S)})
        con = self._connection()
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

    def set_speaker_metadata(self, speakers: dict[str, dict[str, str]]) -> None:
        """Speakers' metadata (sex, dialect, ... as a corpus recipe read them): each speaker's stored
        metadata is updated key by key (keys it has and the update lacks are kept)."""
        if not speakers:
            return
        con = self._connection()
        ids = sorted(speakers)
        old = dict(con.execute("SELECT speaker_id, metadata FROM speakers WHERE list_contains(?, speaker_id)",
                               [ids]).fetchall())
        merged = []
        for sid in ids:
            try:
                meta = json.loads(old.get(sid) or "{}")
            except json.JSONDecodeError:
                meta = {}
            meta = meta if isinstance(meta, dict) else {}
            meta.update({str(k): str(v) for k, v in speakers[sid].items()})
            merged.append(R.dumps(meta))
        tbl = C.arrow_table({"speaker_id": (ids, pa.string()), "metadata": (merged, pa.string())})
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM speakers WHERE list_contains(?, speaker_id)", [ids])
            _insert(con, "speakers", tbl)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # ---- results -------------------------------------------------------------------------------

    def commit(self, items: Sequence[R.ResultWrite], run_id: int) -> None:
        """Commit the results of several recordings in ONE transaction (each recording all or nothing).

        For each item, the rows of the recording and of every stage in ``item.stages`` are replaced;
        stages not listed keep their stored rows (a threshold change rewrites activity and events only).
        """
        con = self._connection()
        if not items:
            return
        cols = C.Columns()
        frame_rows: list[dict[str, Any]] = []
        for item in items:
            rid = item.recording_id
            res = item.result
            C.add_recording(cols, item, run_id)
            for src in item.sources:
                C.add_source(cols, src, run_id)
            for st in item.stages:
                cols.add("stage_results", recording_id=rid, stage=st.stage, source_key=item.source_key,
                         stage_key=st.stage_key, status=st.status, note=st.note, seconds=st.seconds, run_id=run_id)
            if item.computed("checks") and res.checks is not None:
                C.add_checks(cols, rid, res.checks)
            if item.computed("activity"):
                C.add_activity(cols, rid, res.activity)
            if item.computed("events"):
                C.add_events(cols, rid, res.events)
            if item.computed("words") and item.words is not None:
                C.add_words(cols, rid, item.words)
            C.add_errors(cols, res.errors, "scan", run_id)
            for kind, (stage_key, array) in item.frames.items():
                frame_rows.append(self._write_frames(rid, kind, stage_key, array))
        for row in frame_rows:
            cols.add("frame_files", **row)
        tables = cols.tables()

        ids = [it.recording_id for it in items]
        per_stage = {s: [it.recording_id for it in items if it.computed(s)] for s in R.STAGES}
        cleared = C.arrow_table({
            "recording_id": ([it.recording_id for it in items for _ in range(len(it.stages) + 1)], pa.string()),
            "stage": ([s for it in items for s in [st.stage for st in it.stages] + ["worker"]], pa.string()),
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
                        "(cleared.stage = 'decode' AND errors.stage NOT IN ('checks', 'activity', 'events', 'words')))")
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
            (self.ws.path / path).unlink(missing_ok=True)

    def _write_frames(self, rid: str, kind: str, stage_key: str, array: np.ndarray) -> dict[str, Any]:
        if kind not in FRAME_KINDS:
            raise ValueError(f"unknown frame kind {kind!r} (known: {sorted(FRAME_KINDS)})")
        array = np.atleast_2d(np.asarray(array))
        name = hashlib.sha1(rid.encode()).hexdigest()[:20]
        rel = Path("frames") / kind / f"{name}-{stage_key}.parquet"
        out = self.ws.path / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        column_type = pa.from_numpy_dtype(array.dtype)
        pq.write_table(C.arrow_table({f"track_{i}": (array[i], column_type) for i in range(array.shape[0])}), tmp,
                       compression="zstd")
        os.replace(tmp, out)
        return {"recording_id": rid, "kind": kind, "stage_key": stage_key, "path": str(rel),
                "n_frames": int(array.shape[1]), "hop_s": FRAMES.hop_s}


# ---------------------------------------------------------------------------------------------
# helpers inside one session
# ---------------------------------------------------------------------------------------------


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
