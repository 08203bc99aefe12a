"""Frame masks <-> segments, vectorised. The 10 ms grid comes from ``model.FRAMES``.

A mask is a 1-D boolean array, one value per 10 ms frame (True = speech). Runs are returned as
two int arrays ``starts`` and ``stops`` (half-open frame ranges), the form every hot path uses.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .model import FRAMES, FrameGrid, Segment


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
    return np.cumsum(delta[:-1]) > 0


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
    starts, stops = runs(mask)
    return [Segment(a * grid.hop_s, b * grid.hop_s) for a, b in zip(starts.tolist(), stops.tolist())]


def segments_to_mask(segments: Iterable[Segment], n_frames: int, grid: FrameGrid = FRAMES) -> np.ndarray:
    """Frames covered by the segments; edges go to the nearest frame boundary."""
    bounds = np.array([(s.start, s.end) for s in segments], dtype=np.float64).reshape(-1, 2)
    starts = np.rint(bounds[:, 0] / grid.hop_s).astype(np.int64)
    stops = np.rint(bounds[:, 1] / grid.hop_s).astype(np.int64)
    return mask_from_runs(starts, stops, n_frames)


def merge_segments(segments: Iterable[Segment], max_gap_s: float) -> list[Segment]:
    """Join segments whose silence between them is shorter than ``max_gap_s`` (e.g. words -> IPUs)."""
    ordered = sorted(segments, key=lambda s: (s.start, s.end))
    merged: list[Segment] = []
    for seg in ordered:
        if merged and seg.start - merged[-1].end < max_gap_s:
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
    strong = np.concatenate(([0], np.cumsum(v >= on)))
    keep = strong[stops] - strong[starts] > 0
    return mask_from_runs(starts[keep], stops[keep], len(v))


def resample_to_grid(values: np.ndarray, step_s: float, n_frames: int, grid: FrameGrid = FRAMES) -> np.ndarray:
    """Values on a coarser grid of ``step_s`` (e.g. the VAD's 32 ms windows) -> one value per frame:
    each frame takes the value of the window that holds its centre."""
    v = np.asarray(values)
    if v.size == 0:
        return np.zeros(n_frames, v.dtype)
    idx = np.floor(grid.centre(np.arange(n_frames)) / step_s + 1e-9).astype(np.int64)
    return v[np.minimum(idx, v.size - 1)]


def pad_runs(mask: np.ndarray, before: int, after: int) -> np.ndarray:
    """Extend every speech run by ``before`` frames at its start and ``after`` at its end (runs that meet
    merge)."""
    if before <= 0 and after <= 0:
        return np.asarray(mask, bool).copy()
    starts, stops = runs(mask)
    return mask_from_runs(starts - max(before, 0), stops + max(after, 0), len(mask))
