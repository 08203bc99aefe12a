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


def mark_warm() -> None:
    os.environ["TWOTRACK_TEST_WARMED_IN"] = str(os.getpid())


def pid_and_warmth(x: int) -> tuple[int, int, str | None]:
    return x, os.getpid(), os.environ.get("TWOTRACK_TEST_WARMED_IN")


def test_a_prestarted_worker_runs_its_warm_up_then_takes_the_items():
    ex = LocalExecutor(1)
    ex.prestart(pid_and_warmth, mark_warm)
    (started,) = multiprocessing.active_children()
    results = list(ex.map_unordered(pid_and_warmth, range(3)))
    assert sorted(r[0] for r in results) == [0, 1, 2]
    assert {r[1] for r in results} == {started.pid}  # no second worker was spawned
    assert {r[2] for r in results} == {str(started.pid)}  # warm() ran in that worker before the items
    assert not multiprocessing.active_children()


def test_a_prestarted_worker_with_nothing_to_do_is_stopped():
    ex = LocalExecutor(1)
    ex.prestart(pid_and_warmth, mark_warm)
    assert list(ex.map_unordered(pid_and_warmth, [])) == []
    ex.discard_prestarted()
    assert not multiprocessing.active_children()


def test_a_rescan_with_nothing_to_do_leaves_no_worker_behind(tmp_path):
    from pathlib import Path

    from twotrack.run import scan

    one = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"
    first = scan([one], tmp_path / "ws", jobs=1)
    assert first.scanned == 1 and not multiprocessing.active_children()
    again = scan([one], tmp_path / "ws", jobs=1)  # a worker was started early, then had nothing to do
    assert again.scanned == 0 and again.skipped == 1
    assert not multiprocessing.active_children()
