"""silero VAD v6's network over many windows at once, in numpy, with the wheel's own weights.

onnxruntime runs the model one step of K streams at a time: every call pushes K windows through the STFT
and four tiny convolutions (four frames of 65 or 129 bins, then two, then one), kernels too small to keep a
core busy (about 30 us a window at K = 32 on the 2-core machine of docs/activity.md). Only the LSTM at
the end is recurrent; everything before it reads one window and nothing else. So here the encoder of
*all* windows of a batch runs as a handful of large matrix products (each convolution is one product per
output frame over the concatenated input frames), and only the LSTM's recurrent product stays a loop over
steps: about 7 us a window in all at 8 kHz (4.4 the encoder, 2.6 the LSTM), same machine.

The arithmetic is the model's: ``tests/test_silero_net.py`` holds it to the onnxruntime session within
float32 rounding; ``silero.net`` checks that at load on any model file other than the pinned one
(``silero.agrees_with_onnxruntime``), and ``_check_layout`` the weights' shapes when they are read.
How the graph computes (read from silero_vad.onnx, both rates): the input (context + window samples) is
padded on the right by reflection (``CONTEXT`` samples), framed (kernel K, hop K/2: four frames), projected
on the STFT basis; magnitudes; four Conv1d + ReLU (kernel 3, padding 1, strides 1, 2, 2, 1); LSTM cell
(PyTorch gate order i, f, g, o; state[0] = h, state[1] = c); ReLU, Conv1d 128 -> 1, sigmoid.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .onnx_constants import read_constants

#: the weight tensors of one rate, by the name they carry after the branch's prefix
_NAMES = ("stft.forward_basis_buffer", *(f"encoder.{i}.reparam_conv.{p}" for i in range(4) for p in ("weight", "bias")),
          "decoder.rnn.weight_ih", "decoder.rnn.weight_hh", "decoder.rnn.bias_ih", "decoder.rnn.bias_hh",
          "decoder.decoder.2.weight", "decoder.decoder.2.bias")
#: STFT kernel (samples) -> sample rate
_RATE_OF_KERNEL = {128: 8000, 256: 16000}
#: windows per encoder product: bounds the temporaries (~10 MB at 16 kHz) and keeps them near the cache
ENCODE_BLOCK = 1024


class UnknownLayout(ValueError):
    """The model file does not hold the weights this forward pass knows how to run."""


def _taps(w: np.ndarray) -> np.ndarray:
    """Conv1d weight (out, in, 3) -> (3 * in, out): rows tap 0's input channels, then tap 1's, then tap 2's,
    so that a run of consecutive input frames (frame-major, channels inside) times it is the convolution."""
    return np.ascontiguousarray(w.transpose(2, 1, 0).reshape(-1, w.shape[0]), np.float32)


def _gate_columns(w: np.ndarray) -> np.ndarray:
    """LSTM gate columns (..., 4H) in PyTorch's order i, f, g, o -> i, f, o, g, with i, f and o halved: then
    one tanh over all four gives g's tanh and, after * 0.5 + 0.5, the other three's sigmoids
    (sigmoid(x) = (1 + tanh(x / 2)) / 2; halving is exact in floating point)."""
    i, f, g, o = np.split(np.asarray(w, np.float32), 4, axis=-1)
    return np.ascontiguousarray(np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, g], axis=-1), np.float32)


@dataclass(frozen=True)
class SileroNet:
    rate: int
    pad: int  # reflection padding on the right (= the context length)
    kernel: int  # STFT frame length; hop = kernel / 2
    bins: int
    basis: np.ndarray  # (kernel, 2 * bins)
    conv: tuple[tuple[np.ndarray, np.ndarray], ...]  # four (weights as _taps, bias)
    w_ih: np.ndarray  # (128, 512)
    w_hh_t: np.ndarray  # (512, 128): the recurrent weights, gate rows (the loop keeps hidden units on rows)
    bias: np.ndarray  # (512,) both LSTM biases
    w_out: np.ndarray  # (128,)
    b_out: float

    @classmethod
    def from_weights(cls, rate: int, window: int, context: int, w: dict[str, np.ndarray]) -> "SileroNet":
        _check_layout(window, context, w)
        basis = w["stft.forward_basis_buffer"][:, 0, :]
        return cls(
            rate=rate, pad=context, kernel=basis.shape[1], bins=basis.shape[0] // 2,
            basis=np.ascontiguousarray(basis.T, np.float32),
            conv=tuple((_taps(w[f"encoder.{i}.reparam_conv.weight"]), w[f"encoder.{i}.reparam_conv.bias"].astype(np.float32))
                       for i in range(4)),
            w_ih=_gate_columns(w["decoder.rnn.weight_ih"].T),
            w_hh_t=np.ascontiguousarray(_gate_columns(w["decoder.rnn.weight_hh"].T).T),
            bias=_gate_columns(w["decoder.rnn.bias_ih"] + w["decoder.rnn.bias_hh"]),
            w_out=w["decoder.decoder.2.weight"].reshape(-1).astype(np.float32),
            b_out=float(w["decoder.decoder.2.bias"].reshape(-1)[0]),
        )

    # ---- the window-independent part: samples -> the LSTM's input gates
    def _encode_block(self, x: np.ndarray) -> np.ndarray:
        n, k, f = len(x), self.kernel, self.bins
        padded = np.concatenate([x, x[:, -2 : -self.pad - 2 : -1]], axis=1)  # reflect, without the edge sample
        n_frames = (padded.shape[1] - k) // (k // 2) + 1
        frames = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)[:, :: k // 2][:, :n_frames]
        spec = np.ascontiguousarray(frames).reshape(n * n_frames, k) @ self.basis
        spec *= spec
        mag = np.sqrt(spec[:, :f] + spec[:, f:]).reshape(n, n_frames * f)  # frame-major, bins inside
        # encoder.0: stride 1, four frames out; frame l reads frames l-1..l+1 (zero padding at both ends)
        w0, b0 = self.conv[0]
        h = np.empty((n, 4, w0.shape[1]), np.float32)
        h[:, 0] = mag[:, : 2 * f] @ w0[f:]
        h[:, 1] = mag[:, : 3 * f] @ w0
        h[:, 2] = mag[:, f:] @ w0
        h[:, 3] = mag[:, 2 * f :] @ w0[: 2 * f]
        h += b0
        np.maximum(h, 0, out=h)
        c = h.shape[2]
        flat = h.reshape(n, 4 * c)
        # encoder.1: stride 2, frames 0 and 2 out (inputs -1..1 and 1..3)
        w1, b1 = self.conv[1]
        h1 = np.empty((n, 2, w1.shape[1]), np.float32)
        h1[:, 0] = flat[:, : 2 * c] @ w1[c:]
        h1[:, 1] = flat[:, c:] @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        # encoder.2: stride 2, frame 0 out (inputs -1..1); encoder.3: one frame, so only its middle tap
        w2, b2 = self.conv[2]
        h2 = h1.reshape(n, -1) @ w2[w1.shape[1] :] + b2
        np.maximum(h2, 0, out=h2)
        w3, b3 = self.conv[3]
        c3 = h2.shape[1]
        h3 = h2 @ w3[c3 : 2 * c3] + b3
        np.maximum(h3, 0, out=h3)
        gates = h3 @ self.w_ih
        gates += self.bias
        return gates

    def input_gates(self, x: np.ndarray) -> np.ndarray:
        """float32 (N, 512): the LSTM's input-side gate sums of N model inputs (N, context + window)."""
        x = np.asarray(x, np.float32)
        out = np.empty((len(x), self.w_ih.shape[1]), np.float32)
        for a in range(0, len(x), ENCODE_BLOCK):
            out[a : a + ENCODE_BLOCK] = self._encode_block(x[a : a + ENCODE_BLOCK])
        return out

    # ---- the recurrent part
    def run_steps(self, gates: np.ndarray, state: np.ndarray, resets: dict[int, np.ndarray] | None = None,
                  init_state: np.ndarray | None = None, first_step: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Speech probabilities of K streams over L steps, float32 (K, L), and the final state (2, K, 128).

        ``gates`` (L, K, 512) from ``input_gates``; ``state`` the starting state (2, K, 128); at step j (counted
        from ``first_step``: the steps of a longer run, a block at a time) the streams ``resets[j]`` have
        their state set to ``init_state[:, those]`` first."""
        n_steps, k, _ = gates.shape
        hid = self.w_hh_t.shape[1]
        # hidden units on rows, streams on columns: every gate block below is a contiguous run of rows
        gates_t = np.ascontiguousarray(np.asarray(gates, np.float32).transpose(0, 2, 1))  # (L, 4H, K)
        c = np.array(state[1].T, np.float32)  # (H, K)
        out_h = np.empty((n_steps + 1, hid, k), np.float32)  # [0]: the starting h; [j + 1]: h after step j
        out_h[0] = state[0].T
        g = np.empty((4 * hid, k), np.float32)
        tmp = np.empty((hid, k), np.float32)
        ifo, i, f, o, cand = g[: 3 * hid], g[:hid], g[hid : 2 * hid], g[2 * hid : 3 * hid], g[3 * hid :]
        for j in range(n_steps):  # sequential in time, parallel across the K streams
            h = out_h[j]
            at = resets.get(first_step + j) if resets else None
            if at is not None:
                h = h.copy()  # out_h[j] stays the previous step's output
                h[:, at] = init_state[0, at].T
                c[:, at] = init_state[1, at].T
            np.matmul(self.w_hh_t, h, out=g)
            g += gates_t[j]
            np.tanh(g, out=g)
            ifo *= 0.5
            ifo += 0.5
            c *= f
            np.multiply(i, cand, out=tmp)
            c += tmp
            np.tanh(c, out=tmp)
            np.multiply(o, tmp, out=out_h[j + 1])
        last = np.stack([out_h[n_steps].T, c.T])
        hs = out_h[1:]
        np.maximum(hs, 0, out=hs)
        probs = _sigmoid(np.matmul(self.w_out, hs) + self.b_out).T  # (K, L)
        return np.ascontiguousarray(probs, np.float32), np.ascontiguousarray(last, np.float32)


def _check_layout(window: int, context: int, w: dict[str, np.ndarray]) -> None:
    """The shapes ``_encode_block`` and ``run_steps`` are written for: an STFT of four frames per window
    (context + window + reflection of ``context``), four kernel-3 convolutions chained, an LSTM of hidden
    size H with 4H gates and a 1-channel output. Anything else (another silero release) is UnknownLayout."""
    basis = w["stft.forward_basis_buffer"]
    kernel = basis.shape[-1]
    n_frames = (window + 2 * context - kernel) // (kernel // 2) + 1
    problems = []
    if basis.ndim != 3 or basis.shape[1] != 1 or basis.shape[0] % 2 or n_frames != 4:
        problems.append(f"STFT basis {basis.shape} gives {n_frames} frames per window, not 4")
    channels = basis.shape[0] // 2
    for i in range(4):
        cw = w[f"encoder.{i}.reparam_conv.weight"]
        if cw.ndim != 3 or cw.shape[1:] != (channels, 3) or w[f"encoder.{i}.reparam_conv.bias"].shape != cw.shape[:1]:
            problems.append(f"encoder.{i} weight {cw.shape} after {channels} channels")
        channels = cw.shape[0]
    hid = w["decoder.rnn.weight_hh"].shape[-1]
    if (w["decoder.rnn.weight_ih"].shape != (4 * hid, channels) or w["decoder.rnn.weight_hh"].shape != (4 * hid, hid)
            or w["decoder.decoder.2.weight"].shape != (1, hid, 1)):
        problems.append(f"decoder shapes {w['decoder.rnn.weight_ih'].shape} / {w['decoder.decoder.2.weight'].shape}")
    if problems:
        raise UnknownLayout("; ".join(problems))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.negative(z)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def nets_from_file(path: str | Path, inputs: dict[int, tuple[int, int]]) -> dict[int, SileroNet]:
    """One ``SileroNet`` per sample rate of ``inputs`` (rate -> (window, context) samples) whose weights the
    file holds (a branch per rate in silero v5/v6), told apart by the STFT kernel (128 samples: 8 kHz,
    256: 16 kHz)."""
    constants = read_constants(path)
    groups: dict[str, dict[str, np.ndarray]] = {}
    for full, arr in constants.items():
        for short in _NAMES:
            if full.endswith(short):
                groups.setdefault(full[: -len(short)], {})[short] = arr
    nets = {}
    for prefix, w in groups.items():
        if len(w) != len(_NAMES):
            continue
        rate = _RATE_OF_KERNEL.get(int(w["stft.forward_basis_buffer"].shape[-1]))
        if rate is not None and rate in inputs:
            nets[rate] = SileroNet.from_weights(rate, *inputs[rate], w)
    if not nets:
        raise UnknownLayout(f"{path}: no silero v5/v6 weights found")
    return nets


@functools.lru_cache(maxsize=4)
def cached_nets(path: str, inputs: tuple[tuple[int, tuple[int, int]], ...]) -> dict[int, SileroNet]:
    return nets_from_file(path, dict(inputs))
