"""Sync between two tracks: constant offset and clock drift, from a signal both tracks share.

The shared signal is bleed (each track's speech heard in the other) or a reference on both tracks.
Each path (A heard in B, B heard in A) gives one lag per window where it is significant; every lag is
a pair of corresponding times ``(t_A, t_B)``, and a line ``t_B - t_A = c_path + drift * t_A`` is fitted
with one slope and one intercept per path, trimming outliers. The two paths carry the bleed delay with
opposite signs, so the offset is the mean of their intercepts (the delay cancels when it is the same
both ways); with one path only, the offset includes that path's delay and ``note`` says so.

Paired files from separate devices can be seconds apart: ``coarse_line`` first finds a rough line
from whole windows searched over +-``sync_max_offset_s``; the fine pass then searches +-50 ms around it.
Convention: ``t_B = offset + t_A * (1 + drift)``; ``offset_ms`` > 0 when B's copy of an event comes later
in B's file than in A's, ``drift_ppm`` > 0 when B's clock runs fast.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..config import ChecksConfig
from ..model import FRAMES, Record
from .signals import ArraySignals, SpectraRequest, StreamSignals
from .xcorr import PathSpectra, gain_curve, refine_peak

#: Most windows the coarse search looks at (spread over the recording).
COARSE_MAX_WINDOWS = 24
#: A coarse window counts when its peak is this many RMS of its other lags up.
COARSE_MIN_RATIO = 8.0
#: A fine window counts when its peak is this many (scaled) null deviations up.
FINE_MIN_SIGMA = 5.0
#: Coarse windows within this of the line are its inliers.
COARSE_TOL_S = 0.005


@dataclass(frozen=True)
class SyncEstimate(Record):
    """Offset (ms) and drift (ppm) of track B against track A; None when not measurable."""

    offset_ms: float | None
    drift_ppm: float | None
    n_windows: int = 0  # windows that agree with the fitted line
    residual_ms: float | None = None  # RMS distance of those windows to the line
    path_offsets_ms: tuple[float | None, float | None] = (None, None)  # intercepts via A->B, B->A
    note: str = ""

    @property
    def measured(self) -> bool:
        return self.offset_ms is not None


NOT_MEASURED = SyncEstimate(None, None, note="no shared signal (no bleed or reference) to measure sync")


def coarse_line(
    signals: ArraySignals | StreamSignals, active_a: np.ndarray, even_b: np.ndarray, hop: int, cfg: ChecksConfig,
) -> tuple[float, float] | None:
    """Rough ``(offset_s, rate)`` with ``t_B = offset + rate * t_A``, searched over +-sync_max_offset_s.

    ``active_a`` (per frame) masks A to where it is active; ``even_b`` (per frame, about 1 / RMS of B)
    evens out B so its own loud speech does not bury the quiet copy of A it holds elsewhere.
    ``signals``: A and B at the analysis rate (in memory or streamed).
    """
    fs = signals.fs
    per_win = max(1, int(round(cfg.sync_window_s / FRAMES.hop_s)))
    win = per_win * hop
    max_lag = int(round(cfg.sync_max_offset_s * fs))
    n_win = -(-signals.n // win)
    frames_a = np.zeros(n_win * per_win, np.float32)
    frames_a[: min(active_a.size, frames_a.size)] = active_a[: frames_a.size]
    frames_a = frames_a.reshape(n_win, per_win)
    eligible = np.flatnonzero(frames_a.mean(axis=1) >= 0.1)
    if eligible.size == 0:
        return None
    chosen = eligible[np.unique(np.linspace(0, eligible.size - 1, min(COARSE_MAX_WINDOWS, eligible.size)).round().astype(int))]
    keep = np.zeros(n_win, bool)
    keep[chosen] = True
    [spec] = signals.spectra([SpectraRequest(0, (frames_a * keep[:, None]).ravel(), hop, offset_s=0.0, rate=1.0,
                                             max_lag=max_lag, block_len=win, band=cfg.bleed_band_hz,
                                             window_s=win / fs, tgt_frame_weight=even_b)])
    guard = int(0.01 * fs)
    times, lags = [], []
    for cross, energy, t in zip(spec.window_cross, spec.window_energy, spec.window_time):
        g = gain_curve(cross.astype(complex), energy, spec.nfft)[: 2 * max_lag + 1]
        j = int(np.argmax(np.abs(g)))
        rest = np.concatenate([g[: max(0, j - guard)], g[j + guard + 1 :]])
        rms = float(np.sqrt(np.mean(rest**2))) if rest.size else 0.0
        if rms > 0 and abs(g[j]) / rms >= COARSE_MIN_RATIO:
            times.append(t)
            lags.append((j - max_lag) / fs)
    if not times:
        return None
    t, y = np.asarray(times), np.asarray(lags)
    if t.size == 1:  # one window agrees with nothing: trust it only when it is all there is
        return (float(y[0]), 1.0) if chosen.size == 1 else None
    # the line most windows agree with (all pairs: at most 276), then least squares on its inliers
    best, best_count = (float(np.median(y)), 0.0), 0
    for i, k in itertools.combinations(range(t.size), 2):
        if abs(t[k] - t[i]) < win / fs:
            continue
        slope = (y[k] - y[i]) / (t[k] - t[i])
        if abs(slope) > 1e-3:  # 1000 ppm: no real clock is that far off
            continue
        count = int(np.sum(np.abs(y - (y[i] + slope * (t - t[i]))) <= COARSE_TOL_S))
        if count > best_count:
            best, best_count = (y[i] - slope * t[i], slope), count
    if best_count < 2:
        return None
    inl = np.abs(y - (best[0] + best[1] * t)) <= COARSE_TOL_S
    slope, icpt = np.polyfit(t[inl], y[inl], 1)
    return float(icpt), 1.0 + float(slope)


def window_lags(spec: PathSpectra, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per window of one path: (source time, lag in s) where its peak is significant."""
    L = spec.max_lag
    times, lags = [], []
    if sigma <= 0 or spec.energy <= 0:
        return np.zeros(0), np.zeros(0)
    for cross, energy, t in zip(spec.window_cross, spec.window_energy, spec.window_time):
        if energy <= 0:
            continue
        cross = cross.astype(complex)
        g = gain_curve(cross, energy, spec.nfft)[: 2 * L + 1]
        j = int(np.argmax(np.abs(g)))
        if abs(g[j]) < FINE_MIN_SIGMA * sigma * np.sqrt(spec.energy / energy):
            continue
        x, _ = refine_peak(cross, energy, spec.nfft, j)
        times.append(t)
        lags.append((x - L) / spec.fs)
    return np.asarray(times), np.asarray(lags)


def fit_sync(
    ab: tuple[np.ndarray, np.ndarray],
    ba: tuple[np.ndarray, np.ndarray],
    offset_s: float,
    rate: float,
    cfg: ChecksConfig,
) -> SyncEstimate:
    """Fit ``t_B - t_A = c_path + drift * t_A`` to the window lags of both paths.

    ``ab``: A-time and lag (in B) of each significant A->B window, lags relative to the line
    ``(offset_s, rate)`` they were searched along; ``ba`` the same for B->A in B time and A lags.
    """
    t_ab, lag_ab = ab
    t_ba, lag_ba = ba
    # corresponding (t_A, t_B) pairs
    xa = np.concatenate([t_ab, (t_ba - offset_s) / rate + lag_ba])
    xb = np.concatenate([offset_s + rate * t_ab + lag_ab, t_ba])
    path = np.concatenate([np.zeros(t_ab.size, int), np.ones(t_ba.size, int)])
    if xa.size == 0:
        return NOT_MEASURED
    y = xb - xa
    # residuals are taken against the search line first, so clock drift never looks like an outlier
    base = offset_s + (rate - 1.0) * xa
    z = y - base
    inl = np.zeros(z.size, bool)
    for p in (0, 1):
        sel = np.flatnonzero(path == p)
        if sel.size:
            dev = np.abs(z[sel] - np.median(z[sel]))
            inl[sel] = dev <= 0.002
            inl[sel[np.argmin(dev)]] = True  # the window nearest the median always starts in
    can_slope = inl.sum() >= cfg.sync_min_windows and np.ptp(xa[inl]) >= cfg.sync_window_s
    coef = None
    for _ in range(6):
        present = [p for p in (0, 1) if np.any(inl & (path == p))]
        cols = [(path == p).astype(float) for p in present]
        if can_slope:
            cols.append(xa)
        X = np.stack(cols, axis=1)
        coef, *_ = np.linalg.lstsq(X[inl], z[inl], rcond=None)
        res = z - X @ coef
        mad = 1.4826 * float(np.median(np.abs(res[inl])))
        new = np.abs(res) <= max(4.0 * mad, 2e-4)
        # keep each path's membership to the paths fitted
        new &= np.isin(path, present)
        if np.array_equal(new, inl) or not new.any():
            break
        inl = new
        can_slope = inl.sum() >= cfg.sync_min_windows and np.ptp(xa[inl]) >= cfg.sync_window_s
    present = [p for p in (0, 1) if np.any(inl & (path == p))]
    cols = [(path == p).astype(float) for p in present] + ([xa] if can_slope else [])
    X = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(X[inl], z[inl], rcond=None)
    res = (z - X @ coef)[inl]
    slope_extra = float(coef[-1]) if can_slope else 0.0
    intercepts: list[float | None] = [None, None]
    for i, p in enumerate(present):
        intercepts[p] = offset_s + float(coef[i])
    known = [c for c in intercepts if c is not None]
    offset = float(np.mean(known))
    drift = (rate - 1.0) + slope_extra if can_slope else None
    note = ""
    if len(known) == 1:
        side = "A->B" if intercepts[0] is not None else "B->A"
        note = f"one path only ({side}): the offset includes that path's bleed delay"
    if drift is None:
        note = (note + "; " if note else "") + "too few windows (or too short a span) to fit a drift"
    return SyncEstimate(
        offset_ms=round(offset * 1000.0, 3),
        drift_ppm=round(drift * 1e6, 2) if drift is not None else None,
        n_windows=int(inl.sum()),
        residual_ms=round(float(np.sqrt(np.mean(res**2))) * 1000.0, 4) if res.size else None,
        path_offsets_ms=tuple(None if c is None else round(c * 1000.0, 3) for c in intercepts),
        note=note,
    )
