"""Two tracks -> the mono mix a single-microphone (or mixed-down web) recording would have given.

The tracks are summed as they are: each keeps the level it was recorded at, so a quiet talker stays
quiet in the mix, as they would be on one channel. Only when the sum would clip is the whole mix
scaled down (one gain for the whole recording, so the relative levels are kept).
"""

from __future__ import annotations

import numpy as np


def mix_tracks(tracks: np.ndarray, headroom: float = 0.999) -> np.ndarray:
    """float32 (n,) sum of the rows of ``tracks`` (n_tracks, n), scaled down only if it would clip."""
    x = np.asarray(tracks, np.float32)
    if x.ndim == 1:
        return x.copy()
    if x.ndim != 2:
        raise ValueError(f"tracks must be (n_tracks, n), got shape {x.shape}")
    mono = x.sum(axis=0, dtype=np.float32)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak > headroom:
        mono *= np.float32(headroom / peak)
    return mono
