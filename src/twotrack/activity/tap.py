"""Second consumers of the activity stage's pass over the audio: a resampler that keeps its state across
blocks, and a tap that passes blocks through while a stream reads them (the noisy tracks' levels in
``detect``, the voice encoder's mel frames in ``ownvoice``), so a stream that cannot be read twice is
read once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np


class Resampler:
    """Blocks float32 (n_tracks, n) at ``in_rate`` to ``out_rate`` with soxr's stream (its filter state
    carried across blocks, so block sizes do not change the samples); a no-op when the rates are equal."""

    def __init__(self, n_tracks: int, in_rate: int, out_rate: int):
        self.in_rate, self.out_rate = int(in_rate), int(out_rate)
        self.stream = None
        if self.out_rate != self.in_rate:
            import soxr  # loaded only when some file needs it

            self.stream = soxr.ResampleStream(self.in_rate, self.out_rate, int(n_tracks), dtype="float32")

    def feed(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """The block at ``out_rate`` (``last``: the filter's tail is flushed too)."""
        if self.stream is None:
            return block
        out = self.stream.resample_chunk(np.ascontiguousarray(block.T), last=last)
        return np.ascontiguousarray(out.T)


class Stream(Protocol):
    def push(self, block: np.ndarray) -> None: ...

    def finish(self, n_frames: int): ...


class Tap:
    """Passes blocks float32 (n_tracks, n) through while a stream reads the rows ``tracks`` of them
    (default: all). The stream is made on the first block, ``make(n_rows)``; ``finish`` is its finish,
    None when no block went through."""

    def __init__(self, make: Callable[[int], Stream], tracks: np.ndarray | None = None):
        self.make, self.tracks = make, tracks
        self.stream: Stream | None = None

    def tap(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:
            block = np.asarray(block, np.float32)
            if block.ndim == 2:  # anything else is the reader's to reject
                rows = block if self.tracks is None else block[self.tracks]
                if self.stream is None:
                    self.stream = self.make(rows.shape[0])
                self.stream.push(rows)
            yield block

    def finish(self, n_frames: int):
        return None if self.stream is None else self.stream.finish(n_frames)
