"""Move speech edges to the 10 ms energy envelope.

The model's 32 ms windows and its recurrent smoothing put onsets and offsets tens of milliseconds away
from where the sound starts and stops. For each detected onset this module:

1. measures the local background ``B``: a low percentile of the frame energies in the stretch just
   before the detected onset, but not below the track's noise floor (all-zero frames are excluded from
   both: digital silence says nothing about the background the speech sits in);
2. finds the anchor: the first frame, from just before the detected onset inwards, that is clearly
   speech (``anchor_db`` above ``B``);
3. moves the onset to the start of the contiguous stretch of frames more than ``edge_db`` above ``B``
   that holds the anchor (dips of up to ``bridge`` frames, e.g. a stop closure, do not end the stretch),
   but never more than ``search_before`` frames outwards.

Then (``decay_onsets``) each onset moves no earlier than the first frame within ``decay_db`` of the loudest
frame just inside it (offsets likewise with ``offset_decay_db``, off by default).

Offsets are the same on the time-reversed track. The threshold is relative to the background next to
the edge, not to an absolute level or to the file's global floor, so a quiet and a noisy recording (or a
noisy and a quiet stretch of one recording) get the same edge. Vectorised over edges: every edge is one
row of a 2-D window; no per-frame Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import binary_closing, uniform_filter1d

from ..timeline import mask_from_runs, runs
from .energy import SILENCE_DB


@dataclass(frozen=True)
class RefineParams:
    search_before: int = 20  # frames an edge may move outwards (away from its segment)
    search_inside: int = 30  # frames an edge may move inwards
    background: int = 30  # frames next to the edge (outside) that give the local background
    background_pct: float = 40.0  # percentile of those frames taken as the background level
    edge_db: float = 6.0  # onset: speech is more than this above the background ...
    offset_edge_db: float = 6.0  # offset: the same (speech decays into the background more slowly)
    anchor_db: float = 15.0  # ... and the stretch must hold a frame this far above it
    anchor_outside: int = 3  # the anchor may lie this many frames outside the detected edge
    bridge: int = 2  # dips below the threshold of at most this many frames do not end the stretch
    spread_pct: float = 0.0  # > 0: a fluctuating background (music, babble) raises the edge threshold to
    spread_margin_db: float = 3.0  # this margin above the background's ``spread_pct`` percentile
    decay_db: float = 0.0  # > 0: an onset lies no earlier than where the level comes within this of ...
    offset_decay_db: float = 0.0  # (> 0: an offset likewise, on the reversed track) ...
    decay_window: int = 50  # ... the loudest frame this many frames inside the edge (same run)


def _window(values: np.ndarray, starts: np.ndarray, before: int, after: int, fill: float) -> np.ndarray:
    """Rows ``values[s - before : s + after]`` for every start, padded with ``fill`` outside the array."""
    idx = starts[:, None] + np.arange(-before, after)[None, :]
    ok = (idx >= 0) & (idx < values.size)
    out = np.full(idx.shape, fill, np.float32)
    out[ok] = values[idx[ok]]
    return out


def row_nanpercentile(rows: np.ndarray, q: float) -> np.ndarray:
    """``np.nanpercentile(rows, q, axis=1)``, the same numbers, for rows with at least one value: rows
    sorted once (NaN last) and grouped by how many values they hold, so each group is one vectorised
    ``np.percentile`` (numpy's nan-version runs a Python call per row: a tenth of the scan's decisions)."""
    rows = np.asarray(rows)
    ordered = np.sort(rows, axis=1)
    count = rows.shape[1] - np.isnan(rows).sum(axis=1)
    out = np.full(rows.shape[0], np.nan, rows.dtype)
    for c in np.unique(count[count > 0]):
        sel = count == c
        out[sel] = np.percentile(ordered[sel, :c], q, axis=1)
    return out


def refine_edges(mask: np.ndarray, energy_db: np.ndarray, floor_db: np.ndarray | None = None,
                 params: RefineParams = RefineParams(), onset_floor_db: np.ndarray | None = None,
                 inner: tuple[np.ndarray, np.ndarray, int] | None = None,
                 offset_level: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The mask with each run's onset and offset moved to the energy envelope (see module doc).
    ``floor_db`` (the track's noise floor) bounds the local background from below; ``onset_floor_db``
    (default ``floor_db``) does so for onsets. ``inner`` = (level, its onset floor, frames): each onset is
    also found on that level (a noisy track's level with faster band floors, ``denoise``), and where it
    lies at least that many frames later it is the onset (``inner_onsets``). ``offset_level`` = (level, its
    floor): offsets are found on that level instead of ``energy_db`` (a noise-subtracted level)."""
    m = np.asarray(mask, bool)
    e = np.asarray(energy_db, np.float32)
    starts, stops = runs(m)
    if starts.size == 0:
        return m.copy()
    n = e.size
    f = np.full(n, SILENCE_DB, np.float32) if floor_db is None else np.asarray(floor_db, np.float32)
    f_on = f if onset_floor_db is None else np.asarray(onset_floor_db, np.float32)
    new_starts = refine_onsets(e, starts, params, f_on)
    # offsets: onsets of the reversed track
    e_off, f_off = (e, f) if offset_level is None else (np.asarray(x, np.float32) for x in offset_level)
    new_stops = n - refine_onsets(e_off[::-1].copy(), n - stops, replace(params, edge_db=params.offset_edge_db),
                                  f_off[::-1].copy())
    if params.offset_decay_db > 0:
        new_stops = n - decay_onsets(e[::-1].copy(), n - new_stops, n - new_starts, params.offset_decay_db,
                                     params.decay_window)
    if params.decay_db > 0:
        new_starts = decay_onsets(e, new_starts, new_stops, params.decay_db, params.decay_window)
    if inner is not None:
        new_starts = inner_onsets(new_starts, starts, new_stops, inner, params)
    ok = new_stops > new_starts
    return mask_from_runs(new_starts[ok], new_stops[ok], n)


def inner_onsets(onsets: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                 inner: tuple[np.ndarray, np.ndarray, int], params: RefineParams) -> np.ndarray:
    """``onsets`` (refined from the detected ``starts``) moved to the onsets the same refiner finds on a
    second level (``inner`` = (level, its onset floor, min_shift frames)) where those lie at least
    ``min_shift`` frames later: the second level is the noise-subtracted level with band floors fast enough
    to follow a chord or note held for less than the first level's floor window (music), so a stretch at the
    start of the first onset's run that the fast floors call background is background. Under stationary
    noise both levels agree within a frame or two and nothing moves; the rule only ever moves an onset in."""
    level, floor, min_shift = inner
    alt = refine_onsets(np.asarray(level, np.float32), starts, params, np.asarray(floor, np.float32))
    if params.decay_db > 0:
        alt = decay_onsets(level, alt, stops, params.decay_db, params.decay_window)
    return np.where(alt - onsets >= max(1, min_shift), alt, onsets)


def decay_onsets(e: np.ndarray, starts: np.ndarray, stops: np.ndarray, decay_db: float, window: int) -> np.ndarray:
    """Each onset moved inwards to the first frame within ``decay_db`` of the loudest frame of the
    ``window`` frames after it (inside its run ``[start, stop)``); offsets are the same on the reversed
    track. A threshold relative to the speech's own level, next to the background-relative edge: a
    lead-in (breath, a slow ramp) or a tail (decay, reverberation) stays above a quiet background outside
    the word, but far below the word itself."""
    if starts.size == 0:
        return starts.copy()
    win = _window(e, starts, 0, window, fill=SILENCE_DB)
    cols = np.arange(window)[None, :]
    win[cols >= (stops - starts)[:, None]] = SILENCE_DB
    peak = win.max(axis=1)
    first = np.argmax(win >= (peak - decay_db)[:, None], axis=1)
    return starts + first


def refine_onsets(e: np.ndarray, starts: np.ndarray, params: RefineParams, floor_db: np.ndarray | None = None
                  ) -> np.ndarray:
    """Refined onset frame for every detected onset frame in ``starts`` (see module doc)."""
    p = params
    if starts.size == 0:
        return starts.copy()
    # background: the frames just outside the onset, without digital silence
    bg_win = _window(e, starts, p.background, 0, fill=np.nan)
    bg_win[bg_win <= SILENCE_DB + 1e-3] = np.nan
    has_bg = ~np.all(np.isnan(bg_win), axis=1)
    bg = np.full(starts.size, SILENCE_DB, np.float32)
    if has_bg.any():
        bg[has_bg] = row_nanpercentile(bg_win[has_bg], p.background_pct)
    edge = np.full(starts.size, p.edge_db, np.float32)
    if p.spread_pct > 0 and has_bg.any():
        # a background that fluctuates (music, babble) crosses bg + edge_db on its own: the edge must
        # clear the background's loud moments too (stationary noise: spread ~1-2 dB, no change)
        hi = row_nanpercentile(bg_win[has_bg], p.spread_pct)
        edge[has_bg] = np.maximum(edge[has_bg], hi - bg[has_bg] + p.spread_margin_db)
    if floor_db is not None:
        # the track's floor: where the edge borders digital silence, the nearest real background
        bg = np.maximum(bg, floor_db[np.clip(starts, 0, floor_db.size - 1)])
    win = _window(e, starts, p.search_before, p.search_inside, fill=SILENCE_DB)  # column search_before = onset
    cols = np.arange(win.shape[1])[None, :]
    strong = (win >= (bg + p.anchor_db)[:, None]) & (cols >= p.search_before - p.anchor_outside)
    has_anchor = strong.any(axis=1)
    anchor = np.argmax(strong, axis=1)
    above = win > (bg + edge)[:, None]
    if p.bridge > 0:
        # close short dips so they do not cut the stretch (closing never extends a stretch's ends)
        above |= binary_closing(above, structure=np.ones((1, p.bridge + 1), bool), border_value=0)
    before_anchor = ~above & (cols < anchor[:, None])
    any_below = before_anchor.any(axis=1)
    last_below = win.shape[1] - 1 - np.argmax(before_anchor[:, ::-1], axis=1)
    edge_col = np.where(any_below, last_below + 1, 0)
    return np.where(has_anchor, starts - p.search_before + edge_col, starts)


def energy_support(mask: np.ndarray, energy_db: np.ndarray, floor_db: np.ndarray, level_db: float = 2.0,
                   min_gap: int = 10, smooth: int = 5) -> np.ndarray:
    """Speech must be audible: remove stretches of at least ``min_gap`` frames inside speech whose level
    (a ``smooth``-frame power average, so noise flicker does not split a stretch) stays within
    ``level_db`` of the noise floor: a model can stay "on" over noise, or over the other talker's bleed
    buried in it."""
    m = np.asarray(mask, bool)
    power = uniform_filter1d(10.0 ** (np.asarray(energy_db, np.float64) / 10.0), max(1, smooth), mode="nearest")
    rel = 10.0 * np.log10(np.maximum(power, 1e-30)) - np.asarray(floor_db, np.float64)
    q_starts, q_stops = runs(m & (rel < level_db))
    long = (q_stops - q_starts) >= max(1, min_gap)
    return m & ~mask_from_runs(q_starts[long], q_stops[long], m.size)
