"""What an exporter is given and what it implements: the options, one recording's inputs, the format
interface, and the summary of a run (``run.run_export`` drives them)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..ingest.clock import ClockFix
from ..ingest.tracks import source_infos
from ..model import (
    SPEAKER_COLUMNS, CheckResult, ErrorRecord, Event, EventKind, Record, Recording, TrackActivity, Word, track_name,
)
from .context import Context
from .split import PiecePlan, intervals, plan_pieces, speech_intervals
from .state import Output, State


@dataclass(frozen=True)
class ExportOptions(Record):
    """What the user chooses. ``None`` takes the format's default (``Exporter.defaults``)."""

    sample_rate: int | None = None  # Hz of the exported audio (moshi: 24000; others: the source's)
    max_duration_s: float | None = None  # split longer recordings at silences (0: never split)
    main_speaker: str | None = None  # moshi: a track letter, a speaker id, or both; None: the first of the pair
    other_words: bool = False  # moshi: also write the other speaker's words (as SPEAKER_OTHER)
    shard_mb: float = 256.0  # parquet: target shard size
    min_cut_silence_s: float = 0.2  # shortest silence preferred for a cut
    verify: bool = False  # on a rerun, re-hash kept files instead of trusting their size
    allow_no_text: bool = False  # also export recordings with no words at all (no gold transcript, no words stage)
    allow_unknown_clock: bool = False  # include paired recordings whose clock is unknown (each file's own clock)


#: Sample rates an export may write: below 4 kHz no speech survives (a rate given in kHz, ``--rate 16``,
#: would write 16 Hz audio); above 384 kHz no audio interface records.
MIN_RATE, MAX_RATE = 4000, 384000


def check_options(options: ExportOptions) -> None:
    """Raise ConfigError for options no export can honour (before anything is written)."""
    rate = options.sample_rate
    if rate is not None and not (MIN_RATE <= rate <= MAX_RATE):
        hint = f" (a rate in kHz? --rate {rate * 1000} is {rate} kHz)" if 0 < rate < 1000 else ""
        raise ConfigError(f"--rate {rate}: must be a sample rate in Hz between {MIN_RATE} and {MAX_RATE}{hint}")
    md = options.max_duration_s
    if md is not None and not (math.isfinite(md) and md >= 0):
        raise ConfigError(f"--max-duration {md}: must be a number of seconds >= 0 (0: never split)")
    if not (math.isfinite(options.shard_mb) and options.shard_mb > 0):
        raise ConfigError(f"--shard-mb {options.shard_mb}: must be a number > 0")
    # "" (a script's unset variable) named a speaker no recording has: every recording skipped, and a rerun
    # removed an export folder's files
    if options.main_speaker is not None and not str(options.main_speaker).strip():
        raise ConfigError(f"--main-speaker {options.main_speaker!r} (main_speaker) is empty: give a track letter, a "
                          "speaker id or both, or leave it out (the first track of the talking pair)")


@dataclass
class ExportItem:
    """One recording with everything the exporters read from the workspace."""

    recording: Recording
    stem: str  # file-name-safe id, unique in the workspace
    duration_s: float
    checks: CheckResult | None
    activity: tuple[TrackActivity, ...]
    events: tuple[Event, ...]
    words: dict[int, list[Word]] | None  # words per track (``context.GoldWords.text_words``); None: no text
    verdict: Any  # rights.Verdict for the export's purpose
    key: str = ""
    notes: list[str] = field(default_factory=list)
    clock: ClockFix | None = None  # tracks after A re-timed onto A's clock by this (paired files); None: as stored
    clock_entry: dict[str, Any] = field(default_factory=dict)  # what export.json says of the clock (``clock_of``)
    unfit_lines: int = 0  # transcript lines left out of ``words``: the words stage found their text not what was said
    words_source: str | None = None  # where ``words`` come from: gold, aligned (transcript text), stage; None
    channels: dict[str, Any] | None = None  # a view of the used tracks: export.json's ``channels`` (source tracks)

    def track_names(self) -> list[str]:
        """Each track's letter in the source recording (a view of C and D: ``["C", "D"]``)."""
        if self.channels:
            return list(self.channels["source_tracks"])
        return [track_name(i) for i in range(self.recording.n_tracks)]

    @property
    def recording_id(self) -> str:
        return self.recording.recording_id

    def ipus(self) -> dict[int, np.ndarray]:
        """IPUs per track as (n, 2) seconds; the activity segments when the events stage did not run."""
        out: dict[int, list[tuple[float, float]]] = {t: [] for t in range(self.recording.n_tracks)}
        have_ipus = False
        for e in self.events:
            if e.kind is EventKind.IPU and e.track is not None:
                out.setdefault(e.track, []).append((e.start, e.end))
                have_ipus = True
        if not have_ipus:
            for a in self.activity:
                out[a.track] = [(s.start, s.end) for s in a.segments]
        return {t: intervals(v) for t, v in out.items()}

    def source_rates(self) -> list[int]:
        """The tracks' sample rates at the source (what a piece says it was resampled from)."""
        return sorted({int(i.sample_rate) for i in source_infos(self.recording).values()})

    def resample_note(self, rate: int) -> str | None:
        """What the recording's notes say when its audio is written at another rate than the source's."""
        src = self.source_rates()
        if not src or src == [rate]:
            return None
        up = [r for r in src if r < rate]
        if up:
            return (f"upsampled from {'/'.join(map(str, up))} Hz to {rate} Hz: the audio holds nothing above "
                    f"{min(up) / 2000:g} kHz")
        return f"downsampled from {'/'.join(map(str, src))} Hz to {rate} Hz"

    def text(self, start_s: float, end_s: float) -> dict[str, str]:
        """Per track name, the words whose start is in ``[start_s, end_s)`` joined by spaces, as the word
        source wrote them (case and punctuation kept); empty without words."""
        out = {track_name(t): "" for t in range(self.recording.n_tracks)}
        for t, ws in (self.words or {}).items():
            out[track_name(t)] = " ".join(w.text.strip() for w in ws if start_s <= w.start < end_s and w.text.strip())
        return out

    def piece_events(self, a: float, b: float) -> list[dict[str, Any]]:
        """The turn-taking events overlapping ``[a, b)`` (a point event: inside it), clipped to it, times
        relative to ``a``, sorted by start."""
        events = []
        for e in self.events:
            if e.end > a and e.start < b or (e.start == e.end and a <= e.start < b):
                events.append({"kind": e.kind.value, "start": round(max(e.start, a) - a, 4),
                               "end": round(min(e.end, b) - a, 4),
                               "track": None if e.track is None else track_name(e.track),
                               "from_track": None if e.from_track is None else track_name(e.from_track),
                               "value": e.value})
        return sorted(events, key=lambda e: (e["start"], e["kind"]))

    def plan(self, max_s: float | None, min_silence_s: float) -> PiecePlan:
        plan = plan_pieces(self.duration_s, speech_intervals(self.ipus(), self.words), max_s,
                           min_silence_s=min_silence_s)
        for i in plan.over_long:
            a, b = plan.pieces[i]
            self.notes.append(f"piece {i} is {b - a:.1f} s (over the {max_s:g} s maximum): no silence to cut at")
        return plan


def named_speakers(rec: Recording) -> list[str]:
    """The speaker ids the manifest names for ``rec``; a mono file's (one track, the whole conversation)
    are its ``speaker_a``/``speaker_b``, which the reader keeps in metadata."""
    if rec.is_mono and not any(rec.speakers):
        return [str(rec.metadata[k]) for k in SPEAKER_COLUMNS if rec.metadata.get(k)]
    return [str(s) for s in rec.speakers if s]


def track_speakers(rec: Recording) -> list[str | None]:
    """The speaker label of each track as the exports write it (None: unknown). A mono track is
    labelled by the people named for it, joined by ``+`` when it holds several (a mix nothing separates)."""
    if rec.is_mono and not any(rec.speakers):
        return ["+".join(named_speakers(rec)) or None]
    return [s if s else None for s in rec.speakers][: rec.n_tracks] + [None] * (rec.n_tracks - len(rec.speakers))


class Exporter:
    """One format. Subclasses set ``name`` and the defaults, write one recording in ``add`` and the
    manifests in ``manifests``; formats that pack several recordings in one file override ``drop``."""

    name = ""
    version = 1
    defaults: dict[str, Any] = {}
    #: Folders (relative to the export) whose files only the exporter writes: unknown files there are
    #: leftovers of an interrupted run and are removed.
    managed_dirs: tuple[str, ...] = ()
    manifest_names: tuple[str, ...] = ()

    def __init__(self, out: Path, options: ExportOptions, ctx: Context):
        self.out = out
        self.ctx = ctx
        self.options = options
        self.resolved = self.resolve(options)
        self.state: State | None = None  # set by run_export before any writing

    def recorded(self) -> dict[str, Any]:
        """The resolved options as export.json's ``config.export`` records them (the keys read ``resolved``)."""
        return dict(self.resolved)

    def resolve(self, options: ExportOptions) -> dict[str, Any]:
        """The options that decide the output (recorded in export.json and in every key)."""
        d = options.to_dict()
        d.pop("verify", None)
        if not d.get("allow_no_text"):  # off: keys of exports made before the option existed stay the same
            d.pop("allow_no_text", None)
        # which recordings are chosen, not how one is written: in export.json's ``clock``, not in the keys
        d.pop("allow_unknown_clock", None)
        for k, v in self.defaults.items():
            if d.get(k) is None:
                d[k] = v
        if d.get("main_speaker") is None:  # "A" as recorded (and keyed) before the default became "the first"
            d["main_speaker"] = "A"
        return d

    # ---- choosing ----
    def skip_reason(self, rec: Recording, channels: dict[str, Any] | None = None) -> str | None:
        """Why ``rec`` cannot be written (None: it can). ``channels``: export.json's entry when ``rec`` is a view
        of the used tracks (``channels.channels_entry``)."""
        return None

    def key_extra(self, rec: Recording, channels: dict[str, Any] | None = None) -> Any:
        return None

    # ---- writing ----
    def add(self, item: ExportItem) -> list[Output]:
        raise NotImplementedError

    def finish(self) -> list[Output]:
        return []

    def drop(self, state: State, recording_ids: Iterable[str]) -> None:
        """Remove everything of these recordings (their own files)."""
        for rid in recording_ids:
            for rel in state.recordings.get(rid, {}).get("files", []):
                (self.out / rel).unlink(missing_ok=True)
                state.files.pop(rel, None)
            state.recordings.pop(rid, None)

    def manifests(self, state: State) -> list[dict[str, Any]]:
        return []

    def keep_unlisted(self, rel: str, state: State) -> bool:
        """An unlisted file in a managed folder that is not a leftover (e.g. a user's own annotation)."""
        return False

    def adopt(self, state: State) -> None:
        """List files others added for exported recordings (so audits and reruns remove them with it)."""

    def describe(self, state: State) -> dict[str, Any]:
        """What the Croissant card needs to know of this format (see croissant.py)."""
        return {}

    def hf_configs(self, state: State) -> list[dict[str, Any]]:
        """The ``configs`` of the README card: what ``datasets.load_dataset(folder, name)`` reads, data
        files only (see card.py)."""
        return []

    def loading(self, state: State) -> str:
        """Python lines that load this folder with its consumer's own code (the card's "How to load")."""
        return ""


@dataclass
class ExportSummary(Record):
    """What one export run did; ``to_dict`` is the JSON of ``twotrack export --json`` (docs/export.md)."""

    format: str
    out: str
    purpose: str
    ledger_head: str
    permissions: dict = field(default_factory=dict)  # the permissions table that decided (export.json's record)
    recordings: int = 0  # in the workspace
    exported: int = 0  # in the export now
    written: list[str] = field(default_factory=list)  # (re)written this run
    kept: int = 0  # unchanged, left as they were
    removed: list[str] = field(default_factory=list)  # files dropped (no longer allowed, gone or changed)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # not allowed for the purpose, with reasons
    skipped: dict[str, str] = field(default_factory=dict)  # allowed but not exportable in this format
    no_text: list[str] = field(default_factory=list)  # of the skipped: left out for having no text at all
    words_sources: dict[str, int] = field(default_factory=dict)  # source of the words written -> recordings
    unfit_lines: int = 0  # transcript lines left out of the exported text: their text does not fit their audio
    unknown_clock: dict[str, str] = field(default_factory=dict)  # allowed, left out: paired files on unknown clocks
    unknown_clock_included: list[str] = field(default_factory=list)  # with --allow-unknown-clock: taken as stored
    errors: list[ErrorRecord] = field(default_factory=list)
    pieces: int = 0
    hours: float = 0.0  # audio in the export now
    hours_written: float = 0.0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0
