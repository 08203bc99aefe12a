"""Edges of a noisy track read on its noise-subtracted level (docs/activity.md, "Noisy edges").

Under added noise at about 10 dB SNR the broadband frame level sits within 15-20 dB of the speech's
loud frames: a word's first syllable can stay under the refiner's anchor (15 dB over the background),
the onset bound (25 dB under the word's peak) never acts, and a fluctuating background (music) crosses
the 6 dB edge next to the word. Per band, a stationary noise or a music bed takes only its own part of
the spectrum, so the level is estimated again with each band's own noise floor removed:

1. band power per 10 ms frame: a Hann window of ``window_s`` centred on the frame, mel-spaced triangular
   bands from 100 Hz to 0.95 x Nyquist (``BandStream``, at the model's rate);
2. each band's noise floor: ``energy.noise_floor_db`` along time (the opening of its 0.1 s envelope over
   0.5 s: the quietest stretch nearby). Shorter than the track's 2 s floor so that a music bed's held
   chord (0.3-1.2 s) counts as background in its own bands, while a band of speech seldom stays up for
   half a second;
3. power spectral subtraction: each band keeps ``max(P - alpha * N, beta * N)`` (the floor of a minimum
   tracker lies below the noise's mean, hence alpha > 1; ``beta`` keeps a little of the floor, 15 dB
   down, so the result has a background for the refiner to measure), and the bands are summed back into
   one level.

``LevelStream`` makes that level while the band frames stream by, holding only the frames a frame's
band floors reach (about 1 s), the same numbers bit for bit as ``band_level`` over the whole track.

The refiner then runs on that level instead of the frame variance. ``noisy_tracks`` decides where: only
a track whose active speech level (the mean power of the frames the model calls speech) lies within
``snr_db`` of its 10th-percentile frame level; a track with digital silence or a quiet background
(clean, telephone, codecs, 20 dB of noise) keeps the broadband edges exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..framing import frame_count, frames
from ..model import FRAMES
from .energy import SILENCE_DB, floor_reach, noise_floors_db

#: lowest band edge (Hz); the highest is 0.95 x Nyquist
BAND_FMIN = 100.0


def mel_filters(rate: int, n_fft: int, n_bands: int, fmin: float = BAND_FMIN) -> np.ndarray:
    """float32 (n_fft // 2 + 1, n_bands) triangular mel filters (peak 1; neighbours sum to 1)."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(fmin), mel(0.95 * rate / 2), n_bands + 2))
    f = np.fft.rfftfreq(n_fft, 1.0 / rate)[:, None]
    lo, mid, hi = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    return np.clip(np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)), 0.0, None).astype(np.float32)


class BandStream:
    """Band power (dB) per 10 ms frame of blocks (n_tracks, n) at ``rate``: frame ``i``'s window is centred
    on the frame's centre (zeros before the start and after the end), so band frames line up with the
    energy frames of ``energy.EnergyStream``."""

    def __init__(self, n_tracks: int, rate: int, n_bands: int = 24, window_s: float = 0.032):
        self.hop = int(round(rate * FRAMES.hop_s))
        self.length = max(self.hop, int(round(rate * window_s)))
        self.n_fft = 1 << int(np.ceil(np.log2(self.length)))
        self.window = np.hanning(self.length).astype(np.float32)
        # one-sided power spectrum scaled so a frame's bins sum to its mean power (Parseval with the window)
        self.scale = np.float32(2.0 / (self.n_fft * np.sum(self.window.astype(np.float64) ** 2)))
        self.filters = mel_filters(rate, self.n_fft, n_bands)
        # the filters as (band, bin, weight) triples, band by band: a bin feeds at most two bands, so a gather
        # and a segmented sum beat a dense product (measured 10x slower on this shared machine)
        band, self._bins = np.nonzero(self.filters.T)
        self._weights = (self.filters.T[band, self._bins] * self.scale).astype(np.float32)
        self._starts = np.searchsorted(band, np.arange(n_bands))
        if np.unique(band).size != n_bands:
            raise ValueError(f"{n_bands} bands are too narrow for a {self.length}-sample window at {rate} Hz")
        pad = (self.length - self.hop) // 2  # samples of the window before its frame
        self.buffer = np.zeros((n_tracks, pad), np.float32)  # starts at frame `emitted`'s window start
        self.emitted = 0
        self.n_samples = 0

    def _frames(self, n: int) -> np.ndarray:
        """Band dB (n_tracks, n_bands, n) of the next ``n`` frames, whose windows are all in the buffer."""
        if n <= 0:
            return np.zeros((self.buffer.shape[0], self.filters.shape[1], 0), np.float32)
        view = frames(self.buffer, self.length, self.hop, axis=1, count=n)
        import scipy.fft  # scipy's float32 transform (numpy's is 4x slower here); loaded only for a noisy track

        spec = scipy.fft.rfft(view * self.window, self.n_fft, axis=2, overwrite_x=True)
        power = np.square(spec.real)
        power += np.square(spec.imag)
        tracks = power.shape[0]
        weighted = power.reshape(tracks * n, -1)[:, self._bins] * self._weights
        bands = np.add.reduceat(weighted, self._starts, axis=1)
        self.buffer = self.buffer[:, n * self.hop :]
        self.emitted += n
        db = np.log10(np.maximum(bands, 1e-30, out=bands), out=bands)
        db *= 10.0
        return np.maximum(db, SILENCE_DB, out=db).reshape(tracks, n, -1).transpose(0, 2, 1)

    def feed(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, np.float32)
        self.n_samples += block.shape[1]
        self.buffer = np.concatenate([self.buffer, block], axis=1)
        return self._frames(frame_count(self.buffer.shape[1], self.length, self.hop))

    def finish(self, n_frames: int) -> np.ndarray:
        """The remaining frames up to ``n_frames`` in all (the end padded with zeros)."""
        n = max(0, n_frames - self.emitted)
        need = (n - 1) * self.hop + self.length if n else 0
        if self.buffer.shape[1] < need:
            self.buffer = np.pad(self.buffer, ((0, 0), (0, need - self.buffer.shape[1])))
        return self._frames(n)


def band_frames(blocks: Iterable[np.ndarray], rate: int, n_frames: int, tracks: np.ndarray | None = None,
                n_bands: int = 24, window_s: float = 0.032) -> np.ndarray:
    """float32 (n_selected, n_bands, n_frames) band dB of the rows ``tracks`` (default: all) of blocks
    (n_tracks, n) at ``rate`` (the model's rate)."""
    stream = None
    parts = []
    for block in blocks:
        block = np.asarray(block, np.float32)
        if tracks is not None:
            block = block[tracks]
        if stream is None:
            stream = BandStream(block.shape[0], rate, n_bands, window_s)
        parts.append(stream.feed(block))
    if stream is None:
        return np.zeros((0 if tracks is None else len(tracks), n_bands, n_frames), np.float32)
    parts.append(stream.finish(n_frames))
    return np.concatenate(parts, axis=2)[:, :, :n_frames]


def noisy_tracks(prob: np.ndarray, energy_db: np.ndarray, onset: float, snr_db: float) -> np.ndarray:
    """bool (n_tracks,): tracks whose active speech level (the mean power of frames with probability >=
    ``onset``) lies less than ``snr_db`` above their 10th-percentile frame level (digital silence
    included, so a track that is silent between words never qualifies)."""
    prob = np.atleast_2d(prob)
    energy_db = np.atleast_2d(energy_db)
    out = np.zeros(energy_db.shape[0], bool)
    for t, (p, e) in enumerate(zip(prob, energy_db)):
        speech = (p >= onset) & (e > SILENCE_DB + 1e-3)
        if not speech.any():
            continue
        active = 10.0 * np.log10(np.mean(10.0 ** (e[speech].astype(np.float64) / 10.0)))
        out[t] = active - np.percentile(e, 10.0) < snr_db
    return out


def band_level(bands_db: np.ndarray, alpha: float = 3.0, beta: float = 0.03, noise_window_s: float = 0.5
               ) -> np.ndarray:
    """float32 (..., n_frames): the level of band dB (..., n_bands, n_frames) with each band's noise floor
    subtracted (module doc), before digital silence is put back (``silenced``). A frame's level reads only
    the frames within ``energy.floor_reach(noise_window_s)`` of it, bit for bit (the floor's average is
    ``local``, the bands are summed in a fixed order), so ``LevelStream`` makes the same numbers in pieces."""
    return band_levels(bands_db, alpha, beta, (noise_window_s,))[0]


def band_levels(bands_db: np.ndarray, alpha: float = 3.0, beta: float = 0.03, windows_s: tuple[float, ...] = (0.5,)
                ) -> list[np.ndarray]:
    """``band_level`` with the band floors over each of ``windows_s`` (the powers and the floors' smoothed
    envelope made once), the same numbers bit for bit."""
    bands_db = np.ascontiguousarray(bands_db, np.float32)
    floors = noise_floors_db(bands_db, tuple(windows_s), min_sound=0.0, local=True)
    power = np.power(np.float32(10.0), bands_db / np.float32(10.0))
    out = []
    for floor in floors:
        noise = np.power(np.float32(10.0), floor / np.float32(10.0))
        kept = np.maximum(power - np.float32(alpha) * noise, np.float32(beta) * noise)
        total = kept[..., 0, :].astype(np.float64)
        for b in range(1, kept.shape[-2]):  # band by band: numpy's sum would pick its order by memory layout
            total += kept[..., b, :]
        out.append(np.maximum(10.0 * np.log10(np.maximum(total, 1e-30)), SILENCE_DB).astype(np.float32))
    return out


def silenced(level: np.ndarray, energy_db: np.ndarray) -> np.ndarray:
    """float32 ``level`` with the frames that are digital silence in ``energy_db`` (the frame energy) set to it."""
    return np.where(np.asarray(energy_db) <= SILENCE_DB + 1e-3, np.float32(SILENCE_DB), level).astype(np.float32)


def subtracted_level(bands_db: np.ndarray, energy_db: np.ndarray, alpha: float = 3.0, beta: float = 0.03,
                     noise_window_s: float = 0.5) -> np.ndarray:
    """float32 (n_frames,): the level of one track's bands (n_bands, n_frames) with each band's noise floor
    subtracted (module doc); digital silence in ``energy_db`` (the frame energy) stays digital silence."""
    return silenced(band_level(bands_db, alpha, beta, noise_window_s), energy_db)


class LevelStream:
    """``band_level`` of band frames (n_tracks, n_bands, n) arriving block by block: a frame's level is
    emitted once the frames its band floors read (``floor_reach``) have arrived, and ``finish`` emits the
    rest at the track's true end. Only those frames are held (``before + after``, about 1 s at the defaults),
    so a track's levels (400 B per second) are all that grows with its length, not its bands (9.6 kB).
    Levels go out ``chunk`` frames or more at a time: each computation reads the margin again, so small
    blocks (1.5 s of 44.1 kHz audio) would otherwise pay for it many times over. ``extra_windows_s``: the
    levels with band floors over these windows too (``band_levels``), then out as (n_tracks, 1 + extra, m)."""

    def __init__(self, alpha: float = 3.0, beta: float = 0.03, noise_window_s: float = 0.5, chunk: int = 500,
                 extra_windows_s: tuple[float, ...] = ()):
        self.params = (alpha, beta, (noise_window_s, *extra_windows_s))
        self.chunk = chunk
        self.before, self.after = floor_reach(max(self.params[2]))
        self.buffer: np.ndarray | None = None  # band frames from frame ``start`` on
        self.start = 0
        self.emitted = 0

    def _emit(self, stop: int) -> np.ndarray:
        """The levels of frames ``emitted .. stop``; keeps the frames the next ones read."""
        levels = band_levels(self.buffer, *self.params)
        level = levels[0] if len(levels) == 1 else np.stack(levels, axis=-2)
        level = level[..., self.emitted - self.start : stop - self.start]
        keep = max(0, stop - self.before)
        self.buffer = np.ascontiguousarray(self.buffer[..., keep - self.start :])
        self.start, self.emitted = keep, stop
        return level

    def feed(self, bands_db: np.ndarray) -> np.ndarray:
        """float32 (n_tracks, m): the levels of the frames now complete (m may be 0)."""
        bands_db = np.asarray(bands_db, np.float32)
        self.buffer = bands_db if self.buffer is None else np.concatenate([self.buffer, bands_db], axis=-1)
        stop = self.start + self.buffer.shape[-1] - self.after
        if stop - self.emitted < max(1, self.chunk):
            return self._empty()
        return self._emit(stop)

    def finish(self) -> np.ndarray:
        """The levels of the frames still held (the last ``after`` frames, or all of a short track)."""
        if self.buffer is None:
            return np.zeros((0, 0), np.float32)
        stop = self.start + self.buffer.shape[-1]
        if stop <= self.emitted:
            return self._empty()
        return self._emit(stop)

    def _empty(self) -> np.ndarray:
        extra = (len(self.params[2]),) if len(self.params[2]) > 1 else ()
        return np.zeros(self.buffer.shape[:-2] + extra + (0,), np.float32)
