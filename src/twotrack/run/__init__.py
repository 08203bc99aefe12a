"""The runner: the per-recording pipeline, executors that schedule it, progress, and the scan.

The per-recording pipeline (``run.pipeline``: ``run_stages``, ``process_recording``) is not re-exported
here: importing it loads every stage's numeric libraries, which the scan's main process never needs
(workers import it, ``run/worker.py``). ``scan`` and ``ScanSummary`` (``run/scanning.py``) load on first
use: they bring the workspace (DuckDB, pyarrow), which a worker never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .executors import Executor, LocalExecutor, SerialExecutor, WorkerCrashed, make_executor
from .keys import STAGE_SECTIONS, STAGE_VERSION, stage_keys, unavailable_stages
from .progress import NullProgress, PlainProgress, RichProgress, ScanProgress, make_progress
from .reuse import Reuse

__all__ = [
    "Executor", "LocalExecutor", "SerialExecutor", "WorkerCrashed", "make_executor",
    "Reuse",
    "ScanProgress", "NullProgress", "PlainProgress", "RichProgress", "make_progress",
    "ScanSummary", "scan", "stage_keys", "unavailable_stages", "STAGE_SECTIONS", "STAGE_VERSION",
]


if TYPE_CHECKING:
    from .scanning import ScanSummary, scan


def __getattr__(name: str):
    if name not in ("scan", "ScanSummary"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import scanning

    value = getattr(scanning, name)
    globals()[name] = value
    return value
