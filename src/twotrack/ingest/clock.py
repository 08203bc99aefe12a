"""Put every track on track A's clock before voice activity is detected.

Paired per-speaker files from separate devices start at different moments and their clocks drift.
When the checks measured that (``CheckResult.offset_ms``/``drift_ppm``, defined by
``t_B = offset + t_A * (1 + drift)``), or the manifest declares it (``Recording.clock``: columns ``b_offset_s``,
``b_drift_ppm``), the later tracks are resampled and shifted onto A's timeline, so
that activity, the crosstalk rule (which compares levels at small lags) and the turn-taking events all
see one clock. One file with one channel per track shares one clock, so nothing moves there.
``recording_clock`` (over ``decide_clock``) is the one rule every reader asks: measured, declared, unknown
(fails requirement 1, left out of exports) or shared; docs/checks.md "Paired clocks" has the table.
The track reader applies a ``ClockFix`` as it streams (``ingest.tracks.iter_track_blocks(clock=)``);
the scan, which measures the clock only after decoding, applies it to the decoded array (``align_tracks``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import soxr

from ..errors import InputError
from ..model import CheckResult, ClockDeclaration, Layout
from .blocks import ColumnQueue


def to_reference_clock(track: np.ndarray, sample_rate: int, offset_s: float, drift_ppm: float) -> np.ndarray:
    """One track re-timed onto the reference clock, same length as the input (zeros where it has no audio).

    Sample k of the track holds reference time ``(k / sr - offset) / (1 + drift)``: the track samples the
    reference timeline at ``sr * (1 + drift)`` Hz, starting at ``-offset / (1 + drift)``.
    """
    scale = 1.0 + drift_ppm * 1e-6
    retimed = soxr.resample(track, sample_rate * scale, sample_rate, quality="HQ") if drift_ppm else track
    shift = int(round(offset_s / scale * sample_rate))  # reference sample n is retimed sample n + shift
    out = np.zeros(len(track), dtype=track.dtype)
    src_start, dst_start = max(shift, 0), max(-shift, 0)
    n = max(0, min(len(retimed) - src_start, len(out) - dst_start))
    out[dst_start:dst_start + n] = retimed[src_start:src_start + n]
    return out


@dataclass(frozen=True)
class ClockFix:
    """What ``align_tracks`` does to a recording: every track after A re-timed by this offset and drift
    (``t_B = offset + t_A * (1 + drift)``). The one type that carries a clock correction: the track
    reader (``ingest.tracks``), the exports and the explorer all take it; ``clock_fix`` makes it from the
    checks' measurement."""

    offset_ms: float
    drift_ppm: float

    @property
    def offset_s(self) -> float:
        return self.offset_ms / 1000.0

    @property
    def scale(self) -> float:
        return 1.0 + self.drift_ppm * 1e-6

    def note(self) -> str:
        return (f"tracks after A re-timed onto A's clock: offset {self.offset_ms:+.1f} ms, "
                f"drift {self.drift_ppm:+.1f} ppm")

    def to_dict(self) -> dict[str, float]:
        return {"offset_ms": round(self.offset_ms, 3), "drift_ppm": round(self.drift_ppm, 3)}


#: A declared clock that the checks' measurement contradicts by more than this (ms, anywhere in the
#: recording) is an error: one of the two is wrong, and neither can be trusted to put B on A's clock.
CONTRADICTION_MS = 20.0
#: What ``recording_clock`` can say of a recording's clock (``RecordingClock.status``).
CLOCK_STATUSES = ("measured", "declared", "unknown", "shared")
#: How to put an unknown clock right (the reason requirement 1 and the exports give).
FIX_UNKNOWN = ("declare B's clock in the manifest (columns b_offset_s and b_drift_ppm: a time t on A's clock is "
               "b_offset_s + t * (1 + b_drift_ppm * 1e-6) in B's file), or record both tracks with a shared "
               "reference (a signal both hear) so the checks can measure it")


@dataclass(frozen=True)
class RecordingClock:
    """What puts a recording's tracks on one clock, decided once (``recording_clock``) for every reader.

    ``status``: ``measured`` (the checks measured B against A from a signal both tracks share, or the tool
    that wrote the manifest row measured it: twotrack capture), ``declared`` (the manifest states it and
    nothing measured it), ``unknown`` (paired files that nothing measured or declared, or a declaration the
    measurement contradicts), ``shared`` (one source file: its channels share its clock).
    ``fix``: the re-timing of the tracks after A (None: nothing moves). ``entry``: what export.json, the
    explorer's API and ``show --json`` say of it. ``contradiction``: the error text when a declaration and
    a measurement disagree by more than ``CONTRADICTION_MS`` (the activity stage fails with it)."""

    status: str
    fix: ClockFix | None
    entry: dict[str, object]
    contradiction: str | None = None

    @property
    def unknown(self) -> bool:
        return self.status == "unknown"


def _fix(offset_ms: float, drift_ppm: float, sample_rate: int) -> ClockFix | None:
    if abs(offset_ms) / 1000.0 * sample_rate < 0.5 and abs(drift_ppm) < 1.0:
        return None  # under half a sample and 1 ppm: nothing worth moving
    return ClockFix(float(offset_ms), float(drift_ppm))


def _gap_ms(declared: ClockDeclaration, offset_ms: float, drift_ppm: float | None, duration_s: float | None) -> float:
    """Largest distance (ms) between the declared and the measured line over the recording. Without a
    measured drift the measured offset is an average over the file: it is compared at the middle."""
    d_off = declared.offset_s * 1000.0 - offset_ms
    if drift_ppm is None:
        t = (duration_s or 0.0) / 2
        return abs(d_off + t * declared.drift_ppm * 1e-3)
    d_drift = (declared.drift_ppm - drift_ppm) * 1e-3  # ms per second
    return max(abs(d_off), abs(d_off + (duration_s or 0.0) * d_drift))


def decide_clock(layout: Layout, n_tracks: int, checks: CheckResult | None, declared: ClockDeclaration | None,
                 sample_rate: int, duration_s: float | None = None) -> RecordingClock:
    """THE rule for the clock of a recording's later tracks (``recording_clock`` takes them from a Recording).

    Paired files: a measurement (``checks.offset_ms``/``drift_ppm``) wins, checked against a declaration
    when both exist (more than ``CONTRADICTION_MS`` apart: ``unknown`` with the contradiction); else the
    declaration; else ``unknown``. One file: ``shared`` (``measured`` when its row says a tool measured
    the placement of its tracks, as capture's rows do). ``fix`` is None under half a sample at
    ``sample_rate`` and 1 ppm; readers of stored results pass the recording's analysis rate (the rate the
    activity stage re-timed at), so they move exactly the recordings whose activity moved."""
    declared_entry = ({"offset_ms": round(declared.offset_s * 1000.0, 3), "drift_ppm": round(declared.drift_ppm, 3),
                       "source": declared.source} if declared is not None else None)
    if layout is not Layout.PAIRED or n_tracks < 2:
        if declared is not None and declared.source == "measured":
            return RecordingClock("measured", None, {
                "status": "measured", "by": "manifest (clock_source measured)", "retimed": False,
                "reason": "one source file whose tracks were placed on one clock when it was written "
                          "(e.g. by twotrack capture)", "declared": declared_entry})
        return RecordingClock("shared", None, {"status": "shared", "retimed": False,
                                               "reason": "one source file: the tracks share its clock"})
    measured = checks is not None and checks.offset_ms is not None
    if measured:
        off, drift = float(checks.offset_ms), checks.drift_ppm
        if declared is not None:
            gap = _gap_ms(declared, off, drift, duration_s)
            if gap > CONTRADICTION_MS:
                why = (f"declared clock contradicts the measured one by {gap:.1f} ms (> {CONTRADICTION_MS:g} ms): "
                       f"declared B offset {declared.offset_s * 1000.0:+.1f} ms, drift {declared.drift_ppm:+.2f} ppm "
                       f"(b_offset_s, b_drift_ppm); measured offset {off:+.1f} ms, drift "
                       + ("not fitted" if drift is None else f"{drift:+.2f} ppm")
                       + " by the checks; correct or remove the declaration")
                return RecordingClock("unknown", None, {
                    "status": "unknown", "retimed": False, "reason": why, "declared": declared_entry,
                    "measured": {"offset_ms": round(off, 3), "drift_ppm": None if drift is None else round(drift, 3)},
                }, contradiction=why)
        fix = _fix(off, drift or 0.0, sample_rate)
        entry: dict[str, object] = {"status": "measured", "by": "checks"}
        if fix is not None:
            entry.update({"retimed": True, "reference": "A", **fix.to_dict(), "note": fix.note()})
        else:
            entry.update({"retimed": False, "offset_ms": round(off, 3), "drift_ppm": round(drift or 0.0, 3),
                          "reason": f"measured offset {off:+.3f} ms, drift {drift or 0.0:+.2f} ppm: under half a "
                                    "sample, nothing to move"})
        if declared_entry is not None:
            entry["declared"] = declared_entry
        return RecordingClock("measured", fix, entry)
    if declared is not None:
        status = "measured" if declared.source == "measured" else "declared"
        fix = _fix(declared.offset_s * 1000.0, declared.drift_ppm, sample_rate)
        entry = {"status": status, "by": "manifest" + (" (clock_source measured)" if status == "measured" else "")}
        if fix is not None:
            entry.update({"retimed": True, "reference": "A", **fix.to_dict(), "note": fix.note()})
        else:
            entry.update({"retimed": False, **declared_entry, "reason": "declared offset under half a sample and "
                                                                        "drift under 1 ppm: nothing to move"})
        return RecordingClock(status, fix, entry)
    if checks is None:
        why = "no checks stored and no clock declared: each paired file keeps its own clock"
    else:
        why = ("no clock offset measured (the files share no signal to sync on) and none declared: each paired "
               "file keeps its own clock")
    return RecordingClock("unknown", None, {"status": "unknown", "retimed": False,
                                            "reason": f"{why}; to fix it, {FIX_UNKNOWN}"})


def recording_clock(recording, checks: CheckResult | None, sample_rate: int, duration_s: float | None = None
                    ) -> RecordingClock:
    """The clock of ``recording`` (a ``model.Recording``): ``decide_clock`` of its layout, its checks and
    its manifest declaration (``Recording.clock``). Every reader asks this: the activity stage, the
    exports, the explorer, ``show``, and requirement 1."""
    return decide_clock(recording.layout, recording.n_tracks, checks, getattr(recording, "clock", None),
                        sample_rate, duration_s)


def clock_fix(layout: Layout, checks: CheckResult | None, sample_rate: int, n_tracks: int = 2,
              declared: ClockDeclaration | None = None) -> ClockFix | None:
    """The re-timing ``decide_clock`` chooses, or None when the later tracks keep their own clock."""
    return decide_clock(layout, n_tracks, checks, declared, sample_rate).fix


def clock_status(layout: Layout, checks: CheckResult | None, sample_rate: int, n_tracks: int = 2,
                 declared: ClockDeclaration | None = None) -> tuple[ClockFix | None, dict[str, object]]:
    """``decide_clock``'s fix and entry: ``{"status", "retimed": True, "reference": "A", "offset_ms",
    "drift_ppm", "note", ...}`` or ``{"status", "retimed": False, "reason", ...}``."""
    clock = decide_clock(layout, n_tracks, checks, declared, sample_rate)
    return clock.fix, clock.entry


def apply_fix(samples: np.ndarray, sample_rate: int, fix: ClockFix | None) -> tuple[np.ndarray, str | None]:
    """-> (tracks (n_tracks, n) with every track after A re-timed by ``fix``, its note; None: unchanged)."""
    if fix is None:
        return samples, None
    aligned = samples.copy()
    for i in range(1, samples.shape[0]):  # a loop over tracks, not samples
        aligned[i] = to_reference_clock(samples[i], sample_rate, fix.offset_s, fix.drift_ppm)
    return aligned, fix.note()


def align_tracks(samples: np.ndarray, sample_rate: int, layout: Layout, checks: CheckResult | None,
                 declared: ClockDeclaration | None = None) -> tuple[np.ndarray, str | None]:
    """-> (tracks (n_tracks, n) on track A's clock, a note saying what moved, or None when nothing did)."""
    return apply_fix(samples, sample_rate, clock_fix(layout, checks, sample_rate, samples.shape[0], declared))


def align_recording(samples: np.ndarray, sample_rate: int, recording, checks: CheckResult | None
                    ) -> tuple[np.ndarray, str | None]:
    """``align_tracks`` by ``recording_clock``: the activity stage's call. Raises ``InputError`` (naming
    track B's file) when the declared clock contradicts the measured one: the activity stage owns that
    error, since it is the stage that puts the tracks on one clock."""
    clock = recording_clock(recording, checks, sample_rate, samples.shape[-1] / sample_rate if sample_rate else None)
    if clock.contradiction:
        raise InputError(recording.tracks[min(1, recording.n_tracks - 1)].path, clock.contradiction)
    samples, note = apply_fix(samples, sample_rate, clock.fix)
    if note and clock.status != "measured":
        note += f" ({clock.status})"
    return samples, note


# ---------------------------------------------------------------------------------------------
# Streaming: the same re-timing for audio that does not fit in memory (exports, the explorer)
# ---------------------------------------------------------------------------------------------


class Retimer:
    """``to_reference_clock`` streamed: push consecutive blocks of a track on its own clock (float32
    (channels, m), every row re-timed alike), get reference-clock samples back as they are ready.

    The same soxr filter and the same whole-sample shift as the one-shot function, so the stream's
    samples equal ``to_reference_clock`` of the whole track (the output is not trimmed to any length
    here: ``retime_blocks`` does that). Memory: the filter's state plus at most the shift in samples.
    """

    def __init__(self, sample_rate: int, offset_s: float, drift_ppm: float, channels: int = 1):
        scale = 1.0 + drift_ppm * 1e-6
        self.channels = int(channels)
        self._stream = (soxr.ResampleStream(sample_rate * scale, sample_rate, self.channels, dtype="float32",
                                            quality="HQ") if drift_ppm else None)
        shift = int(round(offset_s / scale * sample_rate))  # as in to_reference_clock
        self._skip = max(shift, 0)  # retimed samples before reference time 0
        self._lead = max(-shift, 0)  # zeros before the track's first sample

    def _shifted(self, y: np.ndarray) -> np.ndarray:
        if self._skip:
            k = min(self._skip, y.shape[1])
            y = y[:, k:]
            self._skip -= k
        if self._lead:
            y = np.concatenate([np.zeros((self.channels, self._lead), np.float32), y], axis=1)
            self._lead = 0
        return y

    def push(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, np.float32).reshape(self.channels, -1)
        y = x if self._stream is None else self._stream.resample_chunk(np.ascontiguousarray(x.T), last=False).T
        return self._shifted(y)

    def flush(self) -> np.ndarray:
        """What the filter still holds; call once after the last block."""
        if self._stream is None:
            return self._shifted(np.zeros((self.channels, 0), np.float32))
        return self._shifted(self._stream.resample_chunk(np.zeros((0, self.channels), np.float32), last=True).T)


def retime_blocks(blocks: Iterable[np.ndarray], sample_rate: int, offset_s: float, drift_ppm: float,
                  n_out: int | None = None, channels: int | None = None) -> Iterator[np.ndarray]:
    """Blocks of a track on its own clock -> blocks on the reference clock, ``n_out`` samples in all
    (default: as many as went in, like ``to_reference_clock``), zeros where the track has no audio.

    Blocks are 1-D (one channel; 1-D comes out) or (channels, m). Padding and trimming are at the
    ends only; the concatenated output equals ``to_reference_clock`` of the concatenated input. With
    ``n_out`` the input is read no further than needed. ``channels``: the shape of the zeros when no block
    comes at all (None: 1-D).
    """
    retimer: Retimer | None = None
    one_d = True
    taken = emitted = 0
    ready = ColumnQueue()  # re-timed samples not yet allowed out (the output never runs ahead of ``n_out``)

    def release(limit: int) -> Iterator[np.ndarray]:
        nonlocal emitted
        k = min(ready.size, limit - emitted)
        if k > 0:
            y = ready.take(k)
            emitted += k
            yield y[0] if one_d else y

    for block in blocks:
        block = np.asarray(block, np.float32)
        if retimer is None:
            one_d = block.ndim == 1
            retimer = Retimer(sample_rate, offset_s, drift_ppm, 1 if one_d else block.shape[0])
        taken += block.shape[-1]
        ready.push(retimer.push(block))
        yield from release(taken if n_out is None else n_out)
        if n_out is not None and emitted >= n_out:
            return
    if retimer is None:
        if n_out:
            yield np.zeros(n_out, np.float32) if channels is None else np.zeros((channels, n_out), np.float32)
        return
    total = taken if n_out is None else n_out
    ready.push(retimer.flush())
    yield from release(total)
    if emitted < total:  # the track ran out before the reference timeline did
        zeros = np.zeros((retimer.channels, total - emitted), np.float32)
        yield zeros[0] if one_d else zeros


def align_track_blocks(blocks: Iterable[np.ndarray], sample_rate: int, fix: ClockFix | None
                       ) -> Iterator[np.ndarray]:
    """``align_tracks`` streamed over (n_tracks, m) blocks (``ingest.tracks.iter_track_blocks``): track A as
    it is, later tracks re-timed by ``fix``; every block keeps its width, so the total length stays.
    ``fix`` None passes the blocks through. Memory: a few blocks (the offset and filter delay)."""
    if fix is None:
        yield from blocks
        return
    widths: deque[int] = deque()
    heads: deque[np.ndarray] = deque()  # row A of blocks waiting for their re-timed rows

    def later_rows() -> Iterator[np.ndarray]:
        for block in blocks:
            block = np.asarray(block, np.float32)
            if not block.shape[1]:
                continue
            widths.append(block.shape[1])
            heads.append(block[:1])
            yield block[1:]

    pending = ColumnQueue()
    for y in retime_blocks(later_rows(), sample_rate, fix.offset_s, fix.drift_ppm):
        pending.push(y)
        while widths and pending.size >= widths[0]:
            yield np.concatenate([heads.popleft(), pending.take(widths.popleft())], axis=0)


#: Longest stretch of audio ``own_span`` reads before a region to start on the whole track's sample grid.
MAX_LOOKBACK_S = 60.0


def own_span(fix: ClockFix, sample_rate: int, first: int, margin_s: float = 0.05) -> tuple[int, ClockFix]:
    """Where to start reading a later track to get reference samples ``first, first + 1, ...`` of it.

    -> (``own_first``, ``local``): the track's own samples from ``own_first`` on, fed to
    ``retime_blocks(..., local.offset_s, local.drift_ppm, n_out=n)``, give reference samples
    ``[first, first + n)`` as the whole-track re-timing has them. The start is chosen where the
    resampler's grid meets a whole own-clock sample (every ``1 / drift`` samples), at least ``margin_s``
    before the region so the filter has settled; then the region matches the whole track to float
    rounding. When that point is more than ``MAX_LOOKBACK_S`` back (drift under ~1 ppm at 16 kHz) the
    nearest sample is taken instead and the region is within half a sample of the whole track.
    """
    rate = float(sample_rate)
    d = fix.drift_ppm * 1e-6
    shift = int(round(fix.offset_s / fix.scale * rate))  # as in to_reference_clock
    want = first + shift - int(np.ceil(margin_s * rate))  # first retimed sample to produce
    if want <= 0:
        r0 = 0
    elif d == 0.0:
        r0 = want
    else:
        r0 = int(round(np.floor(want * abs(d)) / abs(d)))  # r0 * d is (nearly) a whole number
        if r0 > want or want - r0 > MAX_LOOKBACK_S * rate:
            r0 = want
    own_first = int(round(r0 * fix.scale))
    local_shift = first + shift - r0  # retimed samples of the local stream before the region
    return own_first, ClockFix(local_shift * fix.scale / rate * 1000.0, fix.drift_ppm)
