"""Crosstalk: on a leaky recording the recogniser also transcribes the other speaker's bleed. A word
whose audio on its own track is much weaker than on another track over the same time is that bleed.

The threshold is the checks stage's bleed level (other speaker on this track, dB) plus a margin,
capped (so overlapping speech, louder than the bleed it rides on, stays); without a bleed estimate a
fixed ratio. Energy over each word comes from a cumulative sum: vectorised over words.
"""

from __future__ import annotations

import numpy as np


def levels_from_frames(frames: np.ndarray, hop: int, starts: np.ndarray, ends: np.ndarray,
                       hop_s: float = 0.01) -> np.ndarray:
    """float64 (n_tracks, n_words): mean power in dB of every track over every word's span, from frame sums
    of squares (n_tracks, n_frames) of ``hop`` samples each (``stream.frame_powers``: what the streamed words
    stage keeps instead of the audio; a cumulative sum over frames, vectorised over words)."""
    frames = np.asarray(frames).astype(np.float64) / hop
    n = frames.shape[1]
    cs = np.concatenate([np.zeros((frames.shape[0], 1)), np.cumsum(frames, axis=1)], axis=1)
    a = np.clip(np.floor(np.asarray(starts) / hop_s).astype(np.int64), 0, n)
    b = np.clip(np.ceil(np.asarray(ends) / hop_s).astype(np.int64), 0, n)
    b = np.maximum(b, np.minimum(a + 1, n))
    power = (cs[:, b] - cs[:, a]) / np.maximum(b - a, 1)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def threshold_db(bleed_db: float | None, margin_db: float, ratio_db: float, cap_db: float) -> float:
    """Own-minus-other level below which a word is bleed (see module doc)."""
    if bleed_db is not None and np.isfinite(bleed_db):
        return min(float(bleed_db) + margin_db, cap_db)
    return min(ratio_db, cap_db)


#: Percentile of a track's 10 ms frame powers taken as its steady noise (``above_floor``).
FLOOR_PERCENTILE = 10.0


def above_floor(frames: np.ndarray, percentile: float = FLOOR_PERCENTILE) -> np.ndarray:
    """Frame powers (n_tracks, n_frames) with each track's steady noise (the ``percentile`` of its frame
    powers) taken off, at least 0: what a track adds over its own background, which alone can bleed onto
    another track (a hissing spare channel or a noisy far-end line is loud, and no other track's bleed)."""
    frames = np.asarray(frames, np.float64)
    if frames.shape[1] == 0:
        return frames
    return np.maximum(frames - np.percentile(frames, percentile, axis=1, keepdims=True), 0.0)


def bleed_words_frames(frames: np.ndarray, track: int, starts: np.ndarray, ends: np.ndarray, threshold: float,
                       hop: int = 160) -> np.ndarray:
    """bool (n_words,): words of ``track`` whose level is below some other track's level over its own
    background (``above_floor``) + ``threshold``, from 10 ms frame sums of squares (``stream.frame_powers``,
    16 kHz: ``hop`` 160)."""
    if frames.shape[0] < 2 or len(starts) == 0:
        return np.zeros(len(starts), bool)
    own = levels_from_frames(frames[track : track + 1], hop, starts, ends)[0]
    others = np.delete(above_floor(frames), track, axis=0)
    return own < levels_from_frames(others, hop, starts, ends).max(axis=0) + threshold
