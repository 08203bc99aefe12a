"""Band-limited cross-correlation of one *path* (a source track heard in a target track), by blocks.

The source is cut into blocks and weighted by a frame mask (the frames where it talks alone); each
block is paired with the target segment that the clock line ``t_target = offset + rate * t_source``
maps it to, widened by the largest lag searched (and shifted by its fractional start in the
frequency domain). Cross-spectra ``conj(S) * T`` are weighted by a smooth band-pass (so no
time-domain filter runs) and summed: over all blocks for the bleed estimate, per window for the
sync estimate. Because the source is zero outside its mask, the target needs no mask: only target
samples within the lag range of a kept source sample enter the sum.

Gains are weighted regression gains: ``g(lag) = sum_k w_k sum_t s(t) x(t + lag) / sum_k w_k sum_t s(t)^2``
over the band, so a target that holds ``g0 * s(t - lag0)`` plus anything uncorrelated reads ``g0`` at
``lag0`` on average. Block ``k`` weighs ``w_k = 1 / (target power under its mask)``: weighted least
squares, so a block where the target has loud sound of its own (a backchannel) adds little noise.
The noise of the estimate comes from the same estimator on *misaligned* pairs (each block against
the target block a quarter, half and three quarters of the blocks away, weights recomputed for that
pairing), which keeps every property of the signals except their alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from ..framing import frames
from .gather import Group

#: Width of the raised-cosine edges of the band weight, Hz.
BAND_TAPER_HZ = 100.0
#: Samples per FFT batch (bounds memory on long recordings, whatever the block length).
CHUNK_SAMPLES = 1 << 20
#: A block enters the sums when at least this share of it is masked in.
MIN_BLOCK_SHARE = 0.05
#: Floor of a block's target power in the weights (digital silence would weigh infinitely): about
#: the rounding noise of 16-bit audio.
MIN_TARGET_POWER = 1e-10
#: Mean power of a frame that holds no sound once its DC is removed: 20 dB under 16-bit rounding noise.
SILENT_POWER = 1e-12


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
    target_zero_share: float = 0.0  # share of the masked frames whose target segment is exact zeros


@dataclass
class PathPlan:
    """Where one path's cross-spectra look: the kept source blocks, their target segments (start
    ``i0`` and fractional advance ``frac`` on the target), the batches they are summed in and the
    window each block's cross-spectrum adds to. Made from per-frame arrays alone, before any sample
    is read, so a stream can be read once for it (``checks.gather``)."""

    fs: float
    hop: int
    block_len: int
    per_block: int
    nfft: int
    max_lag: int
    w32: np.ndarray  # band weight per bin, float32
    fw: np.ndarray  # (k, per_block) float32 frame weights of the kept blocks (row r: block keep[r])
    keep: np.ndarray  # kept block indices, ascending
    n_blocks: int
    i0: np.ndarray  # (k,) int64 target segment starts
    frac: np.ndarray  # (k,) fractional advance of each target segment
    batches: list[tuple[np.ndarray, np.ndarray]]  # (positions into keep, their window rows) per batch
    out: PathSpectra


def plan_path(
    n_src: int,
    fs: float,
    frame_weight: np.ndarray,
    hop: int,
    *,
    offset_s: float,
    rate: float,
    max_lag: int,
    block_len: int,
    band: tuple[float, float],
    window_s: float | None = None,
    max_windows: int | None = None,
    sum_windows: int | None = None,
) -> PathPlan:
    """The plan of ``path_spectra`` for a source of ``n_src`` samples. ``max_windows``: keep the
    per-window cross-spectra of at most this many windows, evenly spread (the sync fit needs a
    bounded number; the bleed sums still take every block); None keeps all. ``sum_windows``: only the
    blocks of at most this many windows (evenly spread over the recording) enter the sums at all, so a
    long recording costs what ``sum_windows`` windows cost; None: every block."""
    block_len = max(hop, (block_len // hop) * hop)
    per_block = block_len // hop
    nfft = scipy.fft.next_fast_len(block_len + 2 * max_lag, real=True)
    n_bins = nfft // 2 + 1
    w = band_weights(nfft, fs, band)
    n_blocks = -(-n_src // block_len)
    fw = np.zeros(n_blocks * per_block, np.float32)
    fw[: min(frame_weight.size, fw.size)] = frame_weight[: fw.size]
    fw = fw.reshape(n_blocks, per_block)
    keep = np.flatnonzero(fw.mean(axis=1) >= MIN_BLOCK_SHARE)
    window_len = window_s if window_s else max(n_src / fs, 1e-9)
    block_window = ((keep * block_len + block_len / 2) / fs // window_len).astype(np.int64)
    windows, block_window = np.unique(block_window, return_inverse=True)
    n_windows = windows.size
    if sum_windows is not None and window_s and n_windows > sum_windows:
        chosen = np.unique(np.linspace(0, n_windows - 1, sum_windows).round().astype(np.int64))
        row = np.full(n_windows, -1, np.int64)
        row[chosen] = np.arange(chosen.size)
        inside = row[block_window] >= 0
        keep, block_window, n_windows = keep[inside], row[block_window[inside]], chosen.size
    if max_windows is not None and n_windows > max_windows:
        chosen = np.unique(np.linspace(0, n_windows - 1, max_windows).round().astype(np.int64))
        row = np.full(n_windows, -1, np.int64)
        row[chosen] = np.arange(chosen.size)
        block_window, n_windows = row[block_window], chosen.size
    out = PathSpectra(
        nfft=nfft, max_lag=max_lag, fs=fs, total=np.zeros(n_bins, complex), energy=0.0,
        null=np.zeros((3, n_bins), complex), null_energy=np.zeros(3),
        window_cross=np.zeros((n_windows, n_bins), np.complex64), window_energy=np.zeros(n_windows),
        window_time=np.zeros(n_windows), masked_s=float(fw.sum() * hop / fs),
    )
    starts = keep * block_len
    i0 = np.floor(offset_s * fs + rate * starts - max_lag).astype(np.int64)
    frac = (offset_s * fs + rate * starts - max_lag) - i0
    n_chunks = max(1, int(np.ceil(keep.size / max(1, CHUNK_SAMPLES // nfft))))
    batches = list(zip(np.array_split(np.arange(keep.size), n_chunks), np.array_split(block_window, n_chunks)))
    if keep.size == 0:
        batches = []
    return PathPlan(fs, hop, block_len, per_block, nfft, max_lag, w.astype(np.float32), fw[keep], keep,
                    fw.shape[0], i0, frac, batches, out)


class _Accumulator:
    """Sums one path's cross-spectra batch by batch (the batches may come in any order)."""

    def __init__(self, plan: PathPlan):
        self.plan = plan
        self.zeros = self.masked = 0
        self.bins = np.arange(plan.out.total.size)

    def add(self, part: np.ndarray, win: np.ndarray, src_rows: np.ndarray, segs: np.ndarray) -> None:
        """Batch ``part`` (positions into ``plan.keep``): the raw source blocks (len, block_len) and the
        target segments (len, nfft) they pair with."""
        p, out = self.plan, self.plan.out
        hop, block_len, per_block, nfft, max_lag, fs = p.hop, p.block_len, p.per_block, p.nfft, p.max_lag, p.fs
        w32, bins = p.w32, self.bins
        chunk = p.keep[part]
        on = p.fw[part] > 0
        # each block's DC goes before the mask: a masked constant is a train of steps, energy in every band
        # (a recorder's DC offset read as bleed); the band weight is 0 at DC, so nothing else changes
        blocks = (src_rows - src_rows.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)) \
            * np.repeat(p.fw[part], hop, axis=1)
        # weighted least squares: a block counts by 1 / (target power where the source is masked in),
        # so blocks where the target has loud sound of its own weigh little; its power without its DC
        under = segs[:, max_lag : max_lag + block_len].reshape(len(chunk), per_block, hop)
        under = under - under.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(np.float32)
        frame_energy = np.einsum("ijk,ijk->ij", under, under, dtype=np.float64)
        # digital silence, or a constant (silence with a DC offset, through the analysis resampler's rounding)
        self.zeros += int(np.sum(on & (frame_energy < hop * SILENT_POWER)))
        weight = 1.0 / np.maximum((frame_energy * on).sum(axis=1) / (np.maximum(on.sum(axis=1), 1) * hop),
                                  MIN_TARGET_POWER)
        self.masked += int(on.sum())
        S = scipy.fft.rfft(blocks, nfft, axis=1)
        T = scipy.fft.rfft(segs, nfft, axis=1)
        frac = p.frac[part]
        if np.any(frac):  # advance each target segment by its fractional start: every block lines up
            T *= np.exp((2j * np.pi / nfft) * frac[:, None].astype(np.float32) * bins[None, :].astype(np.float32))
        # the products below are the same operations in the same order as ``Sw * (T * w)``, written into
        # reused buffers: these (blocks, bins) complex arrays are the checks' largest temporaries
        Sw = np.conj(S)
        Sw *= w32
        cross = T * weight[:, None].astype(np.float32)
        np.multiply(Sw, cross, out=cross)
        power = np.abs(S)
        np.square(power, out=power)
        power *= w32
        raw_energy = (2.0 / nfft) * power.sum(axis=1, dtype=np.float64)
        del power
        energy = raw_energy * weight
        out.total += cross.sum(axis=0)
        out.energy += float(energy.sum())
        # blocks come in time order, so each window's blocks are one run of rows (windows left out of
        # a bounded plan have row -1)
        stored = win >= 0
        if stored.all():
            wc, we, wt, ww = cross, energy, chunk, win
        else:
            wc, we, wt, ww = cross[stored], energy[stored], chunk[stored], win[stored]
        if ww.size:
            first = np.flatnonzero(np.r_[True, ww[1:] != ww[:-1]])
            out.window_cross[ww[first]] += np.add.reduceat(wc, first, axis=0)
            out.window_energy[ww[first]] += np.add.reduceat(we, first)
            out.window_time[ww[first]] += np.add.reduceat(we * (wt * block_len + block_len / 2) / fs, first)
        rolled = cross  # its values are summed above: the buffer is free
        k = len(chunk)
        for i, shift in enumerate(_null_shifts(k)[:3]):
            # the same estimator on misaligned pairs, weights taken where this pairing puts them
            fe = np.roll(frame_energy, -shift, axis=0)
            w_null = 1.0 / np.maximum((fe * on).sum(axis=1) / (np.maximum(on.sum(axis=1), 1) * hop), MIN_TARGET_POWER)
            rolled[: k - shift] = T[shift:]  # np.roll(T, -shift, axis=0), into the reused buffer
            rolled[k - shift :] = T[:shift]
            rolled *= w_null[:, None].astype(np.float32)
            np.multiply(Sw, rolled, out=rolled)
            out.null[i] += rolled.sum(axis=0)
            out.null_energy[i] += float(np.sum(raw_energy * w_null))

    def finish(self) -> PathSpectra:
        out = self.plan.out
        out.target_zero_share = self.zeros / max(self.masked, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.window_time = np.where(out.window_energy > 0, out.window_time / out.window_energy, np.nan)
        return out


def path_spectra(src: np.ndarray, tgt: np.ndarray, p: PathPlan) -> PathSpectra:
    """Cross-spectra of ``src`` (weighted per frame) against ``tgt`` along the clock line, per block, as
    planned by ``p = plan_path(src.size, ...)`` (a fresh plan: its ``out`` is what is filled and returned)."""
    acc = _Accumulator(p)
    if not p.batches:
        return acc.finish()
    n_blocks = p.n_blocks
    # both signals padded once, so every block and target segment is a plain row of a strided view
    pad_l = int(max(0, -p.i0.min()))
    pad_r = int(max(0, p.i0.max() + p.nfft - tgt.size))
    tgt_p = np.concatenate([np.zeros(pad_l, np.float32), tgt, np.zeros(pad_r, np.float32)]) if pad_l or pad_r else tgt
    tgt_view = frames(tgt_p, p.nfft)
    src_p = src if src.size == n_blocks * p.block_len else np.concatenate(
        [src, np.zeros(n_blocks * p.block_len - src.size, np.float32)])
    src_rows = src_p.reshape(n_blocks, p.block_len)
    for part, win in p.batches:
        acc.add(part, win, src_rows[p.keep[part]], tgt_view[p.i0[part] + pad_l])
    return acc.finish()


def path_groups(plan: PathPlan, src_row: int, tgt_row: int, acc: _Accumulator | None = None,
                tgt_frame_weight: np.ndarray | None = None) -> tuple[list[Group], _Accumulator]:
    """``gather`` groups that feed ``plan``'s batches from a stream whose rows ``src_row`` and ``tgt_row``
    are the path's source and target; ``tgt_frame_weight``: per-frame (``plan.hop``) weights applied to
    the target as it is read. -> (groups, the accumulator: ``finish()`` it after the pass)."""
    acc = acc or _Accumulator(plan)
    groups = []
    for part, win in plan.batches:
        def ready(bufs, part=part, win=win):
            segs = bufs[1]
            if tgt_frame_weight is not None:
                pos = plan.i0[part][:, None] + np.arange(plan.nfft)[None, :]
                idx = np.clip(pos // plan.hop, 0, max(tgt_frame_weight.size - 1, 0))
                segs = segs * tgt_frame_weight.astype(np.float32)[idx]
            acc.add(part, win, bufs[0], segs)
        groups.append(Group([(src_row, plan.keep[part] * plan.block_len, plan.block_len),
                             (tgt_row, plan.i0[part], plan.nfft)], ready))
    return groups, acc


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
