"""One recording, start to end: decode at the analysis rate -> checks -> activity -> events (and words).

``run_stages`` is a pure function of the recording, the config and the stored results it may reuse:
it runs only the stages it is asked to, takes the others from ``Reuse``, and never raises. A stage
that fails becomes an ``ErrorRecord`` in the result (with the file and the problem), and the stages
that needed it are marked ``blocked``.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..config import Config
from ..errors import InputError
from ..model import ErrorRecord, Recording, RecordingResult, track_name
from ..store.rows import STAGES, StageRecord
from .reuse import Reuse
from .keys import READS_AUDIO, stage_keys, switched_off, unavailable_stages
from .stages import (
    check_recording, decode_recording, detect_activity, events_not_applicable, extract_recording_events, speaking_pair,
    transcribe_recording,
)


@dataclass(frozen=True)
class StagesOutput:
    result: RecordingResult
    stages: tuple[StageRecord, ...]  # one per stage that was run (ok, error, unavailable, blocked, ...)
    probs: np.ndarray | None = None  # per-frame speech probabilities, when the detector gives them
    words: Any = None  # words.WordsResult when the words stage ran and succeeded
    timings: dict[str, float] = field(default_factory=dict)


def _error(recording: Recording, stage: str, exc: BaseException) -> ErrorRecord:
    if isinstance(exc, InputError):
        return ErrorRecord(path=exc.path, problem=exc.problem, stage=stage, recording_id=recording.recording_id)
    # Not an input problem the reader recognised: keep the exception type and where it came from.
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    path = recording.tracks[0].path if recording.tracks else recording.recording_id
    return ErrorRecord(path=path, problem=f"internal error in {stage}: {type(exc).__name__}: {exc}{where}",
                       stage=stage, recording_id=recording.recording_id)


def run_stages(
    recording: Recording,
    config: Config,
    *,
    run: Iterable[str] = STAGES,
    reuse: Reuse | None = None,
    keys: Mapping[str, str] | None = None,
    unavailable: Mapping[str, str] | None = None,
) -> StagesOutput:
    """Run the stages named in ``run`` (the rest come from ``reuse``); never raises.

    ``keys`` are the stage keys to record (``stages.stage_keys``); ``unavailable`` maps stages whose
    library is missing to the reason (default: probed now).
    """
    run = set(run)
    reuse = reuse or Reuse()
    unavailable = unavailable_stages(config) if unavailable is None else dict(unavailable)
    keys = dict(keys) if keys is not None else stage_keys(config, unavailable)
    records: list[StageRecord] = []
    errors: list[ErrorRecord] = []
    timings: dict[str, float] = {}
    rid = recording.recording_id

    duration_s = reuse.duration_s or 0.0
    sample_rate = reuse.sample_rate or 0
    checks_result = reuse.checks
    activity_result = tuple(reuse.activity)
    events_result: tuple = ()
    probs = None
    failed: set[str] = set()

    def record(stage: str, status: str, note: str = "") -> None:
        records.append(StageRecord(stage, keys[stage], status, note, round(timings.get(stage, 0.0), 6)))

    def attempt(stage: str, fn):
        t0 = time.perf_counter()
        try:
            return fn(), None
        except Exception as exc:  # noqa: BLE001 - every failure stays this recording's
            return None, _error(recording, stage, exc)
        finally:
            timings[stage] = time.perf_counter() - t0

    decoded = None
    # A switched-off words stage reads nothing (it is only recorded as skipped).
    needs_audio = bool(run & ({"decode", *READS_AUDIO} - switched_off(config)))
    if needs_audio:
        if "decode" in unavailable:
            record("decode", "unavailable", unavailable["decode"])
            failed.add("decode")
        else:
            decoded, err = attempt("decode", lambda: decode_recording(
                recording, config, with_checks="checks" in run and "checks" not in unavailable))
            if err:
                errors.append(err)
                failed.add("decode")
                record("decode", "error", err.problem)
            else:
                duration_s, sample_rate = decoded.duration_s, decoded.sample_rate
                # a repaired read is the file's problem, told like any other, and the recording goes on
                errors.extend(ErrorRecord(path=path, problem=problem, stage="decode", recording_id=rid)
                              for path, problem in decoded.repairs)
                record("decode", "ok", "; ".join([f"{decoded.sample_rate} Hz, {decoded.n_tracks} track(s)",
                                                  *(f"{os.path.basename(path)}: {problem}" for path, problem in decoded.repairs)]))

    def blocked_by(stage: str, upstream: Iterable[str]) -> bool:
        bad = [u for u in upstream if u in failed]
        if bad:
            record(stage, "blocked", f"not run: {', '.join(bad)} failed")
            failed.add(stage)
            return True
        return False

    if "checks" in run:
        if "checks" in unavailable:
            record("checks", "unavailable", unavailable["checks"])
            checks_result = None
        elif blocked_by("checks", ["decode"]):
            checks_result = None
        else:
            checks_result, err = attempt("checks", lambda: check_recording(decoded, recording, config))
            if err:
                errors.append(err)
                record("checks", "error", err.problem)
            else:
                record("checks", "ok", checks_result.isolation.value)

    if decoded is not None and decoded.checks_pass is not None:
        decoded = replace(decoded, checks_pass=None)  # its per-frame arrays are not needed past the checks

    if "activity" in run:
        if "activity" in unavailable:
            record("activity", "unavailable", unavailable["activity"])
            activity_result = ()
            failed.add("activity")
        elif blocked_by("activity", ["decode"]):
            activity_result = ()
        else:
            # A failed check only removes the bleed estimate; activity still runs without it.
            out, err = attempt("activity", lambda: detect_activity(decoded, recording, config, checks_result))
            if err:
                errors.append(err)
                failed.add("activity")
                activity_result = ()
                record("activity", "error", err.problem)
            else:
                activity_result, probs, note = out
                speech = sum(a.speech_s for a in activity_result)
                record("activity", "ok", f"{speech:.1f} s speech" + (f"; {note}" if note else ""))
    words_result = None
    if "words" in run:
        if "words" in switched_off(config):
            record("words", "skipped", "not enabled (twotrack scan --words, or [words] enabled = true)")
        elif "words" in unavailable:
            record("words", "unavailable", unavailable["words"])
        elif not blocked_by("words", ["decode", "activity"]):
            words_result, err = attempt("words", lambda: transcribe_recording(decoded, recording, config, checks_result,
                                                                              activity_result))
            if err:
                errors.append(err)
                record("words", "error", err.problem)
            else:
                record("words", "ok", words_result.summary())
                # a transcript that cannot be read is that file's error; the recording keeps its recognised words
                errors.extend(ErrorRecord(path=path, problem=problem, stage="words", recording_id=rid)
                              for path, problem in words_result.problems)
    del decoded  # its probed sources and any cached first pass are not needed by the events

    if "events" in run:
        why_not = events_not_applicable(recording, checks_result, activity_result)
        if why_not:
            record("events", "not-applicable", why_not)
        elif "events" in unavailable:
            record("events", "unavailable", unavailable["events"])
        elif not blocked_by("events", ["activity"]):
            events_result, err = attempt("events", lambda: extract_recording_events(activity_result, duration_s, config))
            if err:
                errors.append(err)
                events_result = ()
                record("events", "error", err.problem)
            else:
                pair = speaking_pair(activity_result)
                record("events", "ok", f"{len(events_result)} events" + (
                    "" if pair is None else f" between track {track_name(pair[0])} and {track_name(pair[1])}, the two "
                    f"of {recording.n_tracks} with speech"))

    result = RecordingResult(
        recording=recording, duration_s=float(duration_s), sample_rate=int(sample_rate), checks=checks_result,
        activity=activity_result, events=events_result, errors=tuple(errors),
    )
    return StagesOutput(result=result, stages=tuple(records), probs=probs, words=words_result, timings=timings)


def process_recording(recording: Recording, config: Config | None = None) -> RecordingResult:
    """Every stage for one recording (a notebook's entry point): errors are in ``result.errors``."""
    return run_stages(recording, config or Config()).result
