"""Crosstalk: speech heard on one track only as the bleed of another is not that track's speech.

Bleed is the other talker's signal, attenuated and slightly delayed. Per 10 ms frame, a track whose
level is below another track's level (at small lags) plus a ratio threshold is taken as carrying only
that track's bleed in that frame. The threshold is the bleed level plus a margin:

- when the checks stage measured the bleed (level dB, lag ms), that level;
- otherwise the level read from the recording itself: over the frames where the other track is clearly
  active, the ratio of the two levels sits at the bleed level whenever this track is silent (or at its
  noise floor when there is no audible bleed), so a low percentile of that ratio is the bleed level;
- with too few active frames to read it, a fixed ``ratio_db``.

The margin keeps genuine overlapping speech, which is louder than the bleed it rides on, and the cap
keeps a recording with strong bleed from losing the speech of both talkers.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from ..model import FRAMES, FrameGrid
from ..timeline import runs
from .energy import SILENCE_DB


def smoothed_level(energy_db: np.ndarray, smooth_frames: int = 5, dtype=np.float64) -> np.ndarray:
    """Frame levels averaged in the power domain over a few frames (a bleed copy is smeared by its lag
    and by frame edges, so single frames compare poorly), as ``dtype``. Computed in float64 a track at a
    time (the same numbers as all tracks at once): on a 6-hour recording the float64 temporaries of every
    track at once were the activity stage's peak."""
    e = np.atleast_2d(np.asarray(energy_db))
    out = np.empty(e.shape, dtype)
    for i, row in enumerate(e):
        power = uniform_filter1d(10.0 ** (np.asarray(row, np.float64) / 10.0), max(1, smooth_frames), mode="nearest")
        out[i] = 10.0 * np.log10(np.maximum(power, 1e-30))
    return out


def _lag_frames(lag_ms: float | None, grid: FrameGrid) -> int:
    return 1 if lag_ms is None or not np.isfinite(lag_ms) else int(np.ceil(abs(lag_ms) / 1000.0 / grid.hop_s)) + 1


def ratio_samples(energy_db: np.ndarray, floor_db: np.ndarray, start: int = 0, stop: int | None = None,
                  active_db: float = 15.0, lag_ms: float | None = None, grid: FrameGrid = FRAMES
                  ) -> dict[tuple[int, int], np.ndarray]:
    """Level ratios level_i - level_j (float32) over frames ``start:stop`` where track j is at least
    ``active_db`` above its floor, per ordered pair (i, j) (track j's level taken at its loudest within
    the lag). The raw material of ``estimate_bleed_db``; collect it piece by piece for long recordings."""
    level = smoothed_level(energy_db)
    floor = np.atleast_2d(np.asarray(floor_db, np.float64))
    n = level.shape[0]
    spread = maximum_filter1d(level, 2 * _lag_frames(lag_ms, grid) + 1, axis=1, mode="nearest")
    sl = slice(start, stop)
    out = {}
    for j in range(n):  # loops over track pairs (two tracks: two pairs), not frames
        active = level[j, sl] >= floor[j, sl] + active_db
        for i in range(n):
            if i != j:
                out[(i, j)] = (level[i, sl][active] - spread[j, sl][active]).astype(np.float32)
    return out


def bleed_from_samples(samples: list[dict[tuple[int, int], np.ndarray]], n_tracks: int, percentile: float = 20.0,
                       min_frames: int = 200) -> np.ndarray:
    """Bleed level of track j on track i (dB) from collected ratio samples, float (n_tracks, n_tracks),
    NaN where fewer than ``min_frames`` frames had track j active."""
    out = np.full((n_tracks, n_tracks), np.nan)
    for i in range(n_tracks):
        for j in range(n_tracks):
            if i == j:
                continue
            values = np.concatenate([s[(i, j)] for s in samples if (i, j) in s] or [np.zeros(0, np.float32)])
            if values.size >= min_frames:
                out[i, j] = np.percentile(values, percentile)
    return out


def estimate_bleed_db(energy_db: np.ndarray, floor_db: np.ndarray, active_db: float = 15.0,
                      percentile: float = 20.0, min_frames: int = 200, lag_ms: float | None = None,
                      grid: FrameGrid = FRAMES) -> np.ndarray:
    """Bleed level of track j on track i, dB, as float (n_tracks, n_tracks) (NaN where not readable).

    Read over the frames where track j is at least ``active_db`` above its floor: the ``percentile`` of
    level_i - level_j (track j's level taken at its loudest within the lag)."""
    samples = ratio_samples(energy_db, floor_db, 0, None, active_db, lag_ms, grid)
    return bleed_from_samples([samples], np.atleast_2d(energy_db).shape[0], percentile, min_frames)


#: A track can bleed only where it sounds: this far above its own noise floor (``bleed_only``'s ``floor_db``).
SOURCE_ACTIVE_DB = 6.0
#: ... or within this of its digital silence, where its floor is its own quiet sound, not noise (the floor window).
CLEAN_WINDOW_S = 2.0


def bleed_only(energy_db: np.ndarray, threshold_db: np.ndarray | float, lag_ms: float | None = None,
               grid: FrameGrid = FRAMES, floor_db: np.ndarray | None = None,
               active_db: float = SOURCE_ACTIVE_DB, clean_window_s: float = CLEAN_WINDOW_S) -> np.ndarray:
    """bool (n_tracks, n_frames): frames where track i is below track j's level + ``threshold_db[i, j]``
    for some other track j (``threshold_db`` a scalar or (n_tracks, n_tracks)).

    Track j's level is taken at its maximum over lags up to ``lag_ms`` (default one frame) in both
    directions, so the direction of the bleed need not be known. With ``floor_db`` (the tracks' noise
    floors), only frames where track j lies ``active_db`` above its floor can be a source: bleed is a copy
    of the other side's *signal*, and a channel's own steady noise (a hissing spare input, a noisy far-end
    line) at its floor would otherwise take the quieter speech of every other track for its bleed.
    Within ``clean_window_s`` of a track's digital silence every sound of it is a source: there its floor is
    not noise but its own quietest sound (digital silence never sets the floor), so the soft tails of a
    clean talker's words lie within ``active_db`` of it, and a room mic's copy of them was left as speech."""
    level = smoothed_level(energy_db)
    n_tracks, n_frames = level.shape
    out = np.zeros(level.shape, bool)
    if n_tracks < 2 or n_frames == 0:
        return out
    thr = np.broadcast_to(np.asarray(threshold_db, np.float64), (n_tracks, n_tracks))
    source = level
    if floor_db is not None:
        sounds = level >= np.atleast_2d(np.asarray(floor_db, np.float64)) + active_db
        silent = np.atleast_2d(np.asarray(energy_db, np.float64)) <= SILENCE_DB + 1e-3
        clean = maximum_filter1d(silent, 2 * int(round(clean_window_s / grid.hop_s)) + 1, axis=1, mode="nearest")
        source = np.where(sounds | (clean & ~silent), level, -np.inf)
    spread = maximum_filter1d(source, 2 * _lag_frames(lag_ms, grid) + 1, axis=1, mode="nearest")
    for i in range(n_tracks):  # loops over tracks, not frames
        for j in range(n_tracks):
            if i != j and np.isfinite(thr[i, j]):
                out[i] |= level[i] < spread[j] + thr[i, j]
    return out


def inaudible_residues(before: np.ndarray, after: np.ndarray, energy_db: np.ndarray, floor_db: np.ndarray,
                       level_db: float, smooth: int = 5) -> np.ndarray:
    """bool like ``after``: the runs of one track's ``after`` (its speech after the crosstalk rule) that the
    rule cut out of a longer run of ``before`` and whose level (a ``smooth``-frame power average) nowhere
    reaches ``level_db`` over the track's floor. A room mic's copy of the talkers is speech to the model
    from the first syllable to the last; the rule removes the frames under the talkers' level, and what it
    leaves between them lies in the mic's own hiss (the talker's soft word tail, copied under that hiss):
    no sound of the track's own, so not speech. Runs the rule did not touch are not judged here."""
    b, a = np.asarray(before, bool), np.asarray(after, bool)
    out = np.zeros(a.shape, bool)
    starts, stops = runs(a)
    if not starts.size:
        return out
    power = uniform_filter1d(10.0 ** (np.asarray(energy_db, np.float64) / 10.0), max(1, smooth), mode="nearest")
    rel = 10.0 * np.log10(np.maximum(power, 1e-30)) - np.asarray(floor_db, np.float64)
    n = a.size
    for s, e in zip(starts, stops):
        cut = (s > 0 and b[s - 1]) or (e < n and b[e])  # the run was part of a longer one before the rule
        if cut and not (rel[s:e] >= level_db).any():
            out[s:e] = True
    return out


def thresholds_db(energy_db: np.ndarray, floor_db: np.ndarray, bleed: tuple[float, float] | None,
                  ratio_db: float, margin_db: float, cap_db: float) -> np.ndarray:
    """The bleed-only threshold per track pair (see module doc)."""
    n = np.atleast_2d(energy_db).shape[0]
    if bleed is not None and bleed[0] is not None and np.isfinite(bleed[0]):
        level = np.full((n, n), float(bleed[0]))
    else:
        level = estimate_bleed_db(energy_db, floor_db)
        level = np.where(np.isfinite(level), level, ratio_db - margin_db)
    return np.minimum(level + margin_db, cap_db)
