"""Where the checks read samples from: two tracks in memory, or a recording streamed in blocks.

The pair analysis asks for cross-spectra of paths (``SpectraRequest``) and the quality check for
short spectrum frames; both know *where* to look from per-frame arrays first. ``ArraySignals``
answers from arrays in memory (``run_checks`` on arrays); ``StreamSignals`` answers a whole list of
requests in one pass over a re-openable block stream (``run_checks_blocks``), holding only the
stretches it needs at the place it has reached. Both give the same numbers for the same requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..ingest.resample import StreamResampler
from .gather import Group, gather
from .xcorr import PathPlan, PathSpectra, path_groups, path_spectra, plan_path

#: A function that opens the recording's blocks, float32 (n_tracks, m), from the start, each time called.
BlockSource = Callable[[], Iterable[np.ndarray]]

#: Streamed sync fits keep the cross-spectra of at most this many windows (evenly spread): 8 MB a path.
MAX_STREAM_WINDOWS = 512


@dataclass(frozen=True)
class SpectraRequest:
    """One path: ``src`` (0 or 1) heard in the other signal along ``t_tgt = offset + rate t_src``."""

    src: int
    frame_weight: np.ndarray
    hop: int
    offset_s: float
    rate: float
    max_lag: int
    block_len: int
    band: tuple[float, float]
    window_s: float | None = None
    tgt_frame_weight: np.ndarray | None = None  # per-frame weights on the target (coarse sync search)
    sum_windows: int | None = None  # only the blocks of this many windows (evenly spread) are summed

    def plan(self, n_src: int, fs: float, max_windows: int | None) -> PathPlan:
        """``plan_path`` of this path over ``n_src`` source samples at ``fs``, keeping the cross-spectra of
        at most ``max_windows`` windows when it has windows (None: all)."""
        return plan_path(n_src, fs, self.frame_weight, self.hop, offset_s=self.offset_s, rate=self.rate,
                         max_lag=self.max_lag, block_len=self.block_len, band=self.band, window_s=self.window_s,
                         max_windows=None if self.window_s is None else max_windows, sum_windows=self.sum_windows)


class ArraySignals:
    """Two signals at the analysis rate ``fs`` in memory."""

    max_windows: int | None = None

    def __init__(self, a: np.ndarray, b: np.ndarray, fs: int):
        self.rows, self.fs = (a, b), fs
        self.n = int(a.size)

    def spectra(self, requests: list[SpectraRequest]) -> list[PathSpectra]:
        out = []
        for r in requests:
            src, tgt = self.rows[r.src], self.rows[1 - r.src]
            if r.tgt_frame_weight is not None:
                tgt = tgt * np.repeat(np.asarray(r.tgt_frame_weight, np.float32), r.hop)[: tgt.size]
            out.append(path_spectra(src, tgt, r.plan(src.size, self.fs, self.max_windows)))
        return out


def at_rate(blocks: Iterable[np.ndarray], in_rate: int, out_rate: int) -> Iterator[np.ndarray]:
    """Blocks (rows, m) at ``in_rate`` -> blocks at ``out_rate`` (soxr streaming: the same samples as
    resampling the whole signal at once)."""
    if int(in_rate) == int(out_rate):
        yield from blocks
        return
    stream = None
    for block in blocks:
        if stream is None:
            stream = StreamResampler(in_rate, out_rate, block.shape[0])
        y = stream.process(np.ascontiguousarray(block.T))
        if len(y):
            yield np.ascontiguousarray(y.T)
    if stream is not None:
        tail = stream.flush()
        if len(tail):
            yield np.ascontiguousarray(tail.T)


def resampled_length(n: int, in_rate: int, out_rate: int) -> int:
    """Samples soxr gives for ``n`` samples from ``in_rate`` to ``out_rate``."""
    if int(in_rate) == int(out_rate):
        return int(n)
    return int(np.ceil(n * out_rate / in_rate - 1e-9))


class StreamSignals:
    """Rows ``rows`` of a block source at ``in_rate``, read at ``fs`` (``n`` samples there)."""

    max_windows = MAX_STREAM_WINDOWS

    def __init__(self, source: BlockSource, rows: tuple[int, int], in_rate: int, fs: int, n_in: int):
        self.source, self.rows, self.in_rate, self.fs = source, rows, int(in_rate), int(fs)
        self.n = resampled_length(n_in, in_rate, fs)
        self.passes = 0

    def blocks(self) -> Iterator[np.ndarray]:
        self.passes += 1
        rows = list(self.rows)
        return at_rate((np.asarray(b, np.float32)[rows] for b in self.source()), self.in_rate, self.fs)

    def spectra(self, requests: list[SpectraRequest]) -> list[PathSpectra]:
        groups: list[Group] = []
        accs = []
        for r in requests:
            plan = r.plan(self.n, self.fs, self.max_windows)
            g, acc = path_groups(plan, r.src, 1 - r.src, tgt_frame_weight=r.tgt_frame_weight)
            groups += g
            accs.append(acc)
        if groups:
            gather(self.blocks(), groups)
        return [acc.finish() for acc in accs]


def stretches(source: Callable[[], Iterable[np.ndarray]], wanted: list[tuple[int, np.ndarray, int]]
              ) -> list[np.ndarray]:
    """Stretches ``[s, s + length)`` of row ``row`` for each (row, starts, length) in ``wanted``, in one
    pass over ``source`` (float32 (k, length) each; the starts ascending)."""
    got: list[np.ndarray | None] = [None] * len(wanted)

    def keep(i):
        def ready(bufs):
            got[i] = bufs[0]
        return ready

    groups = [Group([w], keep(i)) for i, w in enumerate(wanted) if w[1].size]
    if groups:
        gather(source(), groups)
    return [g if g is not None else np.zeros((0, w[2]), np.float32) for g, w in zip(got, wanted)]
