"""The per-recording stages, their keys, and the adapters that call each stage's library.

The stages form one chain, ``decode -> checks -> activity -> events``, with ``words`` a branch after
activity; each stage's key hashes its own config section, its code version, and the key of the stage
it reads (``UPSTREAM``: activity reads the bleed estimate of checks; events and words read activity).
So a changed VAD threshold changes the keys of activity, events and words, not of checks, and a rerun
recomputes exactly those; a changed words setting recomputes words alone.

The words stage is opt-in (``words.enabled``, ``scan --words``). Switched off, it is never planned on
its own (a workspace scanned before words existed gets no new jobs, and no other stage's key moves);
when activity reruns it is recorded as ``skipped`` and its stale rows go.

Every stage's library ships with twotrack, so no stage is *unavailable* (``unavailable_stages`` is
empty). The notion stays in the keys and the scan summary: keys hash ``"available": true`` for each
stage, as they did when stages landed one by one, so workspaces scanned then are not recomputed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activity import detect_stream, to_activity
from ..activity.echo import describe as describe_echoes
from ..checks import run_checks_blocks
from ..checks.stream import first_pass
from ..config import Config
from ..errors import ConfigError, InputError
from ..ingest.clock import ClockFix, recording_clock
from ..ingest.tracks import choose_analysis_rate, iter_track_blocks, source_infos
from ..model import FRAMES, AudioInfo, CheckResult, Event, Layout, Recording, TrackActivity
from ..timeline import segments_to_mask
from ..turns import extract_events
from ..usage import speaking_pair as usage_pair, speech_per_track
from ..words import transcribe_recording_blocks as transcribe_words

# ---------------------------------------------------------------------------------------------
# Adapters: one per stage, each a plain function over arrays and config
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """A decoded recording as a block source, not an array: ``blocks()`` reads every track again from
    the start at ``sample_rate``, float32 (n_tracks, m) blocks of 8 s, so no stage holds the whole
    recording (a 6-hour stereo file is 1.4 GB of float32 at 8 kHz; reading it again costs far less)."""

    recording: Recording
    infos: Mapping[str, AudioInfo]
    sample_rate: int
    duration_s: float
    n_tracks: int
    codec: str | None
    #: the checks' first pass, made while decoding (``decode_recording(with_checks=True)``), or None
    checks_pass: Any = field(default=None, compare=False, repr=False)
    #: (path, problem) of what the read repaired (samples a float file holds as NaN or infinity: silence)
    repairs: tuple[tuple[str, str], ...] = ()

    def blocks(self, clock: ClockFix | None = None) -> Iterator[np.ndarray]:
        """The recording from the start (``clock``: later tracks re-timed onto A's clock as they stream).
        The files' stored checksums are not summed again: ``decode_recording``'s read verified them (a
        mismatch fails the recording there), and a recording is read three to five times more."""
        return iter_track_blocks(self.recording, self.sample_rate, infos=dict(self.infos), clock=clock,
                                 verify=False)


def decode_recording(recording, config: Config, *, with_checks: bool = False) -> Decoded:
    """Read every track at the analysis rate (the lowest of ``ingest.analysis_rates`` that fits) once,
    in blocks: a file that cannot be decoded fails here, and the duration is what the decoder gives.
    ``with_checks``: make the checks' first pass (per-frame power, clipping, pair sums) on this same
    read, so the checks stage does not decode the recording once more for it."""
    infos = source_infos(recording)
    rate = choose_analysis_rate([i.sample_rate for i in infos.values()], config.ingest.analysis_rates)
    codecs = sorted({i.codec for i in infos.values() if i.codec})
    codec = "+".join(codecs) or None
    n = 0
    repairs: list[tuple[str, str]] = []

    def counted():
        nonlocal n
        for block in iter_track_blocks(recording, rate, infos=infos, repairs=repairs):
            n += block.shape[1]
            yield block

    stats = None
    if with_checks:
        hint = max(int(i.n_samples * rate // max(i.sample_rate, 1)) for i in infos.values()) + 1
        stats = first_pass(counted(), rate, codec, config.checks, hint)
    else:
        for _ in counted():
            pass
    return Decoded(recording, infos, int(rate), n / rate, recording.n_tracks, codec, stats, tuple(repairs))


def check_recording(decoded: Decoded, recording, config: Config) -> CheckResult:
    # No activity input: checks must not depend on VAD settings (their key does not include them).
    return run_checks_blocks(decoded.blocks, decoded.sample_rate, codec=decoded.codec, layout=recording.layout,
                             activity=None, cfg=config.checks,
                             n_samples=int(round(decoded.duration_s * decoded.sample_rate)),
                             stats=decoded.checks_pass)


def clock_on_a(decoded: Decoded, recording, checks_result: CheckResult | None):
    """The clock decision (``ingest.clock.recording_clock``) that puts the tracks on A's clock for every
    stage reading audio; a declared clock the measurement contradicts is B's file's ``InputError``."""
    clock = recording_clock(recording, checks_result, decoded.sample_rate, decoded.duration_s)
    if clock.contradiction:
        raise InputError(recording.tracks[min(1, recording.n_tracks - 1)].path, clock.contradiction)
    return clock


def detect_activity(decoded: Decoded, recording, config: Config, checks_result: CheckResult | None):
    """-> (tuple[TrackActivity], per-frame speech probabilities float32 (n_tracks, n_frames), a note
    when paired tracks were re-timed onto track A's clock or a track carries another's late echo; both
    outputs are on A's clock). Raises
    ``InputError`` when a declared clock contradicts the measured one (``ingest.clock.align_recording``)."""
    bleed = None
    if checks_result is not None and checks_result.bleed_db is not None:
        bleed = (checks_result.bleed_db, checks_result.bleed_lag_ms)
    # the clock decision of ingest.clock.align_recording, applied as the blocks stream
    clock = clock_on_a(decoded, recording, checks_result)
    frames = detect_stream(decoded.blocks(clock=clock.fix), decoded.sample_rate, config.activity, bleed,
                           FRAMES.n_frames(decoded.duration_s), reread=lambda: decoded.blocks(clock=clock.fix))
    note = clock.fix.note() if clock.fix is not None else None
    if note and clock.status != "measured":
        note += f" ({clock.status})"
    echoes = describe_echoes([e for f in frames for e in f.echoes])
    note = "; ".join(n for n in (note, echoes) if n) or None
    result = tuple(to_activity(frames, detector=config.activity.detector))
    probs = np.stack([f.prob for f in frames]) if frames else None
    return result, probs, note


def transcribe_recording(decoded: Decoded, recording, config: Config, checks_result: CheckResult | None,
                         activity_result: tuple[TrackActivity, ...]):
    """The words stage: each track's own speech recognised (or, when the manifest's transcript is text
    without word times, that text aligned), on A's clock -> ``words.WordsResult`` with ``source``."""
    # The same samples detect_activity reads: the decoded tracks re-timed onto A's clock, streamed; the stage
    # keeps only each track's padded speech (or the transcript's utterances), so memory stays flat.
    clock = clock_on_a(decoded, recording, checks_result)
    bleed = checks_result.bleed_db if checks_result is not None else None
    try:
        return transcribe_words(decoded.blocks(clock=clock.fix), decoded.sample_rate, decoded.duration_s,
                                decoded.n_tracks, activity_result, recording, bleed, config.words,
                                reread=lambda: decoded.blocks(clock=clock.fix))
    except ConfigError as exc:  # a model that is not installed or not found: this recording's named error
        raise InputError(config.words.model, str(exc)) from None


def speaking_pair(activity_result: tuple[TrackActivity, ...] | None) -> tuple[int, int] | None:
    """The two tracks with speech when a recording has more than two tracks and exactly two of them carry
    any (a field recorder's two talkers, its other inputs unused: ``usage``), else None."""
    if not activity_result:
        return None
    return usage_pair(speech_per_track(activity_result), len(activity_result))


def extract_recording_events(activity_result: tuple[TrackActivity, ...], duration_s: float,
                             config: Config) -> tuple[Event, ...]:
    """Events of the recording's two tracks; of more than two, of the two that carry speech
    (``speaking_pair``), with their own track indices."""
    n_frames = FRAMES.n_frames(duration_s)
    pair = speaking_pair(activity_result)
    chosen = sorted((a for a in activity_result if pair is None or a.track in pair), key=lambda a: a.track)
    masks = np.stack([segments_to_mask(ta.segments, n_frames) for ta in chosen])
    events = extract_events(masks, config.turns)
    if pair is None:
        return tuple(events)
    back = {0: pair[0], 1: pair[1]}
    return tuple(dataclasses.replace(e, track=None if e.track is None else back[e.track],
                                     from_track=None if e.from_track is None else back[e.from_track])
                 for e in events)


def events_not_applicable(recording, checks=None, activity_result=None) -> str | None:
    """Why turn-taking events do not apply to a recording, or None: they are defined for a dyad, two
    tracks of one speaker each (a meeting's many tracks need speaker pairs chosen first; a multichannel
    file whose other channels carry no speech, ``activity_result``, is the dyad of its two that do).
    ``checks`` (when known): two channels that are copies of each other are one mono mix, not two speakers."""
    if recording.layout is Layout.MONO or recording.n_tracks < 2:
        return f"{recording.layout.value} recording with {recording.n_tracks} track(s): events need two tracks"
    if recording.n_tracks > 2 and speaking_pair(activity_result) is None:
        talking = "" if not activity_result else (
            f", {sum(a.speech_s > 0 for a in activity_result)} of them with speech")
        return (f"{recording.layout.value} recording with {recording.n_tracks} tracks{talking}: events are defined "
                "for two tracks (a dyad); choose a pair of tracks first")
    if checks is not None and checks.duplicate_channels:
        return (f"track B is a copy of track A ({checks.channel_relation or 'duplicate'}): mono presented as "
                "two tracks; events need one speaker per track")
    return None
