"""A track's own speech as recogniser input: activity segments padded, merged into chunks, and packed
end to end (with short silences between) into one array; and the map from packed time back to the
recording's clock.

The recogniser then reads only this track's speech: the other speaker's turns (about half of each
track in a dialogue) and long silences are never decoded, which is where both the speed and the
absence of bleed/hallucinated words between turns come from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def speech_chunks(segments, duration_s: float, padding_s: float, merge_gap_s: float,
                  max_chunk_s: float = 28.0) -> np.ndarray:
    """float64 (n, 2) chunk [start, end) in seconds: each segment padded by ``padding_s`` (clipped to the
    recording), neighbours whose padded gap is below ``merge_gap_s`` merged while the chunk stays under
    ``max_chunk_s`` (longer single segments are kept whole; the recogniser windows them itself)."""
    seg = np.asarray([(float(s), float(e)) for s, e in segments if e > s], np.float64).reshape(-1, 2)
    if seg.size == 0 or duration_s <= 0:
        return np.zeros((0, 2))
    seg = seg[np.argsort(seg[:, 0])]
    seg[:, 0] = np.maximum(seg[:, 0] - padding_s, 0.0)
    seg[:, 1] = np.minimum(seg[:, 1] + padding_s, duration_s)
    seg = seg[seg[:, 1] > seg[:, 0]]
    out: list[list[float]] = []
    for s, e in seg:  # loops over speech segments (a few per turn), not samples
        if out and s - out[-1][1] < merge_gap_s and max(e, out[-1][1]) - out[-1][0] <= max_chunk_s:
            out[-1][1] = max(out[-1][1], e)
        elif out and s < out[-1][1]:  # overlapping after padding but too long to merge: abut instead
            if e > out[-1][1]:
                out.append([out[-1][1], e])
        else:
            out.append([s, e])
    return np.asarray(out, np.float64).reshape(-1, 2)


@dataclass(frozen=True)
class Packed:
    """Chunks of one track laid end to end: ``audio`` float32 at ``rate``; chunk k occupies packed
    seconds ``[offsets[k], offsets[k] + length_k)`` and recording seconds ``chunks[k]``."""

    audio: np.ndarray
    rate: int
    chunks: np.ndarray  # (n, 2) recording seconds
    offsets: np.ndarray  # (n,) packed seconds where each chunk starts

    def chunk_of(self, packed_t: np.ndarray) -> np.ndarray:
        """Index of the chunk each packed time belongs to (times in a separator go to the nearer chunk)."""
        t = np.asarray(packed_t, np.float64)
        if len(self.offsets) == 0:
            return np.zeros(t.shape, np.int64)
        k = np.clip(np.searchsorted(self.offsets, t, side="right") - 1, 0, len(self.offsets) - 1)
        ends = self.offsets + (self.chunks[:, 1] - self.chunks[:, 0])
        nxt = np.minimum(k + 1, len(self.offsets) - 1)
        beyond = (t > ends[k]) & (nxt != k) & (self.offsets[nxt] - t < t - ends[k])
        return np.where(beyond, nxt, k)

    def to_recording(self, packed_t: np.ndarray, chunk: np.ndarray) -> np.ndarray:
        """Packed seconds -> recording seconds, clamped inside ``chunk``."""
        t = np.asarray(packed_t, np.float64)
        k = np.asarray(chunk, np.int64)
        out = self.chunks[k, 0] + (t - self.offsets[k])
        return np.clip(out, self.chunks[k, 0], self.chunks[k, 1])


def pack(samples: np.ndarray, rate: int, chunks: np.ndarray, separator_s: float) -> Packed:
    """Cut ``chunks`` out of one track's ``samples`` and join them with ``separator_s`` of silence."""
    x = np.asarray(samples, np.float32)
    gap = int(round(separator_s * rate))
    idx = np.round(np.asarray(chunks, np.float64) * rate).astype(np.int64).reshape(-1, 2)
    idx = np.clip(idx, 0, len(x))
    pieces, offsets, pos = [], [], 0
    for a, b in idx:  # per chunk
        offsets.append(pos / rate)
        pieces.append(x[a:b])
        pieces.append(np.zeros(gap, np.float32))
        pos += (b - a) + gap
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    exact = idx.astype(np.float64) / rate  # chunk edges on the sample grid
    return Packed(audio, rate, exact, np.asarray(offsets, np.float64))


def piece_starts(ids, chunks: np.ndarray, n_seen: int, rate: int) -> np.ndarray:
    """Sample index where each cut chunk begins (``stream.SpanReader``'s rounding, clipped to the stream)."""
    c = np.asarray(chunks, np.float64).reshape(-1, 2)[np.asarray(ids, np.int64)]
    return np.minimum(np.maximum(np.round(c[:, 0] * rate).astype(np.int64), 0), n_seen)


def pack_pieces(pieces, chunks: np.ndarray, n_seen: int, rate: int, separator_s: float) -> tuple[Packed, np.ndarray]:
    """``pack`` for chunks already cut (``pieces`` = [(chunk id, audio)] in order, from ``stream.SpanReader``
    after ``n_seen`` samples): the same Packed as ``pack`` of the whole track gives for those chunks.
    -> (Packed, chunk id of each packed chunk)."""
    ids = np.array([k for k, _ in pieces], np.int64)
    gap = np.zeros(int(round(separator_s * rate)), np.float32)
    audio, offsets, pos = [], [], 0
    for _, a in pieces:  # per chunk
        offsets.append(pos / rate)
        audio += [np.asarray(a, np.float32), gap]
        pos += a.size + gap.size
    starts = piece_starts(ids, chunks, n_seen, rate)
    lengths = np.array([a.size for _, a in pieces], np.int64)
    exact = np.stack([starts, starts + lengths], axis=1).astype(np.float64) / rate
    joined = np.concatenate(audio) if audio else np.zeros(0, np.float32)
    return Packed(joined, rate, exact.reshape(-1, 2), np.asarray(offsets, np.float64)), ids
