"""The own-voice rule (an option, ``[activity] own_voice``): speech on a track that is not the track
owner's voice is not the track's speech.

A track of two-track data has one owner: the voice the track was made for, the loudest and most frequent
on it. Other people in the room (babble) are speech to the model and to the level rules alike
(docs/activity.md, "Robustness"); *who* speaks tells them apart. After the first decisions:

1. a track is judged only when most of its speech is concurrent with another track's speech
   (``concurrent_share``): two people in a conversation rarely talk at once, a track that hears other
   voices is "speech" through the other side's turns; every other track is left as it is;
2. its speech frames are joined (silences cut out) and embedded in 1.6 s windows by the GE2E voice
   encoder (``twotrack.voice.encoder``); the owner's voice is the centroid of the loudest windows,
   sharpened once by the windows closest to it, the other voices' the centroid of the furthest windows;
   a frame (taper-weighted over the windows that hold it) is another voice when it is nearer to the other
   voices and clearly below the owner's typical similarity (``judge``);
3. the owner is the loudest voice: the rest must rise above the other voices' median level
   (``owner_frames``), so the new edges lie on the owner's own rise;
4. those frames lose their speech probability and the decisions run again (``detect.frames_from``), so
   the refiner places the new edges as it places every other edge.

Pure functions over arrays: mel frames on the 10 ms grid (``MelStream`` makes them in the activity
stage's one pass), the first pass's masks and levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..framing import frame_count, frames
from ..model import FRAMES
from ..timeline import hysteresis, runs
from ..voice import encoder as enc
from ..voice.windows import unit, window_starts, windows_at
from .tap import Resampler, Tap


def require() -> None:
    """Raise ``encoder.EncoderNotFound`` with the install line when the option cannot run here: the encoder's
    weights (the Resemblyzer wheel) are missing. Checked when the option is on, before any audio is read, so a
    missing wheel is reported whatever the recording holds."""
    enc.weights_path()


@dataclass(frozen=True)
class OwnVoiceParams:
    """Frames unless said otherwise."""

    window: int = 160  # speech frames per embedding window (1.6 s: the encoder's training length)
    hop: int = 40  # hop between windows, over speech frames
    min_concurrent: float = 0.4  # act only on a track this much of whose speech is concurrent with another track's
    loud_share: float = 0.3  # the owner's first centroid: this share of the loudest windows
    close_share: float = 0.5  # ... then this share of the windows closest to it
    other_share: float = 0.3  # the other voices' centroid: this share of the windows furthest from the owner
    margin: float = 0.0  # a frame goes when it is closer to the other voices than to the owner by this
    drop: float = 0.12  # ... and (> 0) its similarity to the owner lies this far below the owner's typical one
    level_on_db: float | None = 6.0  # then speech must rise this far above the other voices' median level ...
    level_off_db: float = 2.0  # ... and ends under this (None: no level rule)
    level_gap_share: float | None = 0.7  # both at most this share of the owner's loud level (p75) over theirs
    rescue: float | None = 1.0  # other-voice stretches reaching the owner's loud level (x this) stay (None: never)
    min_windows: int = 8  # fewer windows than this: too little speech to learn the owner from; no change
    short_run: int = 50  # runs of speech shorter than this ...
    short_drop: float = 0.2  # ... go only this far below the owner's typical similarity


class MelStream:
    """Mel power frames of the voice encoder (``encoder.mel_spectrogram``: 25 ms Hann window centred on
    each 10 ms frame) made block by block, per track, at 16 kHz (other rates resampled with soxr)."""

    def __init__(self, n_tracks: int, sample_rate: int):
        self.n_tracks = int(n_tracks)
        self.resampler = Resampler(self.n_tracks, sample_rate, enc.SAMPLE_RATE)
        # the first frame is centred on sample 0: half a window of zeros before it
        self.buffer = np.zeros((self.n_tracks, enc.N_FFT // 2), np.float32)
        self.parts: list[np.ndarray] = []

    def push(self, block: np.ndarray, last: bool = False) -> None:
        x = self.resampler.feed(np.asarray(block, np.float32), last=last)
        self.buffer = np.concatenate([self.buffer, x], axis=1)
        if last:
            self.buffer = np.concatenate([self.buffer, np.zeros((self.n_tracks, enc.N_FFT // 2), np.float32)], axis=1)
        n = frame_count(self.buffer.shape[1], enc.N_FFT, enc.HOP)
        if n == 0:
            return
        self.parts.append(enc.mel_power(frames(self.buffer, enc.N_FFT, enc.HOP, axis=1, count=n)))
        self.buffer = self.buffer[:, n * enc.HOP:]

    def finish(self, n_frames: int) -> np.ndarray:
        """float32 (n_tracks, n_frames, 40), cut or zero-padded to the activity grid's ``n_frames``."""
        self.push(np.zeros((self.n_tracks, 0), np.float32), last=True)
        mel = np.concatenate(self.parts, axis=1) if self.parts else np.zeros((self.n_tracks, 0, enc.N_MELS), np.float32)
        out = np.zeros((self.n_tracks, n_frames, enc.N_MELS), np.float32)
        m = min(n_frames, mel.shape[1])
        out[:, :m] = mel[:, :m]
        return out


def frame_similarity(sim: np.ndarray, starts: np.ndarray, length: int, n: int) -> np.ndarray:
    """float64 (n,): each frame's mean of ``sim`` (per window) over the windows ``[start, start + length)``
    that hold it, weighted by a Hann taper over the window (a window's centre is what it is surest of)."""
    taper = np.hanning(length + 2)[1:-1]
    num, den = np.zeros(n + length), np.zeros(n + length)
    np.add.at(num, starts, sim)
    np.add.at(den, starts, 1.0)
    num = np.convolve(num, taper)[:n]
    den = np.convolve(den, taper)[:n]
    return num / np.maximum(den, 1e-9)


@dataclass(frozen=True)
class Windows:
    """The embedded windows of one track's joined speech frames."""

    idx: np.ndarray  # int64 (n_speech,): the speech frames, joined
    starts: np.ndarray  # int64 (n_windows,): window starts, in joined frames
    length: int  # frames per window
    emb: np.ndarray  # float32 (n_windows, 256): unit embeddings
    level_db: np.ndarray  # float64 (n_windows,): mean power of each window (dB re full scale)


def embed_windows(mask: np.ndarray, mel: np.ndarray, energy_db: np.ndarray, params: OwnVoiceParams = OwnVoiceParams(),
                  encoder: enc.VoiceEncoder | None = None) -> Windows | None:
    """Windows of ``params.window`` speech frames of ``mask`` every ``params.hop``, embedded; None when
    there are fewer than ``params.min_windows`` (too little speech to learn a voice from)."""
    idx = np.flatnonzero(np.asarray(mask, bool))
    length = min(params.window, idx.size)
    starts = window_starts(idx.size, length, params.hop) if idx.size else np.zeros(0, np.int64)
    if idx.size == 0 or len(starts) < params.min_windows:
        return None
    power = np.power(10.0, np.asarray(energy_db, np.float64)[idx] / 10.0)
    csum = np.concatenate([[0.0], np.cumsum(power)])
    win_power = np.maximum((csum[starts + length] - csum[starts]) / length, 1e-20)
    # each window brought up to the level the encoder was trained on (never lowered), as Resemblyzer
    # does per utterance: mel power scales with the square of the gain
    gain = np.maximum(1.0, 10.0 ** (enc.NORM_TARGET_DBFS / 10.0) / win_power).astype(np.float32)
    speech_mel = np.asarray(mel, np.float32)[idx]
    windows = windows_at(speech_mel, starts, length)
    emb = (encoder or enc.load_encoder()).embed(windows * gain[:, None, None])
    return Windows(idx, starts, length, emb, 10.0 * np.log10(win_power))


@dataclass(frozen=True)
class OwnVoice:
    """One track's answer: per-frame similarity to the owner (NaN off speech), the owner's typical
    similarity, and the frames judged not the owner's."""

    similarity: np.ndarray  # float32 (n_frames,)
    typical: float
    other: np.ndarray  # bool (n_frames,)


def judge(mask: np.ndarray, windows: Windows | None, params: OwnVoiceParams = OwnVoiceParams()) -> OwnVoice:
    """The owner's voice from ``windows`` and the frames of ``mask`` that are other voices.

    The owner: the centroid of the loudest windows, then of the windows closest to that. The other
    voices: the centroid of the windows furthest from the owner. A frame (the taper-weighted mean over the
    windows holding it) is another voice when it is closer to the other voices than to the owner (by
    ``margin``) and (``drop`` > 0) its similarity to the owner is ``drop`` below the owner's typical one
    (the median of the closest windows'); a short run of speech only when it is clearly far."""
    mask = np.asarray(mask, bool)
    n = mask.size
    sim_out = np.full(n, np.nan, np.float32)
    if windows is None:
        return OwnVoice(sim_out, float("nan"), np.zeros(n, bool))
    emb, level = windows.emb, windows.level_db
    loud = level >= np.quantile(level, 1.0 - params.loud_share)
    owner = unit(emb[loud].mean(axis=0))
    sim = emb @ owner
    close = sim >= np.quantile(sim, 1.0 - params.close_share)
    owner = unit(emb[close].mean(axis=0))
    sim = emb @ owner
    typical = float(np.median(sim[sim >= np.quantile(sim, 1.0 - params.close_share)]))
    # the other voices: the windows furthest from the owner; a frame goes when it is nearer to them
    far = sim <= np.quantile(sim, params.other_share)
    contrast = sim - emb @ unit(emb[far].mean(axis=0))
    frame = lambda v: frame_similarity(v, windows.starts, windows.length, windows.idx.size)  # noqa: E731
    sim_out[windows.idx] = frame(sim)
    frame_contrast = np.full(n, np.inf)
    frame_contrast[windows.idx] = frame(contrast)
    other = mask & (frame_contrast < params.margin)
    if params.drop > 0:
        other &= sim_out < typical - params.drop
    # a short run of speech shows the encoder little of itself: only a clearly other voice goes
    for a, b in zip(*runs(mask)):
        if b - a < params.short_run:
            other[a:b] = np.nanmean(sim_out[a:b]) < typical - params.short_drop
    return OwnVoice(sim_out, typical, other)


def concurrent_share(masks: np.ndarray) -> np.ndarray:
    """float (n_tracks,): the share of each track's speech frames during which another track speaks too.
    Two people in a conversation overlap for a few per cent of their speech (0.02-0.06 on the sample
    dialogues, 10-20 % in lively real talk); a track that is "speech" under most of the other side's
    turns hears other voices (babble: 0.58-0.82 on the sample)."""
    masks = np.atleast_2d(np.asarray(masks, bool))
    total = masks.sum(axis=0)
    own = masks.sum(axis=1)
    both = (masks & (total[None, :] >= 2)).sum(axis=1)
    return np.where(own > 0, both / np.maximum(own, 1), 0.0)


def judged(masks: np.ndarray, params: OwnVoiceParams = OwnVoiceParams()) -> np.ndarray:
    """bool (n_tracks,): the tracks the rule judges (``concurrent_share`` at least ``min_concurrent``; a
    lone track never: there is no other side to be concurrent with)."""
    masks = np.atleast_2d(np.asarray(masks, bool))
    if len(masks) < 2:
        return np.zeros(len(masks), bool)
    return concurrent_share(masks) >= params.min_concurrent


class MelTap(Tap):
    """Passes blocks float32 (n_tracks, n) through while making their mel frames (``MelStream``);
    ``finish(n_frames)``: ``MelStream.finish``, None when no block went through."""

    def __init__(self, sample_rate: int):
        super().__init__(lambda n_tracks: MelStream(n_tracks, sample_rate))


def mel_frames(blocks, sample_rate: int, n_frames: int) -> np.ndarray:
    """float32 (n_tracks, n_frames, 40): the encoder's mel frames of blocks float32 (n_tracks, n)."""
    tap = MelTap(sample_rate)
    for _ in tap.tap(blocks):
        pass
    mel = tap.finish(n_frames)
    return np.zeros((0, n_frames, enc.N_MELS), np.float32) if mel is None else mel


def owner_frames(mask: np.ndarray, other: np.ndarray, energy_db: np.ndarray,
                 params: OwnVoiceParams = OwnVoiceParams()) -> np.ndarray:
    """bool (n,): the frames that may stay speech on a track where ``other`` (bool) marks other voices.

    The owner is the loudest voice on its track. Speech must rise ``level_on_db`` above the other voices'
    median level (50 ms averages) and lasts while it stays ``level_off_db`` above it, so its edges lie on
    the owner's own rise, which the refiner then follows. Where the owner is barely louder than the others
    (its 75th-percentile level less than ``level_on_db / level_gap_share`` above their median), both
    thresholds shrink in proportion, so a quiet owner keeps its words. A stretch judged another voice stays
    when it reaches ``rescue`` x the owner's loud level over the other voices' (dB; at least
    ``level_on_db``): a backchannel inside babble, too short for a window of its own."""
    e = np.asarray(energy_db, np.float64)
    own = np.asarray(mask, bool) & ~other
    if params.level_on_db is None or not other.any() or not own.any():
        return ~other
    other_db = float(np.median(e[other]))
    power = np.convolve(np.power(10.0, e / 10.0), np.ones(5) / 5, mode="same")  # 50 ms
    above = 10.0 * np.log10(np.maximum(power, 1e-30)) - other_db
    # the owner's loud level over the others': its 75th percentile (the median of what is left after the
    # verdict still holds the babble the windows missed)
    loud_gap = float(np.percentile(e[own], 75)) - other_db
    on_db, off = params.level_on_db, min(params.level_off_db, params.level_on_db)
    if params.level_gap_share is not None:
        # where the owner is barely louder than the others, the thresholds shrink with the difference
        scale = min(1.0, max(0.0, params.level_gap_share * loud_gap / params.level_on_db))
        on_db, off = on_db * scale, off * scale
    keep = ~other & hysteresis(above, on_db, off)
    if params.rescue is not None:
        keep |= hysteresis(above, max(params.rescue * loud_gap, params.level_on_db), off)
    return keep


def owner_probability(prob: np.ndarray, energy_db: np.ndarray, masks: np.ndarray, mel: np.ndarray,
                      params: OwnVoiceParams = OwnVoiceParams(), encoder: enc.VoiceEncoder | None = None
                      ) -> np.ndarray | None:
    """The speech probability (n_tracks, n_frames) with the frames of other voices set to 0 (None: no track
    has other voices, nothing changes), from the first decisions' ``masks``, frame levels (dB) and mel
    frames (n_tracks, n_frames, 40). Only tracks whose
    speech is mostly concurrent with another track's are judged (``concurrent_share``); on the others the
    encoder does not run. Where other voices are found, ``owner_frames`` keeps the rest by level."""
    out = None
    judge_it = judged(masks, params)
    for t, m in enumerate(masks):
        if not judge_it[t]:
            continue
        verdict = judge(m, embed_windows(m, mel[t], energy_db[t], params, encoder), params)
        if not verdict.other.any():
            continue
        if out is None:
            out = np.array(prob, np.float32, copy=True)
        out[t, ~owner_frames(m, verdict.other, energy_db[t], params)] = 0.0
    return out


def params_from(cfg) -> OwnVoiceParams:
    """``OwnVoiceParams`` from ``ActivityConfig``'s ``own_voice_*`` keys (seconds -> frames)."""
    f = lambda s: max(1, int(round(s / FRAMES.hop_s)))  # noqa: E731
    return OwnVoiceParams(
        window=f(cfg.own_voice_window_s), hop=f(cfg.own_voice_hop_s), min_concurrent=cfg.own_voice_min_concurrent,
        margin=cfg.own_voice_margin, drop=cfg.own_voice_drop, short_run=f(cfg.own_voice_short_s),
        short_drop=cfg.own_voice_short_drop,
        level_on_db=cfg.own_voice_level_on_db if cfg.own_voice_level_on_db > -99 else None,
        level_off_db=cfg.own_voice_level_off_db,
        level_gap_share=cfg.own_voice_level_gap_share if cfg.own_voice_level_gap_share > 0 else None,
        rescue=cfg.own_voice_rescue if cfg.own_voice_rescue > 0 else None)
