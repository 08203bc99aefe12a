"""A ``Recording`` -> its tracks as float32 (n_tracks, n) at one sample rate, streamed in blocks.

One engine serves every layout: each source file is decoded once in blocks, resampled to the common
rate as it streams, and cut into equal blocks; track rows are picked from the files' channels.
MULTICHANNEL is one file with a channel per track, PAIRED one file per track (the shorter files are
padded with zeros to the longest), MONO one track. Memory is flat in the recording's length.

Paired files from separate devices run on different clocks: pass ``clock`` (an ``ingest.clock.ClockFix``,
e.g. from ``clock_status``) and the tracks after A come out re-timed onto track A's clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model import AudioInfo, Layout, Recording, track_name
from .audio import DEFAULT_BLOCK_SAMPLES, probe, read_blocks
from .blocks import ColumnQueue
from .clock import ClockFix, align_track_blocks
from .resample import resample_blocks

#: Seconds of audio per yielded block.
DEFAULT_BLOCK_S = 8.0


@dataclass(frozen=True)
class TrackAudio:
    """All tracks of one recording in memory: ``samples`` is float32 (n_tracks, n)."""

    samples: np.ndarray
    sample_rate: int
    duration_s: float

    @property
    def n_tracks(self) -> int:
        return int(self.samples.shape[0])


def choose_analysis_rate(info_rates: Iterable[int], analysis_rates: Iterable[int] = (8000, 16000)) -> int:
    """The lowest analysis rate that every source fits under; the highest when a source is faster.

    Telephone audio (<= 8 kHz) stays at 8 kHz: upsampling adds no information and doubles the work.

    >>> choose_analysis_rate([8000, 8000]), choose_analysis_rate([8000, 16000]), choose_analysis_rate([44100])
    (8000, 16000, 16000)
    """
    rates = sorted(int(r) for r in analysis_rates)
    sources = [int(r) for r in info_rates]
    if not rates or not sources:
        raise ValueError("choose_analysis_rate needs at least one source rate and one analysis rate")
    top = max(sources)
    return next((r for r in rates if top <= r), rates[-1])


def source_infos(recording: Recording) -> dict[str, AudioInfo]:
    """Probe each source file of a recording once and check the recording fits the files.

    Raises ``InputError`` naming the file when a track asks for a channel the file lacks, when the
    declared channel count (``metadata["channels"]``) differs from the file's, or when a mono
    recording's file has several channels.
    """
    if not recording.tracks:
        raise InputError(recording.recording_id, "recording has no tracks")
    infos = {path: probe(path) for path in recording.source_paths}
    declared = recording.metadata.get("channels")
    for path, info in infos.items():
        if declared not in (None, ""):
            try:
                want = int(declared)
            except ValueError:
                raise InputError(path, f"declared channel count {declared!r} is not a number") from None
            if want != info.channels:
                raise InputError(path, f"{want} channel(s) declared but the file has {info.channels}")
        if recording.layout is Layout.MONO and info.channels != 1:
            raise InputError(path, f"recording {recording.recording_id!r} is mono but the file has {info.channels} channels")
    for i, track in enumerate(recording.tracks):
        have = infos[track.path].channels
        if not 0 <= track.channel < have:
            raise InputError(
                track.path, f"track {track_name(i)} reads channel {track.channel} but the file has {have} channel(s)"
            )
    return infos


def _track_blocks(recording: Recording, infos: dict[str, AudioInfo], rate: int, n_out: int,
                  repairs: list[tuple[str, str]] | None = None, verify: bool = True) -> Iterator[np.ndarray]:
    paths = list(infos)
    streams = [
        iter(resample_blocks(read_blocks(p, DEFAULT_BLOCK_SAMPLES, info=infos[p], repairs=repairs, verify=verify),
                             infos[p].sample_rate, rate, infos[p].channels))
        for p in paths
    ]
    fifos = [ColumnQueue() for _ in paths]  # (channels, frames) per source
    done = [False] * len(paths)
    picks = [(paths.index(t.path), t.channel) for t in recording.tracks]
    while True:
        for i, stream in enumerate(streams):
            while not done[i] and fifos[i].size < n_out:
                block = next(stream, None)
                if block is None:
                    done[i] = True
                else:
                    fifos[i].push(np.asarray(block, np.float32).T)
        n = n_out if not all(done) else min(n_out, max(f.size for f in fifos))
        if n == 0:
            return
        # Each track's row is copied straight out of its source's queued pieces (one copy, no joined
        # block first); a source that has ended is padded with zeros.
        parts = [f.take_parts(min(n, f.size)) for f in fifos]
        out = np.empty((len(picks), n), np.float32)
        for row, (src, channel) in enumerate(picks):
            pos = 0
            for part in parts[src]:
                out[row, pos : pos + part.shape[1]] = part[channel]
                pos += part.shape[1]
            out[row, pos:] = 0.0
        yield out


def iter_track_blocks(
    recording: Recording,
    sample_rate: int | None = None,
    block_s: float = DEFAULT_BLOCK_S,
    *,
    infos: dict[str, AudioInfo] | None = None,
    clock: ClockFix | None = None,
    repairs: list[tuple[str, str]] | None = None,
    verify: bool = True,
) -> Iterator[np.ndarray]:
    """Stream a recording as float32 blocks (n_tracks, n), n = round(block_s * rate) except the last.

    ``sample_rate`` None keeps the sources' rate (the highest one when paired files differ); otherwise
    every source is resampled to it. Files are probed and checked now (``InputError`` at the call);
    pass ``infos`` from ``source_infos`` to skip that. ``clock``: re-time the tracks after A onto A's
    clock (``ingest.clock.align_track_blocks``: same block widths, same samples as ``align_tracks`` of
    the whole array); None keeps every file's own clock. ``repairs``: see ``audio.read_blocks`` (samples a
    float file holds as NaN or infinity are read as silence; this list is told which file and how many).
    ``verify`` False skips the check of a stored checksum (SPHERE), for a re-read of files already verified.
    """
    if infos is None:
        infos = source_infos(recording)
    rate = int(sample_rate) if sample_rate else max(i.sample_rate for i in infos.values())
    n_out = max(1, int(round(block_s * rate)))
    blocks = _track_blocks(recording, infos, rate, n_out, repairs, verify)
    return blocks if clock is None else align_track_blocks(blocks, rate, clock)


def load_tracks(recording: Recording, sample_rate: int | None = None, *,
                infos: dict[str, AudioInfo] | None = None, clock: ClockFix | None = None) -> TrackAudio:
    """All tracks of a recording in memory (see ``iter_track_blocks`` for the rate rule and ``clock``).
    Pass ``infos`` from an earlier ``source_infos`` to skip probing the files again."""
    infos = infos if infos is not None else source_infos(recording)
    rate = int(sample_rate) if sample_rate else max(i.sample_rate for i in infos.values())
    # Preallocate the expected length so a long recording is not held twice while joining blocks.
    expected = max(math.ceil(i.n_samples * rate / i.sample_rate) for i in infos.values()) + 1
    out = np.empty((recording.n_tracks, expected), np.float32)
    pos, extra = 0, []
    for block in iter_track_blocks(recording, rate, infos=infos, clock=clock):
        take = min(block.shape[1], expected - pos)
        out[:, pos : pos + take] = block[:, :take]
        pos += take
        if take < block.shape[1]:
            extra.append(block[:, take:])
    if extra:
        samples = np.concatenate([out[:, :pos], *extra], axis=1)
    else:
        # Compact the rows in place so the result is C-contiguous without a second full copy.
        flat = out.reshape(-1)
        for row in range(1, recording.n_tracks):
            flat[row * pos : (row + 1) * pos] = flat[row * expected : row * expected + pos]
        samples = flat[: recording.n_tracks * pos].reshape(recording.n_tracks, pos)
    return TrackAudio(samples=samples, sample_rate=rate, duration_s=samples.shape[1] / rate)
