"""Executors: results in completion order, a dying worker costs only its item, early exit stops workers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from twotrack.run.executors import LocalExecutor, SerialExecutor, WorkerCrashed


def square_or_die(x: int) -> tuple[int, int]:
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # a native decoder crash, as the parent sees it
    if x == 5:
        raise ValueError("bad item 5")
    time.sleep(0.01 * (x % 3))
    return x, x * x


def on_crash(item: int, reason: str) -> tuple[int, str]:
    return item, reason


def test_local_executor_survives_dying_and_raising_workers():
    results = dict(LocalExecutor(2).map_unordered(square_or_die, range(8), on_crash=on_crash))
    assert sorted(results) == list(range(8))
    assert results[3] == "worker process killed by signal 9"
    assert results[5].startswith("worker raised: ValueError: bad item 5")
    assert all(results[i] == i * i for i in (0, 1, 2, 4, 6, 7))


def test_without_a_crash_handler_a_crash_raises():
    with pytest.raises(WorkerCrashed):
        list(LocalExecutor(1).map_unordered(square_or_die, [1, 3, 4]))


def test_closing_the_iterator_stops_the_workers():
    it = LocalExecutor(2).map_unordered(square_or_die, range(100, 200))
    assert next(it)[0] >= 100
    workers = multiprocessing.active_children()
    assert len(workers) == 2
    it.close()  # what a KeyboardInterrupt in the consumer does too
    assert not any(w.is_alive() for w in workers)
    assert not multiprocessing.active_children()


def test_serial_executor_has_the_same_contract():
    results = dict(SerialExecutor().map_unordered(lambda x: (x, -x) if x != 2 else 1 / 0, range(4),
                                                  on_crash=lambda item, why: (item, "crash")))
    assert results == {0: 0, 1: -1, 2: "crash", 3: -3}
