"""silero VAD v6 (ONNX) run with onnxruntime: speech probability per 32 ms window.

How the model is fed (read from the model's own signature and from how silero's wrapper drives it):
inputs ``input`` float32 (batch, context + window), ``state`` float32 (2, batch, 128), ``sr`` int64 scalar;
outputs ``output`` (batch, 1) speech probability and the next ``state``. A window is 256 samples at
8 kHz or 512 at 16 kHz (32 ms either way) and is preceded by the last 32 / 64 samples of the previous
input (zeros before the first window). The state starts at zeros.

The model is recurrent per stream, so one stream is a sequential loop of tiny calls (``probs_single``,
the reference). ``probs_batched`` cuts a long track into chunks that run as independent streams of one
batch; each chunk is preceded by a short warm-up stretch of the audio before it, which brings its state
near the single stream's, and the warm-up outputs are dropped when stitching. ``BatchedStreams`` does the
same over a stream of blocks, holding at most one group of chunks in memory.

The weights ship inside the ``silero-vad`` wheel (MIT). That package imports torch, so it is located with
``importlib.util.find_spec`` (which reads the package's location without executing it) and never imported.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import TwotrackError

#: Samples per model window and context samples before it, per supported rate.
WINDOW = {8000: 256, 16000: 512}
CONTEXT = {8000: 32, 16000: 64}
WINDOW_S = 0.032
STATE_SIZE = 128
RATES = tuple(WINDOW)


class ModelNotFound(TwotrackError):
    """The silero VAD ONNX weights are not installed."""


def model_path() -> Path:
    """Where ``silero_vad/data/silero_vad.onnx`` is, found without importing ``silero_vad``."""
    hint = "install it without its torch dependency: pip install --no-deps silero-vad==6.2.3"
    try:
        spec = importlib.util.find_spec("silero_vad")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the silero-vad package is not installed; {hint}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "silero_vad.onnx"
        if path.is_file():
            return path
    raise ModelNotFound(f"silero_vad/data/silero_vad.onnx is missing from the silero-vad package; {hint}")


@functools.lru_cache(maxsize=4)
def session(threads: int = 1):
    """One onnxruntime session per process (one core per worker by default)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model_path()), opts, providers=["CPUExecutionProvider"])


def _check_rate(sample_rate: int) -> None:
    if sample_rate not in WINDOW:
        raise ValueError(f"silero runs at 8000 or 16000 Hz, not {sample_rate} (resample first)")


def n_windows(n_samples: int, sample_rate: int) -> int:
    """Windows that cover ``n_samples`` (the last one zero-padded)."""
    return -(-int(n_samples) // WINDOW[sample_rate])


def probs_single(audio: np.ndarray, sample_rate: int, threads: int = 1) -> np.ndarray:
    """Reference: one stream, one call per window, state carried along. float32 (n_windows,)."""
    _check_rate(sample_rate)
    win, ctx = WINDOW[sample_rate], CONTEXT[sample_rate]
    n = n_windows(len(audio), sample_rate)
    x = np.zeros(ctx + n * win, np.float32)
    x[ctx : ctx + len(audio)] = audio
    sess = session(threads)
    sr = np.array(sample_rate, np.int64)
    state = np.zeros((2, 1, STATE_SIZE), np.float32)
    out = np.empty(n, np.float32)
    for j in range(n):  # the model is recurrent: this loop is the baseline the batched form beats
        prob, state = sess.run(None, {"input": x[None, j * win : j * win + ctx + win], "state": state, "sr": sr})
        out[j] = prob[0, 0]
    return out


def run_streams(x: np.ndarray, sample_rate: int, reset_at: np.ndarray | None = None,
                reset_state: np.ndarray | None = None, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Run K independent streams as one batch.

    ``x`` float32 (K, context + L * window): each row is the context samples then L windows. The state
    of every stream starts at zeros; ``reset_at[k] >= 0`` replaces stream k's state by
    ``reset_state[:, k]`` just before window ``reset_at[k]`` (used to start the first chunk of a file at
    the true start-of-file state, or to continue the previous group's last stream exactly).
    Returns (probs float32 (K, L), final state (2, K, 128)).
    """
    _check_rate(sample_rate)
    win, ctx = WINDOW[sample_rate], CONTEXT[sample_rate]
    k, total = x.shape
    n = (total - ctx) // win
    sess = session(threads)
    sr = np.array(sample_rate, np.int64)
    state = np.zeros((2, k, STATE_SIZE), np.float32)
    probs = np.empty((k, n), np.float32)
    resets = {} if reset_at is None else {
        int(j): np.flatnonzero(reset_at == j) for j in np.unique(reset_at[reset_at >= 0])
    }
    for j in range(n):  # sequential in time, parallel across the K streams
        rows = resets.get(j)
        if rows is not None:
            state[:, rows] = reset_state[:, rows]
        prob, state = sess.run(None, {"input": x[:, j * win : j * win + ctx + win], "state": state, "sr": sr})
        probs[:, j] = prob[:, 0]
    return probs, state


def _chunk_plan(n_win: int, chunk_windows: int, warmup_windows: int) -> tuple[int, int]:
    """Number of streams and windows per stream for one track of ``n_win`` windows."""
    chunk_windows = max(1, min(chunk_windows, n_win))
    k = -(-n_win // chunk_windows)
    return k, chunk_windows + warmup_windows


def probs_batched(audio: np.ndarray, sample_rate: int, chunk_s: float = 4.0, warmup_s: float = 0.5,
                  threads: int = 1) -> np.ndarray:
    """The same probabilities as ``probs_single`` (up to the warm-up's approximation), computed as a
    batch of chunks. float32 (n_windows,)."""
    return probs_batched_tracks(np.asarray(audio, np.float32)[None], sample_rate, chunk_s, warmup_s, threads)[0]


def probs_batched_tracks(tracks: np.ndarray, sample_rate: int, chunk_s: float = 4.0, warmup_s: float = 0.5,
                         threads: int = 1) -> np.ndarray:
    """Batched probabilities of every track at once (all chunks of all tracks in one batch).
    ``tracks`` float32 (n_tracks, n); returns float32 (n_tracks, n_windows)."""
    _check_rate(sample_rate)
    tracks = np.asarray(tracks, np.float32)
    n_tracks, n = tracks.shape
    stream = BatchedStreams(n_tracks, sample_rate, chunk_s, warmup_s, group_chunks=1 << 30, threads=threads)
    parts = [stream.feed(tracks), stream.finish()]
    return np.concatenate([p for p in parts if p.shape[1]], axis=1) if n else np.zeros((n_tracks, 0), np.float32)


class BatchedStreams:
    """Batched silero over a stream of blocks (n_tracks, n) with memory bounded by one group.

    A group is ``group_chunks`` chunks per track. When a group's audio is complete its chunks (of every
    track) run as one batch: each chunk starts ``warmup_s`` early to warm its state, except the first
    chunk of the file, which starts from the true start-of-file state (zeros), and the first chunk of
    each later group, which continues the previous group's last stream exactly (state carried over).
    ``feed`` and ``finish`` return the probabilities of the windows completed so far, (n_tracks, m).
    """

    def __init__(self, n_tracks: int, sample_rate: int, chunk_s: float = 4.0, warmup_s: float = 0.5,
                 group_chunks: int = 64, threads: int = 1):
        _check_rate(sample_rate)
        self.n_tracks, self.sample_rate, self.threads = n_tracks, sample_rate, threads
        self.win, self.ctx = WINDOW[sample_rate], CONTEXT[sample_rate]
        self.chunk_w = max(1, int(round(chunk_s / WINDOW_S)))
        self.warm_w = max(0, int(round(warmup_s / WINDOW_S)))
        self.group_chunks = group_chunks
        # history: the samples before the pending audio that the next group's warm-up and context need
        self.history = np.zeros((n_tracks, self.ctx + self.warm_w * self.win), np.float32)
        self.pending: list[np.ndarray] = []
        self.n_pending = 0
        self.carry: np.ndarray | None = None  # (2, n_tracks, 128): state at the end of the last group
        self.started = False

    def feed(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, np.float32)
        if block.ndim != 2 or block.shape[0] != self.n_tracks:
            raise ValueError(f"expected a block of shape ({self.n_tracks}, n), got {block.shape}")
        if block.shape[1]:
            self.pending.append(block)
            self.n_pending += block.shape[1]
        group_samples = self.group_chunks * self.chunk_w * self.win
        outs = []
        while self.n_pending >= group_samples and group_samples > 0:
            audio = self._take(group_samples)
            outs.append(self._run_group(audio, final=False))
        return self._join(outs)

    def finish(self) -> np.ndarray:
        if not self.n_pending:
            return np.zeros((self.n_tracks, 0), np.float32)
        audio = self._take(self.n_pending)
        return self._run_group(audio, final=True)

    def _join(self, outs: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(outs, axis=1) if outs else np.zeros((self.n_tracks, 0), np.float32)

    def _take(self, n: int) -> np.ndarray:
        data = np.concatenate(self.pending, axis=1) if len(self.pending) > 1 else self.pending[0]
        taken, rest = data[:, :n], data[:, n:]
        self.pending = [rest] if rest.shape[1] else []
        self.n_pending = rest.shape[1]
        return taken

    def _run_group(self, audio: np.ndarray, final: bool) -> np.ndarray:
        win, ctx, cw, ww = self.win, self.ctx, self.chunk_w, self.warm_w
        n_tracks, n = audio.shape
        n_win = -(-n // win)
        k = -(-n_win // cw)  # chunks per track in this group
        head = self.history.shape[1]  # ctx + ww * win samples before the group
        padded = np.zeros((n_tracks, head + k * cw * win), np.float32)
        padded[:, :head] = self.history
        padded[:, head : head + n] = audio
        # stream c of a track reads [c*cw*win - ww*win - ctx, (c+1)*cw*win) relative to the group start
        span = ctx + (ww + cw) * win
        starts = np.arange(k) * cw * win  # offsets into `padded` (which begins ww*win + ctx early)
        idx = starts[:, None] + np.arange(span)[None, :]
        x = padded[:, idx].reshape(n_tracks * k, span)
        reset_at = np.full(n_tracks * k, -1, np.int64)
        reset_state = np.zeros((2, n_tracks * k, STATE_SIZE), np.float32)
        first = np.arange(n_tracks) * k  # the first chunk of each track in this group
        if not self.started:
            reset_at[first] = ww  # true file start: zero state and zero context at window 0
        elif self.carry is not None:
            reset_at[first] = ww
            reset_state[:, first] = self.carry
        probs, state = run_streams(x, self.sample_rate, reset_at, reset_state, self.threads)
        last = first + k - 1
        if final:
            out = probs[:, ww:].reshape(n_tracks, k * cw)[:, :n_win]
        else:
            out = probs[:, ww:].reshape(n_tracks, k * cw)
            self.carry = state[:, last].copy()
            self.history = padded[:, padded.shape[1] - head :].copy()
        self.started = True
        return out


def iter_probs(blocks: Iterable[np.ndarray], n_tracks: int, sample_rate: int, chunk_s: float = 4.0,
               warmup_s: float = 0.5, group_chunks: int = 64, threads: int = 1) -> Iterator[np.ndarray]:
    """Window probabilities (n_tracks, m) as groups complete, from blocks (n_tracks, n)."""
    stream = BatchedStreams(n_tracks, sample_rate, chunk_s, warmup_s, group_chunks, threads)
    for block in blocks:
        out = stream.feed(block)
        if out.shape[1]:
            yield out
    out = stream.finish()
    if out.shape[1]:
        yield out
