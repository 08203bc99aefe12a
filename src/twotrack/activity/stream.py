"""One pass over a recording's blocks -> energy and speech probability per 10 ms frame, per track.

The pass keeps a short buffer of audio: as soon as a stretch of windows and a little look-ahead have
arrived, an energy gate picks the 32 ms windows worth running the model on (near frames above the
noise floor and not far below another track; the rest of the track is silence, steady noise or the
other talker's bleed, which the later rules would remove anyway, and gets probability 0), and those
windows go to the batched silero streams (``silero.PackedStreams``), which run whenever a group of
chunks is complete. Memory is bounded by the buffer plus one group, whatever the recording's length;
only the per-frame arrays (100 values per second per track) grow with it.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

from ..config import ActivityConfig
from ..model import FRAMES
from . import silero
from .crosstalk import bleed_only, smoothed_level
from .energy import SILENCE_DB, EnergyStream, noise_floor_db

#: Windows the gate decides at once; frames of look-behind for the floor.
GATE_WINDOWS = 256
FLOOR_CONTEXT_S = 4.0


def model_rate(sample_rate: int) -> int:
    """The rate the analysis runs at: silero's 8 or 16 kHz (telephone audio is never upsampled)."""
    sample_rate = int(sample_rate)
    if sample_rate in silero.RATES:
        return sample_rate
    return 16000 if sample_rate > 8000 else 8000


def gate_frames(energy_db: np.ndarray, floor_db: np.ndarray, gate_db: float, ratio_db: float) -> np.ndarray:
    """bool (n_tracks, n_frames): frames worth the model. A track's frame qualifies when its level (a
    short power average) is ``gate_db`` above its noise floor and not ``-ratio_db`` below another track
    (there it can only be that track's bleed, which the crosstalk rule removes anyway)."""
    level = smoothed_level(energy_db, 3)
    loud = level >= np.asarray(floor_db, np.float64) + gate_db
    if level.shape[0] >= 2:
        loud &= ~bleed_only(energy_db, ratio_db, floor_db=floor_db)
    return loud


def active_windows(frames: np.ndarray, first_window: int, n_windows: int, sample_rate: int, pad_windows: int,
                   first_frame: int = 0) -> np.ndarray:
    """bool (n_windows,): model windows ``first_window ...`` within ``pad_windows`` of a frame marked in
    ``frames`` (bool, frames from ``first_frame`` on)."""
    hop = int(round(sample_rate * FRAMES.hop_s))
    win = silero.WINDOW[sample_rate]
    loud = np.flatnonzero(frames) + first_frame
    lo, hi = first_window - pad_windows, first_window + n_windows + pad_windows
    hit = np.zeros(hi - lo, bool)
    for edge in (loud * hop, (loud + 1) * hop - 1):  # first and last sample of each marked frame
        w = edge // win - lo
        hit[w[(w >= 0) & (w < hit.size)]] = True
    if pad_windows > 0:
        hit = maximum_filter1d(hit.astype(np.uint8), 2 * pad_windows + 1) > 0
    return hit[pad_windows : pad_windows + n_windows]


class _Growing:
    """A (rows, n) float32 array appended along axis 1 with amortised doubling."""

    def __init__(self, rows: int, capacity: int = 1024):
        self.data = np.zeros((rows, max(1, int(capacity))), np.float32)
        self.n = 0

    def append(self, values: np.ndarray) -> None:
        m = values.shape[1]
        if self.n + m > self.data.shape[1]:
            grown = np.zeros((self.data.shape[0], max(2 * self.data.shape[1], self.n + m)), np.float32)
            grown[:, : self.n] = self.data[:, : self.n]
            self.data = grown
        self.data[:, self.n : self.n + m] = values
        self.n += m

    @property
    def values(self) -> np.ndarray:
        return self.data[:, : self.n]


class FrameAnalyzer:
    """Feed blocks (n_tracks, n) at ``sample_rate`` (already the model rate), then ``finish``."""

    def __init__(self, n_tracks: int, sample_rate: int, cfg: ActivityConfig, gate_ratio: float = -20.0,
                 expected_frames: int | None = None):
        self.n_tracks, self.rate, self.cfg = n_tracks, int(sample_rate), cfg
        self.energy = EnergyStream(n_tracks, sample_rate)
        # the frame count when the caller knows it: the array is made once, not doubled into
        self.frames = _Growing(n_tracks, (expected_frames or 0) + 2 if expected_frames else 1024)
        self.n_samples = 0
        self.use_model = cfg.detector == "silero"
        if self.use_model:
            self.win, self.ctx = silero.WINDOW[self.rate], silero.CONTEXT[self.rate]
            self.streams = silero.PackedStreams(n_tracks, self.rate, cfg.batch_chunk_s, cfg.batch_warmup_s,
                                                cfg.batch_group_streams, cfg.batch_min_chunk_s, cfg.threads,
                                                cfg.silero_model_dir)
            self.buffer = np.zeros((n_tracks, 0), np.float32)  # audio from window `next_window` on
            self.context = np.zeros((n_tracks, self.ctx), np.float32)  # the samples before it
            self.next_window = 0
            self.pad_w = int(round(cfg.gate_pad_s / silero.WINDOW_S)) if cfg.gate_db > 0 else 0
            self.gate_ratio = gate_ratio
            self.results: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_tracks)]

    def push(self, block: np.ndarray) -> None:
        block = np.asarray(block, np.float32)
        self.n_samples += block.shape[1]
        self.frames.append(self.energy.feed(block))
        if not self.use_model:
            return
        self.buffer = np.concatenate([self.buffer, block], axis=1)
        # gate whole stretches once their look-ahead (the gate's padding) has arrived too
        need = (GATE_WINDOWS + self.pad_w + 1) * self.win
        while self.buffer.shape[1] >= need:
            self._gate(GATE_WINDOWS)
            self._drain(final=False)  # after every gate step, so the chunking does not depend on block sizes

    def _gate(self, n_win: int) -> None:
        first = self.next_window
        audio = self.buffer[:, : n_win * self.win]
        if audio.shape[1] < n_win * self.win:  # the file's last window: pad with silence
            audio = np.pad(audio, ((0, 0), (0, n_win * self.win - audio.shape[1])))
        if self.cfg.gate_db > 0:
            hop_s = FRAMES.hop_s
            f0 = max(0, int(first * silero.WINDOW_S / hop_s - FLOOR_CONTEXT_S / hop_s))
            f1 = int((first + n_win + self.pad_w + 1) * silero.WINDOW_S / hop_s) + 1
            energy = self.frames.values[:, f0:f1]
            floor = noise_floor_db(energy, self.cfg.noise_window_s)  # every track's row at once
            marked = gate_frames(energy, floor, self.cfg.gate_db, self.gate_ratio)
            keep = [active_windows(marked[t], first, n_win, self.rate, self.pad_w, f0) for t in range(self.n_tracks)]
        else:
            keep = [np.ones(n_win, bool)] * self.n_tracks
        for t in range(self.n_tracks):
            rows = silero.frame_windows(audio[t], self.rate, self.context[t])
            sel = np.flatnonzero(keep[t])
            self.streams.feed(t, rows[sel], first + sel)
        self.context = audio[:, audio.shape[1] - self.ctx :].copy()
        self.buffer = self.buffer[:, n_win * self.win :]
        self.next_window += n_win

    def _drain(self, final: bool) -> None:
        while self.streams.ready() or final:
            for t, (idx, p) in enumerate(self.streams.run(final=final)):
                if idx.size:
                    self.results[t].append((idx, p))
            if final:
                break

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(speech probability, energy dB), each float32 (n_tracks, n_frames)."""
        self.frames.append(self.energy.finish())
        n_frames = FRAMES.n_frames(self.n_samples / self.rate)
        if self.frames.n < n_frames:  # pad in the frame array itself: no copy of hours of frames
            self.frames.append(np.full((self.n_tracks, n_frames - self.frames.n), SILENCE_DB, np.float32))
        energy = self.frames.values[:, :n_frames]
        if not self.use_model:
            return np.zeros_like(energy), energy
        remaining = -(-self.buffer.shape[1] // self.win)
        if remaining:
            self._gate(remaining)
        self._drain(final=True)
        self.streams = None  # its window rows (up to a group of chunks) are no longer needed
        self.buffer = np.zeros((self.n_tracks, 0), np.float32)
        n_win = self.next_window
        prob = np.zeros((self.n_tracks, n_frames), np.float32)
        for t in range(self.n_tracks):
            windows = np.zeros(n_win, np.float32)
            for idx, p in self.results[t]:
                windows[idx] = p
            prob[t] = _to_frames(windows, n_frames)
        return prob, energy


def _to_frames(window_probs: np.ndarray, n_frames: int) -> np.ndarray:
    from ..timeline import resample_to_grid

    return resample_to_grid(window_probs, silero.WINDOW_S, n_frames)
