"""Capture sweep 2026-12-05: SIGTERM stops a scan on Ray the way Ctrl-C does.

Its own local Ray instance (started by the command, 2 CPUs, loopback only). The driver's Ray core crashed
now and then while the interrupted scan force-cancelled its tasks (a C++ stack from Ray's task bookkeeping,
exit 1: twice on the cluster test_ray.py shares, once in this test on a fresh clone under load); a scan
that started its own instance no longer cancels, Ray's shutdown ends the workers (checked by hand: no Ray
process left 3 s after the exit). About 15 s, most of it Ray's start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from scan_waits import wait_for_recordings  # noqa: E402
from test_scan import make_corpus  # noqa: E402
from twotrack.run.worker import PACE_ENV  # noqa: E402
from twotrack.store import Workspace, queries  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def test_sigterm_stops_a_ray_scan_as_ctrl_c_does(tmp_path):
    """Before: ray.init replaced the scan's SIGTERM handler with Ray's own (sys.exit, and its C++ core's
    '*** SIGTERM received ***' crash handler): `kill PID` of a Ray scan ended it with exit 15 and a
    'failed' run, where docs/scale-out.md promises Ctrl-C's 'interrupted', exit 130."""
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=24, dur_s=2.0)  # 24 x 0.5 s paced on 2 CPUs: the signal lands midway
    ws = tmp_path / "ws"
    env = {**os.environ, PACE_ENV: "0.5", "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO / "src")), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "twotrack", "scan", str(corpus), "-w", str(ws), "--executor", "ray",
                             "-j", "2", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    wait_for_recordings(proc, ws, at_least=1, timeout_s=120, poll_s=0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out[-1000:], err[-2000:])
    assert "interrupted" in out
    runs = queries.runs(Workspace(ws))
    assert runs[-1]["status"] == "interrupted" and 1 <= runs[-1]["n_scanned"] < 24
