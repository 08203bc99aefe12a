"""Stream a recording's tracks into audio pieces: decode once, resample as it streams, write each piece
to as many sinks as needed (a WAV per orientation, FLAC bytes in memory). Memory is one block."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..ingest.clock import ClockFix
from ..ingest.tracks import iter_track_blocks
from ..model import Recording

#: Sample format of every exported file (16-bit PCM: what the trainers read, lossless for our sources).
SUBTYPE = "PCM_16"
#: FLAC effort (0..1): the fastest level costs <1% in size on speech and encodes ~1.4x faster than the default.
FLAC_LEVEL = 0.0


def _open(target, rate: int, channels: int, fmt: str) -> sf.SoundFile:
    extra = {"compression_level": FLAC_LEVEL} if fmt == "FLAC" else {}
    return sf.SoundFile(target, "w", samplerate=rate, channels=channels, format=fmt, subtype=SUBTYPE, **extra)


@dataclass(frozen=True)
class Sink:
    """Where one version of each piece goes: ``open(piece_index)`` returns a writable SoundFile;
    ``rows`` picks and orders the tracks (``(1, 0)`` puts track B on channel 0)."""

    open: Callable[[int], sf.SoundFile]
    rows: tuple[int, ...]


@dataclass
class Streamed:
    """What ``stream_pieces`` wrote: samples per piece, and samples beyond full scale (clipped to it by
    16-bit PCM; a resampler can overshoot a source that already touches full scale)."""

    counts: list[int]
    clipped: int = 0

    def note(self) -> list[str]:
        return [f"{self.clipped} sample(s) beyond full scale after resampling were clipped"] if self.clipped else []


def stream_pieces(recording: Recording, rate: int, cuts_s: Sequence[float], sinks: Sequence[Sink],
                  clock: ClockFix | None = None) -> Streamed:
    """Write the pieces ``[cuts[i], cuts[i+1])`` of the recording at ``rate`` to every sink; the last piece
    runs to the end of the audio whatever ``cuts[-1]`` says. ``clock``: re-time the tracks after A onto A's
    clock as the activity stage did (``ExportItem.clock``); None keeps every file's own clock."""
    bounds = [int(round(c * rate)) for c in cuts_s[1:-1]]  # inner cut points in samples
    n_pieces = len(bounds) + 1
    counts = [0] * n_pieces
    clipped = 0
    piece, pos = 0, 0
    files = [s.open(0) for s in sinks]
    try:
        for block in iter_track_blocks(recording, rate, clock=clock):
            over = np.abs(block) > 1.0
            if over.any():  # clip here rather than trust the encoder's float-to-int conversion
                clipped += int(np.count_nonzero(over))
                block = np.clip(block, -1.0, 1.0)
            off = 0
            n = block.shape[1]
            while off < n:
                stop = bounds[piece] - pos if piece < len(bounds) else n - off + 1
                take = min(n - off, max(stop, 0))
                if take > 0:
                    chunk = block[:, off:off + take]
                    for f, s in zip(files, sinks):
                        frames = np.empty((take, len(s.rows)), np.float32)  # interleaved, as the encoder wants
                        for c, row in enumerate(s.rows):
                            frames[:, c] = chunk[row]
                        f.write(frames)
                    counts[piece] += take
                    off += take
                    pos += take
                if piece < len(bounds) and pos >= bounds[piece]:
                    for f in files:
                        f.close()
                    piece += 1
                    files = [s.open(piece) for s in sinks]
        # a recording shorter than its plan (decoded length below the stored duration): close empty pieces
        while piece < n_pieces - 1:
            for f in files:
                f.close()
            piece += 1
            files = [s.open(piece) for s in sinks]
    finally:
        for f in files:
            if not f.closed:
                f.close()
    return Streamed(counts, clipped)


def file_sink(paths: Sequence[Path], rate: int, rows: tuple[int, ...], fmt: str) -> Sink:
    """A sink writing piece i to ``paths[i]`` through a temporary name (renamed by ``commit_files``)."""

    def open_piece(i: int) -> sf.SoundFile:
        tmp = tmp_name(paths[i])
        tmp.parent.mkdir(parents=True, exist_ok=True)
        return _open(tmp, rate, len(rows), fmt)

    return Sink(open_piece, rows)


class BytesSink:
    """Pieces encoded in memory (FLAC for Parquet rows): ``data[i]`` after streaming, or, with ``on_done``,
    each piece handed over as ``on_done(i, bytes, frames)`` as soon as it is complete and then forgotten
    (call ``finish()`` after streaming for the last one), so a long recording is never all in memory."""

    def __init__(self, rate: int, rows: tuple[int, ...], fmt: str = "FLAC",
                 on_done: Callable[[int, bytes, int], None] | None = None):
        self.rate, self.rows, self.fmt, self.on_done = rate, rows, fmt, on_done
        self.buffers: list[io.BytesIO] = []
        self._open: tuple[int, io.BytesIO, sf.SoundFile] | None = None

    def _hand_over(self) -> None:
        if self._open is not None and self.on_done is not None:
            i, buf, f = self._open
            self._open = None
            self.on_done(i, buf.getvalue(), int(f.frames))

    def sink(self) -> Sink:
        def open_piece(i: int) -> sf.SoundFile:
            self._hand_over()  # stream_pieces closes piece i - 1 before it opens piece i
            buf = io.BytesIO()
            f = _open(buf, self.rate, len(self.rows), self.fmt)
            if self.on_done is None:
                self.buffers.append(buf)
            else:
                self._open = (i, buf, f)
            return f

        return Sink(open_piece, self.rows)

    def finish(self) -> None:
        """Hand over the last piece (``on_done`` mode; the stream has closed it)."""
        self._hand_over()

    @property
    def data(self) -> list[bytes]:
        return [b.getvalue() for b in self.buffers]


def tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def commit_files(paths: Sequence[Path]) -> None:
    """Rename the temporary files of finished pieces into place (each rename is atomic)."""
    for p in paths:
        os.replace(tmp_name(p), p)


def discard_tmp(paths: Sequence[Path]) -> None:
    for p in paths:
        tmp_name(p).unlink(missing_ok=True)


def stream_to_files(recording: Recording, rate: int, cuts_s: Sequence[float], sinks: Sequence[Sink],
                    paths: Sequence[Path], clock: ClockFix | None = None) -> Streamed:
    """``stream_pieces`` into file sinks writing ``paths``: all files land, or none (temporaries removed)."""
    try:
        streamed = stream_pieces(recording, rate, cuts_s, sinks, clock)
    except BaseException:
        discard_tmp(paths)
        raise
    commit_files(paths)
    return streamed

