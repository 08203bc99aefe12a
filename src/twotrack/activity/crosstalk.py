"""Crosstalk: speech heard on one track only as the bleed of another is not that track's speech.

Bleed is the other talker's signal, attenuated and slightly delayed. Per 10 ms frame, a track whose
level is below the loudest other track's level (at small lags) plus a ratio is taken as carrying only
bleed in that frame. The ratio is ``ratio_db`` (e.g. -15 dB) when nothing is known about the bleed; when
the checks stage measured it (level in dB, lag in ms) the ratio is that level plus a margin, capped, so a
recording with weak bleed keeps quiet genuine speech that overlaps the other talker.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from ..model import FRAMES, FrameGrid


def ratio_threshold_db(bleed: tuple[float, float] | None, ratio_db: float, margin_db: float,
                       cap_db: float) -> float:
    """The level ratio below which a frame is bleed only."""
    if bleed is None or bleed[0] is None or not np.isfinite(bleed[0]):
        return ratio_db
    return float(min(bleed[0] + margin_db, cap_db))


def bleed_only(energy_db: np.ndarray, threshold_db: float, lag_ms: float | None = None,
               smooth_frames: int = 5, grid: FrameGrid = FRAMES) -> np.ndarray:
    """bool (n_tracks, n_frames): frames where a track is at least ``-threshold_db`` below another.

    ``energy_db`` float (n_tracks, n_frames). Levels are compared on a short power average (the bleed
    copy is smeared by its lag and by frame edges) and against the other track's maximum over lags up
    to ``lag_ms`` (default: one frame) in both directions, so the direction of the bleed need not be known.
    """
    e = np.asarray(energy_db, np.float64)
    n_tracks = e.shape[0]
    out = np.zeros(e.shape, bool)
    if n_tracks < 2 or e.shape[1] == 0:
        return out
    power = uniform_filter1d(10.0 ** (e / 10.0), max(1, smooth_frames), axis=1, mode="nearest")
    level = 10.0 * np.log10(np.maximum(power, 1e-30))
    lag_frames = 1 if lag_ms is None else int(np.ceil(abs(lag_ms) / 1000.0 / grid.hop_s)) + 1
    spread = maximum_filter1d(level, 2 * lag_frames + 1, axis=1, mode="nearest")
    for i in range(n_tracks):  # loops over tracks (2), not frames
        others = np.delete(spread, i, axis=0).max(axis=0)
        out[i] = level[i] < others + threshold_db
    return out
