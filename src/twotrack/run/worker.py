"""What travels to a worker (``Job``), what comes back (``Outcome``), and the function in between.

``scan_one`` is the module-level function every executor runs; it never raises. ``crash_outcome``
turns a job whose worker died into an outcome in the parent, so the writer records the failure.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..config import Config
from ..model import ErrorRecord, Recording, RecordingResult
from ..store.rows import ResultWrite, SourceRecord, StageRecord
from .reuse import Reuse

if TYPE_CHECKING:
    from .executors import Executor

#: Test hook: seconds each recording is held back in its worker, so the process tests (kill, Ctrl-C,
#: readers) act while a scan is midway whatever the machine's speed. Unset in normal use.
PACE_ENV = "TWOTRACK_TEST_PACE_S"

#: Statuses that count as a finished stage (``skipped``: an opt-in stage the config did not ask for).
DONE_OK = frozenset({"ok", "not-applicable", "skipped"})


@dataclass(frozen=True)
class Job:
    recording: Recording
    config: Config
    source_key: str
    run: tuple[str, ...]  # stages to compute, in order
    keys: dict[str, str]
    unavailable: dict[str, str]
    reuse: Reuse = Reuse()
    stored_status: dict[str, str] = field(default_factory=dict)  # status of the stages not rerun
    sources: tuple[SourceRecord, ...] = ()
    expected_s: float = 0.0  # duration from the header probe, for progress
    keep_probs: bool = False


@dataclass(frozen=True)
class Outcome:
    write: ResultWrite
    audio_s: float
    seconds: float
    pid: int

    @property
    def failed(self) -> bool:
        return self.write.status == "failed"


def recording_status(statuses: dict[str, str]) -> str:
    """``failed`` when the audio could not be read; ``partial`` when a stage did not finish; else ``ok``."""
    if statuses.get("decode") not in (None, "ok"):
        return "failed"
    if any(s not in DONE_OK for s in statuses.values()):
        return "partial"
    return "ok"


def quantize_probs(probs: np.ndarray) -> np.ndarray:
    """Speech probabilities in [0, 1] -> uint8 (steps of 1/255): a quarter of the bytes of float32."""
    return np.clip(np.rint(np.asarray(probs, np.float32) * 255.0), 0, 255).astype(np.uint8)


def warm_up() -> None:
    """Run in a prestarted worker before its first job arrives: the pipeline's imports (~0.5 s: every
    stage's numeric libraries) then overlap the parent's discovery and planning."""
    from . import pipeline  # noqa: F401


def prestart_scan_worker(executor: Executor) -> None:
    """Ask ``executor`` to start a scan's first worker now (``Executor.prestart``: a no-op where workers
    are not started ahead), importing the pipeline while the caller loads its config and workspace,
    discovers and plans. Asking again is a no-op; ``discard_prestarted`` or ``close`` stops it unused."""
    executor.prestart(scan_one, warm_up)


def scan_one(job: Job) -> Outcome:
    t0 = time.perf_counter()
    pace = float(os.environ.get(PACE_ENV) or 0.0)
    if pace > 0:
        time.sleep(pace)
    # Imported here, not at the top: the pipeline pulls every stage's numeric libraries, which the
    # scan's main process (it builds Jobs and reads Outcomes) never needs; a worker pays for them once.
    from .pipeline import run_stages

    out = run_stages(job.recording, job.config, run=job.run, reuse=job.reuse, keys=job.keys,
                     unavailable=job.unavailable)
    statuses = dict(job.stored_status)
    statuses.update({s.stage: s.status for s in out.stages})
    frames = {}
    if job.keep_probs and out.probs is not None:
        frames["speech_prob"] = (job.keys["activity"], quantize_probs(out.probs))
    write = ResultWrite(result=out.result, source_key=job.source_key, status=recording_status(statuses),
                        stages=out.stages, sources=job.sources, frames=frames, words=out.words)
    return Outcome(write=write, audio_s=out.result.duration_s or job.expected_s,
                   seconds=time.perf_counter() - t0, pid=os.getpid())


def failed_outcome(job: Job, problem: str, stage: str = "worker", path: str | None = None) -> Outcome:
    """An outcome for a job that produced nothing: every stage it was to run is an error."""
    rec = job.recording
    path = path or (rec.tracks[0].path if rec.tracks else rec.recording_id)
    error = ErrorRecord(path=path, problem=problem, stage=stage, recording_id=rec.recording_id)
    stages = tuple(StageRecord(s, job.keys[s], "error", problem) for s in job.run)
    result = RecordingResult(recording=rec, duration_s=job.reuse.duration_s or 0.0,
                             sample_rate=job.reuse.sample_rate or 0, errors=(error,))
    write = ResultWrite(result=result, source_key=job.source_key, status="failed", stages=stages,
                        sources=job.sources)
    return Outcome(write=write, audio_s=0.0, seconds=0.0, pid=os.getpid())


def crash_outcome(job: Job, reason: str) -> Outcome:
    return failed_outcome(job, reason, stage="worker")
