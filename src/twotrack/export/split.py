"""Where to cut a long recording: in the middle of a silence of both tracks, never inside an IPU.

Pure functions over arrays of ``(start, end)`` seconds. The speech that must not be cut is the union of
both tracks' IPUs (and gold words, when they exist: a detector can miss a word's onset); a silence is a
stretch where neither track speaks. A piece is at most ``max_s`` long unless no silence falls inside
the window, in which case it runs on to the next silence (and the caller is told).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def intervals(pairs) -> np.ndarray:
    """Any iterable of (start, end) as a float64 array of shape (n, 2); empty and reversed ones dropped."""
    arr = np.asarray(list(pairs) if not isinstance(pairs, np.ndarray) else pairs, dtype=np.float64).reshape(-1, 2)
    return arr[arr[:, 1] > arr[:, 0]]


def silences(speech: np.ndarray, duration_s: float) -> np.ndarray:
    """The complement of the union of ``speech`` intervals within ``[0, duration_s]``, shape (m, 2).

    >>> silences(np.array([[1.0, 2.0], [1.5, 3.0], [4.0, 5.0]]), 6.0).tolist()
    [[0.0, 1.0], [3.0, 4.0], [5.0, 6.0]]
    """
    speech = intervals(speech)
    if duration_s <= 0:
        return np.zeros((0, 2))
    if len(speech) == 0:
        return np.array([[0.0, float(duration_s)]])
    order = np.argsort(speech[:, 0], kind="stable")
    starts = np.clip(speech[order, 0], 0.0, duration_s)
    ends = np.maximum.accumulate(np.clip(speech[order, 1], 0.0, duration_s))
    gap_starts = np.concatenate(([0.0], ends))
    gap_ends = np.concatenate((starts, [float(duration_s)]))
    # the silence before speech i starts at the furthest end reached by speech 0..i-1
    out = np.stack([gap_starts, gap_ends], axis=1)
    return out[out[:, 1] > out[:, 0]]


@dataclass(frozen=True)
class PiecePlan:
    """Pieces ``[(start, end), ...]`` covering ``[0, duration]`` in order, and what could not be honoured."""

    pieces: tuple[tuple[float, float], ...]
    over_long: tuple[int, ...] = ()  # indices of pieces longer than the maximum (no silence to cut at)


def plan_pieces(duration_s: float, speech: np.ndarray, max_s: float | None, *,
                min_silence_s: float = 0.2, min_piece_s: float = 1.0) -> PiecePlan:
    """Cut points for a recording of ``duration_s`` seconds whose speech (both tracks) is ``speech``.

    Each cut is the midpoint of a silence. Within the window ``[pos + max/2, pos + max]`` the longest
    silence of at least ``min_silence_s`` wins; failing that the latest shorter silence before
    ``pos + max``; failing that the first silence after it (the piece is then over-long). ``max_s``
    None or <= 0 means one piece.

    >>> plan_pieces(10.0, np.array([[0.5, 3.0], [3.5, 6.0], [6.8, 9.5]]), 5.0).pieces
    ((0.0, 3.25), (3.25, 6.4), (6.4, 10.0))
    """
    duration_s = float(duration_s)
    if not max_s or max_s <= 0 or duration_s <= max_s:
        return PiecePlan(((0.0, duration_s),))
    sil = silences(speech, duration_s)
    # a cut in the leading or trailing silence would only shave silence off: keep inner ones (and
    # edge ones far enough from the ends to leave a real piece)
    mids = sil.mean(axis=1) if len(sil) else np.zeros(0)
    lengths = sil[:, 1] - sil[:, 0] if len(sil) else np.zeros(0)
    cuts = [0.0]
    over: list[int] = []
    pos = 0.0
    while duration_s - pos > max_s:
        ok = (mids > pos + min_piece_s) & (mids < duration_s - min_piece_s)
        window = ok & (mids >= pos + max_s / 2) & (mids <= pos + max_s) & (lengths >= min_silence_s)
        if window.any():
            idx = np.flatnonzero(window)
            best = idx[np.lexsort((mids[idx], lengths[idx]))[-1]]  # longest, then latest
        else:
            early = np.flatnonzero(ok & (mids <= pos + max_s))
            late = np.flatnonzero(ok & (mids > pos + max_s))
            if len(early):
                best = early[-1]
            elif len(late):
                best = late[0]
                over.append(len(cuts) - 1)
            else:
                over.append(len(cuts) - 1)
                break
        pos = float(mids[best])
        cuts.append(pos)
    cuts.append(duration_s)
    pieces = tuple((round(a, 6), round(b, 6)) for a, b in zip(cuts[:-1], cuts[1:]))
    return PiecePlan(pieces, tuple(over))


def speech_intervals(ipus_by_track, words_by_track=None) -> np.ndarray:
    """Everything that must not be cut: every track's IPUs, plus gold words where they exist."""
    parts = [intervals(v) for v in ipus_by_track.values()] if isinstance(ipus_by_track, dict) else \
        [intervals(v) for v in ipus_by_track]
    if words_by_track:
        parts += [intervals([(w.start, w.end) for w in ws]) for ws in words_by_track.values()]
    parts = [p for p in parts if len(p)]
    return np.concatenate(parts) if parts else np.zeros((0, 2))
