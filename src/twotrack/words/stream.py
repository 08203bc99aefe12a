"""The words stage's input read as a stream: spans of each track (its padded speech, or a transcript's
utterances) cut out of the recording's blocks, at the recogniser's 16 kHz, and 10 ms frame powers of
every track for the crosstalk rule. Nothing holds the whole recording: memory is the longest pending
span plus a block, and the frame powers (1/160 of the audio).

Resampling streams (soxr ``ResampleStream``, one per track), which gives the same samples as resampling
the whole track at once; so do the frame powers (same frames, same arithmetic per frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

WHISPER_RATE = 16000
FRAME_HOP = 160  # 10 ms at 16 kHz: the crosstalk rule's frames


def to_whisper_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """float32 (n_tracks, n) at any rate -> the same at 16 kHz (whole arrays; ``SpanReader`` streams)."""
    x = np.atleast_2d(np.asarray(samples, np.float32))
    if rate == WHISPER_RATE:
        return x
    import soxr

    return np.stack([soxr.resample(c, rate, WHISPER_RATE, quality="HQ") for c in x]).astype(np.float32)


def frame_powers(x16: np.ndarray) -> np.ndarray:
    """float32 (n_tracks, n // 160): mean-free power sum of each 10 ms frame (sum of squares; divide by
    the hop for the mean). Whole 160-sample frames only."""
    n = x16.shape[1] // FRAME_HOP
    r = x16[:, : n * FRAME_HOP].reshape(x16.shape[0], n, FRAME_HOP)
    return np.einsum("tnh,tnh->tn", r, r)  # no sample-sized temporary


class SpanReader:
    """Cuts spans (recording seconds, per track) out of (n_tracks, m) blocks at ``rate``, resampled to
    16 kHz, as soon as the stream has passed each span's end.

    ``spans[t]`` float (k, 2) [start, end) seconds of track t, in any order, overlaps allowed. A span
    is cut as ``x16[round(start * 16000) : round(end * 16000)]`` of the whole resampled track would be
    (clipped at the recording's end). ``ready()`` hands over the spans cut so far, in order of their start
    per track; ``finish()`` ends the stream."""

    def __init__(self, spans: Sequence[np.ndarray], rate: int, *, frames: bool = True):
        self.rate = int(rate)
        self.n_tracks = len(spans)
        self._spans = []
        for s in spans:
            idx = np.round(np.asarray(s, np.float64).reshape(-1, 2) * WHISPER_RATE).astype(np.int64)
            idx[:, 0] = np.maximum(idx[:, 0], 0)
            self._spans.append((idx, np.argsort(idx[:, 0], kind="stable")))
        self._next = [0] * self.n_tracks  # next span (in start order) not yet cut, per track
        self._open: list[list[int]] = [[] for _ in spans]  # started but not finished, per track (span ids)
        self._buf = [np.zeros(0, np.float32) for _ in spans]
        self._buf_at = [0] * self.n_tracks  # 16 kHz sample index of each buffer's first sample
        self._done: list[list[tuple[int, np.ndarray]]] = [[] for _ in spans]
        self.n16 = 0  # samples per track seen so far at 16 kHz
        self.keeps_frames = frames  # 10 ms frame powers for the crosstalk rule
        self._frames: list[np.ndarray] = []
        self._rest = np.zeros((self.n_tracks, 0), np.float32)
        self._resamplers = None
        if self.rate != WHISPER_RATE:
            import soxr

            self._resamplers = [soxr.ResampleStream(self.rate, WHISPER_RATE, 1, dtype="float32", quality="HQ")
                                for _ in range(self.n_tracks)]
        self.finished = False

    def push(self, block: np.ndarray) -> None:
        """One (n_tracks, m) block at ``rate``."""
        x = np.atleast_2d(np.asarray(block, np.float32))
        if x.shape[0] != self.n_tracks:
            raise ValueError(f"block has {x.shape[0]} tracks, the spans {self.n_tracks}")
        if self._resamplers is not None:
            x = np.stack([r.resample_chunk(c, last=False) for r, c in zip(self._resamplers, x)]).astype(np.float32)
        self._take(x)

    def finish(self) -> None:
        if self.finished:
            return
        if self._resamplers is not None:
            empty = np.zeros(0, np.float32)
            self._take(np.stack([r.resample_chunk(empty, last=True) for r in self._resamplers]).astype(np.float32))
        self.finished = True
        for t in range(self.n_tracks):  # spans running past the end are cut where it is
            self._cut(t, final=True)

    def _take(self, x16: np.ndarray) -> None:
        if x16.shape[1] == 0:
            return
        if self.keeps_frames:
            joined = np.concatenate([self._rest, x16], axis=1) if self._rest.shape[1] else x16
            n = joined.shape[1] // FRAME_HOP * FRAME_HOP
            if n:
                self._frames.append(frame_powers(joined[:, :n]))
            self._rest = joined[:, n:].copy()
        for t in range(self.n_tracks):
            self._buf[t] = np.concatenate([self._buf[t], x16[t]]) if self._buf[t].size else x16[t].copy()
        self.n16 += x16.shape[1]
        for t in range(self.n_tracks):
            self._cut(t, final=False)

    def _cut(self, t: int, final: bool) -> None:
        idx, order = self._spans[t]
        while self._next[t] < len(order) and (idx[order[self._next[t]], 0] < self.n16 or final):
            self._open[t].append(int(order[self._next[t]]))
            self._next[t] += 1
        still = []
        for k in self._open[t]:
            a, b = idx[k]
            if b <= self.n16 or final:
                lo, hi = a - self._buf_at[t], min(b, self.n16) - self._buf_at[t]
                self._done[t].append((k, self._buf[t][max(lo, 0): max(hi, 0)].copy()))
            else:
                still.append(k)
        self._open[t] = still
        # keep the buffer from the earliest span not cut yet (a span not started yet keeps nothing)
        keep = [idx[k, 0] for k in still]
        if self._next[t] < len(order):
            keep.append(idx[order[self._next[t]], 0])
        start = min(keep) if keep else self.n16
        drop = min(max(start - self._buf_at[t], 0), self._buf[t].size)
        if drop:
            self._buf[t] = self._buf[t][drop:]
            self._buf_at[t] += drop

    def ready(self) -> list[list[tuple[int, np.ndarray]]]:
        """Per track, (span id, float32 16 kHz audio) of every span cut since the last call."""
        out = [sorted(d, key=lambda kv: self._spans[t][0][kv[0], 0]) for t, d in enumerate(self._done)]
        self._done = [[] for _ in range(self.n_tracks)]
        return out

    def pending_s(self) -> list[float]:
        """Seconds of audio cut and not yet handed over, per track."""
        return [sum(a.size for _, a in d) / WHISPER_RATE for d in self._done]

    def frames(self) -> np.ndarray:
        """float32 (n_tracks, n16 // 160) frame powers of the stream so far (``frame_powers``)."""
        if not self._frames:
            return np.zeros((self.n_tracks, 0), np.float32)
        if len(self._frames) > 1:
            self._frames = [np.concatenate(self._frames, axis=1)]
        return self._frames[0]


def read_spans(blocks: Iterable[np.ndarray], spans: Sequence[np.ndarray], rate: int, *, frames: bool = True):
    """All spans of a whole stream: -> (SpanReader finished, per track {span id: audio})."""
    reader = SpanReader(spans, rate, frames=frames)
    got: list[dict[int, np.ndarray]] = [{} for _ in spans]
    for block in blocks:
        reader.push(block)
        for t, d in enumerate(reader.ready()):
            got[t].update(d)
    reader.finish()
    for t, d in enumerate(reader.ready()):
        got[t].update(d)
    return reader, got


class SpanAudio:
    """Cut chunks of one track read like the whole 16 kHz track: ``audio[a:b]`` (sample indices of the
    recording) is cut from the chunk holding ``a``; ``a:b`` must lie inside one cut chunk (the re-timing
    only reads chunks and spans inside them)."""

    def __init__(self, pieces, chunks: np.ndarray, n_seen: int):
        from .chunks import piece_starts

        self._audio = [a for _, a in pieces]
        self._starts = piece_starts([k for k, _ in pieces], chunks, n_seen, WHISPER_RATE)

    def __getitem__(self, key: slice) -> np.ndarray:
        a, b = key.start or 0, key.stop
        k = int(np.searchsorted(self._starts, a, side="right")) - 1
        if k < 0:
            raise IndexError(f"samples {a}:{b} lie before every cut chunk")
        base = int(self._starts[k])
        return self._audio[k][a - base: None if b is None else max(b - base, 0)]
