"""What a scan writes (``ResultWrite`` and its records) and the workspace's rows read back as the shared vocabulary.

The writes' column batches are ``columns.py`` (pyarrow): a scan worker builds ``ResultWrite`` records and imports
neither pyarrow nor DuckDB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..model import (
    AudioInfo,
    CheckResult,
    Event,
    EventKind,
    Recording,
    RecordingResult,
    Segment,
    TrackActivity,
    Word,
)

#: Stage names in flow order; ``decode`` covers reading and resampling the audio; ``words`` (opt-in)
#: reads activity, like events.
STAGES = ("decode", "checks", "activity", "events", "words")
#: Where a stored word comes from: recognised by the words stage, or the manifest's text aligned by it
#: (``gold``: read from a transcript file with word times; exports tell which they used).
WORD_SOURCES = ("stage", "aligned", "gold")


@dataclass(frozen=True)
class StageRecord:
    """What happened to one stage of one recording in one run.

    ``status``: ``ok``; ``error`` (an ErrorRecord says why); ``unavailable`` (the stage's code is not
    installed; ``note`` says which); ``blocked`` (an upstream stage failed); ``not-applicable``
    (e.g. events of a one-track recording).
    """

    stage: str
    stage_key: str
    status: str
    note: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class SourceRecord:
    """One source file as the scan saw it: where, what content, what the header probe found."""

    path: str
    sha256: str
    size_bytes: int
    mtime_ns: int
    info: AudioInfo | None = None


@dataclass(frozen=True)
class ResultWrite:
    """One recording's results to commit: the rows of every stage in ``stages`` are replaced."""

    result: RecordingResult
    source_key: str
    status: str  # ok | partial | failed
    stages: tuple[StageRecord, ...]
    sources: tuple[SourceRecord, ...] = ()
    #: Bulk per-frame arrays to keep in Parquet: kind -> (stage_key, array (n_tracks, n_frames)).
    frames: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    #: The words stage's result (``words.WordsResult``) when it ran and succeeded; None otherwise.
    words: Any = None

    @property
    def recording_id(self) -> str:
        return self.result.recording.recording_id

    def computed(self, stage: str) -> bool:
        return any(s.stage == stage for s in self.stages)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# rows -> model
# ---------------------------------------------------------------------------------------------


def recording_from_json(text: str) -> Recording:
    return Recording.from_dict(json.loads(text))


def checks_from_json(text: str | None) -> CheckResult | None:
    return CheckResult.from_dict(json.loads(text)) if text else None


def activity_from_rows(summary: list[tuple], segments: list[tuple]) -> tuple[TrackActivity, ...]:
    """``summary``: (track, detector) rows, one per track; ``segments``: (track, start_s, end_s) rows in time order."""
    per_track: dict[int, list[Segment]] = {int(t): [] for t, _ in summary}
    for t, a, b in segments:
        per_track[int(t)].append(Segment(a, b))
    return tuple(
        TrackActivity(track=int(t), segments=tuple(per_track[int(t)]), detector=d or "") for t, d in sorted(summary)
    )


def words_from_rows(rid: str, rows: list[tuple]) -> tuple[Word, ...]:
    """Rows of (track, start_s, end_s, word, probability) in time order."""
    return tuple(Word(rid, int(t), float(a), float(b), w, probability=p) for t, a, b, w, p in rows)


class NewerResultsError(ConfigError):
    """A stored value this twotrack does not know: a newer twotrack wrote it (exit code 2, not a traceback)."""


def _event_kind(kind: str, recording_id: str) -> EventKind:
    try:
        return EventKind(kind)
    except ValueError:  # a newer events stage's kind: refused by name rather than read as something else
        raise NewerResultsError(
            f"recording {recording_id}: stored event kind {kind!r} is not one this twotrack knows "
            f"({', '.join(k.value for k in EventKind)}); a newer twotrack computed these events: read them "
            "with that version, or rescan with this one (which recomputes them)") from None


def events_from_rows(rows: list[tuple], recording_id: str = "?") -> tuple[Event, ...]:
    """Rows of (kind, start_s, end_s, track, from_track, value)."""
    return tuple(
        Event(kind=_event_kind(k, recording_id), start=a, end=b, track=t, from_track=ft, value=v)
        for k, a, b, t, ft, v in rows
    )
