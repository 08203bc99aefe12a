"""A Ray executor: the same per-item function as the local pool, run as Ray tasks on a cluster.

``RayExecutor`` implements ``Executor.map_unordered`` and nothing else, so the scan, the stages and
the single workspace writer are unchanged; only the scheduling moves to Ray:

- **Batching.** Consecutive items are grouped into one task until the batch holds ``batch_audio_s``
  seconds of audio (from the item's ``expected_s``) or ``max_batch`` items, so short recordings do
  not each pay a task's scheduling cost. A batch never grows so large that the cluster would get
  fewer than ``tasks_per_cpu`` tasks per CPU (when the number of items is known).
- **Back-pressure.** At most ``max_in_flight`` tasks (default: 2 per cluster CPU) are submitted at
  once; the next batch is pulled from ``items`` (lazily) only when one finishes. The driver holds a
  window of items and results, never the corpus; each result leaves the object store when read.
- **Failures.** A worker process that dies mid-task (killed, out of memory, a decoder crash) is
  retried by Ray up to ``max_retries`` times. An exception inside ``fn`` is never retried: it is
  caught per item inside the task and handed to ``on_crash`` once, like the local pool does. A batch
  that still fails as a whole (retries used up, or a failure outside ``fn``) is rerun one item per
  task, so the failure lands on the one recording that causes it and the others finish. A worker
  that cannot even load ``fn`` (twotrack missing on a node) stops the run with ``RayUnavailable``
  instead of marking every recording failed.

Ray is imported only when a ``RayExecutor`` is used: ``import twotrack`` and the local executor do
not need it. Workers import ``fn`` by reference (``twotrack.run.worker.scan_one``), so twotrack must
be installed on every node, and every source path must be readable there (docs/scale-out.md).
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any, TypeVar

from ..errors import ConfigError
from .executors import SINGLE_THREAD_ENV, Executor, WorkerCrashed

T = TypeVar("T")
R = TypeVar("R")

#: Test hook: when the driver's environment names a file here, the first task to create that file
#: (it then holds the worker's pid) kills its own worker process with SIGKILL after its first item,
#: i.e. mid-task, with work done and not returned. The driver passes it to the tasks; only tests set it.
KILL_ONCE_ENV = "TWOTRACK_RAY_TEST_KILL_ONCE"

INSTALL_HINT = "pip install 'twotrack[ray]'"


class RayUnavailable(ConfigError):
    """Ray is not installed, or the cluster cannot be reached (a usage error: exit code 2)."""


def require_ray():
    """The ``ray`` module, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"the Ray executor needs Ray, which is not installed ({exc}); {INSTALL_HINT}") from None
    return ray


def audio_seconds(item: Any) -> float:
    """Batch weight of an item: its expected audio duration (``Job.expected_s``), 0 when unknown."""
    return float(getattr(item, "expected_s", 0.0) or 0.0)


def batches(items: Iterable[T], max_audio_s: float, max_items: int,
            weight: Callable[[T], float] = audio_seconds) -> Iterator[list[T]]:
    """Consecutive items grouped until a batch would exceed ``max_audio_s`` or holds ``max_items``.

    An item heavier than ``max_audio_s`` forms a batch of its own. Lazy: pulls one item at a time.
    """
    batch: list[T] = []
    total = 0.0
    for item in items:
        w = weight(item)
        if batch and (len(batch) >= max_items or total + w > max_audio_s):
            yield batch
            batch, total = [], 0.0
        batch.append(item)
        total += w
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------
# what runs inside a Ray worker
# ---------------------------------------------------------------------------------------------


def _claim_once(marker: str) -> bool:
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # atomic: one task only
    except FileExistsError:
        return False
    os.write(fd, f"{os.getpid()}\n".encode())
    os.close(fd)
    return True


def run_batch(fn_blob: bytes, items: list[T], env: dict[str, str]) -> list[tuple[str, Any]]:
    """``fn`` over ``items`` in one worker: ("ok", result) or ("raised", traceback) per item, in order.

    ``fn`` arrives pickled and is loaded only after ``env`` (one thread per numeric library) is set,
    so a fresh worker imports numpy, numba and the stages under it. Exceptions are caught per item so
    that one bad recording neither fails its batch nor makes Ray retry it; only the death of the
    process itself reaches Ray's retry logic.
    """
    marker = env.get(KILL_ONCE_ENV)
    os.environ.update({k: v for k, v in env.items() if k != KILL_ONCE_ENV})
    try:
        fn: Callable[[T], R] = pickle.loads(fn_blob)
    except Exception:  # noqa: BLE001 - a worker that cannot load fn fails every item alike
        return [("setup", traceback.format_exc(limit=3))]
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(items):
        try:
            out.append(("ok", fn(item)))
        except (Exception, SystemExit):  # noqa: BLE001 - reported to the driver, never retried
            out.append(("raised", traceback.format_exc(limit=5)))
        if i == 0 and marker and _claim_once(marker):
            os.kill(os.getpid(), signal.SIGKILL)  # test hook: die mid-task, with work done and not returned
    return out


_REMOTE: list[Any] = []


def _remote_batch(ray):
    # Made once: a Ray remote function exports itself again to each new session it is called in.
    if not _REMOTE:
        _REMOTE.append(ray.remote(run_batch))
    return _REMOTE[0]


def _one_line(text: str, limit: int = 300) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# the driver side
# ---------------------------------------------------------------------------------------------


class RayExecutor(Executor):
    """Runs ``fn`` over items as Ray tasks, with batching, a bounded in-flight window and retries.

    ``address``: None starts a local Ray instance with ``num_cpus`` CPUs (default: all cores);
    ``"auto"`` joins the cluster already running on this machine (or ``RAY_ADDRESS``);
    ``"HOST:PORT"`` a cluster's head node; ``"ray://HOST:10001"`` a remote cluster via Ray Client.
    When Ray is already initialised in this process (a notebook, a test) that session is used as is.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_in_flight: int | None = None,
        batch_audio_s: float = 60.0,
        max_batch: int = 32,
        tasks_per_cpu: int = 4,
        max_retries: int = 3,
        cpus_per_task: float = 1.0,
        weight: Callable[[Any], float] = audio_seconds,
        init_kwargs: dict[str, Any] | None = None,
    ):
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0 (a bounded number of retries)")
        if address is not None and num_cpus is not None:
            raise RayUnavailable("num_cpus (--jobs) sizes a local Ray instance; with --address the cluster "
                                 "decides how many CPUs there are")
        self.address = address
        self.num_cpus = num_cpus
        self.max_in_flight = max_in_flight
        self.batch_audio_s = float(batch_audio_s)
        self.max_batch = max(1, int(max_batch))
        self.tasks_per_cpu = max(1, int(tasks_per_cpu))
        self.max_retries = int(max_retries)
        self.cpus_per_task = cpus_per_task
        self.weight = weight
        self.init_kwargs = dict(init_kwargs or {})
        self._ray = None
        self._owns_session = False
        self._cpus: int | None = None
        #: Counters of the last ``map_unordered`` (tasks submitted, batches split after a failure).
        self.stats: dict[str, int] = {}

    # -- connection ----------------------------------------------------------------------------

    def connect(self):
        """Initialise (or reuse) the Ray session; returns the ``ray`` module."""
        if self._ray is not None:
            return self._ray
        ray = require_ray()
        if not ray.is_initialized():
            # Workers' stderr stays in Ray's session logs: failures reach the workspace as errors, and
            # the terminal keeps the progress bar and summary (init_kwargs can turn it back on).
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                                      "log_to_driver": False}
            if self.address is None:
                # "local" starts a fresh instance even when RAY_ADDRESS or a running cluster exists.
                kwargs.update(address="local", num_cpus=self.num_cpus or os.cpu_count() or 1)
            else:
                kwargs["address"] = self.address
            kwargs.update(self.init_kwargs)
            # ray.init puts its own SIGTERM handlers in this process (sys.exit, and its C++ core's crash
            # handler): a SIGTERM then killed the scan with exit 15 and a 'failed' run instead of stopping it
            # as Ctrl-C does (scanning._TermAsInterrupt: commit what finished, exit 130). Keep ours.
            main = threading.current_thread() is threading.main_thread()
            term = signal.getsignal(signal.SIGTERM) if main else None
            try:
                ray.init(**kwargs)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = self.address or "a new local instance"
                raise RayUnavailable(f"cannot start or reach Ray ({where}): {_one_line(str(exc))}") from exc
            finally:
                if term is not None and signal.getsignal(signal.SIGTERM) is not term:
                    signal.signal(signal.SIGTERM, term)
            self._owns_session = True
        self._ray = ray
        return ray

    @property
    def jobs(self) -> int:  # type: ignore[override]
        """CPUs of the cluster (what the runs table records as the scan's parallelism)."""
        if self._cpus is None:
            ray = self.connect()
            self._cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return self._cpus

    def close(self) -> None:
        """Shut Ray down if this executor started it (a session it joined is left running)."""
        if self._ray is not None and self._owns_session:
            self._ray.shutdown()
        self._ray, self._owns_session, self._cpus = None, False, None

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- scheduling ----------------------------------------------------------------------------

    def _task_options(self) -> dict[str, Any]:
        # No runtime_env: the workers Ray starts ahead of time serve these tasks as they are.
        return {"num_cpus": self.cpus_per_task, "max_retries": self.max_retries, "retry_exceptions": False}

    @staticmethod
    def _task_env() -> dict[str, str]:
        env = dict(SINGLE_THREAD_ENV)  # processes give the parallelism, as in the local pool
        if os.environ.get(KILL_ONCE_ENV):
            env[KILL_ONCE_ENV] = os.environ[KILL_ONCE_ENV]
        return env

    def _batch_limit(self, items: Iterable[Any]) -> int:
        # A small corpus must still spread over the cluster: at least tasks_per_cpu tasks per CPU.
        if isinstance(items, Sized):
            n = len(items)
            return max(1, min(self.max_batch, math.ceil(n / (self.jobs * self.tasks_per_cpu))))
        return self.max_batch

    def map_unordered(self, fn, items, on_crash=None):
        ray = self.connect()
        remote = _remote_batch(ray).options(**self._task_options())
        # Pickled once (by reference for a module-level function: a few bytes), loaded in the task.
        fn_blob, env = ray.cloudpickle.dumps(fn), self._task_env()
        window = max(1, self.max_in_flight or 2 * self.jobs)
        source = batches(iter(items), self.batch_audio_s, self._batch_limit(items), self.weight)
        singles: deque = deque()  # items of batches that failed as a whole, rerun one per task
        pending: dict[Any, list] = {}
        stats = self.stats = {"tasks": 0, "items": 0, "split_batches": 0, "max_in_flight": 0}

        def fill() -> None:
            while len(pending) < window:
                if singles:
                    batch = [singles.popleft()]
                else:
                    batch = next(source, None)
                    if batch is None:
                        return
                    stats["items"] += len(batch)
                pending[remote.remote(fn_blob, batch, env)] = batch
                stats["tasks"] += 1
                stats["max_in_flight"] = max(stats["max_in_flight"], len(pending))

        def crashed(item, reason: str):
            if on_crash is None:
                raise WorkerCrashed(reason)
            return on_crash(item, reason)

        try:
            fill()
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                ref = ready[0]
                batch = pending.pop(ref)
                try:
                    replies = ray.get(ref)
                    failure = None
                except ray.exceptions.RayError as exc:
                    replies, failure = None, exc
                del ref, ready  # the result leaves the object store once nothing refers to it
                if failure is not None and len(batch) > 1:
                    stats["split_batches"] += 1
                    singles.extend(batch)
                fill()
                if failure is not None:
                    if len(batch) == 1:
                        yield crashed(batch[0], self._reason(ray, failure))
                    continue
                if replies and replies[0][0] == "setup":
                    raise RayUnavailable(
                        f"a Ray worker cannot load {getattr(fn, '__module__', '?')}."
                        f"{getattr(fn, '__qualname__', fn)!s}: {_one_line(replies[0][1])}; install the same "
                        f"twotrack on every node (docs/scale-out.md)")
                for item, (kind, payload) in zip(batch, replies):
                    if kind == "ok":
                        yield payload
                    else:
                        yield crashed(item, f"worker raised: {_one_line(payload)}")
        finally:
            # stopped early (Ctrl-C, SIGTERM, consumer closed): do not leave work running. On an instance this
            # scan started, ``close`` shuts Ray down with its workers; cancelling first raced Ray's own task
            # bookkeeping (a force-cancel kills the worker, whose task Ray then tries to retry) and crashed
            # the driver's core now and then (a C++ stack, exit 1 instead of 130). On a cluster it joined,
            # which stays up, the tasks are cancelled without killing their workers.
            if not self._owns_session:
                for ref in pending:
                    try:
                        ray.cancel(ref, force=False)
                    except Exception:  # noqa: BLE001 - best effort; the task may have just finished
                        pass
            pending.clear()

    def _reason(self, ray, exc: BaseException) -> str:
        if isinstance(exc, ray.exceptions.RayTaskError):
            return f"ray task failed: {_one_line(str(exc))}"
        attempts = self.max_retries + 1
        return f"ray worker lost {attempts} time(s) ({type(exc).__name__}): {_one_line(str(exc))}"


def make_ray_executor(address: str | None = None, jobs: int | None = None, **options: Any) -> RayExecutor:
    """The executor behind ``twotrack scan --executor ray [--address A] [--jobs N]``."""
    require_ray()
    if jobs == 0:
        raise RayUnavailable("--jobs 0 runs in this process; with --executor ray give a number of CPUs or none")
    return RayExecutor(address=address, num_cpus=jobs, **options)
