"""Echo: the other side's speech returning on a track late and faint, in part of a call.

The crosstalk rule (``crosstalk.py``) reads one bleed level per recording at lags of a few frames: the
acoustic leak of a headset or a telephone hybrid. A network or device echo is different: it comes back
100-600 ms late, and an echo canceller lets it through only while it has not converged or after the
line changes, so a call can be clean for minutes and then carry the other side 30 dB down. Its
file-level estimate stays at the noise floor, and the echo is labelled speech.

An echo is a delayed, attenuated copy: where the source track is active, the target's level is the
source's level ``lag`` frames earlier plus a steady offset (the echo's level), while own speech of the
target follows its own syllables and noise its own course. So per 20 s window and per lag, the level
differences target(t) - source(t - lag) are counted in 1 dB bins: at an echo's lag a large share of them
lies within a few dB of the most common difference, far more than at the other lags, where the
source's syllables spread them. A window with such a lag, at a difference well below the source, holds
an echo, and the target's frames there that are no louder than the delayed source plus the echo's
level and a margin are only echo. All on the 10 ms frame levels: no audio is read again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d

from ..framing import frames
from .crosstalk import smoothed_level
from .energy import SILENCE_DB


@dataclass(frozen=True)
class Echo:
    """Track ``source``'s signal on track ``target`` over frames [start, stop), ``lag`` frames late,
    ``level_db`` below the source (its steadiest level difference), ``share`` of the source's active
    frames within a few dB of it."""

    target: int
    source: int
    start: int
    stop: int
    lag: int
    level_db: float
    share: float


@dataclass(frozen=True)
class EchoParams:
    window: int = 2000  # frames per analysis window (20 s), windows side by side
    max_lag: int = 60  # frames (600 ms)
    min_lag: int = 3  # shorter lags are the crosstalk rule's leak (its own lag search)
    source_active_db: float = 15.0  # the source is speaking: this far above its floor
    min_frames: int = 100  # frames of an active source at a lag before that lag can be judged
    band_db: float = 3.0  # an echo's level difference stays within this of its mode
    min_share: float = 0.2  # share of the frames inside the band at the echo's lag ...
    min_contrast: float = 2.0  # ... and that share against its median over all lags
    max_level_db: float = -10.0  # an echo is weaker than its source by at least this


#: Level differences are counted in 1 dB bins over this range (dB); outside it they cannot be an echo.
_BINS = np.arange(-100, 1)


def _shares(x: np.ndarray, ys: np.ndarray, valid: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``ys`` (one lag each): the share of valid frames whose level difference x - y lies
    within ``band`` dB of its most common value, that value, and the number of valid frames."""
    rows, nb = ys.shape[0], _BINS.size
    # bin of each difference, offset by its row so one bincount counts every lag
    code = np.rint(x[None, :] - ys).astype(np.int32) - int(_BINS[0])
    count = valid.sum(axis=1)
    valid = valid & (code >= 0) & (code < nb)
    code += (np.arange(rows, dtype=np.int32) * nb)[:, None]
    hist = np.bincount(code[valid], minlength=rows * nb).reshape(rows, nb)
    csum = np.concatenate([np.zeros((rows, 1)), np.cumsum(hist, axis=1)], axis=1)
    centre = np.arange(nb)
    in_band = csum[:, np.clip(centre + band + 1, 0, nb)] - csum[:, np.clip(centre - band, 0, nb)]
    best = in_band.argmax(axis=1)
    return in_band[np.arange(rows), best] / np.maximum(count, 1), _BINS[best].astype(float), count


def _tight_lag(x: np.ndarray, y: np.ndarray, ya: np.ndarray, params: EchoParams) -> tuple[int, float, float, float]:
    """(lag, share, contrast, level) of the lag at which the level difference x[t] - y[t - lag] is
    steadiest: the largest share of frames (source active at t - lag, target not digitally silent) whose
    difference lies within ``band_db`` of its most common value (``level``); ``contrast`` is that share
    against its median over the lags searched. Searched every third lag, then one frame either side of
    the best (the 50 ms level smoothing makes neighbouring lags alike). Lag -1 when no lag has
    ``min_frames`` frames. ``y``/``ya`` start ``max_lag`` frames before ``x``."""
    n = x.size
    ys = frames(y, n)[::-1]  # row k: y[t - k]
    actives = frames(ya, n)[::-1]
    sound = (x > SILENCE_DB + 1.0)[None, :]
    band = int(params.band_db)

    def judge(lags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        share, level, count = _shares(x, ys[lags], actives[lags] & sound, band)
        return np.where(count >= params.min_frames, share, np.nan), level

    coarse = np.arange(params.min_lag, params.max_lag + 1, 3)
    share, _ = judge(coarse)
    if np.isnan(share).all():
        return -1, 0.0, 0.0, 0.0
    k = int(coarse[np.nanargmax(share)])
    fine = np.arange(max(params.min_lag, k - 1), min(params.max_lag, k + 1) + 1)
    fine_share, fine_level = judge(fine)
    i = int(np.nanargmax(np.nan_to_num(fine_share, nan=-1.0)))
    contrast = fine_share[i] / max(float(np.nanmedian(share)), 1e-9)
    return int(fine[i]), float(fine_share[i]), float(contrast), float(fine_level[i])


def find_echoes(energy_db: np.ndarray, floor_db: np.ndarray, params: EchoParams = EchoParams()) -> list[Echo]:
    """Windows of each ordered track pair holding an echo (see the module doc), from frame energies and
    noise floors float (n_tracks, n_frames)."""
    level = smoothed_level(energy_db, dtype=np.float32)
    floor = np.atleast_2d(np.asarray(floor_db, np.float32))
    n_tracks, n = level.shape
    if n_tracks < 2 or n == 0:
        return []
    pad = params.max_lag
    active = level >= floor + params.source_active_db
    # each source padded at its start so every window sees max_lag frames of its past
    level_p = np.concatenate([np.full((n_tracks, pad), -200.0), level], axis=1)
    active_p = np.concatenate([np.zeros((n_tracks, pad), bool), active], axis=1)
    out = []
    for target in range(n_tracks):  # loops over track pairs and windows, not frames
        for source in range(n_tracks):
            if source == target:
                continue
            for a in range(0, n, params.window):
                b = min(n, a + params.window)
                lag, share, contrast, diff = _tight_lag(level[target, a:b], level_p[source, a : b + pad],
                                                        active_p[source, a : b + pad], params)
                if (lag >= 0 and share >= params.min_share and contrast >= params.min_contrast
                        and diff <= params.max_level_db):
                    out.append(Echo(target, source, a, b, lag, diff, round(share, 3)))
    return out


def echo_only(energy_db: np.ndarray, echoes: list[Echo], margin_db: float, cap_db: float) -> np.ndarray:
    """bool (n_tracks, n_frames): frames of an echo's window where its target is below the source's
    level ``lag`` frames earlier (its maximum within one frame) plus the echo's level and ``margin_db``
    (capped at ``cap_db``): the target holds nothing but the echo there."""
    level = smoothed_level(energy_db)
    out = np.zeros(level.shape, bool)
    for e in echoes:
        t0 = max(e.start, e.lag + 1)  # frames with a source past one frame either side of the lag
        if t0 >= e.stop:
            continue
        past = level[e.source, t0 - e.lag - 1 : e.stop - e.lag + 1]
        delayed = maximum_filter1d(past, 3, mode="nearest")[1 : 1 + e.stop - t0]
        thr = min(e.level_db + margin_db, cap_db)
        out[e.target, t0 : t0 + delayed.size] |= level[e.target, t0 : t0 + delayed.size] < delayed + thr
    return out


def describe(echoes: list[Echo] | tuple[Echo, ...], names: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ") -> str:
    """One line per echoing track pair, for the stage's note: e.g. "echo of B on A: 36 dB down, 180 ms
    late, in 40 s of the call (not speech)"; empty when there is none."""
    pairs: dict[tuple[int, int], list[Echo]] = {}
    for e in echoes:
        pairs.setdefault((e.source, e.target), []).append(e)
    lines = []
    for (source, target), found in sorted(pairs.items()):
        level = float(np.median([e.level_db for e in found]))
        lag_ms = 10 * int(np.median([e.lag for e in found]))
        seconds = sum(e.stop - e.start for e in found) / 100
        lines.append(f"echo of {names[source]} on {names[target]}: {-level:.0f} dB down, {lag_ms} ms late, "
                     f"in {seconds:.0f} s of the call (not speech)")
    return "; ".join(lines)
