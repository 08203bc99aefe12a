"""Audio for the explorer: any region of any track of a recording, decoded server-side, as 16-bit WAV.

The browser never sees a source file. A recording's tracks (FLAC, SPHERE mu-law or shorten, paired
WAVs, ...) are decoded by ``twotrack.ingest`` and served as a *virtual* WAV: its header is computed
from the probe, and an HTTP byte range maps to a sample range that is decoded on demand, so seeking
in a long recording decodes only what is played. Files are read only through the recording's own
track list in the workspace; a request names a recording id, never a path.

Clock: when the workspace holds a clock estimate for paired files that the activity stage applied
(``ingest.clock.clock_fix``), the tracks after A are rendered on track A's clock, like their activity:
a region is re-timed from the own-clock samples just before it (``ingest.clock.own_span``), so seeking
stays cheap and gives the samples the whole-track re-timing has.

Seeking: soundfile formats seek directly; other sources (SPHERE) are decoded from the start and the
frames before the region skipped (linear in the offset: a 10-minute telephone call skips in a fraction
of a second).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from ..ingest.clock import ClockFix, own_span, retime_blocks
from ..errors import InputError
from ..ingest.audio import open_soundfile
from ..ingest.blocks import ColumnQueue
from ..ingest.tracks import iter_track_blocks, source_infos
from ..model import AudioInfo, Recording, track_index, track_name

HEADER_BYTES = 44
BYTES_PER_SAMPLE = 2
#: Seconds of audio decoded per step while streaming a response (memory stays flat).
CHUNK_S = 10.0
#: WAV sizes are 32-bit: longer renderings must be asked for as regions.
MAX_DATA_BYTES = 0xFFFFFFFF - HEADER_BYTES - 8
#: Formats soundfile can seek in sample-exactly.
_SEEKABLE = frozenset({"WAV", "WAV (RF64)", "FLAC", "OGG", "AIFF", "W64", "CAF"})


class RangeNotSatisfiable(ValueError):
    """A byte range outside the rendering (HTTP 416)."""


def parse_tracks(spec: str | None, n_tracks: int) -> tuple[int, ...]:
    """``"A"``, ``"B"``, ``"A,B"``, ``"both"``/``"all"``/None -> track indices (ValueError when unknown).

    >>> parse_tracks("both", 2), parse_tracks("B", 2), parse_tracks("1", 2)
    ((0, 1), (1,), (0,))
    """
    if spec is None or spec.strip().lower() in ("", "both", "all"):
        return tuple(range(n_tracks))
    out = []
    for part in spec.split(","):
        try:
            i = track_index(part)
        except ValueError:
            raise ValueError(f"unknown track {part.strip()!r} (use A, B, ... or both)") from None
        if not 0 <= i < n_tracks:
            raise ValueError(f"track {part.strip()!r} does not exist: the recording has {n_tracks} track(s)")
        if i not in out:
            out.append(i)
    return tuple(out)


@dataclass(frozen=True)
class Rendering:
    """A WAV of tracks ``tracks`` of ``recording`` between frames ``first`` and ``first + n_frames``."""

    recording: Recording
    infos: dict[str, AudioInfo]
    tracks: tuple[int, ...]
    rate: int
    first: int
    n_frames: int
    clock: ClockFix | None = None  # tracks after A re-timed onto A's clock by this; None: each file's own clock

    @property
    def channels(self) -> int:
        return len(self.tracks)

    @property
    def data_bytes(self) -> int:
        return self.n_frames * self.channels * BYTES_PER_SAMPLE

    @property
    def size(self) -> int:
        return HEADER_BYTES + self.data_bytes

    @property
    def start_s(self) -> float:
        return self.first / self.rate

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.rate

    def header(self) -> bytes:
        return wav_header(self.n_frames, self.channels, self.rate)

    def describe(self) -> str:
        names = "+".join(track_name(t) for t in self.tracks)
        return f"{self.recording.recording_id} track {names} {self.start_s:.2f}-{self.start_s + self.duration_s:.2f} s"


def wav_header(n_frames: int, channels: int, rate: int) -> bytes:
    """The 44-byte header of a 16-bit PCM WAV."""
    data = n_frames * channels * BYTES_PER_SAMPLE
    block = channels * BYTES_PER_SAMPLE
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16) +
            b"data" + struct.pack("<I", data))


def recording_rate(infos: dict[str, AudioInfo]) -> int:
    """Playback rate: the highest source rate (paired files at other rates are resampled to it)."""
    return max(i.sample_rate for i in infos.values())


def recording_frames(infos: dict[str, AudioInfo], rate: int) -> int:
    """Length in frames at ``rate``: the longest source (shorter paired files are padded)."""
    return max(int(math.ceil(i.n_samples * rate / i.sample_rate)) for i in infos.values())


def plan(recording: Recording, tracks: Sequence[int], start_s: float | None = None, end_s: float | None = None,
         infos: dict[str, AudioInfo] | None = None, clock: ClockFix | None = None) -> Rendering:
    """What to render (``clock``: see the module docstring). Raises ``InputError`` when a source cannot be
    probed, ``ValueError`` for times outside the recording (the caller turns that into HTTP 400)."""
    infos = infos if infos is not None else source_infos(recording)
    rate = recording_rate(infos)
    total = recording_frames(infos, rate)
    duration = total / rate
    a = 0.0 if start_s is None else float(start_s)
    b = duration if end_s is None else float(end_s)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError("start and end must be finite numbers of seconds")
    if a < 0 or a >= duration:
        raise ValueError(f"start {a:g} s is outside the recording (0 to {duration:.3f} s)")
    if b <= a:
        raise ValueError(f"end {b:g} s must be after start {a:g} s")
    if b > duration + 1e-3:
        raise ValueError(f"end {b:g} s is beyond the recording's end ({duration:.3f} s)")
    first = int(math.floor(a * rate))
    stop = min(total, int(math.ceil(b * rate)))
    r = Rendering(recording, infos, tuple(tracks), rate, first, max(1, stop - first), clock)
    if r.data_bytes > MAX_DATA_BYTES:
        raise ValueError(f"{r.describe()} is too long for one WAV ({r.data_bytes / 2**30:.1f} GiB): ask for a region")
    return r


# ---------------------------------------------------------------------------------------------
# decoding a frame range
# ---------------------------------------------------------------------------------------------


def _seekable(infos: dict[str, AudioInfo], rate: int) -> bool:
    return all(i.format in _SEEKABLE and i.sample_rate == rate for i in infos.values())


def _read_direct(recording: Recording, infos: dict[str, AudioInfo], tracks: Sequence[int], first: int,
                 n: int) -> np.ndarray:
    """Seek in each source file and read ``n`` frames (zeros past a shorter file's end)."""
    out = np.zeros((len(tracks), n), np.float32)
    by_path: dict[str, list[tuple[int, int]]] = {}
    for row, t in enumerate(tracks):
        src = recording.tracks[t]
        by_path.setdefault(src.path, []).append((row, src.channel))
    for path, picks in by_path.items():
        info = infos[path]
        if first >= info.n_samples:
            continue
        try:
            with open_soundfile(path) as f:
                f.seek(first)
                block = f.read(min(n, info.n_samples - first), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise InputError(path, f"cannot read audio at {first / info.sample_rate:.2f} s: {exc}") from None
        for row, ch in picks:
            out[row, : len(block)] = block[:, ch]
    return out


def _stream_skipping(recording: Recording, infos: dict[str, AudioInfo], tracks: Sequence[int], rate: int,
                     first: int, n: int) -> Iterator[np.ndarray]:
    """Decode from the start with the ingest engine, drop frames before ``first``, stop after ``n``."""
    pos = 0
    left = n
    for block in iter_track_blocks(recording, rate, block_s=CHUNK_S, infos=infos):
        m = block.shape[1]
        if pos + m <= first:
            pos += m
            continue
        lo = max(0, first - pos)
        piece = block[list(tracks), lo: lo + left]
        pos += m
        if piece.shape[1]:
            left -= piece.shape[1]
            yield piece
        if left <= 0:
            return
    if left > 0:  # the sources ended early: pad with silence to the promised length
        yield np.zeros((len(tracks), left), np.float32)


def _own_frames(r: Rendering, tracks: Sequence[int], first: int, n: int) -> Iterator[np.ndarray]:
    """Frames [first, first + n) of ``tracks``, each on its own file's clock."""
    step = max(1, int(CHUNK_S * r.rate))
    if _seekable(r.infos, r.rate):
        for a in range(first, first + n, step):
            yield _read_direct(r.recording, r.infos, tracks, a, min(step, first + n - a))
        return
    yield from _stream_skipping(r.recording, r.infos, tracks, r.rate, first, n)


def iter_frames(r: Rendering, first: int | None = None, n: int | None = None) -> Iterator[np.ndarray]:
    """Float32 blocks (channels, m) covering frames [first, first + n) of the recording (default: all of r)."""
    first = r.first if first is None else first
    n = r.n_frames if n is None else n
    moved = [i for i, t in enumerate(r.tracks) if t >= 1] if r.clock is not None else []
    if not moved or n <= 0:
        yield from _own_frames(r, r.tracks, first, n)
        return
    kept = [i for i, t in enumerate(r.tracks) if t < 1]
    # The moved tracks: their own samples from where the region starts on their clock, re-timed as streamed.
    own_first, local = own_span(r.clock, r.rate, first)
    own_n = max(0, recording_frames(r.infos, r.rate) - own_first)
    src = _own_frames(r, [r.tracks[i] for i in moved], own_first, own_n) if own_n else iter(())
    retimed = retime_blocks(src, r.rate, local.offset_s, local.drift_ppm, n_out=n, channels=len(moved))
    queue = ColumnQueue()
    step = max(1, int(CHUNK_S * r.rate))
    heads = _own_frames(r, [r.tracks[i] for i in kept], first, n) if kept else \
        (np.zeros((0, min(step, first + n - a)), np.float32) for a in range(first, first + n, step))
    for head in heads:
        m = head.shape[1]
        while queue.size < m:
            queue.push(next(retimed))  # retime_blocks yields exactly n columns in all
        out = np.empty((len(r.tracks), m), np.float32)
        out[kept] = head
        out[moved] = queue.take(m)
        yield out


def read_region(recording: Recording, tracks: Sequence[int], start_s: float, end_s: float,
                infos: dict[str, AudioInfo] | None = None, clock: ClockFix | None = None) -> tuple[np.ndarray, int]:
    """Float32 (len(tracks), n) of the region and its rate (for peaks at a fine zoom)."""
    r = plan(recording, tracks, start_s, end_s, infos, clock)
    parts = list(iter_frames(r))
    return (np.concatenate(parts, axis=1) if parts else np.zeros((len(tracks), 0), np.float32)), r.rate


def to_pcm16(block: np.ndarray) -> bytes:
    """(channels, n) float32 -> interleaved little-endian int16 bytes."""
    x = np.clip(np.asarray(block, np.float32).T, -1.0, 1.0)
    return np.round(x * 32767.0).astype("<i2").tobytes()


# ---------------------------------------------------------------------------------------------
# byte ranges
# ---------------------------------------------------------------------------------------------

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """An HTTP ``Range`` header -> inclusive (first, last) byte, None for the whole body.

    Only one range is served (browsers ask for one); ``RangeNotSatisfiable`` when it lies outside,
    ``ValueError`` when the header cannot be read.

    >>> parse_range("bytes=0-", 100), parse_range("bytes=10-19", 100), parse_range("bytes=-10", 100)
    ((0, 99), (10, 19), (90, 99))
    """
    if header is None or not header.strip():
        return None
    m = _RANGE.match(header)
    if not m or (not m.group(1) and not m.group(2)):
        if "," in header:
            raise ValueError("only one byte range per request is supported")
        raise ValueError(f"cannot read the Range header {header!r} (expected bytes=FIRST-LAST)")
    a, b = m.group(1), m.group(2)
    if not a:  # suffix: the last b bytes
        n = int(b)
        if n == 0:
            raise RangeNotSatisfiable(f"empty suffix range {header!r}")
        return max(0, size - n), size - 1
    first = int(a)
    last = int(b) if b else size - 1
    if first >= size:
        raise RangeNotSatisfiable(f"range starts at byte {first} but the body has {size} bytes")
    if last < first:
        raise ValueError(f"range {header!r} ends before it starts")
    return first, min(last, size - 1)


def iter_bytes(r: Rendering, first_byte: int, last_byte: int) -> Iterator[bytes]:
    """The bytes [first_byte, last_byte] of the rendering's WAV, decoding only the frames they hold."""
    header = r.header()
    if first_byte < HEADER_BYTES:
        yield header[first_byte: min(HEADER_BYTES, last_byte + 1)]
    if last_byte < HEADER_BYTES:
        return
    frame_bytes = r.channels * BYTES_PER_SAMPLE
    d0 = max(0, first_byte - HEADER_BYTES)
    d1 = last_byte - HEADER_BYTES + 1  # exclusive
    f0, f1 = d0 // frame_bytes, min(r.n_frames, -(-d1 // frame_bytes))
    skip = d0 - f0 * frame_bytes
    left = d1 - d0
    for block in iter_frames(r, r.first + f0, f1 - f0):
        data = to_pcm16(block)
        if skip:
            data = data[skip:]
            skip = 0
        if len(data) > left:
            data = data[:left]
        left -= len(data)
        if data:
            yield data
        if left <= 0:
            return


__all__ = [
    "Rendering", "RangeNotSatisfiable", "plan", "parse_range", "parse_tracks", "iter_bytes", "iter_frames",
    "read_region", "wav_header", "to_pcm16", "recording_rate", "recording_frames",
]
