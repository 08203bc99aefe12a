"""What qualification reads: plain records, filled from a workspace (``workspace.py``) or built by hand.

The requirements are pure functions of these records, so a notebook user (or a test) can construct a
corpus whose verdicts are known without scanning any audio.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import jsonfile
from ..errors import InputError
from ..model import CheckResult, Layout, Record, SourceType


@dataclass(frozen=True)
class Verdict(Record):
    """A yes/no answer with its reasons; ``allowed=None`` means nobody has documented it."""

    allowed: bool | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordingStats(Record):
    """Turn-taking numbers of one recording, measured per track (index 0 = A)."""

    speech_s: tuple[float, ...] = ()  # speech time per track
    overlap_s: float = 0.0  # time when both tracks speak
    n_ipus: tuple[int, ...] = ()  # IPUs per track
    ftos_s: tuple[float, ...] = ()  # floor-transfer offsets (negative = overlap)
    gaps_s: tuple[float, ...] = ()  # silences between one speaker's end and the other's start
    pauses_s: tuple[float, ...] = ()  # silences inside one speaker's turn
    ipus_s: tuple[float, ...] = ()  # IPU durations
    spoken_s: float | None = None  # time when at least one track's IPU runs, when measured from the IPUs

    @property
    def speech_union_s(self) -> float:
        """Time when at least one track speaks: ``spoken_s`` when measured (the overlap events leave out
        overlaps shorter than ``turns.min_overlap_s``), else speech minus overlap."""
        if self.spoken_s is not None:
            return float(self.spoken_s)
        return max(0.0, float(sum(self.speech_s)) - float(self.overlap_s))

    @property
    def overlap_speech_share(self) -> float | None:
        union = self.speech_union_s
        return float(self.overlap_s) / union if union > 0 else None

    @property
    def n_transfers(self) -> int:
        return len(self.ftos_s)

    @property
    def fto_array(self) -> np.ndarray:
        return np.asarray(self.ftos_s, dtype=np.float64)

    @property
    def overlap_transfer_share(self) -> float | None:
        f = self.fto_array
        return float(np.mean(f < 0)) if f.size else None

    def floor_shares(self) -> tuple[float, ...]:
        total = float(sum(self.speech_s))
        return tuple(float(s) / total for s in self.speech_s) if total > 0 else tuple(0.0 for _ in self.speech_s)


@dataclass(frozen=True)
class RecordingInputs(Record):
    recording_id: str
    duration_s: float
    source_type: SourceType = SourceType.TWO_TRACK  # what the manifest declares
    layout: Layout = Layout.MULTICHANNEL
    n_tracks: int = 2
    speakers: tuple[str | None, ...] = ()  # speaker id per track
    tags: dict[str, str] = field(default_factory=dict)
    license: str | None = None
    checks: CheckResult | None = None  # None: never measured
    stats: RecordingStats | None = None  # None: no turn-taking measured (e.g. mono)
    consent: Verdict = field(default_factory=Verdict)  # consent of every speaker for the consent scope
    rights: Verdict = field(default_factory=Verdict)  # license + consent for the commercial purpose
    # the tracks' clock (``ingest.clock.recording_clock`` entry: "status" measured, declared, unknown or shared,
    # "reason"); empty: not given (inputs built by hand), and requirement 1 does not judge it
    clock: dict[str, Any] = field(default_factory=dict)

    @property
    def hours(self) -> float:
        return float(self.duration_s) / 3600.0

    @property
    def known_speakers(self) -> tuple[str, ...]:
        return tuple(s for s in self.speakers if s)


@dataclass(frozen=True)
class CorpusInputs(Record):
    recordings: tuple[RecordingInputs, ...]
    speakers: dict[str, dict[str, str]] = field(default_factory=dict)  # speaker id -> metadata
    name: str = "corpus"
    purpose: str = "commercial-training"

    @property
    def hours(self) -> float:
        return sum(r.hours for r in self.recordings)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))


def load_inputs(path: str | Path) -> CorpusInputs:
    """Read a CorpusInputs JSON file; a file that does not parse is an InputError naming it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read corpus inputs: {exc}") from exc
    # numbers not strict: ``save`` uses json.dumps's default, which writes NaN and Infinity; its files read back
    data: Any = jsonfile.loads(raw, path, strict_numbers=False)  # a JSONFileError names the file
    if not isinstance(data, dict) or not isinstance(data.get("recordings"), list):
        raise InputError(path, "corpus inputs must be an object with a 'recordings' list")
    try:
        corpus = CorpusInputs.from_dict(data)
    except (TypeError, ValueError, KeyError) as exc:
        raise InputError(path, f"bad corpus inputs: {exc}") from exc
    # the numbers were read leniently (NaN where a check measured nothing); the ones every requirement
    # weighs by must be real: a duration of 1E400 (inf) or NaN made every share of hours NaN, so requirements
    # whose recordings all passed failed ("nan% of hours pass") or passed with "nan h"
    for rec in corpus.recordings:
        if not (isinstance(rec.duration_s, (int, float)) and math.isfinite(rec.duration_s) and rec.duration_s >= 0):
            raise InputError(path, f"recording {rec.recording_id!r}: duration_s {rec.duration_s!r} is not a "
                                   "duration (a finite number of seconds, 0 or more)")
    return corpus
