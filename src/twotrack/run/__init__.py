"""The runner: the per-recording pipeline, executors that schedule it, progress, and the scan."""

from .executors import Executor, LocalExecutor, SerialExecutor, WorkerCrashed, make_executor
from .keys import STAGE_SECTIONS, STAGE_VERSION, stage_keys, unavailable_stages
from .progress import NullProgress, PlainProgress, RichProgress, ScanProgress, make_progress
from .reuse import Reuse
from .scan import ScanSummary, scan

__all__ = [
    "Executor", "LocalExecutor", "SerialExecutor", "WorkerCrashed", "make_executor",
    "Reuse", "StagesOutput", "process_recording", "run_stages",
    "ScanProgress", "NullProgress", "PlainProgress", "RichProgress", "make_progress",
    "ScanSummary", "scan", "stage_keys", "unavailable_stages", "STAGE_SECTIONS", "STAGE_VERSION",
]

#: Names served from ``pipeline`` on first use, so ``from twotrack.run import scan`` (the CLI's main
#: process) does not import every stage's numeric libraries (~0.45 s of start-up); workers import them.
_PIPELINE_NAMES = frozenset({"StagesOutput", "process_recording", "run_stages"})


def __getattr__(name: str):
    if name in _PIPELINE_NAMES:
        from . import pipeline  # function-level on purpose: see _PIPELINE_NAMES

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
