"""Waveform peaks, computed server-side so the browser never downloads the audio to draw it.

A recording's peaks are the min and max of every track in every 10 ms frame (the project's frame grid),
as int16, computed once by streaming the audio through ``twotrack.ingest`` and kept, with coarser levels
of 80 ms, 640 ms and 5.12 s, in small files (2 tracks x 2 values x 2 bytes x 100 frames per second =
2.9 MB per hour, plus 1/7 for the coarser levels) in a cache folder outside the workspace. A request
for a window ``[start, end)`` drawn ``width`` pixels wide reads, from the coarsest level still finer
than a pixel, only the entries of the window (one ``pread``) and reduces them to one (min, max) pair
per pixel: the cost is about the width, whatever the window's length. When a pixel is finer than a
frame (deep zoom), the pairs come from the decoded audio of the window instead.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..model import FRAMES

HOP_S = FRAMES.hop_s
SCALE = 32767.0
#: Bump when the cached format or its computation changes.
CACHE_VERSION = 2
#: Deep-zoom windows longer than this are drawn from the frame peaks even below one frame per pixel.
MAX_AUDIO_WINDOW_S = 60.0
#: Rate the peaks are computed at when the source rate has no whole number of samples per frame.
FALLBACK_RATE = 16000


def peak_rate(rate: int) -> int:
    """A rate with a whole number of samples per 10 ms frame (the source's when it has one)."""
    per = rate * HOP_S
    return rate if abs(per - round(per)) < 1e-9 and round(per) >= 1 else FALLBACK_RATE


def frame_peaks(samples: np.ndarray, per_frame: int) -> np.ndarray:
    """int16 (n_tracks, 2, n_frames): min and max of each run of ``per_frame`` samples (the last may be short).

    >>> frame_peaks(np.array([[0.0, 0.5, -0.5, 1.0, 0.25]]), 2)[0].tolist()
    [[0, -16384, 8192], [16384, 32767, 8192]]
    """
    x = np.atleast_2d(np.asarray(samples, np.float32))
    n_tracks, n = x.shape
    n_frames = -(-n // per_frame)
    out = np.zeros((n_tracks, 2, n_frames), np.int16)
    if n == 0:
        return out
    full = n // per_frame
    if full:
        body = x[:, : full * per_frame].reshape(n_tracks, full, per_frame)
        out[:, 0, :full] = _q(body.min(axis=2))
        out[:, 1, :full] = _q(body.max(axis=2))
    if n_frames > full:
        tail = x[:, full * per_frame:]
        out[:, 0, full] = _q(tail.min(axis=1))
        out[:, 1, full] = _q(tail.max(axis=1))
    return out


def _q(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * SCALE), -32767, 32767).astype(np.int16)


def stream_peaks(blocks: Iterable[np.ndarray], per_frame: int) -> np.ndarray:
    """``frame_peaks`` of a stream of (n_tracks, m) blocks, memory flat in the stream's length."""
    parts: list[np.ndarray] = []
    carry: np.ndarray | None = None
    for block in blocks:
        block = np.atleast_2d(np.asarray(block, np.float32))
        if carry is not None and carry.shape[1]:
            block = np.concatenate([carry, block], axis=1)
        usable = block.shape[1] - block.shape[1] % per_frame
        if usable:
            parts.append(frame_peaks(block[:, :usable], per_frame))
        carry = block[:, usable:].copy()
    if carry is not None and carry.shape[1]:
        parts.append(frame_peaks(carry, per_frame))
    if not parts:
        return np.zeros((0, 2, 0), np.int16)
    return np.concatenate(parts, axis=2)


def compute_peaks(recording, infos=None, clock=None) -> np.ndarray:
    """Frame peaks of every track of ``recording``, streamed through the ingest readers; ``clock``
    (``ingest.clock.ClockFix``) puts the tracks after A on A's clock first, as their activity is."""
    from ..ingest.tracks import iter_track_blocks, source_infos

    infos = infos if infos is not None else source_infos(recording)
    rate = peak_rate(max(i.sample_rate for i in infos.values()))
    per_frame = int(round(rate * HOP_S))
    return stream_peaks(iter_track_blocks(recording, rate, infos=infos, clock=clock), per_frame)


# ---------------------------------------------------------------------------------------------
# windows
# ---------------------------------------------------------------------------------------------


def pixel_edges(start_s: float, end_s: float, width: int) -> np.ndarray:
    """``width + 1`` times: pixel ``i`` covers ``[edges[i], edges[i + 1])``."""
    return start_s + (end_s - start_s) * np.arange(width + 1, dtype=np.float64) / width


def reduce_indexed(mins: np.ndarray, maxs: np.ndarray, idx: np.ndarray, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket ``[idx[i], idx[i+1])`` (the last to ``stop``) the min of ``mins`` and max of ``maxs``
    along the last axis; an empty bucket takes the value at its index (``np.ufunc.reduceat`` rule)."""
    n = mins.shape[-1]
    if n == 0:
        shape = mins.shape[:-1] + (len(idx),)
        return np.zeros(shape, mins.dtype), np.zeros(shape, maxs.dtype)
    stop = int(min(max(stop, 1), n))
    idx = np.clip(idx, 0, stop - 1)
    return (np.minimum.reduceat(mins[..., :stop], idx, axis=-1),
            np.maximum.reduceat(maxs[..., :stop], idx, axis=-1))


def window_from_samples(samples: np.ndarray, rate: int, start_s: float, end_s: float, width: int,
                        first_sample_s: float) -> tuple[np.ndarray, np.ndarray]:
    """float32 (n_tracks, width) min and max per pixel from decoded audio that starts at ``first_sample_s``."""
    x = np.atleast_2d(samples)
    idx = np.floor((pixel_edges(start_s, end_s, width) - first_sample_s) * rate + 1e-9).astype(np.int64)
    lo, hi = reduce_indexed(x, x, idx[:-1], int(idx[-1]))
    past = idx[:-1] >= x.shape[1]
    lo = lo.astype(np.float32)
    hi = hi.astype(np.float32)
    lo[:, past] = 0.0
    hi[:, past] = 0.0
    return lo, hi


# ---------------------------------------------------------------------------------------------
# cache: a pyramid of peak levels on disk, read with pread (nothing stays mapped in memory)
# ---------------------------------------------------------------------------------------------

#: Each level merges this many entries of the level below: 10 ms, 80 ms, 640 ms, 5.12 s.
LEVEL_FACTOR = 8
N_LEVELS = 4


def pyramid(frames: np.ndarray, levels: int = N_LEVELS, factor: int = LEVEL_FACTOR) -> list[np.ndarray]:
    """Frame peaks (n_tracks, 2, n) -> levels, each time-major (m, n_tracks, 2) so that a time range is
    one contiguous run of bytes; level k holds the min/max of ``factor**k`` frames per entry."""
    out = [np.ascontiguousarray(frames.transpose(2, 0, 1))]
    cur = frames
    for _ in range(1, levels):
        n = cur.shape[-1]
        m = -(-n // factor)
        if n == 0:
            break
        pad = m * factor - n
        lo = np.concatenate([cur[:, 0, :], np.repeat(cur[:, 0, -1:], pad, axis=1)], axis=1) if pad else cur[:, 0, :]
        hi = np.concatenate([cur[:, 1, :], np.repeat(cur[:, 1, -1:], pad, axis=1)], axis=1) if pad else cur[:, 1, :]
        cur = np.stack([lo.reshape(lo.shape[0], m, factor).min(axis=2), hi.reshape(hi.shape[0], m, factor).max(axis=2)],
                       axis=1)
        out.append(np.ascontiguousarray(cur.transpose(2, 0, 1)))
    return out


def default_cache_dir() -> Path:
    base = os.environ.get("TWOTRACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "twotrack")
    return Path(base) / "peaks"


def cache_key(source_key: str, recording_id: str, tracks: Iterable[tuple[str, int]], clock=None) -> str:
    """Content-addressed: the sources' hash key, the track layout, the re-timing (``ClockFix``) and the
    format version."""
    text = f"v{CACHE_VERSION}|{source_key}|{recording_id}|{list(tracks)}"
    if clock is not None:
        text += f"|clock {clock.offset_ms!r} {clock.drift_ppm!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PeakFile:
    """The levels of one recording on disk: where each level's data starts and how long it is."""

    def __init__(self, paths: list[Path]):
        self.levels: list[tuple[Path, int, int]] = []  # (path, byte offset of the data, entries)
        self.n_tracks = 0
        for path in paths:
            arr = np.load(path, mmap_mode="r")  # header only: the mapping is dropped at once
            if arr.dtype != np.int16 or arr.ndim != 3 or arr.shape[2] != 2:
                raise ValueError(f"{path}: not a peak level")
            self.levels.append((path, int(arr.offset), int(arr.shape[0])))
            self.n_tracks = int(arr.shape[1])
            del arr
        top = self.read(len(self.levels) - 1, 0, self.levels[-1][2])
        #: Largest absolute value per track over the whole recording (0..1): each lane's scale.
        self.track_peak = (np.abs(top.astype(np.int32)).max(axis=(0, 2)) / SCALE) if top.size else \
            np.zeros(self.n_tracks)

    @property
    def n_frames(self) -> int:
        return self.levels[0][2]

    def read(self, level: int, first: int, stop: int) -> np.ndarray:
        """Entries [first, stop) of a level as int16 (stop - first, n_tracks, 2), by one pread."""
        path, offset, n = self.levels[level]
        first, stop = max(0, first), min(n, stop)
        count = max(0, stop - first)
        row = self.n_tracks * 2 * 2
        with open(path, "rb") as fh:
            buf = os.pread(fh.fileno(), count * row, offset + first * row)
        return np.frombuffer(buf, np.int16).reshape(-1, self.n_tracks, 2)


class PeakCache:
    """Peak pyramids per key, computed once (one thread per key computes, the others wait) and kept as
    .npy files in ``directory`` (a temporary folder when None). Requests read only the entries they draw,
    so the process holds no per-recording arrays: memory is flat in the size of the corpus."""

    def __init__(self, directory: str | os.PathLike | None = None, max_open: int = 1024):
        if directory is None:
            import tempfile

            directory = tempfile.mkdtemp(prefix="twotrack-peaks-")
        self.directory = Path(directory)
        self.max_open = max_open
        self._files: OrderedDict[str, PeakFile] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self.computed = 0  # pyramids this process computed (the rest came from disk)

    def _paths(self, key: str) -> list[Path]:
        return [self.directory / f"{key}.L{k}.npy" for k in range(N_LEVELS)]

    def get(self, key: str, compute: Callable[[], np.ndarray]) -> PeakFile:
        """The pyramid of ``key``; ``compute`` returns frame peaks (n_tracks, 2, n) when it is not on disk."""
        with self._lock:
            pf = self._files.get(key)
            if pf is not None:
                self._files.move_to_end(key)
                return pf
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                pf = self._files.get(key)
            if pf is not None:
                return pf
            paths = self._paths(key)
            pf = None
            if all(p.exists() for p in paths):
                try:
                    pf = PeakFile(paths)
                except (OSError, ValueError):
                    pf = None  # a damaged cache file is recomputed
            if pf is None:
                frames = np.asarray(compute(), dtype=np.int16)
                self.computed += 1
                self.directory.mkdir(parents=True, exist_ok=True)
                for path, level in zip(paths, pyramid(frames)):
                    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
                    np.save(tmp, level)
                    os.replace(tmp, path)
                pf = PeakFile(paths)
            with self._lock:
                self._files[key] = pf
                while len(self._files) > self.max_open:
                    self._files.popitem(last=False)
            return pf


def window(pf: PeakFile, tracks: Iterable[int], start_s: float, end_s: float,
           width: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 (len(tracks), width) min and max per pixel, from the coarsest level finer than a pixel.

    Each pixel takes every entry that overlaps it, so it holds the true min/max of its own time span,
    widened by at most one entry of the level used on either side (never narrowed)."""
    res = resolution(start_s, end_s, width)
    level = 0
    while level + 1 < len(pf.levels) and HOP_S * LEVEL_FACTOR ** (level + 1) <= res:
        level += 1
    hop = HOP_S * LEVEL_FACTOR ** level
    pos = pixel_edges(start_s, end_s, width) / hop
    edges = np.floor(pos + 1e-6).astype(np.int64)
    first = int(edges[0])
    block = pf.read(level, first, int(edges[-1]) + 1)  # (m, n_tracks, 2), clipped at the end
    tracks = list(tracks)
    mins = block[:, tracks, 0].T
    maxs = block[:, tracks, 1].T
    lo, hi = reduce_indexed(mins, maxs, edges[:-1] - first, int(edges[-1]) - first)
    # The entry that holds a pixel's right edge is partly inside the pixel: take it too.
    j = edges[1:] - first
    partial = (pos[1:] - edges[1:] > 1e-6) & (j < mins.shape[1]) & (j > edges[:-1] - first)
    if partial.any():
        lo[:, partial] = np.minimum(lo[:, partial], mins[:, j[partial]])
        hi[:, partial] = np.maximum(hi[:, partial], maxs[:, j[partial]])
    lo = lo.astype(np.float32) / SCALE
    hi = hi.astype(np.float32) / SCALE
    past = edges[:-1] >= pf.levels[level][2]  # pixels after the recording's end are silent
    lo[:, past] = 0.0
    hi[:, past] = 0.0
    return lo, hi


def resolution(start_s: float, end_s: float, width: int) -> float:
    return (end_s - start_s) / max(1, width)


def use_audio(start_s: float, end_s: float, width: int) -> bool:
    """Deep zoom: a pixel is finer than a frame and the window is short enough to decode."""
    return resolution(start_s, end_s, width) < HOP_S and (end_s - start_s) <= MAX_AUDIO_WINDOW_S


__all__ = [
    "PeakCache", "PeakFile", "cache_key", "compute_peaks", "default_cache_dir", "frame_peaks", "stream_peaks",
    "pyramid", "window", "window_from_samples", "pixel_edges", "use_audio", "HOP_S",
]
