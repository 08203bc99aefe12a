"""silero VAD v6 (ONNX) run with onnxruntime: speech probability per 32 ms window.

How the model is fed (read from the model's own signature and from how silero's wrapper drives it):
inputs ``input`` float32 (batch, context + window), ``state`` float32 (2, batch, 128), ``sr`` int64 scalar;
outputs ``output`` (batch, 1) speech probability and the next ``state``. A window is 256 samples at
8 kHz or 512 at 16 kHz (32 ms either way) and is preceded by the last 32 / 64 samples of the previous
input (zeros before the first window). The state starts at zeros.

The model is recurrent per stream, so one stream is a sequential loop of tiny calls (``probs_single``, the
reference, onnxruntime's session). Batches run the same weights through ``silero_net``'s numpy forward pass
(window-independent encoder over all steps at once, then the LSTM step by step), about 4x cheaper per window
than the session; a model file other than the wheel's runs in the session. ``PackedStreams`` cuts each track's
sequence of windows into chunks that run as independent streams of one batch; each chunk first runs over a
short warm-up stretch of the windows before it, whose outputs are dropped. The model's state has a long memory
(seconds), so a chunk's probabilities approach the single stream's but do not equal it; the benchmark measures
the agreement of the final labels. Fed incrementally, it holds at most one group of chunks in memory.

The weights ship inside the ``silero-vad`` wheel (MIT). That package imports torch, so it is located with
``importlib.util.find_spec`` (which reads the package's location without executing it) and never imported.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from ..errors import TwotrackError
from ..framing import frames
from ..packaged import required_file
from .onnx_constants import MalformedModel
from .silero_net import SileroNet, UnknownLayout, cached_nets

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
    return required_file("silero_vad", "data/silero_vad.onnx", ModelNotFound, "the silero-vad package is not installed",
                         "install it without its torch dependency: pip install --no-deps silero-vad==6.2.3")


def model_file(sample_rate: int | None, model_dir: str = "") -> Path:
    """The model file to load: the wheel's float32 model, or, when ``model_dir`` (``activity.silero_model_dir``)
    holds ``<rate>.onnx`` for this rate (e.g. an int8 variant made by ``benchmarks/silero_int8.py``), that
    file. The setting is part of the activity stage's config, so results made with another model are
    never reused."""
    if model_dir and sample_rate is not None and (Path(model_dir) / f"{sample_rate}.onnx").is_file():
        return Path(model_dir) / f"{sample_rate}.onnx"
    return model_path()  # no variant for this rate: the wheel's float32 model


def session(threads: int = 1, sample_rate: int | None = None, model_dir: str = ""):
    """One onnxruntime session per process and model file (one core per worker by default)."""
    return _session(threads, str(model_file(sample_rate, model_dir)))


@functools.lru_cache(maxsize=4)
def _session(threads: int, path: str):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def net(sample_rate: int, model_dir: str = "") -> SileroNet | None:
    """The wheel's model as a numpy forward pass over many windows at once (``silero_net``), or None where
    onnxruntime runs it: a variant model file (``model_dir``), or weights whose layout the forward pass
    does not know or whose output it does not reproduce (checked once per process, below)."""
    path = model_file(sample_rate, model_dir)
    if path != model_path():
        return None
    return _checked_net(str(path), sample_rate)


#: largest difference in speech probability to onnxruntime's that the numpy forward pass may show on the
#: check below (measured: ~2e-6 at 8 kHz, ~5e-6 at 16 kHz, float32 rounding)
NET_TOLERANCE = 1e-4
#: sha256 of the model file of silero-vad 6.2.3 (the Makefile's pin), on which tests/test_silero_net.py holds
#: the numpy forward pass to onnxruntime on real speech: that file skips the check at load (onnxruntime's
#: import and session would cost a scan worker ~0.1 s); any other file is checked
VERIFIED_MODEL_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"


@functools.lru_cache(maxsize=4)
def _checked_net(path: str, sample_rate: int) -> SileroNet | None:
    try:
        found = cached_nets(path, tuple((r, (WINDOW[r], CONTEXT[r])) for r in RATES)).get(sample_rate)
        verified = hashlib.sha256(Path(path).read_bytes()).hexdigest() == VERIFIED_MODEL_SHA256
    except (OSError, MalformedModel, UnknownLayout):
        return None
    if found is None or verified:
        return found
    return found if agrees_with_onnxruntime(found, path) else None


def agrees_with_onnxruntime(found: SileroNet, path: str) -> bool:
    """The numpy forward pass and onnxruntime give the same probabilities (within ``NET_TOLERANCE``) on the
    same 40 steps of 2 streams (a chirp and noise) of the model file at ``path``."""
    sample_rate = found.rate
    rng = np.random.default_rng(0)
    t = np.arange(40 * WINDOW[sample_rate] + CONTEXT[sample_rate]) / sample_rate
    tracks = np.stack([0.3 * np.sin(2 * np.pi * (150 + 400 * t) * t), 0.05 * rng.standard_normal(t.size)])
    x = np.stack([frames(tr.astype(np.float32), CONTEXT[sample_rate] + WINDOW[sample_rate], WINDOW[sample_rate])
                  for tr in tracks], axis=1)  # (steps, 2, width)
    sess, sr = _session(1, path), np.array(sample_rate, np.int64)
    state = np.zeros((2, 2, STATE_SIZE), np.float32)
    want = np.empty((2, len(x)), np.float32)
    for j in range(len(x)):
        p, state = sess.run(None, {"input": x[j], "state": state, "sr": sr})
        want[:, j] = p[:, 0]
    got, _ = found.run_steps(found.input_gates(x.reshape(-1, x.shape[2])).reshape(len(x), 2, -1),
                             np.zeros((2, 2, STATE_SIZE), np.float32))
    return float(np.abs(got - want).max()) <= NET_TOLERANCE


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
    sess = session(threads, sample_rate)
    sr = np.array(sample_rate, np.int64)
    state = np.zeros((2, 1, STATE_SIZE), np.float32)
    out = np.empty(n, np.float32)
    for j in range(n):  # the model is recurrent: this loop is the baseline the batched form beats
        prob, state = sess.run(None, {"input": x[None, j * win : j * win + ctx + win], "state": state, "sr": sr})
        out[j] = prob[0, 0]
    return out


def frame_windows(audio: np.ndarray, sample_rate: int, context: np.ndarray | None = None) -> np.ndarray:
    """Model inputs of consecutive windows: float32 (m, context + window), each row the window's
    preceding ``CONTEXT`` samples then its samples. ``audio`` holds whole windows; ``context`` is the
    samples before it (zeros at the start of a file). A read-only strided view (rows overlap by the
    context): the caller copies only the rows it keeps (the gate drops ~40 % of them)."""
    win, ctx = WINDOW[sample_rate], CONTEXT[sample_rate]
    a = np.asarray(audio, np.float32)
    m = a.size // win
    pre = np.zeros(ctx, np.float32) if context is None else np.asarray(context, np.float32)[-ctx:]
    # the context, then m windows: exactly m whole rows of context + window every window
    return frames(np.concatenate([pre, a[: m * win]]), ctx + win, win)


def run_windows(rows: list[np.ndarray], track_of: np.ndarray, index: np.ndarray, sample_rate: int,
                start_at: np.ndarray | None = None, init_state: np.ndarray | None = None, threads: int = 1,
                model_dir: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Run K streams as one batch, step by step.

    ``rows[t]`` float32 (N_t, context + window) holds model inputs of track t; stream k reads
    ``rows[track_of[k]][index[j, k]]`` at step j (a negative index reads silence). Streams of one track
    must be adjacent columns. Every stream starts from the zero state; where ``start_at[k] >= 0`` its
    state is set to ``init_state[:, k]`` just before step ``start_at[k]``.
    Returns (probs float32 (K, L), final state (2, K, 128)).
    """
    _check_rate(sample_rate)
    n_steps, k = index.shape
    width = CONTEXT[sample_rate] + WINDOW[sample_rate]
    state = np.zeros((2, k, STATE_SIZE), np.float32)
    spans = [(t, np.flatnonzero(track_of == t)) for t in range(len(rows))]
    spans = [(t, cols[0], cols[-1] + 1) for t, cols in spans if cols.size]
    resets = {}
    if start_at is not None:
        for j in np.unique(start_at[start_at >= 0]):
            resets[int(j)] = np.flatnonzero(start_at == j)
    forward = net(sample_rate, model_dir)
    if forward is not None:  # the same model: its window-independent part over a block of steps at once
        from threadpoolctl import threadpool_limits

        probs = np.empty((k, n_steps), np.float32)
        with threadpool_limits(limits=max(1, int(threads)), user_api="blas"):  # a core per worker, as the session
            for j in range(0, n_steps, NET_STEPS):
                block = _gather(rows, spans, index[j : j + NET_STEPS], width)
                gates = forward.input_gates(block.reshape(-1, width)).reshape(len(block), k, -1)
                probs[:, j : j + len(block)], state = forward.run_steps(gates, state, resets, init_state,
                                                                        first_step=j)
        return probs, state
    sess = session(threads, sample_rate, model_dir)
    sr = np.array(sample_rate, np.int64)
    probs = np.empty((k, n_steps), np.float32)
    inputs = _gather(rows, spans, index, width)
    for j in range(n_steps):  # sequential in time, parallel across the K streams
        x = inputs[j]
        at = resets.get(j)
        if at is not None:
            state[:, at] = init_state[:, at]
        prob, state = sess.run(None, {"input": x, "state": state, "sr": sr})
        probs[:, j] = prob[:, 0]
    return probs, state


#: steps of a batch the numpy forward pass takes at once (K streams each): its temporaries stay a few MB
NET_STEPS = 64


def _gather(rows: list[np.ndarray], spans: list[tuple[int, int, int]], index: np.ndarray, width: int) -> np.ndarray:
    """The model inputs of these steps, float32 (steps, K, width): one take per track, not per track and
    step; a negative index reads silence."""
    inputs = np.empty((*index.shape, width), np.float32)
    for t, a, b in spans:
        pos = index[:, a:b]
        np.take(rows[t], np.maximum(pos, 0), axis=0, out=inputs[:, a:b])
        inputs[:, a:b][pos < 0] = 0.0
    return inputs


class _Rows:
    """One track's model inputs: processed history rows first, then pending rows; grows in place."""

    def __init__(self, width: int):
        self.rows = np.empty((0, width), np.float32)
        self.index = np.empty(0, np.int64)
        self.n = 0  # rows in use
        self.history = 0  # of which the first ones are already processed (warm-up material)

    @property
    def pending(self) -> int:
        return self.n - self.history

    def append(self, rows: np.ndarray, index: np.ndarray) -> None:
        m = len(rows)
        if self.n + m > len(self.rows):
            # doubling; np.empty pages only become resident when written
            grown = np.empty((max(2 * len(self.rows), self.n + m, 256), self.rows.shape[1]), np.float32)
            grown_idx = np.empty(len(grown), np.int64)
            grown[: self.n] = self.rows[: self.n]
            grown_idx[: self.n] = self.index[: self.n]
            self.rows, self.index = grown, grown_idx
        self.rows[self.n : self.n + m] = rows
        self.index[self.n : self.n + m] = index
        self.n += m

    def consume(self, n_taken: int, keep: int) -> None:
        """``n_taken`` pending rows were processed; keep the last ``keep`` processed rows as history."""
        end = self.history + n_taken
        start = max(0, end - keep)
        rest = self.n - start
        self.rows[:rest] = self.rows[start : self.n].copy()
        self.index[:rest] = self.index[start : self.n].copy()
        self.n, self.history = rest, end - start


class PackedStreams:
    """Batched silero over the windows of several tracks, fed incrementally, memory bounded by a group.

    Each track is one sequence of windows (all of its windows, or only those an energy gate kept: the
    sequence then skips the gated silence, and the state runs on across the gap). ``feed`` appends
    windows (with their original window indices); ``run`` cuts every track's pending sequence into chunks
    and runs all chunks of all tracks as one batch. A chunk starts ``warmup_s`` early (on the windows
    before it) to warm its state, except the first chunk a track runs in a group, which continues the
    track's previous group exactly (state carried over), or starts from the zero state at the beginning.
    ``run(final=False)`` runs only whole chunks and keeps the rest pending; ``run(final=True)`` runs
    everything, shortening chunks (down to ``min_chunk_s``) so short inputs still fill a batch.
    """

    def __init__(self, n_tracks: int, sample_rate: int, chunk_s: float = 15.0, warmup_s: float = 1.0,
                 group_streams: int = 32, min_chunk_s: float = 4.0, threads: int = 1, model_dir: str = ""):
        _check_rate(sample_rate)
        self.n_tracks, self.sample_rate, self.threads, self.model_dir = n_tracks, sample_rate, threads, model_dir
        self.width = CONTEXT[sample_rate] + WINDOW[sample_rate]
        self.chunk_w = max(1, int(round(chunk_s / WINDOW_S)))
        self.min_chunk_w = max(1, min(self.chunk_w, int(round(min_chunk_s / WINDOW_S))))
        self.warm_w = max(0, int(round(warmup_s / WINDOW_S)))
        self.group_streams = max(1, group_streams)
        self.tracks = [_Rows(self.width) for _ in range(n_tracks)]
        self.carry: list[np.ndarray | None] = [None] * n_tracks
        self.windows_run = 0  # model steps x streams actually computed (for the benchmark)

    def feed(self, track: int, rows: np.ndarray, index: np.ndarray) -> None:
        if len(rows):
            self.tracks[track].append(np.asarray(rows, np.float32), np.asarray(index, np.int64))

    def n_pending(self, track: int | None = None) -> int:
        tracks = range(self.n_tracks) if track is None else [track]
        return sum(self.tracks[t].pending for t in tracks)

    def ready(self) -> bool:
        """True when a full group of whole chunks is pending."""
        return sum(self.n_pending(t) // self.chunk_w for t in range(self.n_tracks)) >= self.group_streams

    def run(self, final: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """(window indices, probabilities) per track for the windows run now."""
        cw = self.chunk_w
        if final:
            total = self.n_pending()
            cw = int(np.clip(-(-total // self.group_streams), self.min_chunk_w, self.chunk_w)) if total else cw
        ww = self.warm_w
        streams = []  # (track, position of the chunk's first row, real windows, first chunk of the track)
        taken = []
        for t, buf in enumerate(self.tracks):
            n_take = buf.pending if final else (buf.pending // cw) * cw
            taken.append(n_take)
            for c in range(-(-n_take // cw)):
                streams.append((t, buf.history + c * cw, min(cw, n_take - c * cw), c == 0))
        out = [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in range(self.n_tracks)]
        if not streams:
            return out
        k, n_steps = len(streams), ww + cw
        track_of = np.array([s[0] for s in streams], np.int64)
        index = np.full((n_steps, k), -1, np.int64)
        start_at = np.full(k, -1, np.int64)
        init = np.zeros((2, k, STATE_SIZE), np.float32)
        steps = np.arange(n_steps)
        for s, (t, first, n_real, is_first) in enumerate(streams):
            pos = first - ww + steps  # this stream's warm-up rows, then its chunk
            index[:, s] = np.where((pos >= 0) & (steps < ww + n_real), pos, -1)
            if is_first:
                start_at[s] = ww  # continue exactly: the carried state, or zeros at the file start
                if self.carry[t] is not None:
                    init[:, s] = self.carry[t]
        probs, state = run_windows([b.rows for b in self.tracks], track_of, index, self.sample_rate, start_at,
                                   init, self.threads, self.model_dir)
        self.windows_run += k * n_steps
        per_track: list[list[np.ndarray]] = [[] for _ in range(self.n_tracks)]
        for s, (t, first, n_real, is_first) in enumerate(streams):
            per_track[t].append(probs[s, ww : ww + n_real])
            if not final:
                self.carry[t] = state[:, s].copy()  # a track's streams are in order: the last one wins
        for t, buf in enumerate(self.tracks):
            if per_track[t]:
                out[t] = (buf.index[buf.history : buf.history + taken[t]].copy(), np.concatenate(per_track[t]))
            if taken[t]:
                buf.consume(taken[t], ww)
        return out


def probs_batched_tracks(tracks: np.ndarray, sample_rate: int, chunk_s: float = 15.0, warmup_s: float = 1.0,
                         group_streams: int = 32, threads: int = 1) -> np.ndarray:
    """Batched probabilities of every window of every track (no gating): float32 (n_tracks, n_windows).
    The same as ``probs_single`` per track, up to the warm-up's approximation at chunk starts."""
    _check_rate(sample_rate)
    tracks = np.atleast_2d(np.asarray(tracks, np.float32))
    n_tracks, n = tracks.shape
    n_win = n_windows(n, sample_rate)
    padded = np.zeros((n_tracks, n_win * WINDOW[sample_rate]), np.float32)
    padded[:, :n] = tracks
    streams = PackedStreams(n_tracks, sample_rate, chunk_s, warmup_s, group_streams, threads=threads)
    out = np.zeros((n_tracks, n_win), np.float32)
    for t in range(n_tracks):
        streams.feed(t, frame_windows(padded[t], sample_rate), np.arange(n_win))
    for t, (idx, p) in enumerate(streams.run(final=True)):
        out[t, idx] = p
    return out


def probs_batched(audio: np.ndarray, sample_rate: int, chunk_s: float = 15.0, warmup_s: float = 1.0,
                  threads: int = 1) -> np.ndarray:
    """``probs_batched_tracks`` of one track: float32 (n_windows,)."""
    return probs_batched_tracks(np.asarray(audio, np.float32)[None], sample_rate, chunk_s, warmup_s,
                                threads=threads)[0]
