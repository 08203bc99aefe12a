"""Two tracks against each other: bleed both ways and sync, from one pass over the signals.

``analyse_pair`` is the engine behind ``estimate_bleed``, ``estimate_sync`` and ``run_checks``: the
tracks go to the analysis rate (8 kHz: the bleed band fits under 4 kHz), the frames where each side
talks alone are found on the clock line (identity for one multichannel file; searched for paired
files), and each path's cross-spectra give its bleed (the blocks of at most ``bleed_sum_windows``
windows, evenly spread) and its sync lags (per window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import ChecksConfig
from ..ingest.resample import resample
from ..model import FRAMES
from . import power as pw
from .bleed import BleedEstimate, BleedPath, combine, path_bleed
from .sync import NOT_MEASURED, SyncEstimate, coarse_line, fit_sync, window_lags
from .signals import ArraySignals, SpectraRequest, StreamSignals
from .xcorr import PathSpectra, null_sigma


@dataclass(frozen=True)
class TrackFrames:
    """Per-frame power (dB) of one track on its own 10 ms grid and where it is active."""

    power_db: np.ndarray
    active: np.ndarray
    floor_db: float


def track_frames(x: np.ndarray, sample_rate: int, cfg: ChecksConfig, activity: np.ndarray | None = None) -> TrackFrames:
    return frames_from_power(pw.frame_power_db(x, sample_rate), cfg, activity)


def frames_from_power(power: np.ndarray, cfg: ChecksConfig, activity: np.ndarray | None = None) -> TrackFrames:
    """``track_frames`` from the per-frame power (dB) already measured."""
    floor = pw.noise_floor_db(power)
    if activity is not None:
        active = pw.fit_mask(activity, power.size)
    else:
        active = pw.active_frames(power, floor, cfg.activity_margin_db, cfg.activity_floor_dbfs)
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


def _single(own: TrackFrames, other: TrackFrames, line: tuple[float, float], cfg: ChecksConfig,
            given_activity: bool) -> np.ndarray:
    """Frames of ``own`` where it talks alone, with ``other`` carried onto own's grid by the line."""
    n = own.power_db.size
    guard = _guard(cfg)
    other_active = pw.map_frames(other.active, n, *line, False)
    if given_activity:  # the caller's masks decide who talks
        return own.active & ~pw.dilate(other_active, guard)
    other_db = pw.map_frames(other.power_db, n, *line, pw.SILENCE_DB)
    return pw.single_talker(own.active, own.power_db, other_db, other_active, cfg.single_talker_margin_db, guard)


def _guard(cfg: ChecksConfig) -> int:
    """Frames around a kept frame that the lag search reaches."""
    return int(np.ceil(cfg.bleed_max_lag_ms / 1000.0 / FRAMES.hop_s))


@dataclass(frozen=True)
class _Path:
    spec: PathSpectra
    bleed: BleedPath
    single: np.ndarray


class _Pair:
    """The two tracks at the analysis rate (``signals``) with their frames: measures both paths along a
    clock line."""

    def __init__(self, signals: ArraySignals | StreamSignals, fa: TrackFrames, fb: TrackFrames,
                 cfg: ChecksConfig, given_activity: bool):
        self.signals, self.frames, self.fs, self.cfg = signals, (fa, fb), signals.fs, cfg
        self.given_activity = given_activity
        self.hop = pw.hop_samples(self.fs)
        max_lag = int(round(cfg.bleed_max_lag_ms / 1000.0 * self.fs))
        self.common = dict(max_lag=max_lag, block_len=max(8 * max_lag, 1024), band=cfg.bleed_band_hz,
                           window_s=cfg.sync_window_s,
                           # the pass's cost stops growing with the length (docs/activity.md, the whole scan)
                           sum_windows=cfg.bleed_sum_windows if cfg.bleed_sum_windows > 0 else None)

    def _single(self, i: int, line_ab: tuple[float, float]) -> tuple[tuple[float, float], np.ndarray]:
        """Path ``i``'s line (source clock -> target clock) and the source frames it is measured on."""
        offset, rate = line_ab
        line = line_ab if i == 0 else (-offset / rate, 1.0 / rate)
        own, other = self.frames[i], self.frames[1 - i]
        cfg = self.cfg
        single = _single(own, other, line, cfg, self.given_activity)
        if self.given_activity and single.sum() * FRAMES.hop_s < cfg.bleed_min_single_s:
            single = _single(own, other, line, cfg, False)  # a VAD that fires on bleed: use energies
        return line, single

    def measure(self, line_ab: tuple[float, float]) -> tuple[_Path, _Path, SyncEstimate]:
        """Path 0 (A heard in B) and path 1 (B heard in A) along ``t_B = offset + rate t_A`` (one read of
        the signals for both), and the sync fitted to their windows."""
        singles = [self._single(i, line_ab) for i in (0, 1)]
        specs = self.signals.spectra([SpectraRequest(i, single, self.hop, offset_s=line[0], rate=line[1],
                                                     **self.common) for i, (line, single) in enumerate(singles)])
        ab, ba = (_Path(spec, path_bleed(spec, i, 1 - i, self.cfg), single)
                  for i, (spec, (_, single)) in enumerate(zip(specs, singles)))
        none = (np.zeros(0), np.zeros(0))
        lags_ab = window_lags(ab.spec, null_sigma(ab.spec)) if ab.bleed.detected else none
        lags_ba = window_lags(ba.spec, null_sigma(ba.spec)) if ba.bleed.detected else none
        return ab, ba, fit_sync(lags_ab, lags_ba, line_ab[0], line_ab[1], self.cfg)


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
    a8, fs = to_analysis_rate(a, sample_rate, cfg)
    b8, _ = to_analysis_rate(b, sample_rate, cfg)
    return analyse_signals(ArraySignals(a8, b8, fs), frames, cfg, given_activity=activity is not None,
                           search_offset=search_offset, offset_s=offset_s, drift=drift)


def analyse_signals(
    signals: ArraySignals | StreamSignals,
    frames: tuple[TrackFrames, TrackFrames],
    cfg: ChecksConfig,
    *,
    given_activity: bool = False,
    search_offset: bool = False,
    offset_s: float = 0.0,
    drift: float = 0.0,
) -> PairAnalysis:
    """``analyse_pair`` over signals at the analysis rate, in memory or streamed (``checks.signals``);
    ``frames`` are the two tracks' ``TrackFrames`` on their own 10 ms grids."""
    fa, fb = frames
    pair = _Pair(signals, fa, fb, cfg, given_activity)
    line = (offset_s, 1.0 + drift)
    if not search_offset:
        ab, ba, sync = pair.measure(line)
        return PairAnalysis(combine((ab.bleed, ba.bleed)), sync if sync.measured else NOT_MEASURED, line,
                            (ab.single, ba.single))
    # paired files: a rough line from whole windows, then the fine pass along it, then once more along
    # the line the fine pass fitted (so the bleed sums line up over the whole recording)
    floor_b = 10.0 ** (max(fb.floor_db, cfg.activity_floor_dbfs) / 10.0)
    even_b = 1.0 / np.sqrt(10.0 ** (fb.power_db / 10.0) + floor_b)  # B at unit power per frame
    found = coarse_line(signals, fa.active, even_b, pair.hop, cfg)
    if found is None:
        ab, ba, _ = pair.measure(line)
        note = f"no shared signal found within +-{cfg.sync_max_offset_s:g} s (tracks taken as aligned for bleed)"
        return PairAnalysis(combine((ab.bleed, ba.bleed)), SyncEstimate(None, None, note=note), line,
                            (ab.single, ba.single))
    line = found
    ab, ba, sync = pair.measure(line)
    if sync.measured and sync.drift_ppm is not None:
        line = (sync.offset_ms / 1000.0, 1.0 + sync.drift_ppm * 1e-6)
        ab, ba, sync = pair.measure(line)
    if not sync.measured:  # whole windows agreed on a line, single-talker windows did not
        sync = SyncEstimate(round(line[0] * 1000.0, 3), round((line[1] - 1.0) * 1e6, 2),
                            note="coarse estimate only (whole windows; no significant single-talker windows)")
    return PairAnalysis(combine((ab.bleed, ba.bleed)), sync, line, (ab.single, ba.single))
