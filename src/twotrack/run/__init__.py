"""The runner: the per-recording pipeline, executors that schedule it, progress, and the scan.

The per-recording pipeline (``run.pipeline``: ``run_stages``, ``process_recording``) is not re-exported
here: importing it loads every stage's numeric libraries, which the scan's main process never needs
(workers import it, ``run/worker.py``)."""

from .executors import Executor, LocalExecutor, SerialExecutor, WorkerCrashed, make_executor
from .keys import STAGE_SECTIONS, STAGE_VERSION, stage_keys, unavailable_stages
from .progress import NullProgress, PlainProgress, RichProgress, ScanProgress, make_progress
from .reuse import Reuse
from .scan import ScanSummary, scan

__all__ = [
    "Executor", "LocalExecutor", "SerialExecutor", "WorkerCrashed", "make_executor",
    "Reuse",
    "ScanProgress", "NullProgress", "PlainProgress", "RichProgress", "make_progress",
    "ScanSummary", "scan", "stage_keys", "unavailable_stages", "STAGE_SECTIONS", "STAGE_VERSION",
]

