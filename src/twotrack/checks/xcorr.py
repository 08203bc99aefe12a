"""Band-limited cross-correlation of one *path* (a source track heard in a target track), by blocks.

The source is cut into blocks and weighted by a frame mask (the frames where it talks alone); each
block is paired with the target segment that the clock line ``t_target = offset + rate * t_source``
maps it to, widened by the largest lag searched. Cross-spectra ``conj(S) * T`` are weighted by a
smooth band-pass (so no time-domain filter runs) and summed: over all blocks for the bleed estimate,
per window for the sync estimate. Because the source is zero outside its mask, the target needs no
mask: only target samples within the lag range of a kept source sample enter the sum.

Gains are regression gains: ``g(lag) = sum s(t) x(t + lag) / sum s(t)^2`` over the band, so a target
that holds ``g0 * s(t - lag0)`` plus anything uncorrelated reads ``g0`` at ``lag0`` on average.
The noise of that estimate comes from the same blocks paired with the *wrong* target blocks (a few
cyclic shifts), which keeps every property of the signals except their alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

#: Width of the raised-cosine edges of the band weight, Hz.
BAND_TAPER_HZ = 100.0
#: Samples per FFT batch (bounds memory on long recordings, whatever the block length).
CHUNK_SAMPLES = 1 << 20
#: A block enters the sums when at least this share of it is masked in.
MIN_BLOCK_SHARE = 0.05
#: Floor of a block's target power in the weights (digital silence would weigh infinitely).
MIN_TARGET_POWER = 1e-12


def band_weights(nfft: int, fs: float, band: tuple[float, float]) -> np.ndarray:
    """Weight per rfft bin: 1 inside ``band``, raised-cosine edges inside it, 0 outside (and at DC)."""
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    lo, hi = float(band[0]), min(float(band[1]), 0.45 * fs)
    w = ((f >= lo) & (f <= hi)).astype(np.float64)
    taper = min(BAND_TAPER_HZ, max(hi - lo, 1.0) / 4)
    up = (f >= lo) & (f < lo + taper)
    w[up] = 0.5 - 0.5 * np.cos(np.pi * (f[up] - lo) / taper)
    down = (f > hi - taper) & (f <= hi)
    w[down] = 0.5 - 0.5 * np.cos(np.pi * (hi - f[down]) / taper)
    w[0] = 0.0
    return w


def target_segments(tgt: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Rows ``tgt[s : s + length]`` for each start (zeros outside the signal), float32 (k, length)."""
    idx = starts[:, None] + np.arange(length)[None, :]
    ok = (idx >= 0) & (idx < tgt.size)
    out = np.zeros(idx.shape, np.float32)
    out[ok] = tgt[idx[ok]]
    return out


def _null_shifts(k: int) -> list[int]:
    """Cyclic block shifts that pair each block with a distant other one."""
    if k < 2:
        return []
    picks = {max(1, int(round(k * q))) % k for q in (0.25, 0.5, 0.75)}
    return sorted(s for s in picks if s) or [1]


@dataclass
class PathSpectra:
    """Summed band-weighted cross-spectra of one path (see the module docstring)."""

    nfft: int
    max_lag: int  # samples; lag 0 sits at index max_lag of an inverse transform
    fs: float
    total: np.ndarray  # (n_bins,) complex128
    energy: float  # band energy of the masked source
    null: np.ndarray  # (3, n_bins) complex128: misaligned pairings (three block shifts)
    null_energy: np.ndarray  # (3,) source energy behind each null row
    window_cross: np.ndarray  # (n_windows, n_bins) complex64, only windows that hold kept blocks
    window_energy: np.ndarray  # (n_windows,)
    window_time: np.ndarray  # (n_windows,) energy-weighted block-centre time, source seconds
    masked_s: float  # seconds of source inside the mask


def path_spectra(
    src: np.ndarray,
    tgt: np.ndarray,
    fs: float,
    src_weight: np.ndarray,
    *,
    offset_s: float,
    rate: float,
    max_lag: int,
    block_len: int,
    band: tuple[float, float],
    window_s: float | None = None,
) -> PathSpectra:
    """Cross-spectra of ``src * src_weight`` against ``tgt`` along the clock line, per block."""
    nfft = scipy.fft.next_fast_len(block_len + 2 * max_lag, real=True)
    n_bins = nfft // 2 + 1
    w = band_weights(nfft, fs, band)
    n_blocks = -(-src.size // block_len)
    padded_w = np.zeros(n_blocks * block_len, np.float32)
    padded_w[: src_weight.size] = src_weight[: n_blocks * block_len]
    share = padded_w.reshape(n_blocks, block_len).mean(axis=1)
    keep = np.flatnonzero(share >= MIN_BLOCK_SHARE)
    window_len = window_s if window_s else max(src.size / fs, 1e-9)
    block_window = ((keep * block_len + block_len / 2) / fs // window_len).astype(np.int64)
    windows, block_window = np.unique(block_window, return_inverse=True)
    n_windows = windows.size
    out = PathSpectra(
        nfft=nfft, max_lag=max_lag, fs=fs, total=np.zeros(n_bins, complex), energy=0.0,
        null=np.zeros((3, n_bins), complex), null_energy=np.zeros(3),
        window_cross=np.zeros((n_windows, n_bins), np.complex64), window_energy=np.zeros(n_windows),
        window_time=np.zeros(n_windows), masked_s=float(src_weight.sum() / fs),
    )
    if keep.size == 0:
        return out
    src_p = np.zeros(n_blocks * block_len, np.float32)
    src_p[: src.size] = src[: n_blocks * block_len]
    bins = np.arange(n_bins)
    mask = padded_w.reshape(n_blocks, block_len)
    n_chunks = max(1, int(np.ceil(keep.size / max(1, CHUNK_SAMPLES // nfft))))
    for chunk, win in zip(np.array_split(keep, n_chunks), np.array_split(block_window, n_chunks)):
        blocks = src_p.reshape(n_blocks, block_len)[chunk] * mask[chunk]
        start = chunk * block_len
        ideal = offset_s * fs + rate * start - max_lag
        i0 = np.floor(ideal).astype(np.int64)
        frac = ideal - i0
        segs = target_segments(tgt, i0, nfft)
        # weighted least squares: a block counts by 1 / (target power where the source is masked in),
        # so blocks where the target has its own loud sound (a backchannel) weigh little
        under = segs[:, max_lag : max_lag + block_len] * (mask[chunk] > 0)
        tgt_power = np.sum(under.astype(np.float64) ** 2, axis=1) / np.maximum(np.sum(mask[chunk] > 0, axis=1), 1)
        weight = 1.0 / np.maximum(tgt_power, MIN_TARGET_POWER)
        S = scipy.fft.rfft(blocks, nfft, axis=1)
        T = scipy.fft.rfft(segs, nfft, axis=1)
        # advance each target segment by its fractional start so every block lines up exactly
        T = T * (weight[:, None] * np.exp(2j * np.pi * frac[:, None] * bins[None, :] / nfft)).astype(np.complex64)
        Sw = np.conj(S) * w.astype(np.float32)
        cross = Sw * T
        raw_energy = (2.0 / nfft) * np.sum(w * (S.real.astype(np.float64) ** 2 + S.imag.astype(np.float64) ** 2), axis=1)
        energy = raw_energy * weight
        out.total += cross.sum(axis=0)
        out.energy += float(energy.sum())
        np.add.at(out.window_cross, win, cross)
        np.add.at(out.window_energy, win, energy)
        np.add.at(out.window_time, win, energy * (start + block_len / 2) / fs)
        for i, shift in enumerate(_null_shifts(len(chunk))[:3]):
            out.null[i] += (Sw * np.roll(T, -shift, axis=0)).sum(axis=0)
            out.null_energy[i] += float(np.sum(raw_energy * np.roll(weight, -shift)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out.window_time = np.where(out.window_energy > 0, out.window_time / out.window_energy, np.nan)
    return out


def gain_curve(cross: np.ndarray, energy: float, nfft: int) -> np.ndarray:
    """Regression gain per integer lag index (lag 0 at ``max_lag``)."""
    if energy <= 0:
        return np.zeros(nfft)
    return scipy.fft.irfft(cross, nfft) / energy


def refine_peak(cross: np.ndarray, energy: float, nfft: int, index: int) -> tuple[float, float]:
    """Sub-sample peak of the band-limited gain near integer lag ``index``: (position, signed gain).

    Newton steps on the exact band-limited correlation ``r(x) = 2/n Re sum C_k e^(i w_k x)`` (no
    interpolation bias), started from a parabola through the three integer lags around the peak.
    """
    nz = np.flatnonzero(cross)
    if nz.size == 0 or energy <= 0:
        return float(index), 0.0
    c = np.asarray(cross[nz], complex)
    omega = 2.0 * np.pi * nz / nfft

    def derivs(x: float) -> tuple[float, float, float]:
        e = c * np.exp(1j * omega * x)
        return (e.real.sum(), -(omega * e.imag).sum(), -(omega**2 * e.real).sum())

    r0, _, _ = derivs(index)
    rm, _, _ = derivs(index - 1)
    rp, _, _ = derivs(index + 1)
    sign = 1.0 if r0 >= 0 else -1.0  # find the extremum of |r|
    denom = rm - 2 * r0 + rp
    x = float(index) + (0.5 * (rm - rp) / denom if denom * sign < 0 else 0.0)
    x = min(max(x, index - 0.5), index + 0.5)
    for _ in range(4):
        _, d1, d2 = derivs(x)
        if d2 * sign >= 0:  # not concave towards the peak: keep the parabola's answer
            break
        step = d1 / d2
        x = min(max(x - step, index - 1.0), index + 1.0)
        if abs(step) < 1e-4:
            break
    r, _, _ = derivs(x)
    return x, float(2.0 / nfft * r / energy)


def null_sigma(spec: PathSpectra) -> float:
    """Standard deviation of the gain over the searched lags when blocks are misaligned (0 when unknown)."""
    n = 2 * spec.max_lag + 1
    rows = [gain_curve(c, e, spec.nfft)[:n] for c, e in zip(spec.null, spec.null_energy) if e > 0]
    return float(np.sqrt(np.mean(np.square(rows)))) if rows else 0.0
