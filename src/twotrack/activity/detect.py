"""The one interface of voice activity: track audio + rate -> speech probability per 10 ms frame ->
speech mask -> segments (docs/activity.md).

Every form runs the same pipeline:
1. ``analyse_stream`` (one pass over blocks, ``stream.FrameAnalyzer``): per track, energy per 10 ms frame
   and a speech probability per frame: silero, run batched on the windows an energy gate keeps, or the
   energy detector's pseudo-probability;
2. ``decide``: hysteresis on the probability; speech with no energy above the noise floor removed
   (``refine.energy_support``); edges moved to the 10 ms energy envelope (``refine``) plus an onset lead
   and an offset lag; frames that are only another track's bleed removed (``crosstalk``); short silences
   bridged, short speech dropped.

``detect_stream`` consumes blocks (n_tracks, n) with memory flat in the recording's length (the
per-frame arrays it returns hold 100 values per second per track); ``detect_tracks`` and ``detect`` are
the in-memory forms; ``to_activity`` turns the masks into ``model.TrackActivity`` segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..config import ActivityConfig
from ..model import FRAMES, TrackActivity
from ..timeline import bridge_gaps, drop_short, hysteresis, mask_to_segments, pad_runs
from .crosstalk import bleed_from_samples, bleed_only, inaudible_residues, ratio_samples, thresholds_db
from .denoise import BandStream, LevelStream, noisy_tracks, silenced
from .echo import Echo, EchoParams, echo_only, find_echoes
from .energy import energy_probability, noise_floor_db, silence_below
from .refine import RefineParams, energy_support, refine_edges
from .stream import FrameAnalyzer, model_rate
from .tap import Resampler, Tap

DETECTORS = ("silero", "energy")


@dataclass(frozen=True)
class TrackFrames:
    """One track on the 10 ms grid: speech probability, final speech mask, energy (dB) and noise floor."""

    prob: np.ndarray  # float32 (n_frames,)
    mask: np.ndarray  # bool (n_frames,)
    energy_db: np.ndarray  # float32 (n_frames,)
    floor_db: np.ndarray  # float32 (n_frames,)
    echoes: tuple[Echo, ...] = ()  # late echoes of other tracks found on this one (not speech)

    @property
    def n_frames(self) -> int:
        return int(self.mask.size)


def _frames(seconds: float) -> int:
    return int(round(seconds / FRAMES.hop_s))


def _refine_params(cfg: ActivityConfig) -> RefineParams:
    return RefineParams(
        search_before=_frames(cfg.refine_search_s),
        search_inside=_frames(cfg.refine_inside_s),
        background=max(1, _frames(cfg.refine_background_s)),
        background_pct=cfg.refine_background_pct,
        edge_db=cfg.refine_edge_db,
        offset_edge_db=cfg.refine_offset_db,
        anchor_db=cfg.refine_anchor_db,
        bridge=_frames(cfg.refine_bridge_s),
        spread_pct=cfg.refine_spread_pct,
        spread_margin_db=cfg.refine_spread_margin_db,
        decay_db=cfg.refine_onset_decay_db,
        offset_decay_db=cfg.refine_offset_decay_db,
        decay_window=max(1, _frames(cfg.refine_decay_window_s)),
    )


#: Frames per piece of the frame-level decisions, and context frames on each side of a piece (the
#: noise floor looks 2 s around a frame, edges move at most 0.3 s): long recordings are decided piece by
#: piece so their temporaries stay small; the result is the same as deciding the whole at once.
PIECE_FRAMES = 30_000
CONTEXT_FRAMES = 500


class Decision(NamedTuple):
    masks: np.ndarray  # bool (n_tracks, n_frames): final speech
    floor: np.ndarray  # float32 (n_tracks, n_frames): noise floor
    echoes: tuple[Echo, ...]  # late echoes found (their frames are not speech)


def decide(prob: np.ndarray, energy_db: np.ndarray, cfg: ActivityConfig = ActivityConfig(),
           bleed: tuple[float, float] | None = None, piece_frames: int = PIECE_FRAMES,
           levels: dict[int, np.ndarray] | None = None, offset_only: frozenset[int] = frozenset()) -> Decision:
    """Final speech masks bool (n_tracks, n_frames), noise floors float32 (n_tracks, n_frames) and the
    echoes found, from per-frame speech probability and energy (dB), float (n_tracks, n_frames).
    ``levels``: the noise-subtracted level float32 (n_frames,) of the noisy tracks (``denoise.band_level``,
    digital silence not yet put back), by track: their edges are refined on it; (2, n_frames): the second row
    is the level with faster band floors that can move their onsets in (``refine.inner_onsets``).
    ``offset_only``: tracks of ``levels`` whose offsets alone read their level (onsets read the frame energy).

    Hysteresis on the probability (over the whole recording: one strong frame opens a whole run), then,
    piece by piece: speech without energy above the floor removed, edges moved to the energy envelope,
    onset lead and offset lag added, frames that are only another track's bleed removed (threshold from
    the whole recording), short silences bridged, short speech dropped."""
    prob = np.atleast_2d(np.asarray(prob, np.float32))
    energy_db = np.atleast_2d(np.asarray(energy_db, np.float32))
    n_tracks, n = energy_db.shape
    if n == 0 or n_tracks == 0:
        return Decision(np.zeros((n_tracks, n), bool), np.zeros((n_tracks, n), np.float32), ())
    masks = np.stack([hysteresis(p, cfg.onset, cfg.offset) for p in prob])
    if cfg.silence_range_db > 0:
        energy_db = silence_below(energy_db, cfg.silence_range_db)
    pieces = _pieces(n, piece_frames)
    # two floors: ``heard`` (the default) has no evidence from a lone sound in digital silence, so that
    # sound clears it and the support rule keeps it (the gate reads the same floor); so does the refiner's
    # onset, so a word after digital silence starts where its sound starts (its lead-in is bounded by the
    # onset bound). The refiner's offsets and the crosstalk rule keep the floor read from every window,
    # which for a lone sound is its own level: with no background to measure, an offset stays where the
    # model put it instead of running on into a codec's ringing or the stretch before a cut
    # (docs/activity.md, "Edges, 2026-12-04" and "Onsets after digital silence")
    floor = noise_floors(energy_db, cfg, pieces, min_sound=0.0)
    heard = noise_floors(energy_db, cfg, pieces)
    out = np.empty((n_tracks, n), bool)
    thr = echo = None
    echoes: list[Echo] = []
    if cfg.crosstalk_rule and n_tracks >= 2:
        thr = bleed_thresholds(energy_db, floor, bleed, cfg, pieces)
        if cfg.echo_rule:
            echoes = find_echoes(energy_db, floor, EchoParams(max_lag=_frames(cfg.echo_max_lag_s)))
            if echoes:
                echo = echo_only(energy_db, echoes, cfg.crosstalk_margin_db, cfg.crosstalk_cap_db)
    for lo, a, b, hi in pieces:
        edges = {t: _edge_level(x[..., lo:hi], energy_db[t, lo:hi], cfg) for t, x in (levels or {}).items()}
        m = _decide_piece(masks[:, lo:hi], energy_db[:, lo:hi], floor[:, lo:hi], cfg,
                          bleed, thr, heard[:, lo:hi], None if echo is None else echo[:, lo:hi], edges, offset_only)
        out[:, a:b] = m[:, a - lo : b - lo]
    return Decision(out, floor, tuple(echoes))


def _edge_level(level: np.ndarray, energy_db: np.ndarray, cfg: ActivityConfig) -> tuple:
    """(level, floor, heard floor, inner) the refiner reads on a noisy track: the noise-subtracted level (made
    over the whole track) with digital silence put back, and its two floors (as ``decide`` reads them on the
    frame energy; the piece's context covers them). ``level`` (n,) or (2, n); with a second row (faster band
    floors), ``inner`` is (that level, its onset floor, the shift in frames) for ``refine.inner_onsets``."""
    rows = [silenced(row, energy_db) for row in np.atleast_2d(level)[: 2 if _inner(cfg) else 1]]
    level = rows[0]
    floor, heard = noise_floor_db(level, cfg.noise_window_s, min_sound=0.0), noise_floor_db(level, cfg.noise_window_s)
    inner = None
    if len(rows) > 1:  # its onsets read the floor the first level's onsets read
        sound = 0.25 if cfg.refine_onset_heard_floor else 0.0
        inner = (rows[1], noise_floor_db(rows[1], cfg.noise_window_s, min_sound=sound), _frames(cfg.denoise_onset_shift_s))
    return level, floor, heard, inner


def _pieces(n: int, piece_frames: int = PIECE_FRAMES) -> list[tuple[int, int, int, int]]:
    """(context start, start, stop, context stop) of each piece of ``n`` frames."""
    spans = [(a, min(n, a + piece_frames)) for a in range(0, n, max(1, piece_frames))]
    return [(max(0, a - CONTEXT_FRAMES), a, b, min(n, b + CONTEXT_FRAMES)) for a, b in spans]


def noise_floors(energy_db: np.ndarray, cfg: ActivityConfig = ActivityConfig(),
                 pieces: list[tuple[int, int, int, int]] | None = None, min_sound: float = 0.25) -> np.ndarray:
    """``energy.noise_floor_db`` of every track, float32 (n_tracks, n_frames), piece by piece (``min_sound``:
    see there; 0 lets a lone sound in digital silence be its own floor)."""
    energy_db = np.atleast_2d(energy_db)
    floor = np.empty(energy_db.shape, np.float32)
    for lo, a, b, hi in pieces or _pieces(energy_db.shape[1]):
        for t, e in enumerate(energy_db):
            floor[t, a:b] = noise_floor_db(e[lo:hi], cfg.noise_window_s, min_sound=min_sound)[a - lo : b - lo]
    return floor


def bleed_thresholds(energy_db: np.ndarray, floor_db: np.ndarray, bleed: tuple[float, float] | None,
                     cfg: ActivityConfig, pieces: list[tuple[int, int, int, int]] | None = None) -> np.ndarray:
    """The crosstalk rule's threshold per track pair (``crosstalk.thresholds_db``), read piece by piece."""
    if bleed is not None and bleed[0] is not None and np.isfinite(bleed[0]):
        return thresholds_db(energy_db[:, :0], floor_db[:, :0], bleed, cfg.crosstalk_ratio_db,
                             cfg.crosstalk_margin_db, cfg.crosstalk_cap_db)
    n = energy_db.shape[1]
    pieces = pieces or [(0, 0, n, n)]
    samples = [ratio_samples(energy_db[:, lo:hi], floor_db[:, lo:hi], a - lo, b - lo) for lo, a, b, hi in pieces]
    level = bleed_from_samples(samples, energy_db.shape[0])
    level = np.where(np.isfinite(level), level, cfg.crosstalk_ratio_db - cfg.crosstalk_margin_db)
    return np.minimum(level + cfg.crosstalk_margin_db, cfg.crosstalk_cap_db)


def _decide_piece(masks: np.ndarray, energy_db: np.ndarray, floor_db: np.ndarray, cfg: ActivityConfig,
                  bleed: tuple[float, float] | None, thr: np.ndarray | None, heard_db: np.ndarray,
                  echo: np.ndarray | None = None,
                  edges: dict[int, tuple] | None = None, offset_only: frozenset[int] = frozenset()) -> np.ndarray:
    if cfg.refine_boundaries:
        params = _refine_params(cfg)
        masks = np.stack([energy_support(m, e, f, cfg.support_db, _frames(cfg.support_gap_s))
                          for m, e, f in zip(masks, energy_db, heard_db)])
        # a noisy track's edges read its noise-subtracted level (``edges``), every other track its frame energy;
        # an ``offset_only`` track reads it for its offsets alone
        edges = edges or {}
        own = [(e, f, h, None) for e, f, h in zip(energy_db, floor_db, heard_db)]
        levels = [own[t] if t in offset_only else edges.get(t, own[t]) for t in range(len(own))]
        tails = [edges[t][:2] if t in offset_only and t in edges else None for t in range(len(own))]
        masks = np.stack([refine_edges(m, e, f, params, h if cfg.refine_onset_heard_floor else None, inner, tail)
                          for m, (e, f, h, inner), tail in zip(masks, levels, tails)])
        masks = np.stack([pad_runs(m, _frames(cfg.onset_lead_s), _frames(cfg.offset_lag_s)) for m in masks])
    if thr is not None:
        before = masks
        masks = masks & ~bleed_only(energy_db, thr, None if bleed is None else bleed[1], floor_db=floor_db)
        masks = masks & ~np.stack([inaudible_residues(b, m, e, f, cfg.support_db)
                                   for b, m, e, f in zip(before, masks, energy_db, floor_db)])
    if echo is not None:
        masks = masks & ~echo
    gap, short = _frames(cfg.min_silence_s), _frames(cfg.min_speech_s)
    return np.stack([drop_short(bridge_gaps(m, gap), short) for m in masks])


def _check(cfg: ActivityConfig) -> None:
    if cfg.detector not in DETECTORS:
        raise ValueError(f"unknown activity detector {cfg.detector!r} (expected one of {', '.join(DETECTORS)})")


def analyse_stream(blocks: Iterable[np.ndarray], sample_rate: int, cfg: ActivityConfig = ActivityConfig(),
                   bleed: tuple[float, float] | None = None, n_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Speech probability and energy (dB) per 10 ms frame, each float32 (n_tracks, n_frames), from
    blocks float32 (n_tracks, n) in one pass (before ``decide``). ``n_frames``: the frame count when
    known (the per-frame arrays are then made once)."""
    _check(cfg)
    analyzer = resampler = None
    for block in blocks:
        block = np.asarray(block, np.float32)
        if block.ndim != 2:
            raise ValueError(f"blocks must be (n_tracks, n), got shape {block.shape}")
        if analyzer is None:
            resampler = Resampler(block.shape[0], sample_rate, model_rate(sample_rate))
            gate_ratio = cfg.gate_ratio_db
            if bleed is not None and bleed[0] is not None and np.isfinite(bleed[0]):
                gate_ratio = min(gate_ratio, bleed[0] + cfg.crosstalk_margin_db)
            analyzer = FrameAnalyzer(block.shape[0], resampler.out_rate, cfg, gate_ratio, n_frames)
        analyzer.push(resampler.feed(block))
    if analyzer is None:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    tail = resampler.feed(np.zeros((analyzer.n_tracks, 0), np.float32), last=True)
    if tail.shape[1]:
        analyzer.push(tail)
    prob, energy = analyzer.finish()
    if cfg.detector == "energy":
        prob = _energy_prob(energy, noise_floors(energy, cfg), cfg)
    return prob, energy


def frames_from(prob: np.ndarray, energy_db: np.ndarray, cfg: ActivityConfig = ActivityConfig(),
                bleed: tuple[float, float] | None = None, mel=None, levels=None) -> list[TrackFrames]:
    """``decide`` over per-frame probability and energy -> one ``TrackFrames`` per track. With ``mel``
    (the voice encoder's mel frames, float32 (n_tracks, n_frames, 40), or a function that makes them when
    first needed) and ``cfg.own_voice``, speech that is not each track owner's voice loses its probability
    and the decisions run again on what is left. ``levels``: the noisy tracks' noise-subtracted levels by
    track (see ``decide``), or a function of the tracks wanted that makes them (``noisy_edges``)."""
    offset_only: frozenset[int] = frozenset()
    if callable(levels):
        levels, offset_only = noisy_edges(prob, energy_db, cfg, levels)
    masks, floor, echoes = decide(prob, energy_db, cfg, bleed, levels=levels, offset_only=offset_only)
    if cfg.own_voice and mel is not None:
        from . import ownvoice  # the option's encoder is imported only when it is on (scan start-up)

        params = ownvoice.params_from(cfg)
        if ownvoice.judged(masks, params).any():
            mel = mel() if callable(mel) else mel
            owned = ownvoice.owner_probability(prob, energy_db, masks, mel, params)
            if owned is not None:  # the probability stays the model's in TrackFrames; the mask is the owner's
                masks, floor, echoes = decide(owned, energy_db, cfg, bleed, levels=levels, offset_only=offset_only)
    return [TrackFrames(np.asarray(prob[i], np.float32), masks[i], np.asarray(energy_db[i], np.float32), floor[i],
                        tuple(e for e in echoes if e.target == i))
            for i in range(len(masks))]


def noisy_edges(prob: np.ndarray, energy_db: np.ndarray, cfg: ActivityConfig,
                make_levels: Callable[[np.ndarray], np.ndarray]) -> tuple[dict[int, np.ndarray], frozenset[int]]:
    """The noise-subtracted level by track of the tracks whose edges read it (``denoise.noisy_tracks``; none
    when ``cfg.denoise_snr_db <= 0``), and which of them read it for their offsets only (under
    ``cfg.denoise_offset_snr_db`` but not under ``cfg.denoise_snr_db``). ``make_levels(tracks)``: float32
    (len(tracks), n_frames) (``denoise.band_level``), or (len(tracks), 2, n_frames) with the faster floors'
    level as well."""
    if not cfg.refine_boundaries:
        return {}, frozenset()
    e = silence_below(energy_db, cfg.silence_range_db) if cfg.silence_range_db > 0 else energy_db
    none = np.zeros(np.atleast_2d(e).shape[0], bool)
    noisy = noisy_tracks(prob, e, cfg.onset, cfg.denoise_snr_db) if cfg.denoise_snr_db > 0 else none
    tails = noisy_tracks(prob, e, cfg.onset, cfg.denoise_offset_snr_db) & ~noisy \
        if cfg.denoise_offset_snr_db > 0 else none
    wanted = np.flatnonzero(noisy | tails)
    if wanted.size == 0:
        return {}, frozenset()
    return dict(zip(wanted.tolist(), make_levels(wanted))), frozenset(np.flatnonzero(tails).tolist())


def detect_stream(blocks: Iterable[np.ndarray], sample_rate: int, cfg: ActivityConfig = ActivityConfig(),
                  bleed: tuple[float, float] | None = None, n_frames: int | None = None,
                  reread: Callable[[], Iterable[np.ndarray]] | None = None) -> list[TrackFrames]:
    """Activity of every track from blocks float32 (n_tracks, n), one pass, memory flat in length
    (``n_frames``: the frame count when known, see ``analyse_stream``). ``reread``: blocks of the same
    audio from the start again; with the own-voice option the encoder's mel frames are then made in a
    second pass, only when a track is judged, instead of alongside the first (docs/activity.md)."""
    tap = None
    if cfg.own_voice:
        from .ownvoice import MelTap, require

        require()
        if reread is None:
            tap = MelTap(sample_rate)
            blocks = tap.tap(blocks)
    def levels_of(n_tracks: int) -> _Levels:
        return _Levels(n_tracks, sample_rate, cfg)

    level_tap = None
    if reread is None and max(cfg.denoise_snr_db, cfg.denoise_offset_snr_db) > 0 and cfg.refine_boundaries:
        level_tap = Tap(levels_of)  # no second read: all tracks
        blocks = level_tap.tap(blocks)
    prob, energy = analyse_stream(blocks, sample_rate, cfg, bleed, n_frames)

    def make_mel():  # a second read, only when a track is judged
        from .ownvoice import mel_frames

        return mel_frames(reread(), sample_rate, prob.shape[1])

    def make_levels(tracks: np.ndarray) -> np.ndarray:  # a second read, only of the noisy tracks
        if level_tap is not None:
            levels = level_tap.finish(prob.shape[1])
            levels = None if levels is None else levels[tracks]
        else:
            again = Tap(levels_of, tracks)
            for _ in again.tap(reread()):
                pass
            levels = again.finish(prob.shape[1])
        if levels is None:  # no audio
            return np.zeros((len(tracks), *((2,) if _inner(cfg) else ()), prob.shape[1]), np.float32)
        return levels

    mel = tap.finish(prob.shape[1]) if tap is not None else make_mel if cfg.own_voice else None
    return frames_from(prob, energy, cfg, bleed, mel, make_levels)


def _inner(cfg: ActivityConfig) -> bool:
    """Whether noisy tracks' onsets also read the level with faster band floors (``refine.inner_onsets``)."""
    return cfg.denoise_onset_floor_window_s > 0 and cfg.denoise_onset_shift_s > 0


class _Levels:
    """The noise-subtracted level (``denoise.band_level``) of blocks (n_tracks, n) at ``sample_rate``, made at
    the model's rate as they come (``Tap``: alongside the first pass for a stream that cannot be read again,
    or over a second read of the noisy tracks only; the same numbers either way). The band frames go
    straight into ``LevelStream``: 400 B per second per track is held, not the bands' 9.6 kB. With
    ``denoise_onset_floor_window_s`` it makes the level with faster band floors too, from the same band
    frames (the onsets' ``inner`` level; 800 B per second per track)."""

    def __init__(self, n_tracks: int, sample_rate: int, cfg: ActivityConfig):
        self.resampler = Resampler(n_tracks, sample_rate, model_rate(sample_rate))
        self.bands = BandStream(n_tracks, self.resampler.out_rate, cfg.denoise_bands, cfg.denoise_window_s)
        extra = (cfg.denoise_onset_floor_window_s,) if _inner(cfg) else ()
        self.levels = LevelStream(cfg.denoise_alpha, cfg.denoise_beta, cfg.denoise_floor_window_s,
                                  extra_windows_s=extra)
        self.parts: list[np.ndarray] = []

    def push(self, block: np.ndarray) -> None:
        self.parts.append(self.levels.feed(self.bands.feed(self.resampler.feed(block))))

    def finish(self, n_frames: int) -> np.ndarray:
        """float32 (n_tracks, n_frames), or (n_tracks, 2, n_frames) with the faster floors' level."""
        tail = self.resampler.feed(np.zeros((self.bands.buffer.shape[0], 0), np.float32), last=True)
        if tail.shape[1]:
            self.parts.append(self.levels.feed(self.bands.feed(tail)))
        if self.bands.emitted > n_frames:  # the band stream only emits frames whose window ends in the audio
            raise ValueError(f"{self.bands.emitted} band frames for a track of {n_frames} frames")
        self.parts.append(self.levels.feed(self.bands.finish(n_frames)))
        self.parts.append(self.levels.finish())
        return np.concatenate(self.parts, axis=-1)


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


def detect_tracks(tracks: np.ndarray, sample_rate: int, cfg: ActivityConfig = ActivityConfig(),
                  bleed: tuple[float, float] | None = None) -> list[TrackFrames]:
    """Activity of every track of float32 (n_tracks, n) audio."""
    tracks = np.asarray(tracks, np.float32)
    if tracks.ndim != 2:
        raise ValueError(f"tracks must be (n_tracks, n), got shape {tracks.shape}")
    step = max(1, int(sample_rate) * 8)  # 8 s blocks: the stream form without one huge copy

    def blocks():
        return (tracks[:, i : i + step] for i in range(0, max(tracks.shape[1], 1), step))

    return detect_stream(blocks(), sample_rate, cfg, bleed, reread=blocks)


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

