"""Per-track quality: clipping, DC offset, effective bandwidth, SNR, speech share, dead tracks.

- *clipping share*: samples at ``clipping_level`` of the codec's full scale or beyond (G.711 never
  reaches 1.0: mu-law tops out at 32124/32768, A-law at 32256/32768).
- *DC offset*: the mean sample value.
- *effective bandwidth*: the highest frequency where the speech spectrum (speech frames minus the
  track's quiet frames) is within ``bandwidth_drop_db`` of its peak. Telephone audio upsampled to
  16 kHz reads about 3.4-4 kHz; wideband speech 6-8 kHz.
- *SNR*: mean speech-frame power over the median quiet-frame power, in dB; None when the pauses are
  digital silence (gated or constructed audio: the ratio is not defined).
"""

from __future__ import annotations

import math

import numpy as np

from ..config import ChecksConfig
from ..model import FRAMES, TrackQuality
from .power import SILENCE_DB, hop_samples

#: At most this many frames feed a spectrum (evenly spread): bounded cost on long recordings.
MAX_SPECTRUM_FRAMES = 1500
#: Quiet frames that are digital silence beyond this share: the track is gated, SNR not defined.
GATED_SHARE = 0.5


def codec_full_scale(codec: str | None) -> float:
    """Largest magnitude a codec can produce, as a float sample."""
    c = (codec or "").lower().replace("-", "").replace("_", "")
    if "ulaw" in c or "mulaw" in c:
        return 32124.0 / 32768.0
    if "alaw" in c:
        return 32256.0 / 32768.0
    return 1.0


def spread_starts(mask: np.ndarray, hop: int, nfft: int, n: int) -> np.ndarray:
    """Sample starts of the frames a mean spectrum reads: the frames of ``mask`` whose ``nfft`` samples
    fit in ``n``, at most ``MAX_SPECTRUM_FRAMES`` of them evenly spread by rank. Found chunk by chunk,
    so no array of every marked frame is made on a long recording."""
    if n < nfft:
        return np.zeros(0, np.int64)
    m = np.asarray(mask, bool)[: (n - nfft) // hop + 1]
    count = int(np.count_nonzero(m))
    if count <= MAX_SPECTRUM_FRAMES:
        return np.flatnonzero(m) * hop
    ranks = np.linspace(0, count - 1, MAX_SPECTRUM_FRAMES).round().astype(np.int64)
    out, seen, step = [], 0, 1 << 18
    for a in range(0, m.size, step):
        part = m[a : a + step]
        k = int(np.count_nonzero(part))
        lo, hi = np.searchsorted(ranks, [seen, seen + k])
        if hi > lo:
            out.append((np.flatnonzero(part)[ranks[lo:hi] - seen] + a) * hop)
        seen += k
    return np.concatenate(out)


def spectrum_of(segs: np.ndarray, nfft: int) -> np.ndarray | None:
    """Mean power spectrum of frames float32 (k, nfft); None without frames."""
    if segs.shape[0] == 0:
        return None
    spec = np.abs(np.fft.rfft(segs * np.hanning(nfft).astype(np.float32), axis=1)) ** 2
    return spec.mean(axis=0)


def bandwidth_starts(sample_rate: int, speech: np.ndarray, quiet: np.ndarray, n: int
                     ) -> tuple[int, np.ndarray, np.ndarray]:
    """(nfft, speech frame starts, quiet frame starts) in samples, for a track of ``n`` samples."""
    nfft = int(2 ** round(math.log2(0.032 * sample_rate)))
    hop = hop_samples(sample_rate)
    return nfft, spread_starts(speech, hop, nfft, n), spread_starts(quiet, hop, nfft, n)


def effective_bandwidth(x: np.ndarray, sample_rate: int, speech: np.ndarray, quiet: np.ndarray,
                        drop_db: float) -> float | None:
    """Highest frequency (Hz) within ``drop_db`` of the speech spectrum's peak (see module docstring)."""
    nfft, s_starts, q_starts = bandwidth_starts(sample_rate, speech, quiet, x.size)
    offsets = np.arange(nfft)[None, :]
    return bandwidth_from_spectra(spectrum_of(x[s_starts[:, None] + offsets], nfft),
                                  spectrum_of(x[q_starts[:, None] + offsets], nfft), sample_rate, nfft, drop_db)


def bandwidth_from_spectra(ps: np.ndarray | None, pq: np.ndarray | None, sample_rate: int, nfft: int,
                           drop_db: float) -> float | None:
    """``effective_bandwidth`` from the mean speech and quiet spectra."""
    if ps is None:
        return None
    s = ps - pq if pq is not None else ps
    s = np.maximum(s, ps.max() * 1e-15)
    f = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    width = max(1, int(round(100.0 / (f[1] - f[0]))))  # smooth over ~100 Hz
    sm = np.convolve(s, np.ones(width) / width, mode="same")
    usable = f >= 100.0
    if not usable.any() or sm[usable].max() <= 0:
        return None
    ref = sm[usable].max()
    above = np.flatnonzero(usable & (sm >= ref * 10.0 ** (-drop_db / 10.0)))
    return float(f[above[-1]]) if above.size else None


def bandwidth_masks(power_db: np.ndarray, active: np.ndarray, own_speech: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frames the bandwidth compares: own speech, and quiet frames that are not digital silence."""
    n = min(power_db.size, active.size, own_speech.size)
    return own_speech[:n], ~active[:n] & ~(power_db[:n] <= SILENCE_DB)


def track_quality(
    index: int,
    x: np.ndarray,
    sample_rate: int,
    power_db: np.ndarray,
    active: np.ndarray,
    own_speech: np.ndarray,
    cfg: ChecksConfig,
    codec: str | None = None,
) -> tuple[TrackQuality, dict[str, float | None]]:
    """Quality of one track; the second value holds extra numbers for ``CheckResult.metrics``."""
    full = codec_full_scale(codec) * cfg.clipping_level
    clipping = float(np.count_nonzero(np.abs(x) >= full) / x.size) if x.size else None
    dc = float(np.mean(x, dtype=np.float64)) if x.size else None
    bandwidth = effective_bandwidth(x, sample_rate, *bandwidth_masks(power_db, active, own_speech),
                                    cfg.bandwidth_drop_db)
    return quality_from(index, clipping, dc, bandwidth, power_db, active, own_speech, cfg)


def quality_from(
    index: int,
    clipping: float | None,
    dc: float | None,
    bandwidth: float | None,
    power_db: np.ndarray,
    active: np.ndarray,
    own_speech: np.ndarray,
    cfg: ChecksConfig,
) -> tuple[TrackQuality, dict[str, float | None]]:
    """``track_quality`` from its sample-level numbers (clipping share, mean, effective bandwidth), so a
    streamed recording, whose samples are never all in memory, gets the same result."""
    n = min(power_db.size, active.size, own_speech.size)
    power_db, active, own_speech = power_db[:n], active[:n], own_speech[:n]
    digital = power_db <= SILENCE_DB
    all_silent = bool(digital.all()) if n else True
    speech_s = float(own_speech.sum() * FRAMES.hop_s)
    quiet = ~active

    def lin(mask: np.ndarray) -> np.ndarray:
        """Linear power of the frames in ``mask`` (digital silence 0): only those frames, so a long
        recording never has a second whole-length float array."""
        out = power_db[mask]
        out /= 10.0
        np.power(10.0, out, out=out)  # in place: one array of the selected frames
        out[digital[mask]] = 0.0
        return out

    snr = None
    noise_dbfs = None
    if quiet.any() and own_speech.any():
        gated = digital[quiet].mean() > GATED_SHARE
        if not gated:
            noise = float(np.median(lin(quiet), overwrite_input=True))
            sp = float(lin(own_speech).mean())
            noise_dbfs = 10.0 * math.log10(noise) if noise > 0 else None
            if noise > 0 and sp > noise:
                snr = 10.0 * math.log10((sp - noise) / noise)
    speech_mean = float(lin(own_speech).mean()) if own_speech.any() else 0.0
    # the level of the track's loud frames, whatever the activity rule said: a track whose speech sits
    # under ``activity_floor_dbfs`` (a gain left down) is then told apart from an empty one
    sounding = power_db[~digital]
    loud = float(np.percentile(sounding, 99)) if sounding.size else None
    speech_level = 10.0 * math.log10(speech_mean) if speech_mean > 0 else None
    q = TrackQuality(
        track=index,
        clipping_share=None if clipping is None else round(clipping, 6),
        dc_offset=None if dc is None else round(dc, 6),
        effective_bandwidth_hz=None if bandwidth is None else round(bandwidth, 1),
        snr_db=None if snr is None else round(snr, 2),
        speech_share=round(float(own_speech.mean()), 4) if n else 0.0,
        digital_silence=all_silent,
        dead=all_silent or speech_s < cfg.min_speech_s,
    )
    extra = {
        "speech_s": round(speech_s, 2),
        "digital_silence_share": round(float(digital.mean()), 4) if n else None,
        "noise_dbfs": None if noise_dbfs is None else round(noise_dbfs, 2),
        "speech_dbfs": None if speech_level is None else round(speech_level, 2),
        "loud_dbfs": None if loud is None else round(loud, 2),
    }
    return q, extra
