"""Per-frame power on the 10 ms grid and the cheap activity the checks use when no VAD ran.

A frame's power is its variance (the mean is removed, so a DC offset does not read as sound), in dB
re full scale; digital silence reads ``SILENCE_DB``. A track is *active* in a frame when the frame is
``activity_margin_db`` above the track's noise floor (a low percentile of its frame powers) and above
``activity_floor_dbfs``. One side *talks alone* when it is active and the other side is at least
``single_talker_margin_db`` quieter in the same frame: those frames are where bleed is measured.

For paired files the two tracks run on different clocks; ``map_frames`` carries a per-frame array of
one track onto the other's frame grid through a clock line ``t_other = offset + rate * t``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

from ..model import FRAMES

#: Power of an all-zero frame (digital silence), dB re full scale.
SILENCE_DB = -200.0

#: Percentile of a track's frame powers taken as its noise floor.
FLOOR_PERCENTILE = 10.0


def hop_samples(sample_rate: int) -> int:
    return max(1, int(round(sample_rate * FRAMES.hop_s)))


def frame_power_db(x: np.ndarray, sample_rate: int, sums: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """float64 dB per 10 ms frame of ``x`` (n,); a last partial frame counts when it holds samples.
    ``sums``: (sum x, sum x^2) per *whole* frame, float64, as ``frame_sums`` gives them, when the caller
    has them: the frame means and the all-zero frames come from them (the same numbers: the mean is
    that sum over the frame length, and a frame is all zeros exactly when its sum of squares is 0)."""
    hop = hop_samples(sample_rate)
    x = np.asarray(x, np.float32).ravel()
    n_frames = -(-x.size // hop)
    if n_frames == 0:
        return np.zeros(0)
    whole = x.size // hop
    if whole == n_frames:
        frames = x.reshape(n_frames, hop)
    else:
        padded = np.zeros(n_frames * hop, np.float32)
        padded[: x.size] = x
        frames = padded.reshape(n_frames, hop)
    if sums is None:
        mean = frames.mean(axis=1, keepdims=True, dtype=np.float64)
    else:
        mean = np.empty((n_frames, 1))
        np.divide(sums[0][:whole, None], hop, out=mean[:whole])
        if whole < n_frames:
            mean[whole:] = frames[whole:].mean(axis=1, keepdims=True, dtype=np.float64)
    centred = frames - mean.astype(np.float32)
    var = np.einsum("ij,ij->i", centred, centred, dtype=np.float64) / hop
    if x.size < n_frames * hop:  # the partial frame: variance over its real samples only
        tail = x[(n_frames - 1) * hop :]
        var[-1] = np.var(tail, dtype=np.float64)
    # exact zeros stay distinguishable from very quiet noise
    if sums is None:
        zero = ~np.any(frames != 0, axis=1)
    else:
        zero = np.empty(n_frames, bool)
        np.equal(sums[1][:whole], 0.0, out=zero[:whole])
        zero[whole:] = ~np.any(frames[whole:] != 0, axis=1)
    out = 10.0 * np.log10(np.maximum(var, 1e-20))
    out[zero] = SILENCE_DB
    return out


def noise_floor_db(power_db: np.ndarray) -> float:
    """A track's background level: the low percentile of its frame powers (SILENCE_DB when gated)."""
    if power_db.size == 0:
        return SILENCE_DB
    return float(np.percentile(power_db, FLOOR_PERCENTILE))


def active_frames(power_db: np.ndarray, floor_db: float, margin_db: float, floor_dbfs: float) -> np.ndarray:
    """Frames loud enough above the track's own floor (and above an absolute floor) to be sound."""
    return power_db > max(floor_db + margin_db, floor_dbfs)


def single_talker(active: np.ndarray, own_db: np.ndarray, other_db: np.ndarray, other_active: np.ndarray,
                  margin_db: float, guard: int) -> np.ndarray:
    """Frames where this side is active, the other side is ``margin_db`` quieter, and the other side
    has no sound of its own (active and not that much quieter) within ``guard`` frames either way,
    so every lag searched around a kept frame sees only the other side's background and bleed."""
    n = min(active.size, own_db.size, other_db.size, other_active.size)
    quieter = below(other_db[:n], own_db[:n], -margin_db)
    return active[:n] & quieter & ~dilate(other_active[:n] & ~quieter, guard)


def below(x: np.ndarray, y: np.ndarray, plus_db: float) -> np.ndarray:
    """``x < y + plus_db`` per frame, a piece at a time (no whole-length float temporaries)."""
    out = np.empty(min(x.size, y.size), bool)
    for a in range(0, out.size, MAP_CHUNK):
        b = min(out.size, a + MAP_CHUNK)
        np.less(x[a:b], y[a:b] + plus_db, out=out[a:b])
    return out


def dilate(mask: np.ndarray, frames: int) -> np.ndarray:
    """Grow every True run by ``frames`` on both sides."""
    if frames <= 0 or mask.size == 0:
        return mask.copy()
    return maximum_filter1d(mask.astype(np.uint8), size=2 * frames + 1) > 0


#: Frames mapped per step of ``map_frames`` (its float64 temporaries stay a few MB on any length).
MAP_CHUNK = 1 << 18


def map_frames(values: np.ndarray, n_out: int, offset_s: float, rate: float, fill: float) -> np.ndarray:
    """``values`` on another track's clock -> one value per frame of this track's grid.

    Frame ``f`` of this track (centre ``t``) takes the other track's frame holding ``offset + rate * t``;
    frames that fall outside the other track get ``fill``. On the identity line the result is a view of
    ``values`` (do not write to it).
    """
    if offset_s == 0.0 and rate == 1.0 and values.size >= n_out:
        return values[:n_out]  # the identity line (one file's tracks): a view, read-only by its callers
    out = np.full(n_out, fill, dtype=np.asarray(values).dtype)
    for a in range(0, n_out, MAP_CHUNK):
        t = FRAMES.centre(np.arange(a, min(n_out, a + MAP_CHUNK)))
        idx = np.floor((offset_s + rate * t) / FRAMES.hop_s).astype(np.int64)
        ok = (idx >= 0) & (idx < values.size)
        out[a : a + idx.size][ok] = values[idx[ok]]
    return out


def fit_mask(mask: np.ndarray, n_frames: int) -> np.ndarray:
    """A caller's activity mask cut or padded (False) to ``n_frames`` (grids may differ by a frame)."""
    m = np.asarray(mask, bool).ravel()[:n_frames]
    if m.size < n_frames:
        m = np.concatenate([m, np.zeros(n_frames - m.size, bool)])
    return m
