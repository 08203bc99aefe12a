"""Waiting on a scan running in another process: until its workspace holds some recordings."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from twotrack.store import Workspace, queries


def wait_for_recordings(proc: subprocess.Popen, ws_path: Path, at_least: int, timeout_s: float = 90.0,
                        poll_s: float = 0.02) -> int:
    """Poll until the scan ``proc`` has committed ``at_least`` recordings to ``ws_path``; fails if the scan
    ends first or makes no progress within ``timeout_s``. Returns the count seen."""
    deadline = time.monotonic() + timeout_s
    n = 0
    while n < at_least:
        assert proc.poll() is None, f"the scan ended before it was stopped: {proc.communicate()}"
        assert time.monotonic() < deadline, "the scan made no progress"
        time.sleep(poll_s)
        try:
            n = queries.counts(Workspace(ws_path))["recordings"]
        except Exception:  # noqa: BLE001 - not created yet, or the writer holds it
            n = 0
    return n
