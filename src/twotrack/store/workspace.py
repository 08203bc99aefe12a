"""The workspace: one folder per project, and the handle every stage opens it by.

Layout (docs/workspace.md)::

    WORKSPACE/
      workspace.duckdb      tables: recordings, tracks, speakers, sources, checks, track_quality,
                            track_activity, activity, events, errors, stage_results, runs, frame_files
      frames/<kind>/        Parquet: bulk per-frame arrays (one file per recording and stage key)
      rights/               the consent ledger and anything else the rights stage keeps
      exports/              what the export stage writes
      .session.lock, .turnstile.lock, .scan.lock   coordination between processes

``Workspace`` is the location (folders, ledger, exports), its schema (created and migrated on open)
and its sessions. Reads are ``store.queries`` (typed functions, each one read-only session); writes
go through the one ``store.writer.WriteSession`` the scan holds (``Workspace.writer()``).

Concurrency: DuckDB admits one read-write process or many read-only ones, never both, and fails
instead of waiting. Every access here is a short *session* under a fair inter-process reader/writer
lock (``locks.SessionLock``): the scan's writer opens the database for one commit at a time, readers
open it read-only for one query batch, so readers and a running scan interleave instead of failing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ..errors import ConfigError
from ..paths import LEDGER_RELPATH, WORKSPACE_DB
from .locks import LockTimeout, SessionLock
from .queries import _dicts
from .schema import SCHEMA_VERSION, current_version, migrate
from .writer import WriteSession

DB_NAME = WORKSPACE_DB


class WorkspaceError(ConfigError):
    """The workspace folder is missing, not a workspace, or from a newer twotrack (exit code 2)."""


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


class Workspace:
    """A project's results on disk. Cheap to construct; opening it creates or migrates the schema.

    >>> from twotrack.store import Workspace, queries    # doctest: +SKIP
    >>> ws = Workspace("workspace/demo")                 # doctest: +SKIP
    >>> [r.recording_id for r in queries.recordings(ws)] # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = False, timeout_s: float = 300.0):
        self.path = Path(path).absolute()
        self.timeout_s = timeout_s
        if not (self.path / DB_NAME).exists():
            if not create:
                raise WorkspaceError(f"{self.path}: no workspace here (run `twotrack scan ... -w {path}` first)")
            if self.path.exists() and not self.path.is_dir():
                raise WorkspaceError(f"{self.path}: exists and is not a folder")
        try:
            if create:
                self.path.mkdir(parents=True, exist_ok=True)
            self._lock = SessionLock(self.path)
            self._ensure_schema()
        except OSError as exc:  # a folder that cannot be made or written (missing parent, read-only mount)
            raise WorkspaceError(f"{self.path}: cannot create or open the workspace here: "
                                 f"{exc.strerror or exc} ({exc.filename or self.path})") from None

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
    def _exclusive(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection for the schema migration (results are written by ``writer()``)."""
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
        with self._exclusive() as con:
            migrate(con)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Any read-only SQL over the workspace tables, as a list of dicts: the escape hatch for users
        (notebooks, docs/workspace.md). twotrack's own code reads through ``store.queries``."""
        with self.read() as con:
            return _dicts(con.execute(sql, params or []))

    def writer(self) -> WriteSession:
        """The read-write session (``store.writer``): the scan holds one for its commits; close it
        (or use ``with``) to let readers in."""
        return WriteSession(self)


class WorkspaceBusy(LockTimeout):
    """Another process kept the database locked for longer than the timeout."""


__all__ = ["Workspace", "WorkspaceError", "WorkspaceBusy", "WriteSession", "SCHEMA_VERSION"]
