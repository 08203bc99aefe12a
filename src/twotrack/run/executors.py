"""Executors schedule a per-item function; they know nothing of stages or workspaces.

The whole interface is ``map_unordered(fn, items, on_crash=None)``: results come back in completion
order, in the calling process. ``fn`` must be a module-level function (it is pickled by reference).
A Ray executor implements the same method with remote tasks and ``ray.wait``; nothing else changes.

``LocalExecutor`` runs ``jobs`` worker processes (spawned, so no lock or thread of the parent leaks
into them), each fed one item at a time so the parent always knows which item a worker holds. When a
worker dies (a decoder crash, the out-of-memory killer) only its item is lost: ``on_crash(item,
reason)`` turns it into a result and a fresh worker takes the next item. Workers ignore Ctrl-C (the
parent decides), and die with the parent, even under ``kill -9`` (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing as mp
import os
import signal
import sys
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Environment that keeps each worker's numeric libraries on one thread (processes give the parallelism).
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "NUMBA_NUM_THREADS": "1"}


class WorkerCrashed(RuntimeError):
    """A worker process died or ``fn`` raised, and no ``on_crash`` handler was given."""


class Executor(ABC):
    """Runs ``fn`` over ``items``; yields results as they complete."""

    jobs: int = 1

    @abstractmethod
    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T],
                      on_crash: Callable[[T, str], R] | None = None) -> Iterator[R]:
        """Results of ``fn(item)`` in completion order. Closing the iterator early (or an exception in
        the consumer, e.g. KeyboardInterrupt) stops every worker; finished results are already yielded."""

    def prestart(self, fn: Callable[[T], R], warm: Callable[[], None] | None = None) -> None:
        """A hint that ``map_unordered(fn, ...)`` follows: an executor may start a worker now and run ``warm``
        (its imports) there, so the worker's start-up overlaps the caller's planning. Default: nothing."""

    def discard_prestarted(self) -> None:
        """Stop workers ``prestart`` began that no map took (the caller had nothing to give them)."""

    def close(self) -> None:
        """Release what the executor holds between maps (a cluster connection); local pools hold nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialExecutor(Executor):
    """Everything in the calling process, one item after the other (debugging, notebooks, tiny jobs)."""

    jobs = 1

    def map_unordered(self, fn, items, on_crash=None):
        for item in items:
            try:
                result = fn(item)
            except Exception:  # noqa: BLE001 - same contract as a crashed worker
                if on_crash is None:
                    raise
                result = on_crash(item, traceback.format_exc(limit=3))
            yield result


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except OSError:
            pass


def _worker_main(conn, fn, parent_pid: int, warm=None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent handles it
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
    if warm is not None:
        try:
            warm()
        except Exception:  # noqa: BLE001 - the first item meets the same failure and reports it
            pass
    conn.send(("ready", os.getpid()))
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            # Asked to leave with nothing pending: skip the interpreter's teardown (module and
            # onnxruntime finalisation took ~0.2 s, which the parent waited for at the end of a scan).
            conn.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        try:
            message = ("ok", fn(item))
        except BaseException:  # noqa: BLE001 - report, keep serving
            message = ("raised", traceback.format_exc(limit=5))
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):
            return


_NOTHING = object()


@dataclass
class _Worker:
    process: Any
    conn: Any
    fn: Any = None
    item: Any = None
    busy: bool = False
    ready: bool = False


@contextmanager
def _env(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class LocalExecutor(Executor):
    """A pool of ``jobs`` worker processes on this machine (default: the number of cores)."""

    def __init__(self, jobs: int | None = None, start_method: str = "spawn"):
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))
        self.ctx = mp.get_context(start_method)
        self._prestarted: list[_Worker] = []

    def _start(self, fn, warm=None) -> _Worker:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        with _env(SINGLE_THREAD_ENV):
            process = self.ctx.Process(target=_worker_main, args=(child_end, fn, os.getpid(), warm), daemon=True,
                                       name="twotrack-worker")
            process.start()
        child_end.close()
        return _Worker(process, parent_end, fn)

    def prestart(self, fn, warm=None) -> None:
        """Start one worker now (one: any map with an item needs at least one; more could idle for nothing)."""
        if not self._prestarted:
            self._prestarted.append(self._start(fn, warm))

    def discard_prestarted(self) -> None:
        self._stop(self._prestarted)
        self._prestarted = []

    def close(self) -> None:
        """A prestarted worker that no map took is stopped (the caller failed before its map, or had none)."""
        self.discard_prestarted()

    def _take_prestarted(self, fn) -> _Worker | None:
        """A prestarted worker for ``fn``, if one is alive (one for another function is stopped)."""
        while self._prestarted:
            w = self._prestarted.pop()
            if w.fn is fn and w.process.is_alive():
                return w
            self._stop([w])
        return None

    def map_unordered(self, fn, items, on_crash=None):
        source = iter(items)
        workers: list[_Worker] = []
        exhausted = False

        def feed(w: _Worker) -> bool:
            nonlocal exhausted
            if exhausted:
                return False
            try:
                item = next(source)
            except StopIteration:
                exhausted = True
                return False
            w.item, w.busy = item, True
            w.conn.send(item)
            return True

        def crashed(w: _Worker, reason: str):
            if on_crash is None:
                raise WorkerCrashed(reason)
            return on_crash(w.item, reason)

        try:
            # Start a worker only for an item it can take (a rescan with nothing to do spawns none).
            first = next(source, _NOTHING)
            if first is not _NOTHING:
                source = itertools.chain([first], source)
            while first is not _NOTHING and len(workers) < self.jobs and not exhausted:
                w = self._take_prestarted(fn) or self._start(fn)
                workers.append(w)
                if not feed(w):
                    break
            while True:
                busy = [w for w in workers if w.busy]
                if not busy:
                    return
                signalled = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
                for w in busy:
                    if w.conn in signalled or w.conn.poll():
                        try:
                            kind, payload = w.conn.recv()
                        except (EOFError, OSError):
                            kind, payload = "died", None
                        if kind == "ready":
                            w.ready = True
                            continue
                        if kind == "ok":
                            w.busy = False
                            yield payload
                            feed(w)
                            continue
                        if kind == "raised":
                            w.busy = False
                            yield crashed(w, f"worker raised: {payload.strip().splitlines()[-1]}")
                            feed(w)
                            continue
                    elif w.process.sentinel not in signalled:
                        continue
                    # The worker is gone with its item: report the item, replace the worker.
                    w.process.join(timeout=1)
                    code = w.process.exitcode
                    reason = (f"worker process killed by signal {-code}" if code is not None and code < 0
                              else f"worker process exited with code {code}")
                    if not w.ready:
                        # Not the item's fault: the environment cannot start workers at all.
                        raise WorkerCrashed(
                            f"a worker process died while starting ({reason}); when calling the scan from a "
                            "script, guard it with `if __name__ == '__main__':` (workers are spawned)")
                    w.busy = False
                    w.conn.close()
                    workers.remove(w)
                    yield crashed(w, reason)
                    if not exhausted:
                        nw = self._start(fn)
                        workers.append(nw)
                        feed(nw)
        finally:
            self._stop(workers)

    @staticmethod
    def _stop(workers: list[_Worker]) -> None:
        for w in workers:
            if not w.process.is_alive():
                continue
            if w.busy or not w.ready:
                # its item is abandoned (Ctrl-C), or it is still starting (a prestarted worker warming up
                # when there was nothing to do): no need to wait for it
                w.process.kill()
                continue
            try:
                w.conn.send(None)  # idle: ask it to leave
            except (BrokenPipeError, OSError):
                w.process.kill()
        for w in workers:
            w.process.join(timeout=2)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=2)
            w.conn.close()


def make_executor(jobs: int | None = None) -> Executor:
    """``jobs`` 0 runs in this process; otherwise a LocalExecutor with that many workers (None: all cores)."""
    if jobs == 0:
        return SerialExecutor()
    return LocalExecutor(jobs)
