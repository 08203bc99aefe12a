"""A fair reader/writer lock between processes, built on ``flock`` of two small files.

DuckDB lets one process open a database file read-write, or any number open it read-only, never both
at once, and it fails at once instead of waiting. So every workspace session first takes this lock:
readers share it, the writer holds it alone, and each holds it only for one short session.

Fairness comes from a turnstile: a writer takes the turnstile alone before it waits for the data
lock, so readers arriving after it queue behind it instead of starving it; readers hold the turnstile
shared and only for the instant it takes them to pass, so a waiting writer finds it free at once.
``flock`` locks belong to an open file description, so two sessions in one process exclude each
other too, and a killed process releases its locks with its file descriptors. A session's holder
can ask ``others_waiting()``: a queued process holds the turnstile while it waits.
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

    def acquire(self, exclusive: bool, timeout_s: float) -> int:
        """Take the lock; returns a handle for ``release``. Raises LockTimeout."""
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
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
        except BaseException:
            os.close(data)
            raise
        finally:
            os.close(turnstile)
        return data

    @staticmethod
    def release(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)

    def others_waiting(self) -> bool:
        """True when another process is queued for the lock (it holds the turnstile while it waits)."""
        fd = self._open(self.turnstile_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    @contextmanager
    def shared(self, timeout_s: float) -> Iterator[None]:
        handle = self.acquire(False, timeout_s)
        try:
            yield
        finally:
            self.release(handle)

    @contextmanager
    def exclusive(self, timeout_s: float) -> Iterator[None]:
        handle = self.acquire(True, timeout_s)
        try:
            yield
        finally:
            self.release(handle)


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
