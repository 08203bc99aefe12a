"""The runner: the per-recording pipeline, executors that schedule it, progress, and the scan."""

from .executors import Executor, LocalExecutor, SerialExecutor, WorkerCrashed, make_executor
from .pipeline import Reuse, StagesOutput, process_recording, run_stages
from .progress import NullProgress, PlainProgress, RichProgress, ScanProgress, make_progress
from .scan import ScanSummary, scan
from .stages import STAGE_SECTIONS, STAGE_VERSION, stage_keys, unavailable_stages

__all__ = [
    "Executor", "LocalExecutor", "SerialExecutor", "WorkerCrashed", "make_executor",
    "Reuse", "StagesOutput", "process_recording", "run_stages",
    "ScanProgress", "NullProgress", "PlainProgress", "RichProgress", "make_progress",
    "ScanSummary", "scan", "stage_keys", "unavailable_stages", "STAGE_SECTIONS", "STAGE_VERSION",
]
