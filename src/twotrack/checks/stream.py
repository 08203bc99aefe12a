"""``run_checks_blocks``: the checks of ``run_checks`` over a recording read in blocks, memory flat in length.

One pass gathers what is local to a 10 ms frame or a sum over samples: each track's frame power, its
non-finite, clipped and summed samples, and per track pair the per-frame sums of the zero-lag
correlation and whether the two are sample for sample equal or opposite. Everything after that is
decided from these per-frame arrays (100 values a second), except where the checks look at samples:
the bleed and sync cross-spectra and the bandwidth's spectrum frames. Those places are known from the
frame arrays first, then read in a further pass each (``checks.signals``): one for both bleed paths of
a pair along a clock line (paired files: one more for the coarse offset search and up to two lines),
one for every track's spectrum frames.

Same answers as ``run_checks`` on the whole array, with one bound: the sync fit of a streamed pair
keeps the cross-spectra of at most ``signals.MAX_STREAM_WINDOWS`` windows (evenly spread; 512 windows of
8 s cover 68 minutes of speech). Both forms sum only the blocks of at most ``bleed_sum_windows`` windows
(evenly spread) for the bleed and sync estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from ..config import ChecksConfig
from ..model import CheckResult, Layout, TrackQuality, track_name
from . import power as pw
from .channels import ChannelRelation, RelationSums, cross_sums, merge, relation_from_sums, relation_sums, track_sums
from .pair import PairAnalysis, TrackFrames, analyse_signals
from .quality import (
    bandwidth_from_spectra, bandwidth_masks, bandwidth_starts, codec_full_scale, quality_from, spectrum_of,
)
from .run import _grid_rate, _judge, _never_raising, _Unjudgeable
from .signals import BlockSource, StreamSignals, at_rate, stretches


def frame_aligned(blocks: Iterable[np.ndarray], hop: int) -> Iterator[np.ndarray]:
    """Blocks re-cut so every one but the last holds whole 10 ms frames (``hop`` samples each)."""
    carry = None
    for block in blocks:
        block = np.asarray(block, np.float32)
        if carry is not None:
            block = np.concatenate([carry, block], axis=1)
            carry = None
        cut = (block.shape[1] // hop) * hop
        if cut < block.shape[1]:
            carry = block[:, cut:]
            block = block[:, :cut]
        if block.shape[1]:
            yield block
    if carry is not None and carry.shape[1]:
        yield carry


@dataclass
class BlockStats:
    """What one pass over the blocks keeps: per-frame arrays and sums, never samples."""

    n_tracks: int = 0
    n: int = 0
    power: list[np.ndarray] = field(default_factory=list)  # dB per frame, per track
    nonfinite: np.ndarray | None = None  # per track
    clipped: np.ndarray | None = None
    total: np.ndarray | None = None  # float64 sum of samples per track
    pair_sums: dict[tuple[int, int], RelationSums] = field(default_factory=dict)
    equal: dict[tuple[int, int], bool] = field(default_factory=dict)
    opposite: dict[tuple[int, int], bool] = field(default_factory=dict)


def block_stats(blocks: Iterable[np.ndarray], sample_rate: int, full_scale: float, cfg: ChecksConfig,
                n_hint: int | None = None) -> BlockStats:
    """One pass: ``BlockStats`` of blocks float32 (n_tracks, m) at ``sample_rate`` on the 10 ms grid.
    ``n_hint``: the samples expected (the decoder's count), so the frame arrays are made once."""
    hop = pw.hop_samples(sample_rate)
    st = BlockStats()
    frames = -(-int(n_hint) // hop) if n_hint else 0
    power: np.ndarray | None = None
    parts: dict[tuple[int, int], list[RelationSums]] = {}
    at = 0  # frames filled
    for block in frame_aligned(blocks, hop):
        if st.nonfinite is None:
            st.n_tracks = block.shape[0]
            st.nonfinite = np.zeros(st.n_tracks, np.int64)
            st.clipped = np.zeros(st.n_tracks, np.int64)
            st.total = np.zeros(st.n_tracks)
            power = np.empty((st.n_tracks, max(frames, 1)))
            for pair in combinations(range(st.n_tracks), 2):
                parts[pair] = []
                st.equal[pair] = st.opposite[pair] = True
        st.n += block.shape[1]
        total = block.sum(axis=1, dtype=np.float64)
        # float32 samples cannot overflow a float64 sum: a row sums to a finite number exactly when
        # every sample is finite, so only a row that does not is counted
        for i in np.flatnonzero(~np.isfinite(total)):
            st.nonfinite[i] += np.count_nonzero(~np.isfinite(block[i]))
        st.clipped += np.count_nonzero(np.abs(block) >= full_scale, axis=1)
        st.total += total
        k = -(-block.shape[1] // hop)
        if at + k > power.shape[1]:  # longer than announced: grow (by half, not block by block)
            grown = np.empty((st.n_tracks, max(at + k, power.shape[1] * 3 // 2)))
            grown[:, :at] = power[:, :at]
            power = grown
        # per-frame sums of each track, shared by its frame power and every pair it is in
        sums = [track_sums(block[i], hop) for i in range(st.n_tracks)]
        for i in range(st.n_tracks):
            power[i, at : at + k] = pw.frame_power_db(block[i], sample_rate, sums[i])
        at += k
        for (i, j), got in parts.items():
            pair_sums = (sums[i][0], sums[j][0], sums[i][1], sums[j][1], cross_sums(block[i], block[j], hop))
            got.append(relation_sums(block[i], block[j], hop, cfg.duplicate_correlation, pair_sums))
            if st.equal[(i, j)]:
                st.equal[(i, j)] = bool(np.array_equal(block[i], block[j]))
            if st.opposite[(i, j)]:
                st.opposite[(i, j)] = bool(np.array_equal(block[i], -block[j]))
    st.power = [] if power is None else [power[i, :at] for i in range(st.n_tracks)]
    st.pair_sums = {pair: merge(got) for pair, got in parts.items()}
    return st


def first_pass(blocks: Iterable[np.ndarray], sample_rate: int, codec: str | None, cfg: ChecksConfig | None = None,
               n_hint: int | None = None) -> BlockStats | None:
    """The checks' first pass (``block_stats``) over ``blocks``, for a caller that reads the recording
    anyway (the scan's decode stage): ``run_checks_blocks(..., stats=)`` then starts from it instead of
    reading the blocks again. None when the rate has no whole-sample 10 ms frame (the checks resample
    then, and make their own first pass); ``blocks`` is still read to the end."""
    cfg = cfg or ChecksConfig()
    sr = int(sample_rate)
    if sr < 1000 or _grid_rate(sr) != sr:
        for _ in blocks:
            pass
        return None
    return block_stats(blocks, sr, codec_full_scale(codec) * cfg.clipping_level, cfg, n_hint)


class _StreamAudio:
    """The questions ``run._judge`` asks of the samples, answered from ``BlockStats`` and further passes."""

    def __init__(self, source: BlockSource, sr: int, stats: BlockStats, cfg: ChecksConfig):
        self.source, self.sr, self.stats, self.cfg = source, sr, stats, cfg
        self.n_tracks, self.n = stats.n_tracks, stats.n
        self.passes = 1

    def power(self, i: int) -> np.ndarray:
        return self.stats.power[i]

    def relation(self, i: int, j: int, active_i: np.ndarray, active_j: np.ndarray) -> ChannelRelation:
        pair = (i, j)
        return relation_from_sums(self.stats.pair_sums[pair], lambda: self.stats.equal[pair], lambda: self.stats.opposite[pair],
                                  active_i, active_j, self.cfg, pair)

    def pair(self, i: int, j: int, acts: np.ndarray | None, paired: bool,
             frames: tuple[TrackFrames, TrackFrames]) -> PairAnalysis:
        fs = min(int(self.sr), int(self.cfg.analysis_rate))
        signals = StreamSignals(self.source, (i, j), self.sr, fs, self.n)
        out = analyse_signals(signals, frames, self.cfg, given_activity=acts is not None, search_offset=paired)
        self.passes += signals.passes
        return out

    def qualities(self, wanted: list[tuple[int, TrackFrames, np.ndarray]]) -> list[tuple[TrackQuality, dict]]:
        plans, asks = [], []
        for i, t, own in wanted:
            nfft, s_starts, q_starts = bandwidth_starts(self.sr, *bandwidth_masks(t.power_db, t.active, own), self.n)
            plans.append(nfft)
            asks += [(i, s_starts, nfft), (i, q_starts, nfft)]
        segs = stretches(self.source, asks)
        self.passes += 1
        out = []
        for k, (i, t, own) in enumerate(wanted):
            nfft = plans[k]
            bw = bandwidth_from_spectra(spectrum_of(segs[2 * k], nfft), spectrum_of(segs[2 * k + 1], nfft),
                                        self.sr, nfft, self.cfg.bandwidth_drop_db)
            n = self.n
            clipping = float(self.stats.clipped[i] / n) if n else None
            dc = float(self.stats.total[i] / n) if n else None
            out.append(quality_from(i, clipping, dc, bw, t.power_db, t.active, own, self.cfg))
        return out


def run_checks_blocks(
    source: BlockSource,
    sample_rate: int,
    *,
    codec: str | None = None,
    layout: Layout | None = None,
    activity: np.ndarray | None = None,
    cfg: ChecksConfig | None = None,
    source_rate: int | None = None,
    n_samples: int | None = None,
    stats: BlockStats | None = None,
) -> CheckResult:
    """``run_checks`` over a recording read in blocks: ``source()`` opens the blocks, float32
    (n_tracks, m), from the start each time it is called (it is called a few times). ``n_samples``: the
    length expected at ``sample_rate``, when known (saves growing the frame arrays). ``stats``: the first
    pass already made over the same blocks (``first_pass``), so it is not read again. Never raises."""
    cfg = cfg or ChecksConfig()
    return _never_raising(lambda notes, rate_read: _run_blocks(source, sample_rate, codec, layout, activity, cfg,
                                                               n_samples, stats, rate_read, notes),
                          sample_rate, codec, source_rate)


def _run_blocks(source: BlockSource, sample_rate, codec, layout, activity, cfg: ChecksConfig, n_samples: int | None,
                stats: BlockStats | None, rate_read, notes: list[str]) -> CheckResult:
    sr = int(sample_rate)
    if sr < 1000:
        raise _Unjudgeable(f"sample rate {sample_rate!r} is not a usable audio rate")
    to = _grid_rate(sr)
    if to != sr:
        notes.append(f"{sr} Hz has no whole-sample 10 ms frame: checked at {to} Hz")
        source = (lambda inner, a, b: (lambda: at_rate(inner(), a, b)))(source, sr, to)
        n_samples = None if n_samples is None else n_samples * to // sr + 1
        sr = to
    full = codec_full_scale(codec) * cfg.clipping_level
    if stats is None or to != int(sample_rate):
        stats = block_stats(source(), sr, full, cfg, n_samples)
    if stats.n_tracks == 0 or stats.n == 0:
        raise _Unjudgeable(f"no audio (array shape ({stats.n_tracks}, {stats.n}))")
    if stats.nonfinite.any():
        per = [f"track {track_name(i)}: {int(c)} ({100 * c / stats.n:.3g}%)"
               for i, c in enumerate(stats.nonfinite) if c]
        raise _Unjudgeable("samples are NaN or infinite (" + "; ".join(per) + "): cannot judge")
    return _judge(_StreamAudio(source, sr, stats, cfg), sr, codec, layout, activity, cfg, rate_read, notes)
