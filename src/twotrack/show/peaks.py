"""Waveform peaks, computed server-side so the browser never downloads the audio to draw it.

A recording's peaks are the min and max of every track in every 10 ms frame (the project's frame grid),
as int16, computed once by streaming the audio through ``twotrack.ingest`` and kept in a small file
(2 tracks x 2 values x 2 bytes x 100 frames per second = 2.9 MB per hour) in a cache folder outside
the workspace. A request for a window ``[start, end)`` drawn ``width`` pixels wide reduces those
frames to one (min, max) pair per pixel; when a pixel is finer than a frame (deep zoom), the pairs
come from the decoded audio of the window instead.
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
CACHE_VERSION = 1
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


def compute_peaks(recording, infos=None) -> np.ndarray:
    """Frame peaks of every track of ``recording``, streamed through the ingest readers."""
    from ..ingest.tracks import iter_track_blocks, source_infos

    infos = infos if infos is not None else source_infos(recording)
    rate = peak_rate(max(i.sample_rate for i in infos.values()))
    per_frame = int(round(rate * HOP_S))
    return stream_peaks(iter_track_blocks(recording, rate, infos=infos), per_frame)


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


def window_from_frames(peaks: np.ndarray, start_s: float, end_s: float, width: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 (n_tracks, width) min and max per pixel from frame peaks (n_tracks, 2, n_frames)."""
    edges = FRAMES.to_frames(pixel_edges(start_s, end_s, width))
    n = peaks.shape[-1]
    lo, hi = reduce_indexed(peaks[:, 0, :], peaks[:, 1, :], edges[:-1], int(edges[-1]))
    lo = lo.astype(np.float32) / SCALE
    hi = hi.astype(np.float32) / SCALE
    past = edges[:-1] >= n  # pixels after the recording's end are silent
    lo[:, past] = 0.0
    hi[:, past] = 0.0
    return lo, hi


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


def track_peaks(peaks: np.ndarray) -> np.ndarray:
    """Largest absolute value of each track over the whole recording (float, 0..1): the lane's scale."""
    if peaks.shape[-1] == 0:
        return np.zeros(peaks.shape[0])
    return np.maximum(np.abs(peaks[:, 0, :].astype(np.int32)).max(axis=1),
                      np.abs(peaks[:, 1, :].astype(np.int32)).max(axis=1)) / SCALE


# ---------------------------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    base = os.environ.get("TWOTRACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "twotrack")
    return Path(base) / "peaks"


def cache_key(source_key: str, recording_id: str, tracks: Iterable[tuple[str, int]]) -> str:
    """Content-addressed: the sources' hash key, the track layout and the format version."""
    text = f"v{CACHE_VERSION}|{source_key}|{recording_id}|{list(tracks)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PeakCache:
    """Frame peaks per key: computed once (one thread per key computes, the others wait), kept as .npy
    files in ``directory`` and memory-mapped; at most ``max_open`` arrays are held open. With
    ``directory=None`` arrays live in memory only (the same bound applies)."""

    def __init__(self, directory: str | os.PathLike | None = None, max_open: int = 64):
        self.directory = Path(directory) if directory is not None else None
        self.max_open = max_open
        self._open: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self.computed = 0  # how many arrays this process computed (the rest came from disk or memory)

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.npy" if self.directory is not None else None

    def _remember(self, key: str, arr: np.ndarray) -> np.ndarray:
        with self._lock:
            self._open[key] = arr
            self._open.move_to_end(key)
            while len(self._open) > self.max_open:
                self._open.popitem(last=False)
        return arr

    def get(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            arr = self._open.get(key)
            if arr is not None:
                self._open.move_to_end(key)
                return arr
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                arr = self._open.get(key)
            if arr is not None:
                return arr
            path = self._path(key)
            if path is not None and path.exists():
                try:
                    return self._remember(key, np.load(path, mmap_mode="r"))
                except (OSError, ValueError):
                    path.unlink(missing_ok=True)  # a damaged cache file is recomputed
            arr = np.ascontiguousarray(compute(), dtype=np.int16)
            self.computed += 1
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
                np.save(tmp, arr)
                os.replace(tmp, path)
                arr = np.load(path, mmap_mode="r")
            return self._remember(key, arr)


def resolution(start_s: float, end_s: float, width: int) -> float:
    return (end_s - start_s) / max(1, width)


def use_audio(start_s: float, end_s: float, width: int) -> bool:
    """Deep zoom: a pixel is finer than a frame and the window is short enough to decode."""
    return resolution(start_s, end_s, width) < HOP_S and (end_s - start_s) <= MAX_AUDIO_WINDOW_S


__all__ = [
    "PeakCache", "cache_key", "compute_peaks", "default_cache_dir", "frame_peaks", "stream_peaks",
    "window_from_frames", "window_from_samples", "track_peaks", "pixel_edges", "use_audio", "HOP_S",
]
