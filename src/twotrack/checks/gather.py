"""Fixed-length stretches of a recording, picked out of a block stream in one pass.

The checks look at the samples in many short stretches (cross-correlation blocks, spectrum frames)
whose places are known from per-frame arrays before the samples are read again. A ``Group`` names
such stretches (one row of the stream each, ``starts`` ascending, all ``length`` long); ``gather``
reads the stream once and hands every group its stretches, float32 (k, length), as soon as the stream
has passed the last one, then forgets them. Samples before 0 or past the end read as zeros. Memory:
the groups open at the current place in the stream, never the recording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..framing import frames


@dataclass(eq=False)  # identity: a group is one request, its arrays do not compare
class Group:
    """Stretches ``[s, s + length)`` of stream row ``row`` for every ``s`` in ``starts`` (ascending);
    ``parts`` lets one group hold several (row, starts, length) sets that are handed over together."""

    parts: list[tuple[int, np.ndarray, int]]
    ready: Callable[[list[np.ndarray]], None]
    _buffers: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def first(self) -> int:
        return min((int(s[0]) for _, s, _ in self.parts if s.size), default=0)

    @property
    def last(self) -> int:
        return max((int(s[-1]) + n for _, s, n in self.parts if s.size), default=0)


def _fill(buf: np.ndarray, row: np.ndarray, starts: np.ndarray, length: int, pos: int) -> None:
    """Copy what ``row`` (stream samples ``[pos, pos + m)``) holds of each stretch into ``buf``."""
    m = row.size
    lo = int(np.searchsorted(starts, pos - length, side="right"))
    hi = int(np.searchsorted(starts, pos + m, side="left"))
    if lo >= hi:
        return
    s = starts[lo:hi]
    inside = (s >= pos) & (s + length <= pos + m)
    idx = np.flatnonzero(inside)
    if idx.size:  # whole stretches in this block: one vectorised copy of rows of a strided view
        buf[lo + idx] = frames(row, length)[s[idx] - pos]
    for k in np.flatnonzero(~inside):  # stretches across a block edge: at most a few per block
        a, b = max(int(s[k]), pos), min(int(s[k]) + length, pos + m)
        if a < b:
            buf[lo + k, a - int(s[k]) : b - int(s[k])] = row[a - pos : b - pos]


def gather(blocks: Iterable[np.ndarray], groups: list[Group]) -> int:
    """Read ``blocks`` (n_rows, m) once, calling each group's ``ready`` with its stretches (in the order
    of its parts) when the stream has passed them; returns the number of samples read."""
    waiting = sorted(groups, key=lambda g: g.first)
    open_: list[Group] = []
    pos = 0
    for block in blocks:
        m = block.shape[1]
        end = pos + m
        while waiting and waiting[0].first < end:
            g = waiting.pop(0)
            g._buffers = [np.zeros((s.size, n), np.float32) for _, s, n in g.parts]
            open_.append(g)
        for g in open_:
            for buf, (row, starts, n) in zip(g._buffers, g.parts):
                _fill(buf, block[row], starts, n, pos)
        pos = end
        done = [g for g in open_ if g.last <= pos]
        open_ = [g for g in open_ if g.last > pos]
        for g in done:
            g.ready(g._buffers)
            g._buffers = None
    for g in open_ + waiting:  # past the end of the stream: the rest is zeros
        g.ready(g._buffers if g._buffers is not None else [np.zeros((s.size, n), np.float32) for _, s, n in g.parts])
        g._buffers = None
    return pos
