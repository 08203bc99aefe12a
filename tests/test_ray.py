"""The scan on Ray: the same rows as the local pool, a killed worker retried, failures recorded once.

One local Ray instance (2 CPUs, loopback only, no dashboard) serves every test in this file. Two
corpora are compared with the local pool row for row, each scanned locally once per module: the
bundled sample corpus (data/sample/manifest.csv: FLAC, SPHERE and paired WAV) and a generated one
with a corrupt file.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Before Ray is imported: a local instance binds to 127.0.0.1 only, not to the machine's interfaces.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import pytest  # noqa: E402
import ray  # noqa: E402
from click.testing import CliRunner  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scan_waits import wait_for_recordings  # noqa: E402
from test_scan import SAMPLE, make_corpus  # noqa: E402

from twotrack.run import LocalExecutor, scan  # noqa: E402
from twotrack.run.ray_executor import KILL_ONCE_ENV, RayExecutor, RayUnavailable, batches  # noqa: E402
from twotrack.run.worker import scan_one  # noqa: E402
from twotrack.store import Workspace, queries  # noqa: E402

TABLES = ("recordings", "tracks", "speakers", "sources", "checks", "track_quality", "track_activity", "activity",
          "events", "errors", "stage_results")
VOLATILE = {"run_id", "scanned_at", "created_at", "computed_at", "seconds"}  # when and how long, not what
REPO = Path(__file__).resolve().parents[1]
MANIFEST = SAMPLE / "manifest.csv"  # the bundled corpus: 9 recordings, FLAC, SPHERE and paired WAV


@pytest.fixture(scope="session")
def ray_address():
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    # Test helpers below travel by value: Ray workers cannot import this test module.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def corrupt_flac(src: Path, dst: Path) -> Path:
    """A FLAC whose header reads but whose frames do not decode: it fails in the worker, every time."""
    data, rate = sf.read(str(src), frames=3 * 16000, dtype="int16")
    sf.write(str(dst), data, rate)
    raw = bytearray(dst.read_bytes())
    at = len(raw) // 4
    raw[at:at + 4000] = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(raw))
    return dst


def make_ray_corpus(folder: Path, n: int) -> Path:
    """``n`` short two-track excerpts and one corrupt FLAC."""
    make_corpus(folder, n=n, dur_s=3.0)
    corrupt_flac(sorted((SAMPLE / "clean").glob("*.flac"))[0], folder / "broken.flac")
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_ray_corpus(tmp_path_factory.mktemp("corpus"), 4)


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    """The same corpus through the local process pool."""
    ws = Workspace(tmp_path_factory.mktemp("local") / "ws", create=True)
    summary = scan([corpus], ws, executor=LocalExecutor(2))
    assert summary.status == "completed" and summary.scanned == 5 and summary.failed == 1
    return ws


@pytest.fixture(scope="module")
def sample_reference(tmp_path_factory):
    """The bundled sample corpus through the local process pool (scanned once for the module)."""
    ws = Workspace(tmp_path_factory.mktemp("sample_local") / "ws", create=True)
    summary = scan([MANIFEST], ws, executor=LocalExecutor(2))
    assert summary.status == "completed" and summary.scanned == 9
    return ws


def rows(ws: Workspace, table: str) -> list[dict]:
    cols = [r["column_name"] for r in ws.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]) if r["column_name"] not in VOLATILE]
    return ws.query(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL")


def assert_same_rows(ws: Workspace, reference: Workspace) -> None:
    for table in TABLES:
        got, want = rows(ws, table), rows(reference, table)
        assert len(got) == len(want), table
        assert got == want, table


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------


def test_batches_group_by_audio_and_count():
    class J:
        def __init__(self, s):
            self.expected_s = s

    got = [[j.expected_s for j in b] for b in batches([J(10), J(20), J(40), J(100), J(5), J(5), J(5)], 60, 2)]
    assert got == [[10, 20], [40], [100], [5, 5], [5]]


def test_the_plan_streams_its_jobs_and_counts_them_up_front(corpus, tmp_path):
    """The driver reads each Job back from disk only when the executor pulls it; ``len`` still sizes
    Ray's batches."""
    from twotrack.config import Config
    from twotrack.run.keys import stage_keys, unavailable_stages
    from twotrack.run.scanning import _discover, make_plan, source_key

    config = Config()
    unavailable = unavailable_stages()
    keys = stage_keys(config, unavailable)
    found = _discover([str(corpus)], config)
    recordings = [f.recording for f in found]
    plan = make_plan(Workspace(tmp_path / "ws", create=True), found, config, keys, unavailable)
    assert len(plan.jobs) == plan.n_jobs == 5
    assert plan.expected_s == pytest.approx(plan.audio_found_s) and plan.expected_s > 14
    first = next(plan.jobs)
    assert len(plan.jobs) == 4
    jobs = [first, *plan.jobs]
    assert len(plan.jobs) == 0 and list(plan.jobs) == []
    assert [j.recording.recording_id for j in jobs] == [r.recording_id for r in recordings]
    for job in jobs:
        assert all(t.sha256 for t in job.recording.tracks) and job.source_key == source_key(job.recording)
        assert job.expected_s > 0 and job.run[0] == "decode"


def test_ray_scan_equals_local_scan_row_for_row(ray_address, corpus, reference, tmp_path):
    ex = RayExecutor()
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([corpus], ws, executor=ex)
    assert summary.status == "completed" and summary.jobs == 2
    assert (summary.scanned, summary.failed) == (5, 1)
    assert_same_rows(ws, reference)
    assert ex.stats["items"] == 5 and ex.stats["max_in_flight"] <= 4  # the window: 2 tasks per CPU
    assert ex.stats["tasks"] == 5  # a small corpus spreads over the CPUs (the plan's stream has a len)
    # The deterministic failure is recorded once, for its own file, and not retried by a rescan.
    errors = queries.errors(ws)
    assert [Path(e.path).name for e in errors] == ["broken.flac"]
    assert queries.recording(ws, "broken").recording_id == "broken"
    again = scan([corpus], ws, executor=ex)
    assert (again.scanned, again.skipped) == (0, 5)
    assert len(queries.errors(ws)) == 1


def test_the_sample_corpus_on_ray_equals_the_local_pool_row_for_row(ray_address, sample_reference, tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    ex = RayExecutor()
    summary = scan([MANIFEST], ws, executor=ex)
    assert summary.status == "completed" and (summary.found, summary.scanned, summary.failed) == (9, 9, 0)
    assert ex.stats["items"] == 9
    # The three renditions: two-channel FLAC, two-channel SPHERE (mu-law), one WAV per speaker.
    assert {Path(p).suffix for r in queries.recordings(ws) for p in r.source_paths} == {".flac", ".sph", ".wav"}
    assert {r.layout.value for r in queries.recordings(ws)} == {"multichannel", "paired"}
    counts = queries.counts(ws)
    assert counts["sources"] == 12 and counts["activity"] > 0 and counts["events"] > 0  # not a vacuous match
    assert_same_rows(ws, sample_reference)


def test_a_worker_killed_mid_task_is_retried_and_the_scan_completes(ray_address, corpus, reference, tmp_path,
                                                                    monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv(KILL_ONCE_ENV, str(marker))  # the first task kills its worker after one recording
    # One task per CPU: batches of several recordings, so the kill lands after finished, unreturned work.
    ex = RayExecutor(tasks_per_cpu=1, max_retries=2)
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([corpus], ws, executor=ex)
    assert marker.exists(), "no worker was killed"
    assert not alive(int(marker.read_text()))
    assert summary.status == "completed" and (summary.scanned, summary.failed) == (5, 1)
    assert ex.stats["split_batches"] == 0  # Ray's retry finished the batch; nothing fell back
    assert_same_rows(ws, reference)


def explode_on(recording_id: str, attempts: str, job):
    """scan_one, except that it raises for one recording (and counts how often it was tried)."""
    if job.recording.recording_id == recording_id:
        with open(attempts, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        raise RuntimeError(f"unexpected failure for {recording_id}")
    return scan_one(job)


class ExplodingRayExecutor(RayExecutor):
    def __init__(self, recording_id: str, attempts: Path, **kw):
        super().__init__(**kw)
        self.wrap = functools.partial(explode_on, recording_id, str(attempts))

    def map_unordered(self, fn, items, on_crash=None):
        return super().map_unordered(self.wrap, items, on_crash)


def test_an_exception_inside_a_task_is_one_error_and_never_retried(ray_address, corpus, tmp_path):
    attempts = tmp_path / "attempts"
    ex = ExplodingRayExecutor("d01", attempts, tasks_per_cpu=1)
    ws = Workspace(tmp_path / "ws", create=True)
    summary = scan([corpus], ws, executor=ex)
    assert summary.status == "completed" and summary.failed == 2  # d01 and the corrupt file
    assert len(attempts.read_text().splitlines()) == 1
    d01 = [e for e in queries.errors(ws) if e.recording_id == "d01"]
    assert len(d01) == 1 and d01[0].stage == "worker"
    assert "RuntimeError: unexpected failure for d01" in d01[0].problem
    # The batch that held d01 did not fail as a whole: its other recordings are stored.
    assert ex.stats["split_batches"] == 0
    assert {r.recording_id for r in queries.recordings(ws, status="ok")} == {"d00", "d02", "d03"}


DRIVER = r"""
import sys, time
from twotrack.run import scan
from twotrack.run.ray_executor import RayExecutor
from twotrack.run.worker import scan_one

def slow(job):  # travels by value (defined in __main__); the same result, a second later
    time.sleep(1.0)
    return scan_one(job)

class OneAtATime(RayExecutor):
    # One recording at a time, each taking over a second, so the kill lands between two of them.
    def map_unordered(self, fn, items, on_crash=None):
        return super().map_unordered(slow, items, on_crash)

scan([sys.argv[1]], sys.argv[2], executor=OneAtATime(sys.argv[3], max_in_flight=1))
"""


def test_the_driver_killed_mid_scan_resumes_without_lost_or_duplicated_rows(ray_address, corpus, reference,
                                                                            tmp_path):
    ws_path = tmp_path / "ws"
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(corpus), str(ws_path), ray_address],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    wait_for_recordings(proc, ws_path, at_least=2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kept = queries.counts(Workspace(ws_path))["recordings"]
    assert 2 <= kept < 5, "the kill did not land midway"

    ws = Workspace(ws_path)
    summary = scan([corpus], ws, executor=RayExecutor())
    assert summary.status == "completed"
    assert (summary.skipped, summary.scanned) == (kept, 5 - kept)
    assert [r["status"] for r in queries.runs(ws)] == ["abandoned", "completed"]
    assert_same_rows(ws, reference)  # every recording exactly once, as an uninterrupted scan stores it


def test_the_command_line_runs_on_ray_and_says_when_ray_is_missing(ray_address, corpus, reference, tmp_path):
    from twotrack.cli import main

    result = CliRunner().invoke(main, ["scan", str(corpus), "-w", str(tmp_path / "ws"), "--executor", "ray",
                                       "--address", ray_address, "--json", "--no-progress"])
    assert result.exit_code == 1, result.output  # 1: the corrupt file failed, the rest was scanned
    summary = json.loads(result.output)
    assert summary["recordings"]["scanned"] == 5 and summary["jobs"] == 2
    assert_same_rows(Workspace(tmp_path / "ws"), reference)

    # Without Ray installed: twotrack imports, the local executor runs, --executor ray says what to install.
    probe = r"""
import sys
sys.modules["ray"] = None  # as if the extra were not installed
import twotrack, twotrack.run, twotrack.cli
from click.testing import CliRunner
from twotrack.cli import main
r = CliRunner().invoke(main, ["scan", sys.argv[1], "-w", sys.argv[2], "--executor", "ray"])
print(r.exit_code)
print(r.output)
"""
    out = subprocess.run([sys.executable, "-c", probe, str(corpus), str(tmp_path / "ws2")], capture_output=True,
                         text=True, timeout=60, cwd=REPO)
    code, _, message = out.stdout.partition("\n")
    assert code == "2", out
    assert "pip install 'twotrack[ray]'" in message


def test_workers_that_cannot_load_the_function_stop_the_run(ray_address, tmp_path, monkeypatch):
    # A module only the driver can import (as twotrack would be on a node where it is not installed).
    (tmp_path / "driver_only_mod.py").write_text("def work(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from driver_only_mod import work

    crashed = []
    with pytest.raises(RayUnavailable, match="cannot load driver_only_mod.work"):
        list(RayExecutor().map_unordered(work, [1, 2, 3], on_crash=lambda item, reason: crashed.append(item)))
    assert crashed == []  # not one error per recording: the run stops


def test_twotrack_and_the_local_executor_do_not_import_ray():
    probe = ("import sys, twotrack, twotrack.run, twotrack.cli, twotrack.run.executors; "
             "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def die_on(poison: str, attempts: str, item: str) -> str:
    """Kills its own worker process on one item, every time (a decoder that segfaults on one file)."""
    if item == poison:
        with open(attempts, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        os._exit(1)
    return item.upper()


# Last: the workers it kills are replaced by cold ones.
def test_a_recording_that_always_kills_its_worker_fails_alone_after_bounded_retries(ray_address, tmp_path):
    attempts = tmp_path / "attempts"
    ex = RayExecutor(max_retries=1, tasks_per_cpu=1)  # 4 items, 2 CPUs: two batches of two
    crashed = []
    out = list(ex.map_unordered(functools.partial(die_on, "poison", str(attempts)), ["a", "b", "poison", "c"],
                                on_crash=lambda item, reason: crashed.append((item, reason)) or None))
    assert sorted(o for o in out if o) == ["A", "B", "C"]
    assert [c[0] for c in crashed] == ["poison"]
    assert "lost 2 time(s)" in crashed[0][1]
    assert ex.stats["split_batches"] == 1
    # Twice as part of its batch, twice alone: bounded, never retried forever.
    assert len(attempts.read_text().splitlines()) == 4

