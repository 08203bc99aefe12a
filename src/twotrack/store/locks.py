"""A fair reader/writer lock between processes, built on ``flock`` of two small files.

DuckDB lets one process open a database file read-write, or any number open it read-only, never both
at once, and it fails at once instead of waiting. So every workspace session first takes this lock:
readers share it, the writer holds it alone, and each holds it only for one short session.

Fairness comes from a turnstile: a writer takes the turnstile alone before it waits for the data
lock, so readers arriving after it queue behind it instead of starving it; readers hold the turnstile
shared and only for the instant it takes them to pass, so a waiting writer finds it free at once. ``flock`` locks belong to an open
file description, so two sessions in one process exclude each other too, and a killed process
releases its locks with its file descriptors.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import TwotrackError

#: How long a waiting process sleeps between attempts (seconds).
POLL_S = 0.005


class LockTimeout(TwotrackError):
    """A session lock could not be taken in time (another process held it too long)."""


def _acquire(fd: int, mode: int, deadline: float, what: str) -> None:
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            raise LockTimeout(f"{what}: timed out waiting for the workspace lock")
        time.sleep(POLL_S)


class SessionLock:
    """Shared (reader) or exclusive (writer) access to one workspace, across processes."""

    def __init__(self, folder: Path):
        self.data_path = folder / ".session.lock"
        self.turnstile_path = folder / ".turnstile.lock"

    def _open(self, path: Path) -> int:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    @contextmanager
    def shared(self, timeout_s: float) -> Iterator[None]:
        with self._hold(fcntl.LOCK_SH, timeout_s):
            yield

    @contextmanager
    def exclusive(self, timeout_s: float) -> Iterator[None]:
        with self._hold(fcntl.LOCK_EX, timeout_s):
            yield

    @contextmanager
    def _hold(self, mode: int, timeout_s: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout_s
        turnstile = self._open(self.turnstile_path)
        data = self._open(self.data_path)
        try:
            # Pass the turnstile first (readers share it, a writer holds it alone), then wait for the
            # data lock while still holding it: a waiting writer keeps new readers out.
            _acquire(turnstile, mode, deadline, str(self.turnstile_path))
            try:
                _acquire(data, mode, deadline, str(self.data_path))
            finally:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
            try:
                yield
            finally:
                fcntl.flock(data, fcntl.LOCK_UN)
        finally:
            os.close(data)
            os.close(turnstile)


class ScanLock:
    """Held for a whole scan so that two scans never write one workspace at the same time."""

    def __init__(self, folder: Path):
        self.path = folder / ".scan.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            finally:
                os.close(fd)
            raise LockTimeout(
                f"{self.path.parent}: another scan is writing this workspace"
                + (f" (pid {holder})" if holder else "")
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ScanLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
