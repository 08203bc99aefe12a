"""Time on one axis: frame masks <-> runs <-> segments, and the ``Timeline`` set of time.

Seconds and 10 ms frame indices convert in one place, ``model.FRAMES`` (a ``FrameGrid``); this module
never divides by the hop itself. A mask is a 1-D boolean array, one value per frame (True = speech).
Runs are two int arrays ``starts`` and ``stops`` (half-open frame ranges), the form every hot path
uses. A ``Timeline`` is an immutable set of time in seconds (sorted, disjoint half-open segments) with
the set algebra the stages share: support, gaps, crop, union, intersection, coverage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .model import FRAMES, TIME_PRECISION_S, FrameGrid, Segment

#: Silences within this of a join threshold count as that threshold: differences of seconds carry float
#: noise (0.7 - 0.5 < 0.2), and a silence of exactly the threshold must separate, as on the frame grid.
_SLACK_S = TIME_PRECISION_S / 2


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) frame indices of every run of True.

    >>> runs(np.array([0, 1, 1, 0, 1], bool))
    (array([1, 4]), array([3, 5]))
    """
    m = np.asarray(mask, dtype=bool).ravel()
    if m.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.diff(np.concatenate(([False], m, [False])).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return starts.astype(np.int64), stops.astype(np.int64)


def mask_from_runs(starts: np.ndarray, stops: np.ndarray, n_frames: int) -> np.ndarray:
    """Inverse of ``runs``: a boolean mask of length ``n_frames``."""
    delta = np.zeros(n_frames + 1, np.int32)
    starts = np.clip(np.asarray(starts, np.int64), 0, n_frames)
    stops = np.clip(np.asarray(stops, np.int64), 0, n_frames)
    np.add.at(delta, starts, 1)
    np.add.at(delta, stops, -1)
    return np.cumsum(delta[:-1], dtype=np.int32) > 0  # int32: half the memory on hours of frames


def bridge_gaps(mask: np.ndarray, max_gap_frames: int) -> np.ndarray:
    """Fill silences of at most ``max_gap_frames`` frames between two speech runs."""
    starts, stops = runs(mask)
    if len(starts) < 2 or max_gap_frames <= 0:
        return np.asarray(mask, bool).copy()
    gaps = starts[1:] - stops[:-1]
    keep = gaps > max_gap_frames
    new_starts = np.concatenate(([starts[0]], starts[1:][keep]))
    new_stops = np.concatenate((stops[:-1][keep], [stops[-1]]))
    return mask_from_runs(new_starts, new_stops, len(mask))


def drop_short(mask: np.ndarray, min_frames: int) -> np.ndarray:
    """Remove speech runs shorter than ``min_frames`` frames."""
    starts, stops = runs(mask)
    keep = (stops - starts) >= min_frames
    return mask_from_runs(starts[keep], stops[keep], len(mask))


def mask_to_segments(mask: np.ndarray, grid: FrameGrid = FRAMES) -> list[Segment]:
    """Every run of True as a segment in seconds (frame ``i`` starts at ``i * hop``)."""
    starts, stops = runs(mask)
    return [Segment(a * grid.hop_s, b * grid.hop_s) for a, b in zip(starts.tolist(), stops.tolist())]


def segments_to_mask(segments: Iterable[Segment], n_frames: int, grid: FrameGrid = FRAMES) -> np.ndarray:
    """Frames covered by the segments; edges go to the nearest frame boundary."""
    bounds = np.array([(s.start, s.end) for s in segments], dtype=np.float64).reshape(-1, 2)
    return mask_from_runs(grid.boundaries(bounds[:, 0]), grid.boundaries(bounds[:, 1]), n_frames)


def merge_segments(segments: Iterable[Segment], max_gap_s: float) -> list[Segment]:
    """Join segments whose silence between them is shorter than ``max_gap_s`` (e.g. words -> IPUs)."""
    ordered = sorted(segments, key=lambda s: (s.start, s.end))
    merged: list[Segment] = []
    for seg in ordered:
        if merged and seg.start - merged[-1].end < max_gap_s - _SLACK_S:
            last = merged[-1]
            merged[-1] = Segment(last.start, max(last.end, seg.end))
        else:
            merged.append(seg)
    return merged


def hysteresis(values: np.ndarray, on: float, off: float) -> np.ndarray:
    """Two-threshold decision: a run of frames with ``values >= off`` is speech when at least one of its
    frames reaches ``on`` (vectorised equivalent of "open at on, close below off").

    >>> hysteresis(np.array([0.1, 0.4, 0.6, 0.4, 0.1, 0.4, 0.1]), 0.5, 0.35).astype(int)
    array([0, 1, 1, 1, 0, 0, 0])
    """
    v = np.asarray(values).ravel()
    starts, stops = runs(v >= off)
    if starts.size == 0:
        return mask_from_runs(starts, stops, len(v))
    # strong frames up to and including each frame (int32: half the memory on hours of frames)
    strong = np.cumsum(v >= on, dtype=np.int32)
    before = np.where(starts > 0, strong[np.maximum(starts - 1, 0)], 0)
    keep = strong[stops - 1] - before > 0
    return mask_from_runs(starts[keep], stops[keep], len(v))


def resample_to_grid(values: np.ndarray, step_s: float, n_frames: int, grid: FrameGrid = FRAMES) -> np.ndarray:
    """Values on a coarser grid of ``step_s`` (e.g. the VAD's 32 ms windows) -> one value per frame:
    each frame takes the value of the window that holds its centre."""
    v = np.asarray(values)
    if v.size == 0:
        return np.zeros(n_frames, v.dtype)
    out = np.empty(n_frames, v.dtype)
    step = 1 << 18  # frames per step: the float64 temporaries stay small on hours of audio
    for a in range(0, n_frames, step):
        idx = np.floor(grid.centre(np.arange(a, min(n_frames, a + step))) / step_s + 1e-9).astype(np.int64)
        out[a : a + idx.size] = v[np.minimum(idx, v.size - 1)]
    return out


def pad_runs(mask: np.ndarray, before: int, after: int) -> np.ndarray:
    """Extend every speech run by ``before`` frames at its start and ``after`` at its end (runs that meet
    merge)."""
    if before <= 0 and after <= 0:
        return np.asarray(mask, bool).copy()
    starts, stops = runs(mask)
    return mask_from_runs(starts - max(before, 0), stops + max(after, 0), len(mask))


# --------------------------------------------------------------------------------------------
# Timeline: an immutable set of time
# --------------------------------------------------------------------------------------------


def _bounds(starts, ends) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(starts, dtype=np.float64).ravel()
    e = np.asarray(ends, dtype=np.float64).ravel()
    if s.shape != e.shape:
        raise ValueError(f"{s.size} starts but {e.size} ends")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(e))):
        raise ValueError("timeline bounds must be finite")
    return s, e


def _join(s: np.ndarray, e: np.ndarray, min_gap: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted segments -> disjoint ones: a segment joins the one before when it starts before that one's
    (running) end (``min_gap`` None: overlapping or touching) or less than ``min_gap`` after it."""
    if s.size < 2:
        return s, e
    run_end = np.maximum.accumulate(e)
    new = np.ones(s.size, bool)
    new[1:] = s[1:] > run_end[:-1] if min_gap is None else s[1:] - run_end[:-1] >= min_gap - _SLACK_S
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, s.size - 1)
    return s[first], run_end[last]


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.flags.writeable = False
    return a


class Timeline:
    """An immutable set of time in seconds: sorted, disjoint half-open segments ``[start, end)``.

    Built from segments (or ``(start, end)`` pairs) in any order, overlapping or touching: they are
    sorted and joined, and empty ones dropped, so two timelines covering the same time are equal.

    >>> tl = Timeline([(3, 4), (0, 1), (0.5, 2)])
    >>> tl
    Timeline([(0.0, 2.0), (3.0, 4.0)])
    >>> tl.duration(), tl.extent()
    (3.0, Segment(start=0.0, end=4.0))
    >>> tl.gaps()
    Timeline([(2.0, 3.0)])
    >>> tl.support(1.5)  # join gaps shorter than 1.5 s
    Timeline([(0.0, 4.0)])
    >>> tl & Timeline([(1, 3.5)])
    Timeline([(1.0, 2.0), (3.0, 3.5)])
    >>> tl.crop(Segment(1.5, 3.2)) | Timeline([(10, 11)])
    Timeline([(1.5, 2.0), (3.0, 3.2), (10.0, 11.0)])

    Frames go through a ``FrameGrid`` (``model.FRAMES``), edges to the nearest frame boundary:

    >>> Timeline.from_mask(np.array([0, 1, 1, 0, 1], bool))
    Timeline([(0.01, 0.03), (0.04, 0.05)])
    >>> Timeline([(0.012, 0.031)]).to_mask(5).astype(int)
    array([0, 1, 1, 0, 0])
    """

    __slots__ = ("_starts", "_ends")

    def __init__(self, segments: Iterable[Segment | tuple[float, float]] = ()):
        pairs = [(seg.start, seg.end) if isinstance(seg, Segment) else tuple(seg) for seg in segments]
        arr = np.array(pairs, dtype=np.float64).reshape(-1, 2)
        self._set(*_bounds(arr[:, 0], arr[:, 1]))

    def _set(self, s: np.ndarray, e: np.ndarray, normalised: bool = False) -> None:
        if not normalised:
            keep = e > s
            s, e = s[keep], e[keep]
            order = np.lexsort((e, s))
            s, e = _join(s[order], e[order], None)
        object.__setattr__(self, "_starts", _frozen(s))
        object.__setattr__(self, "_ends", _frozen(e))

    def __setattr__(self, name, value):
        raise AttributeError("a Timeline is immutable")

    @classmethod
    def _of(cls, s: np.ndarray, e: np.ndarray, normalised: bool = False) -> Timeline:
        out = cls.__new__(cls)
        out._set(s, e, normalised)
        return out

    # ---- construction ------------------------------------------------------------------------

    @classmethod
    def from_bounds(cls, starts: Sequence[float] | np.ndarray, ends: Sequence[float] | np.ndarray) -> Timeline:
        """From parallel arrays of start and end times in seconds (any order, may overlap)."""
        return cls._of(*_bounds(starts, ends))

    @classmethod
    def from_frames(cls, starts: np.ndarray, stops: np.ndarray, grid: FrameGrid = FRAMES) -> Timeline:
        """From half-open frame ranges ``[starts[i], stops[i])`` (e.g. ``runs``), frame ``i`` starting at
        ``grid.to_seconds(i)``."""
        s = np.asarray(starts, np.int64).ravel()
        return cls.from_bounds(s * grid.hop_s, np.asarray(stops, np.int64).ravel() * grid.hop_s)

    @classmethod
    def from_mask(cls, mask: np.ndarray, grid: FrameGrid = FRAMES) -> Timeline:
        """The frames of a boolean mask that are True (the segments ``mask_to_segments`` gives)."""
        starts, stops = runs(mask)
        return cls._of(starts * grid.hop_s, stops * grid.hop_s, normalised=True)

    @classmethod
    def covered(cls, timelines: Iterable[Timeline], at_least: int = 1) -> Timeline:
        """Time covered by at least ``at_least`` of the timelines (1: their union; all of them: their
        intersection; 2 of a conversation's tracks: its overlapped speech). Segments of different
        timelines that only touch do not overlap.

        >>> a, b, c = Timeline([(0, 2)]), Timeline([(1, 3)]), Timeline([(2, 4)])
        >>> Timeline.covered([a, b, c], 2)
        Timeline([(1.0, 3.0)])
        """
        tls = list(timelines)
        if at_least < 1:
            raise ValueError("at_least must be 1 or more")
        s = np.concatenate([t._starts for t in tls]) if tls else np.zeros(0)
        e = np.concatenate([t._ends for t in tls]) if tls else np.zeros(0)
        if s.size == 0:
            return cls()
        times = np.concatenate([s, e])
        step = np.concatenate([np.ones(s.size, np.int64), -np.ones(e.size, np.int64)])
        order = np.lexsort((step, times))  # at one time, ends before starts: touching is not overlapping
        times, count = times[order], np.cumsum(step[order])
        above = count >= at_least
        rise = np.flatnonzero(above & ~np.concatenate(([False], above[:-1])))
        fall = np.flatnonzero(~above & np.concatenate(([False], above[:-1])))
        return cls._of(times[rise], times[fall])

    # ---- reading -----------------------------------------------------------------------------

    @property
    def starts(self) -> np.ndarray:
        """Start times (read-only float64 array, increasing)."""
        return self._starts

    @property
    def ends(self) -> np.ndarray:
        """End times (read-only float64 array, increasing; ``ends[i] < starts[i + 1]``)."""
        return self._ends

    def segments(self) -> list[Segment]:
        return [Segment(a, b) for a, b in zip(self._starts.tolist(), self._ends.tolist())]

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments())

    def __len__(self) -> int:
        return int(self._starts.size)

    def __bool__(self) -> bool:
        return self._starts.size > 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        return np.array_equal(self._starts, other._starts) and np.array_equal(self._ends, other._ends)

    __hash__ = None  # type: ignore[assignment]  (equal by value, like the arrays it holds)

    def __repr__(self) -> str:
        pairs = ", ".join(f"({a!r}, {b!r})" for a, b in zip(self._starts.tolist(), self._ends.tolist()))
        return f"Timeline([{pairs}])"

    def __contains__(self, t: float) -> bool:
        i = int(np.searchsorted(self._starts, t, side="right")) - 1
        return i >= 0 and t < self._ends[i]

    def duration(self) -> float:
        """Seconds covered."""
        return float(np.sum(self._ends - self._starts))

    def extent(self) -> Segment:
        """The smallest segment holding the whole timeline (``Segment(0, 0)`` when empty)."""
        if not self:
            return Segment(0.0, 0.0)
        return Segment(self._starts[0], self._ends[-1])

    # ---- algebra -----------------------------------------------------------------------------

    def support(self, collar: float = 0.0) -> Timeline:
        """Segments joined across gaps shorter than ``collar`` seconds (e.g. words -> inter-pausal units:
        ``merge_segments`` of the same segments and threshold, for a positive threshold)."""
        if collar <= 0.0:
            return self
        return Timeline._of(*_join(self._starts, self._ends, collar), normalised=True)

    def gaps(self, within: Segment | None = None) -> Timeline:
        """The time in ``within`` (default: the extent) that the timeline does not cover."""
        if within is None:
            within = self.extent()
        inner = self.crop(within)
        s = np.concatenate(([within.start], inner._ends))
        e = np.concatenate((inner._starts, [within.end]))
        keep = e > s
        return Timeline._of(s[keep], e[keep], normalised=True)

    def crop(self, other: Segment | Timeline) -> Timeline:
        """The part of the timeline inside a segment or another timeline."""
        if isinstance(other, Segment):
            s, e = np.maximum(self._starts, other.start), np.minimum(self._ends, other.end)
            keep = e > s
            return Timeline._of(s[keep], e[keep], normalised=True)
        return self.intersection(other)

    def union(self, other: Timeline) -> Timeline:
        return Timeline.from_bounds(np.concatenate([self._starts, other._starts]),
                                    np.concatenate([self._ends, other._ends]))

    def intersection(self, other: Timeline) -> Timeline:
        return Timeline.covered([self, other], 2)

    __or__ = union
    __and__ = intersection

    # ---- frames ------------------------------------------------------------------------------

    def to_frames(self, grid: FrameGrid = FRAMES) -> tuple[np.ndarray, np.ndarray]:
        """Half-open frame ranges ``(starts, stops)``, edges to the nearest frame boundary (the inverse of
        ``from_frames``); ranges that round to nothing are dropped."""
        a, b = grid.boundaries(self._starts), grid.boundaries(self._ends)
        keep = b > a
        return a[keep], b[keep]

    def to_mask(self, n_frames: int, grid: FrameGrid = FRAMES) -> np.ndarray:
        """Boolean mask of ``n_frames`` frames (what ``segments_to_mask`` gives for the same segments)."""
        return mask_from_runs(grid.boundaries(self._starts), grid.boundaries(self._ends), n_frames)
