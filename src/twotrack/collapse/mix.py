"""Two tracks -> the mono mix a single-microphone (or mixed-down web) recording would have given.

The tracks are summed as they are: each keeps the level it was recorded at, so a quiet talker stays
quiet in the mix, as they would be on one channel. Only when the sum would clip is the whole mix
scaled down (one gain for the whole recording, so the relative levels are kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def mix_tracks(tracks: np.ndarray, headroom: float = 0.999) -> np.ndarray:
    """float32 (n,) sum of the rows of ``tracks`` (n_tracks, n), scaled down only if it would clip."""
    x = np.asarray(tracks, np.float32)
    if x.ndim == 1:
        return x.copy()
    if x.ndim != 2:
        raise ValueError(f"tracks must be (n_tracks, n), got shape {x.shape}")
    gain, _ = mix_gain([x], headroom)
    return next(mix_blocks([x], gain))[0]  # the streamed mix of one block: one way to mix


def mix_gain(blocks: Iterable[np.ndarray], headroom: float = 0.999) -> tuple[float, int]:
    """(gain, samples) of ``mix_tracks`` over blocks float32 (n_tracks, n): the gain is 1 unless the
    sum's peak over the whole recording passes ``headroom``; read once, nothing kept."""
    peak, n = 0.0, 0
    for block in blocks:
        mono = np.asarray(block, np.float32).sum(axis=0, dtype=np.float32)
        if mono.size:
            peak = max(peak, float(np.max(np.abs(mono))))
        n += mono.size
    return (float(np.float32(headroom / peak)) if peak > headroom else 1.0), n


def mix_blocks(blocks: Iterable[np.ndarray], gain: float = 1.0) -> Iterator[np.ndarray]:
    """The mono mix as blocks float32 (1, n), sample for sample ``mix_tracks`` with ``gain`` from ``mix_gain``."""
    for block in blocks:
        mono = np.asarray(block, np.float32).sum(axis=0, dtype=np.float32)
        if gain != 1.0:
            mono *= np.float32(gain)
        yield mono[None]
