"""The scan as real processes: SIGKILL midway then resume, Ctrl-C, and readers while a scan writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_scan import make_corpus, result_counts

from twotrack.run import scan
from twotrack.run.worker import PACE_ENV
from twotrack.store import Workspace, WorkspaceError, queries

N_FILES = 10
FILE_S = 3.0
#: Short files scan in a few milliseconds on a fast machine; the worker's test hook holds each one back
#: this long, so a scan of N_FILES lasts seconds and the kill, the Ctrl-C and the readers land midway.
PACE = {**os.environ, PACE_ENV: "0.4"}


def twotrack_cmd(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("twotrack")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from twotrack.cli import main; main()", *args]


def committed(ws_path: Path) -> int:
    try:
        return queries.counts(Workspace(ws_path))["recordings"]
    except WorkspaceError:
        return 0


class Poller:
    """Counts committed recordings, opening the workspace once it exists (as a long-lived reader would)."""

    def __init__(self, ws_path: Path):
        self.ws_path, self.ws = ws_path, None

    def __call__(self) -> int:
        if self.ws is None:
            try:
                self.ws = Workspace(self.ws_path)
            except WorkspaceError:
                return 0
        return queries.counts(self.ws)["recordings"]


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _as_from_a_terminal() -> None:
    """In the child before exec: SIGINT delivered and handled as a shell's foreground job has it. A
    library loaded in the test process may leave SIGINT ignored or blocked, and a child inherits that
    (then Ctrl-C would never reach the scan)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def start_scan(corpus: Path, ws: Path, jobs: int = 1) -> subprocess.Popen:
    return subprocess.Popen(twotrack_cmd("scan", str(corpus), "-w", str(ws), "--jobs", str(jobs), "--no-progress"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=PACE,
                            preexec_fn=_as_from_a_terminal)


def wait_for_commits(proc: subprocess.Popen, ws: Path, at_least: int, timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    poll = Poller(ws)
    while time.monotonic() < deadline:
        n = poll()
        if n >= at_least:
            return n
        assert proc.poll() is None, f"scan ended early: {proc.communicate()}"
        time.sleep(0.1)
    raise AssertionError("scan made no progress")


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_scan(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=N_FILES, dur_s=FILE_S)
    reference = Workspace(tmp_path / "reference", create=True)
    scan([corpus], reference, jobs=0)
    expected = result_counts(reference)

    ws = tmp_path / "ws"
    proc = start_scan(corpus, ws)
    n_before = wait_for_commits(proc, ws, at_least=2)
    workers = children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    n_after_kill = committed(ws)
    assert 2 <= n_before <= n_after_kill < N_FILES, "the kill did not land midway"
    deadline = time.monotonic() + 5
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "workers outlived the killed scan"

    rerun = subprocess.run(twotrack_cmd("scan", str(corpus), "-w", str(ws), "--jobs", "1", "--json"),
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["recordings"]["skipped"] == n_after_kill
    assert summary["recordings"]["scanned"] == N_FILES - n_after_kill
    assert result_counts(Workspace(ws)) == expected
    runs = queries.runs(Workspace(ws))
    assert [r["status"] for r in runs] == ["abandoned", "completed"]


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path):
    corpus = tmp_path / "corpus"
    # Three times the usual corpus: the first commit can become visible to the poller late (the writer
    # holds the workspace while results flow), and the Ctrl-C must still land before the scan ends.
    make_corpus(corpus, n=3 * N_FILES, dur_s=FILE_S)
    ws = tmp_path / "ws"
    proc = start_scan(corpus, ws)
    wait_for_commits(proc, ws, at_least=1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in out
    kept = committed(ws)
    assert 1 <= kept
    runs = queries.runs(Workspace(ws))
    assert runs[-1]["status"] == "interrupted" and runs[-1]["n_scanned"] == kept


READER = r"""
import json, sys, time
from pathlib import Path
from twotrack.store import Workspace, WorkspaceError, queries
ws_path, stop = sys.argv[1], Path(sys.argv[2])
seen, failures, waits = [], [], 0
Path(sys.argv[3]).touch()  # polling starts now
deadline = time.monotonic() + 120
ws = None
while not stop.exists() and time.monotonic() < deadline:
    if ws is None:
        try:
            ws = Workspace(ws_path)
        except WorkspaceError:  # the scan has not created it yet
            waits += 1
            time.sleep(0.01)
            continue
    try:
        n = queries.counts(ws)["recordings"]
        ids = [r.recording_id for r in queries.recordings(ws)]
        assert len(ids) >= n
        seen.append(n)
    except Exception as exc:
        failures.append(repr(exc))
    time.sleep(0.05)
print(json.dumps({"seen": seen, "failures": failures}))
"""


def test_two_readers_query_while_a_scan_writes(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=N_FILES, dur_s=FILE_S)
    ws = tmp_path / "ws"
    stop = tmp_path / "stop"
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(ws), str(stop), str(r)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for r in ready]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.02)
    scan_proc = start_scan(corpus, ws, jobs=0)  # the writer is what readers meet; no pool needed
    out, err = scan_proc.communicate(timeout=120)
    stop.touch()
    assert scan_proc.returncode == 0, err
    for reader in readers:
        rout, rerr = reader.communicate(timeout=60)
        assert reader.returncode == 0, rerr
        report = json.loads(rout)
        assert report["failures"] == []
        seen = report["seen"]
        assert len(seen) >= 5
        assert seen == sorted(seen)  # committed recordings never disappear
        assert any(0 < n < N_FILES for n in seen), f"the reader never saw the scan half-way: {seen}"
