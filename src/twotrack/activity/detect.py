"""The one interface of voice activity: track audio + rate -> speech probability per 10 ms frame ->
speech mask -> segments.

Every form runs the same pipeline:
1. per track, energy per 10 ms frame and its adaptive noise floor (``energy``);
2. per track, a speech probability per frame: silero (batched over chunks of all tracks) or the
   energy detector's pseudo-probability;
3. ``decide``: hysteresis on the probability, edges moved to the energy envelope (``refine``), frames that
   are only another track's bleed removed (``crosstalk``), short silences bridged, short speech dropped.

``detect_stream`` consumes blocks (n_tracks, n) and keeps only one group of silero chunks of audio in
memory (the per-frame arrays it returns are 1/80 of the 8 kHz audio's size); ``detect_tracks`` and
``detect`` are the in-memory forms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..config import ActivityConfig
from ..model import FRAMES, TrackActivity
from . import silero
from .crosstalk import bleed_only, ratio_threshold_db
from .energy import EnergyStream, energy_probability, noise_floor_db
from .frames import bridge_gaps, drop_short, hysteresis, mask_to_segments, pad_runs, resample_to_grid
from .refine import RefineParams, energy_support, refine_edges

DETECTORS = ("silero", "energy")


@dataclass(frozen=True)
class TrackFrames:
    """One track on the 10 ms grid: speech probability, final speech mask, energy (dB) and noise floor."""

    prob: np.ndarray  # float32 (n_frames,)
    mask: np.ndarray  # bool (n_frames,)
    energy_db: np.ndarray  # float32 (n_frames,)
    floor_db: np.ndarray  # float32 (n_frames,)

    @property
    def n_frames(self) -> int:
        return int(self.mask.size)


def _frames(seconds: float) -> int:
    return int(round(seconds / FRAMES.hop_s))


def _refine_params(cfg: ActivityConfig) -> RefineParams:
    frames = _frames
    return RefineParams(
        search_before=frames(cfg.refine_search_s),
        search_inside=frames(cfg.refine_inside_s),
        background=max(1, frames(cfg.refine_background_s)),
        background_pct=cfg.refine_background_pct,
        edge_db=cfg.refine_edge_db,
        offset_edge_db=cfg.refine_offset_db,
        anchor_db=cfg.refine_anchor_db,
        bridge=frames(cfg.refine_bridge_s),
    )


def decide(prob: np.ndarray, energy_db: np.ndarray, floor_db: np.ndarray, cfg: ActivityConfig,
           bleed: tuple[float, float] | None = None) -> np.ndarray:
    """Final speech masks bool (n_tracks, n_frames) from per-frame probability, energy and floor."""
    prob = np.atleast_2d(prob)
    energy_db = np.atleast_2d(energy_db)
    floor_db = np.atleast_2d(floor_db)
    masks = np.stack([hysteresis(p, cfg.onset, cfg.offset) for p in prob]) if prob.size else prob.astype(bool)
    if cfg.refine_boundaries:
        params = _refine_params(cfg)
        masks = np.stack([energy_support(m, e, f, cfg.support_db, _frames(cfg.support_gap_s), cfg.support_strong_db)
                          for m, e, f in zip(masks, energy_db, floor_db)])
        masks = np.stack([refine_edges(m, e, f, params) for m, e, f in zip(masks, energy_db, floor_db)])
        masks = np.stack([pad_runs(m, _frames(cfg.onset_lead_s), _frames(cfg.offset_lag_s)) for m in masks])
    if cfg.crosstalk_rule and masks.shape[0] >= 2:
        thr = ratio_threshold_db(bleed, cfg.crosstalk_ratio_db, cfg.crosstalk_margin_db, cfg.crosstalk_cap_db)
        masks = masks & ~bleed_only(energy_db, thr, None if bleed is None else bleed[1])
    gap = int(round(cfg.min_silence_s / FRAMES.hop_s))
    short = int(round(cfg.min_speech_s / FRAMES.hop_s))
    return np.stack([drop_short(bridge_gaps(m, gap), short) for m in masks]) if masks.size else masks


def _check(cfg: ActivityConfig) -> None:
    if cfg.detector not in DETECTORS:
        raise ValueError(f"unknown activity detector {cfg.detector!r} (expected one of {', '.join(DETECTORS)})")


class _Resampler:
    """Streams blocks at another rate to the model's rate (soxr); a no-op at 8 or 16 kHz."""

    def __init__(self, n_tracks: int, in_rate: int):
        self.in_rate = int(in_rate)
        self.out_rate = self.in_rate if self.in_rate in silero.RATES else (16000 if self.in_rate > 8000 else 8000)
        self.stream = None
        if self.out_rate != self.in_rate:
            import soxr

            self.stream = soxr.ResampleStream(self.in_rate, self.out_rate, n_tracks, dtype="float32")

    def feed(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self.stream is None:
            return block
        out = self.stream.resample_chunk(np.ascontiguousarray(block.T), last=last)
        return np.ascontiguousarray(out.T)


def detect_stream(blocks: Iterable[np.ndarray], sample_rate: int, cfg: ActivityConfig = ActivityConfig(),
                  bleed: tuple[float, float] | None = None) -> list[TrackFrames]:
    """Activity of every track from blocks float32 (n_tracks, n), one pass, memory flat in length."""
    _check(cfg)
    energy = prob_stream = resampler = None
    energies, probs = [], []
    n_tracks = 0
    n_samples = 0
    for block in blocks:
        block = np.asarray(block, np.float32)
        if block.ndim != 2:
            raise ValueError(f"blocks must be (n_tracks, n), got shape {block.shape}")
        if energy is None:
            n_tracks = block.shape[0]
            energy = EnergyStream(n_tracks, sample_rate)
            resampler = _Resampler(n_tracks, sample_rate)
            if cfg.detector == "silero":
                prob_stream = silero.BatchedStreams(n_tracks, resampler.out_rate, cfg.batch_chunk_s,
                                                    cfg.batch_warmup_s, cfg.batch_group_chunks, cfg.threads)
        n_samples += block.shape[1]
        energies.append(energy.feed(block))
        if prob_stream is not None:
            probs.append(prob_stream.feed(resampler.feed(block)))
    if energy is None:
        return []
    energies.append(energy.finish())
    if prob_stream is not None:
        tail = resampler.feed(np.zeros((n_tracks, 0), np.float32), last=True)
        probs.extend([prob_stream.feed(tail), prob_stream.finish()])
    energy_db = np.concatenate(energies, axis=1)
    n_frames = FRAMES.n_frames(n_samples / sample_rate)
    energy_db = _fit(energy_db, n_frames, fill=energy_db[:, -1:] if energy_db.shape[1] else -120.0)
    floor_db = np.stack([noise_floor_db(e, cfg.noise_window_s) for e in energy_db])
    if prob_stream is not None:
        window_probs = np.concatenate(probs, axis=1)
        prob = np.stack([resample_to_grid(w, silero.WINDOW_S, n_frames) for w in window_probs])
    else:
        prob = _energy_prob(energy_db, floor_db, cfg)
    masks = decide(prob, energy_db, floor_db, cfg, bleed)
    return [TrackFrames(prob[i].astype(np.float32), masks[i], energy_db[i], floor_db[i]) for i in range(n_tracks)]


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def _energy_prob(energy_db: np.ndarray, floor_db: np.ndarray, cfg: ActivityConfig) -> np.ndarray:
    """The energy detector's pseudo-probability, scaled so the shared hysteresis (onset/offset
    probabilities) opens at ``energy_on_db`` and closes at ``energy_off_db`` above the floor."""
    span = _logit(cfg.onset) - _logit(cfg.offset)
    scale = (cfg.energy_on_db - cfg.energy_off_db) / span if span > 0 else 1.0
    mid = cfg.energy_on_db - scale * _logit(cfg.onset)
    return energy_probability(energy_db, floor_db, mid, max(scale, 1e-3))


def _fit(a: np.ndarray, n: int, fill) -> np.ndarray:
    if a.shape[1] >= n:
        return a[:, :n]
    pad = np.broadcast_to(np.asarray(fill, a.dtype), (a.shape[0], n - a.shape[1]))
    return np.concatenate([a, pad], axis=1)


def detect_tracks(tracks: np.ndarray, sample_rate: int, cfg: ActivityConfig = ActivityConfig(),
                  bleed: tuple[float, float] | None = None) -> list[TrackFrames]:
    """Activity of every track of float32 (n_tracks, n) audio."""
    tracks = np.asarray(tracks, np.float32)
    if tracks.ndim != 2:
        raise ValueError(f"tracks must be (n_tracks, n), got shape {tracks.shape}")
    return detect_stream([tracks], sample_rate, cfg, bleed)


def detect(track: np.ndarray, sample_rate: int, cfg: ActivityConfig = ActivityConfig()) -> TrackFrames:
    """Activity of one track float32 (n,) (no crosstalk rule: it needs a second track)."""
    track = np.asarray(track, np.float32)
    if track.ndim != 1:
        raise ValueError(f"a track is 1-D, got shape {track.shape}")
    return detect_tracks(track[None], sample_rate, cfg)[0]


def to_activity(frames: list[TrackFrames], detector: str = "silero") -> list[TrackActivity]:
    """Speech segments per track (seconds, on the 10 ms grid)."""
    return [TrackActivity(track=i, segments=tuple(mask_to_segments(f.mask)), detector=detector)
            for i, f in enumerate(frames)]

