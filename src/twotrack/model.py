"""The shared vocabulary of twotrack: every stage speaks these types.

Conventions, stated once:
- Times are seconds (float) at the edges; inside the hot paths they are integer indices of 10 ms
  frames. ``FRAMES`` is the single converter between the two.
- Frame ``i`` covers ``[i * hop, (i + 1) * hop)``; its centre is ``(i + 0.5) * hop``.
- A ``Segment`` is half-open ``[start, end)``.
- Tracks are numbered from 0; track 0 is "A", track 1 is "B" (``track_name``).
- Every record is a frozen dataclass with ``to_dict``/``from_dict`` that round-trips through JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

#: Two times closer than this are the same time (1 microsecond).
TIME_PRECISION_S = 1e-6


# --------------------------------------------------------------------------------------------
# Serialisation: one generic implementation for every record below.
# --------------------------------------------------------------------------------------------


def _to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; None reads back as "not measured"
    return value


def _from_jsonable(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        for candidate in non_none:
            try:
                return _from_jsonable(candidate, value)
            except (TypeError, ValueError, KeyError):
                continue
        raise ValueError(f"cannot read {value!r} as {tp}")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_jsonable(args[0], v) for v in value)
        return tuple(_from_jsonable(a, v) for a, v in zip(args, value))
    if origin is list:
        return [_from_jsonable(args[0], v) for v in value]
    if origin is dict:
        return {k: _from_jsonable(args[1], v) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp.from_dict(value)
    if tp is float:
        return float(value)
    if tp is int:
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"not an integer: {value!r}")
        return int(value)
    return value


class Record:
    """Mixin: JSON-safe ``to_dict`` / ``from_dict`` for frozen dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        kwargs = {}
        for name, tp in _field_types(cls):
            if name in data:
                kwargs[name] = _from_jsonable(tp, data[name])
        return cls(**kwargs)


#: (field name, resolved type) per record class. ``typing.get_type_hints`` re-evaluates every
#: string annotation on each call (milliseconds for a Recording), which a scan, a rescan's plan or
#: a workspace read paid once per stored record.
_FIELD_TYPES: dict[type, tuple[tuple[str, Any], ...]] = {}


def _field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    got = _FIELD_TYPES.get(cls)
    if got is None:
        hints = typing.get_type_hints(cls)
        got = tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        _FIELD_TYPES[cls] = got
    return got


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameGrid:
    """The one place where seconds and frame indices convert (10 ms hop by default).

    >>> FRAMES.to_frame(0.125)
    12
    >>> FRAMES.to_seconds(12)
    0.12
    """

    hop_s: float = 0.010

    @property
    def rate(self) -> float:
        return 1.0 / self.hop_s

    def to_frame(self, t: float) -> int:
        """Index of the frame that contains time ``t`` (floor, robust to float noise)."""
        return int(math.floor(t / self.hop_s + 1e-6))

    def to_frames(self, t: np.ndarray) -> np.ndarray:
        return np.floor(np.asarray(t, dtype=np.float64) / self.hop_s + 1e-6).astype(np.int64)

    def boundary(self, t: float) -> int:
        """Nearest frame boundary to ``t``: where a segment edge at ``t`` lands on the grid."""
        return int(round(t / self.hop_s))

    def boundaries(self, t: np.ndarray) -> np.ndarray:
        """``boundary`` of every time in an array (int64; halves round to even, as ``round`` does)."""
        return np.rint(np.asarray(t, dtype=np.float64) / self.hop_s).astype(np.int64)

    def to_seconds(self, i: int | np.ndarray) -> float | np.ndarray:
        out = np.asarray(i, dtype=np.float64) * self.hop_s
        return float(out) if out.ndim == 0 else out

    def centre(self, i: int | np.ndarray) -> float | np.ndarray:
        out = (np.asarray(i, dtype=np.float64) + 0.5) * self.hop_s
        return float(out) if out.ndim == 0 else out

    def n_frames(self, duration_s: float) -> int:
        return int(math.ceil(duration_s / self.hop_s - 1e-6))


FRAMES = FrameGrid()


@dataclass(frozen=True, order=True)
class Segment(Record):
    """A half-open time interval ``[start, end)`` in seconds, immutable, with set algebra.

    >>> Segment(1, 3) & Segment(2, 5)
    Segment(start=2.0, end=3.0)
    >>> Segment(1, 2) ^ Segment(3, 4)
    Segment(start=2.0, end=3.0)
    >>> 2.5 in Segment(2, 3)
    True
    """

    start: float
    end: float

    def __post_init__(self):
        object.__setattr__(self, "start", float(self.start))
        object.__setattr__(self, "end", float(self.end))
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"segment bounds must be finite: {self.start}, {self.end}")

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    def __bool__(self) -> bool:
        return self.end - self.start > TIME_PRECISION_S

    def __and__(self, other: Segment) -> Segment:
        """Intersection (empty segment when disjoint)."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Segment(start, max(start, end))

    def __or__(self, other: Segment) -> Segment:
        """Smallest segment that holds both."""
        return Segment(min(self.start, other.start), max(self.end, other.end))

    def __xor__(self, other: Segment) -> Segment:
        """The gap between two disjoint segments (empty when they touch or overlap)."""
        start, end = min(self.end, other.end), max(self.start, other.start)
        return Segment(start, max(start, end))

    def __contains__(self, item: float | Segment) -> bool:
        if isinstance(item, Segment):
            return self.start <= item.start + TIME_PRECISION_S and item.end <= self.end + TIME_PRECISION_S
        return self.start <= item < self.end

    def overlaps(self, other: Segment) -> bool:
        return bool(self & other)

    def to_frames(self, grid: FrameGrid = FRAMES) -> tuple[int, int]:
        """Frame index range ``[first, stop)`` covered by this segment (edges to the nearest boundary)."""
        return grid.boundary(self.start), grid.boundary(self.end)


# --------------------------------------------------------------------------------------------
# Sources and recordings
# --------------------------------------------------------------------------------------------


class SourceType(str, enum.Enum):
    TWO_TRACK = "two-track"
    MONO = "mono"
    SYNTHETIC = "synthetic"
    COMMERCIAL_TWO_TRACK = "commercial-two-track"
    MULTIPARTY = "multiparty"  # close-talk channels of a meeting (more than two speakers): not dyadic


class Layout(str, enum.Enum):
    """How the tracks of a recording are stored."""

    MULTICHANNEL = "multichannel"  # one file, one channel per track
    PAIRED = "paired"  # one file per track
    MONO = "mono"  # one file, one channel, several speakers mixed


TRACK_NAMES = "ABCDEFGH"
#: Speaker ids that mean "we do not know who this is" (a manifest cell, a ledger id).
UNKNOWN_SPEAKER_IDS = frozenset({"", "unknown", "none", "null", "?", "n/a", "na"})


def is_unknown_speaker(speaker: str | None) -> bool:
    return speaker is None or str(speaker).strip().lower() in UNKNOWN_SPEAKER_IDS


#: The manifest column naming each track's speaker: ``speaker_a`` on track A (channel 0) ... ``speaker_h``.
SPEAKER_COLUMNS = tuple(f"speaker_{name.lower()}" for name in TRACK_NAMES)


#: The reason a transcript line's aligned words start with when its text was judged not to be what was said
#: on its span (words stage, ``words.textfit``); stored in ``line_fits.reason``.
TEXT_UNFIT = "text does not fit its audio"
#: ... and the reason of a line the forced alignment found no path through (not even with wide beams).
TEXT_NOT_ALIGNED = "not aligned: no path through its text"


def track_name(index: int) -> str:
    return TRACK_NAMES[index] if 0 <= index < len(TRACK_NAMES) else str(index)


def track_index(name: str | int) -> int:
    """``A``/``1``/``ch1`` -> 0, ``B``/``2`` -> 1 (CTM and RTTM channel conventions)."""
    text = str(name).strip().upper()
    if text.startswith("CH"):
        text = text[2:]
    if text in TRACK_NAMES:
        return TRACK_NAMES.index(text)
    if text.isdigit() and int(text) >= 1:
        return int(text) - 1
    raise ValueError(f"unknown track name {name!r} (expected A/B or 1/2)")


@dataclass(frozen=True)
class AudioInfo(Record):
    """What a header-only probe of one audio file found (no payload decoded)."""

    path: str
    format: str  # container: WAV, FLAC, OGG, MP3, SPHERE, ...
    codec: str  # PCM_16, ULAW, ALAW, FLOAT, shorten-pcm, shorten-ulaw, VORBIS, OPUS, MPEG_LAYER_III, ...
    channels: int
    sample_rate: int
    n_samples: int  # per channel
    duration_s: float
    repairs: tuple[str, ...] = ()  # header quirks fixed while reading, in words
    header: dict[str, Any] = field(default_factory=dict)  # raw header fields worth keeping (SPHERE)


@dataclass(frozen=True)
class TrackSource(Record):
    """Where one track's audio lives: a file and a channel inside it."""

    path: str
    channel: int = 0
    sha256: str | None = None


@dataclass(frozen=True)
class Speaker(Record):
    speaker_id: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClockDeclaration(Record):
    """Track B's clock against track A's, as a manifest row states it (columns ``b_offset_s``, ``b_drift_ppm``,
    ``clock_source``): a sample at time t on A's clock is at ``offset_s + t * (1 + drift_ppm * 1e-6)`` in B's
    file, the convention of ``CheckResult.offset_ms``/``drift_ppm``. ``source`` is ``"declared"`` (the
    manifest's author says so) or ``"measured"`` (the tool that wrote the row measured it, e.g. twotrack
    capture). ``ingest.clock.recording_clock`` decides what a recording's clock is from this and the checks."""

    offset_s: float = 0.0
    drift_ppm: float = 0.0
    source: str = "declared"


@dataclass(frozen=True)
class Recording(Record):
    """One conversation: its tracks (in order A, B, ...) and what the manifest says of it."""

    recording_id: str
    tracks: tuple[TrackSource, ...]
    layout: Layout
    speakers: tuple[str | None, ...] = ()  # speaker id per track (None when unknown)
    source_type: SourceType = SourceType.TWO_TRACK
    license: str | None = None  # SPDX expression
    tags: dict[str, str] = field(default_factory=dict)
    transcript: str | None = None  # path to gold word/segment timings
    metadata: dict[str, str] = field(default_factory=dict)
    # gold split per track (a corpus recipe): file i holds track i's words (Switchboard's A/B word
    # alignments, AMI's per-speaker words.xml); None where a track has none. ``transcript`` is then None.
    track_transcripts: tuple[str | None, ...] = ()
    clock: ClockDeclaration | None = None  # B's clock as the manifest declares it (paired files); None: not declared

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        # Fields added later with their empty default are left out, so the JSON (and every key hashing it)
        # of a recording that does not use them stays as it was before they existed.
        if d.get("clock") is None:
            d.pop("clock", None)
        if not d.get("track_transcripts"):
            d.pop("track_transcripts", None)
        return d

    @property
    def n_tracks(self) -> int:
        return len(self.tracks)

    @property
    def is_mono(self) -> bool:
        return self.layout is Layout.MONO

    @property
    def source_paths(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.tracks:
            seen.setdefault(t.path, None)
        return tuple(seen)


# --------------------------------------------------------------------------------------------
# Annotations (gold timings)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word(Record):
    """A timed token (word or segment text) on one track."""

    recording_id: str
    track: int
    start: float
    end: float
    text: str = ""
    speaker: str | None = None
    probability: float | None = None  # recogniser confidence (words stage); None for gold words

    @property
    def segment(self) -> Segment:
        return Segment(self.start, self.end)


# --------------------------------------------------------------------------------------------
# Voice activity and turn-taking events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackActivity(Record):
    """Speech segments of one track, as found by a detector."""

    track: int
    segments: tuple[Segment, ...]
    detector: str = ""

    @property
    def speech_s(self) -> float:
        return sum(s.duration for s in self.segments)


class EventKind(str, enum.Enum):
    IPU = "ipu"
    TURN = "turn"
    PAUSE = "pause"  # silence inside one speaker's turn
    GAP = "gap"  # silence between one speaker's end and the other's start
    OVERLAP_BETWEEN = "overlap-between"  # both speak and the floor changes
    OVERLAP_WITHIN = "overlap-within"  # both speak and the floor does not change
    BACKCHANNEL = "backchannel"
    INTERRUPTION = "interruption"
    FLOOR_TRANSFER = "floor-transfer"


@dataclass(frozen=True)
class Event(Record):
    """One turn-taking event. ``track`` is the speaker it belongs to (the one who takes the floor for
    transfers, gaps and between-overlaps; the backchanneller for backchannels), or None when it
    belongs to both. ``value`` carries the event's number where it has one (FTO in seconds)."""

    kind: EventKind
    start: float
    end: float
    track: int | None = None
    from_track: int | None = None
    value: float | None = None

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


class Isolation(str, enum.Enum):
    ISOLATED = "isolated"
    LEAKY = "leaky"
    NOT_ISOLATED = "not-isolated"
    MONO = "mono"
    UNKNOWN = "unknown"  # could not judge; reasons say why


@dataclass(frozen=True)
class TrackQuality(Record):
    track: int
    clipping_share: float | None = None
    dc_offset: float | None = None
    effective_bandwidth_hz: float | None = None
    snr_db: float | None = None
    speech_share: float | None = None
    digital_silence: bool = False
    dead: bool = False  # no speech of its own (digital silence, noise only, or only the other's bleed)


@dataclass(frozen=True)
class CheckResult(Record):
    """The source-isolation and quality verdict of one recording, with the numbers behind it."""

    isolation: Isolation
    bleed_db: float | None = None  # stronger direction; None when none is detected
    bleed_lag_ms: float | None = None
    bleed_direction: str | None = None  # "A->B" means A's speech is heard on B
    offset_ms: float | None = None
    drift_ppm: float | None = None
    duplicate_channels: bool = False
    reasons: tuple[str, ...] = ()
    tracks: tuple[TrackQuality, ...] = ()
    codec: str | None = None
    sample_rate: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    # how the channels relate when one is (partly) a copy of the other: "identical", "inverted",
    # "scaled-copy", "inverted-scaled-copy", "near-copy", "mix" (one side holds both speakers); else None
    channel_relation: str | None = None


# --------------------------------------------------------------------------------------------
# Results of one recording's scan, and errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorRecord(Record):
    """A failure that stopped one recording (or one stage of it), never the corpus."""

    path: str
    problem: str
    stage: str = "ingest"
    recording_id: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class RecordingResult(Record):
    """Everything the per-recording stages produce for one recording."""

    recording: Recording
    duration_s: float
    sample_rate: int
    checks: CheckResult | None = None
    activity: tuple[TrackActivity, ...] = ()
    events: tuple[Event, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()

    SCHEMA: ClassVar[int] = 1
