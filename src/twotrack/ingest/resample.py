"""Sample-rate conversion with soxr: one-shot for arrays, streaming for block iterators.

Both take and give float32 (frames, channels) (a 1-D array is one channel and stays 1-D one-shot).
The streaming path yields the same samples as the one-shot path up to float rounding, so a stage can
stream a one-hour file at flat memory and get what it would have got from the whole array.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import soxr

#: soxr quality: "HQ" (high) is transparent for speech analysis and ~2x faster than "VHQ".
DEFAULT_QUALITY = "HQ"


def resample(x: np.ndarray, in_rate: int, out_rate: int, quality: str = DEFAULT_QUALITY) -> np.ndarray:
    """The whole array at ``out_rate`` (float32; same array, as float32, when the rates agree)."""
    x = np.asarray(x, dtype=np.float32)
    if int(in_rate) == int(out_rate):
        return x
    if len(x) == 0:
        return x.copy()
    return np.asarray(soxr.resample(x, in_rate, out_rate, quality=quality), dtype=np.float32)


class StreamResampler:
    """Stateful resampler for consecutive blocks of one signal (frames, channels).

    >>> r = StreamResampler(16000, 8000, channels=1)
    >>> out = [r.process(np.zeros((1600, 1), np.float32)) for _ in range(10)] + [r.flush()]
    >>> sum(len(o) for o in out)
    8000
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int, quality: str = DEFAULT_QUALITY):
        self.in_rate, self.out_rate, self.channels = int(in_rate), int(out_rate), int(channels)
        self._passthrough = self.in_rate == self.out_rate
        self._stream = (
            None if self._passthrough
            else soxr.ResampleStream(self.in_rate, self.out_rate, self.channels, dtype="float32", quality=quality)
        )
        self._done = False

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample the next block; the output may be shorter or longer than in/out x block (filter delay)."""
        if self._done:
            raise RuntimeError("StreamResampler used after flush()")
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block[:, None]
        if self._passthrough:
            return block
        return self._stream.resample_chunk(block, last=False)

    def flush(self) -> np.ndarray:
        """The samples still held in the filter; call once after the last block."""
        self._done = True
        if self._passthrough:
            return np.zeros((0, self.channels), np.float32)
        return self._stream.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)


def resample_blocks(
    blocks: Iterable[np.ndarray], in_rate: int, out_rate: int, channels: int, quality: str = DEFAULT_QUALITY
) -> Iterator[np.ndarray]:
    """Blocks (frames, channels) at ``in_rate`` -> blocks at ``out_rate``; empty outputs are skipped."""
    if int(in_rate) == int(out_rate):
        yield from blocks
        return
    stream = StreamResampler(in_rate, out_rate, channels, quality)
    for block in blocks:
        out = stream.process(block)
        if len(out):
            yield out
    tail = stream.flush()
    if len(tail):
        yield tail
