"""Two tracks against each other: bleed both ways and sync, from one pass over the signals.

``analyse_pair`` is the engine behind ``estimate_bleed``, ``estimate_sync`` and ``run_checks``: the
tracks go to the analysis rate (8 kHz: the bleed band fits under 4 kHz), the frames where each side
talks alone are found on the clock line (identity for one multichannel file; searched for paired
files), and each path's cross-spectra give its bleed (all blocks) and its sync lags (per window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import ChecksConfig
from ..ingest.resample import resample
from ..model import FRAMES
from . import frames as fr
from .bleed import BleedEstimate, combine, path_bleed
from .sync import NOT_MEASURED, SyncEstimate, coarse_line, fit_sync, window_lags
from .xcorr import null_sigma, path_spectra


#: Second pass: target frames up to this far above the measured bleed still count as bleed.
REFINE_MARGIN_DB = 10.0


@dataclass(frozen=True)
class TrackFrames:
    """Per-frame power (dB) of one track on its own 10 ms grid and where it is active."""

    power_db: np.ndarray
    active: np.ndarray
    floor_db: float


def track_frames(x: np.ndarray, sample_rate: int, cfg: ChecksConfig, activity: np.ndarray | None = None) -> TrackFrames:
    power = fr.frame_power_db(x, sample_rate)
    floor = fr.noise_floor_db(power)
    if activity is not None:
        active = fr.fit_mask(activity, power.size)
    else:
        active = fr.active_frames(power, floor, cfg.activity_margin_db, cfg.activity_floor_dbfs)
    return TrackFrames(power, active, floor)


@dataclass(frozen=True)
class PairAnalysis:
    bleed: BleedEstimate
    sync: SyncEstimate
    line: tuple[float, float]  # (offset_s, rate) the fine pass searched along
    single_frames: tuple[np.ndarray, np.ndarray]  # A alone (A grid), B alone (B grid)


def to_analysis_rate(x: np.ndarray, sample_rate: int, cfg: ChecksConfig) -> tuple[np.ndarray, int]:
    fs = min(int(sample_rate), int(cfg.analysis_rate))
    return resample(np.asarray(x, np.float32), int(sample_rate), fs), fs


def _single(own: TrackFrames, other: TrackFrames, offset_s: float, rate: float, cfg: ChecksConfig,
            given_activity: bool) -> np.ndarray:
    """Frames of ``own`` where it talks alone, with ``other`` carried onto own's grid by the line."""
    n = own.power_db.size
    if given_activity:  # the caller's masks decide who talks
        other_active = fr.map_frames(other.active, n, offset_s, rate, False)
        return own.active & ~other_active
    other_db = fr.map_frames(other.power_db, n, offset_s, rate, fr.SILENCE_DB)
    return fr.single_talker(own.active, own.power_db, other_db, cfg.single_talker_margin_db)


def analyse_pair(
    a: np.ndarray,
    b: np.ndarray,
    sample_rate: int,
    cfg: ChecksConfig,
    *,
    activity: np.ndarray | None = None,
    search_offset: bool = False,
    offset_s: float = 0.0,
    drift: float = 0.0,
    frames: tuple[TrackFrames, TrackFrames] | None = None,
) -> PairAnalysis:
    """Bleed both ways and sync of track B against track A (float arrays at ``sample_rate``).

    ``search_offset``: look for an offset up to +-sync_max_offset_s first (paired files); otherwise the
    tracks are taken to follow ``t_B = offset_s + (1 + drift) t_A`` to within +-bleed_max_lag_ms.
    ``activity``: optional (2, n_frames) masks, each on its own track's 10 ms grid.
    """
    if frames is None:
        acts = (None, None) if activity is None else (activity[0], activity[1])
        frames = (track_frames(a, sample_rate, cfg, acts[0]), track_frames(b, sample_rate, cfg, acts[1]))
    fa, fb = frames
    a8, fs = to_analysis_rate(a, sample_rate, cfg)
    b8, _ = to_analysis_rate(b, sample_rate, cfg)
    hop = fr.hop_samples(fs)
    rate = 1.0 + drift
    coarse_note = ""
    if search_offset:
        found = coarse_line(a8, b8, fs, fr.sample_mask(fa.active, hop, a8.size), cfg)
        if found is None:
            coarse_note = (f"no shared signal found within +-{cfg.sync_max_offset_s:g} s: "
                           "tracks taken as aligned")
        else:
            offset_s, rate = found
    line_ab, line_ba = (offset_s, rate), (-offset_s / rate, 1.0 / rate)
    single = [_single(fa, fb, *line_ab, cfg, activity is not None),
              _single(fb, fa, *line_ba, cfg, activity is not None)]
    if activity is not None:  # a VAD that fires on bleed leaves no single-talker frames: use energies
        for i, (own, other, line) in enumerate(((fa, fb, line_ab), (fb, fa, line_ba))):
            if single[i].sum() * FRAMES.hop_s < cfg.bleed_min_single_s:
                single[i] = _single(own, other, *line, cfg, False)
    max_lag = int(round(cfg.bleed_max_lag_ms / 1000.0 * fs))
    common = dict(max_lag=max_lag, block_len=max(8 * max_lag, 1024), band=cfg.bleed_band_hz,
                  window_s=cfg.sync_window_s)
    signals = ((a8, b8, line_ab, fa, fb), (b8, a8, line_ba, fb, fa))

    def measure(i: int, mask: np.ndarray):
        src, tgt, line, _, _ = signals[i]
        spec = path_spectra(src, tgt, fs, fr.sample_mask(mask, hop, src.size),
                            offset_s=line[0], rate=line[1], **common)
        return spec, path_bleed(spec, i, 1 - i, cfg)

    results = [measure(0, single[0]), measure(1, single[1])]
    # second pass: drop frames where the target has sound of its own (louder than this path's bleed
    # explains, or any sound when no bleed was found): they only add noise to the estimate
    for i in (0, 1):
        _, path = results[i]
        _, _, line, own, other = signals[i]
        n = own.power_db.size
        other_active = fr.map_frames(other.active, n, *line, False)
        if path.detected:
            other_db = fr.map_frames(other.power_db, n, *line, fr.SILENCE_DB)
            quiet = other_db <= own.power_db + path.level_db + REFINE_MARGIN_DB
        else:
            quiet = np.zeros(n, bool)
        refined = single[i] & (~other_active | quiet)
        dropped = single[i].sum() - refined.sum()
        if dropped > 0.01 * max(single[i].sum(), 1) and refined.sum() * FRAMES.hop_s >= cfg.bleed_min_single_s:
            single[i] = refined
            results[i] = measure(i, refined)
    (spec_ab, path_ab), (spec_ba, path_ba) = results
    paths = (path_ab, path_ba)
    bleed = combine(paths)
    lags_ab = window_lags(spec_ab, null_sigma(spec_ab)) if paths[0].detected else (np.zeros(0), np.zeros(0))
    lags_ba = window_lags(spec_ba, null_sigma(spec_ba)) if paths[1].detected else (np.zeros(0), np.zeros(0))
    sync = fit_sync(lags_ab, lags_ba, offset_s, rate, cfg)
    if coarse_note:
        sync = SyncEstimate(**{**sync.__dict__, "note": "; ".join(n for n in (coarse_note, sync.note) if n)})
    elif search_offset and not sync.measured:  # whole windows agreed on a line, single-talker frames did not
        sync = SyncEstimate(round(offset_s * 1000.0, 3), round((rate - 1.0) * 1e6, 2),
                            note="coarse estimate only (whole windows; no significant single-talker windows)")
    return PairAnalysis(bleed, sync, (offset_s, rate), (single[0], single[1]))
