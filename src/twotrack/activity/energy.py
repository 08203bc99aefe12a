"""Energy per 10 ms frame, an adaptive noise floor, and the energy detector.

Energies are frame variances in dB (the frame mean is removed, so a DC offset does not read as
sound). The noise floor follows the quiet parts of the track: the minimum of a short moving average
over a sliding window of a few seconds, then the maximum over the same window (a morphological opening
of the envelope from below), so isolated quiet frames do not drag it down and speech never lifts it.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

from ..model import FRAMES, FrameGrid

#: Energy of an all-zero frame (digital silence), dB re full scale.
SILENCE_DB = -120.0


def frame_energy_db(audio: np.ndarray, sample_rate: int, grid: FrameGrid = FRAMES) -> np.ndarray:
    """float32 dB per frame of ``audio`` (n,) on the frame grid; the last partial frame is kept."""
    hop = int(round(sample_rate * grid.hop_s))
    x = np.asarray(audio, np.float32).ravel()
    n_frames = -(-x.size // hop)
    if n_frames == 0:
        return np.zeros(0, np.float32)
    full = x.size // hop
    out = np.empty(n_frames, np.float32)
    if full:
        out[:full] = np.var(x[: full * hop].reshape(full, hop), axis=1, dtype=np.float64)
    if full < n_frames:
        out[full] = np.var(x[full * hop :], dtype=np.float64)
    return np.maximum(10.0 * np.log10(np.maximum(out, 1e-30)), SILENCE_DB).astype(np.float32)


class EnergyStream:
    """``frame_energy_db`` over blocks (n_tracks, n): frames that straddle blocks are carried over."""

    def __init__(self, n_tracks: int, sample_rate: int, grid: FrameGrid = FRAMES):
        self.sample_rate = sample_rate
        self.hop = int(round(sample_rate * grid.hop_s))
        self.grid = grid
        self.rest = np.zeros((n_tracks, 0), np.float32)

    def feed(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, np.float32)
        # a block of whole frames after one that left none over (8 s blocks at 8 or 16 kHz): no copy
        x = block if not self.rest.shape[1] and block.flags.c_contiguous else np.concatenate([self.rest, block], axis=1)
        full = x.shape[1] // self.hop
        self.rest = x[:, full * self.hop :]
        if not full:
            return np.zeros((x.shape[0], 0), np.float32)
        frames = x[:, : full * self.hop].reshape(x.shape[0], full, self.hop)
        var = np.var(frames, axis=2, dtype=np.float64)
        return np.maximum(10.0 * np.log10(np.maximum(var, 1e-30)), SILENCE_DB).astype(np.float32)

    def finish(self) -> np.ndarray:
        if not self.rest.shape[1]:
            return np.zeros((self.rest.shape[0], 0), np.float32)
        return np.stack([frame_energy_db(r, self.sample_rate, self.grid) for r in self.rest])


def moving_mean(x: np.ndarray, size: int) -> np.ndarray:
    """``uniform_filter1d(x, size, mode="nearest")`` along the last axis with each window summed on its own,
    in a fixed order: scipy's running sum carries rounding from the start of the array, so its last bits
    depend on where the array starts; here a value depends only on the values in its window (and the
    array's true ends), so an array read in pieces gives the same numbers bit for bit."""
    x = np.asarray(x, np.float64)
    n = x.shape[-1]
    ext = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(size // 2, (size - 1) // 2)], mode="edge")
    total = ext[..., :n].copy()
    for k in range(1, size):
        total += ext[..., k : k + n]
    return total / size


def floor_reach(window_s: float = 2.0, smooth_s: float = 0.1, grid: FrameGrid = FRAMES) -> tuple[int, int]:
    """(before, after): the frames on each side of a frame that its ``noise_floor_db`` reads (the
    smoothing, then the minimum and the maximum over the window)."""
    smooth = max(1, int(round(smooth_s / grid.hop_s)))
    win = max(1, int(round(window_s / grid.hop_s)))
    return smooth // 2 + 2 * (win // 2), (smooth - 1) // 2 + 2 * ((win - 1) // 2)


def noise_floor_db(energy_db: np.ndarray, window_s: float = 2.0, smooth_s: float = 0.1,
                   grid: FrameGrid = FRAMES, min_sound: float = 0.25, local: bool = False) -> np.ndarray:
    """Local noise floor (dB) per frame: opening of the smoothed envelope over ``window_s``.

    Smoothing in the power domain first keeps a single quiet frame inside speech from reading as floor.
    Digital silence (all-zero frames, e.g. a muted or gated channel) carries no information about the
    background the speech sits in, so it never sets the floor; a window with less than ``min_sound`` of
    its frames not digitally silent is no evidence either (its quietest sound would be the only sound:
    a short word alone in a gated channel would be its own floor and never count as speech). Such a
    window takes the floor of its surroundings, or digital silence's when there is none.
    ``energy_db``: one track (n,) or several (tracks, n), each row on its own (the filters run along the
    last axis). ``local``: the power average by ``moving_mean``, so a frame's floor depends only on the frames
    within ``floor_reach`` of it, bit for bit (the counts of sounding frames are exact either way).
    """
    return noise_floors_db(energy_db, (window_s,), smooth_s, grid, min_sound, local)[0]


def noise_floors_db(energy_db: np.ndarray, windows_s: tuple[float, ...], smooth_s: float = 0.1,
                    grid: FrameGrid = FRAMES, min_sound: float = 0.25, local: bool = False) -> list[np.ndarray]:
    """``noise_floor_db`` over each of ``windows_s``, sharing the smoothed envelope (most of the cost)."""
    e = np.asarray(energy_db, np.float64)
    if e.size == 0:
        return [e.astype(np.float32) for _ in windows_s]
    smooth = max(1, int(round(smooth_s / grid.hop_s)))
    silent = e <= SILENCE_DB + 1e-3
    if silent.all():
        return [np.full(e.shape, SILENCE_DB, np.float32) for _ in windows_s]
    power = np.where(silent, 0.0, 10.0 ** (e / 10.0))
    weight = uniform_filter1d((~silent).astype(np.float64), smooth, mode="nearest")
    smoothed = moving_mean(power, smooth) if local else uniform_filter1d(power, smooth, mode="nearest")
    power = smoothed / np.maximum(weight, 1e-12)
    env = np.where(weight > 0, 10.0 * np.log10(np.maximum(power, 1e-30)), np.inf)
    out = []
    for window_s in windows_s:
        win = max(1, int(round(window_s / grid.hop_s)))
        low = minimum_filter1d(env, win, mode="nearest")
        sound = uniform_filter1d((~silent).astype(np.float64), win, mode="nearest")  # same window as the minimum
        low = np.where(np.isfinite(low) & (sound >= min_sound - 1e-9), low, -np.inf)  # too little sound: no evidence
        floor = maximum_filter1d(low, win, mode="nearest")
        floor = np.where(np.isfinite(floor), floor, SILENCE_DB)
        out.append(np.maximum(floor, SILENCE_DB).astype(np.float32))
    return out


def silence_below(energy_db: np.ndarray, range_db: float = 60.0, level_pct: float = 95.0) -> np.ndarray:
    """Energies (n_tracks, n_frames) with every frame more than ``range_db`` below its track's loud
    speech (the ``level_pct`` percentile of its non-silent frames) set to digital silence.

    A lossy codec or dither turns a digitally silent stretch into residue 60-100 dB below the speech;
    edges and floors measured against that residue would follow faint codec pre-echo and ringing far out
    of the word. Relative to the track's own level, so a quiet speaker keeps its quiet background."""
    e = np.array(np.atleast_2d(energy_db), np.float32)
    for row in e:  # tracks, not frames
        live = row[row > SILENCE_DB + 1e-3]
        if live.size:
            row[row < np.percentile(live, level_pct) - range_db] = SILENCE_DB
    return e


def energy_probability(energy_db: np.ndarray, floor_db: np.ndarray, mid_db: float = 9.0,
                       scale_db: float = 2.0) -> np.ndarray:
    """A pseudo speech probability from the level above the floor (0.5 at ``mid_db`` above it), so the
    energy detector shares the hysteresis and duration rules of the model detector."""
    z = (np.asarray(energy_db, np.float32) - np.asarray(floor_db, np.float32) - mid_db) / scale_db
    return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)
