"""Speaker embeddings: the GE2E voice encoder whose trained weights ship in the ``Resemblyzer`` wheel,
run in numpy (no torch).

The model, as its weights and the package's own ``hparams`` define it: 40-channel mel power
spectrogram (25 ms Hann window, 10 ms hop, 16 kHz, Slaney mel scale and area normalisation, *not*
log-compressed) -> 3-layer LSTM with 256 units -> the last layer's final hidden state -> linear
256 -> ReLU -> L2 normalisation. It was trained with the generalised end-to-end loss (Wan et al.,
ICASSP 2018) on 1.6 s partial utterances; the audio is first brought to at least -30 dBFS RMS.

Resemblyzer's own package imports torch, librosa and webrtcvad; none is needed to *run* the model,
so the wheel is installed without dependencies (``pip install --no-deps resemblyzer==0.1.4``) and
only its ``pretrained.pt`` is read, by ``torchfile`` (a restricted unpickler, no code runs). The
forward pass here reproduces the package's to float32 rounding (tests/test_collapse_encoder.py
checks it against embeddings the original package computed).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TwotrackError
from ..framing import frames
from ..packaged import required_file
from .torchfile import load_legacy_checkpoint

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms: one mel frame per frame of model.FRAMES
N_MELS = 40
PARTIAL_FRAMES = 160  # the 1.6 s partial utterances the model was trained on
NORM_TARGET_DBFS = -30.0
INSTALL_HINT = "pip install --no-deps resemblyzer==0.1.4 (only its weights file is used; torch is not needed)"


class EncoderNotFound(TwotrackError):
    """The Resemblyzer wheel (which carries the encoder's weights) is not installed."""


def weights_path() -> Path:
    """``resemblyzer/pretrained.pt``, located without importing the package (it imports torch)."""
    return required_file("resemblyzer", "pretrained.pt", EncoderNotFound,
                         "the speaker encoder's weights are not installed", INSTALL_HINT)


# --------------------------------------------------------------------------------------------
# Mel spectrogram
# --------------------------------------------------------------------------------------------


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    lin = f / (200.0 / 3.0)
    logstep = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    logstep = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * (200.0 / 3.0))


@functools.lru_cache(maxsize=2)
def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular filters (n_mels, n_fft // 2 + 1), edges evenly spaced in mel from 0 to Nyquist, each
    scaled to unit area (2 / bandwidth in Hz)."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_hz[None, :] - lo) / (mid - lo)
    falling = (hi - fft_hz[None, :]) / (hi - mid)
    tri = np.maximum(0.0, np.minimum(rising, falling))
    return (tri * (2.0 / (hi - lo))).astype(np.float32)


@functools.lru_cache(maxsize=1)
def hann_window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)).astype(np.float32)  # periodic Hann


def mel_spectrogram(wav: np.ndarray, chunk_frames: int = 6000) -> np.ndarray:
    """Mel power spectrogram float32 (n_frames, 40) of 16 kHz audio; frame ``i`` is centred on sample
    ``i * 160`` (the signal is zero-padded by half a window at both ends), so ``n_frames = 1 + n // 160``.
    Computed in chunks so memory stays small for long audio."""
    x = np.asarray(wav, np.float32).ravel()
    padded = np.concatenate([np.zeros(N_FFT // 2, np.float32), x, np.zeros(N_FFT // 2, np.float32)])
    n_frames = 1 + x.size // HOP
    out = np.empty((n_frames, N_MELS), np.float32)
    for a in range(0, n_frames, chunk_frames):
        b = min(n_frames, a + chunk_frames)
        seg = padded[a * HOP: (b - 1) * HOP + N_FFT]
        out[a:b] = mel_power(frames(seg, N_FFT, HOP, count=b - a))
    return out


def mel_power(rows: np.ndarray) -> np.ndarray:
    """float32 (..., 40): the mel power of frames ``rows`` (..., ``N_FFT``) of 16 kHz audio under the Hann window."""
    spec = np.fft.rfft(rows * hann_window(), axis=-1)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32) @ mel_filterbank().T


def normalise_volume(wav: np.ndarray, target_dbfs: float = NORM_TARGET_DBFS) -> np.ndarray:
    """Raise (never lower) the level so the RMS reaches ``target_dbfs`` (the model's training input)."""
    x = np.asarray(wav, np.float32)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    if rms <= 0.0:
        return x
    gain_db = target_dbfs - 20.0 * np.log10(rms)
    return x * np.float32(10.0 ** (gain_db / 20.0)) if gain_db > 0 else x


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(x / 2)) never overflows, unlike 1 / (1 + exp(-x)).
    return 0.5 + 0.5 * np.tanh(0.5 * x)


@dataclass(frozen=True, eq=False)
class VoiceEncoder:
    """The trained GE2E encoder. ``embed(mels)`` maps a batch (B, T, 40) to unit vectors (B, 256)."""

    w_ih: tuple[np.ndarray, ...]  # per layer, transposed: (in, 4 * hidden)
    w_hh: tuple[np.ndarray, ...]  # (hidden, 4 * hidden)
    bias: tuple[np.ndarray, ...]  # b_ih + b_hh, (4 * hidden,)
    w_out: np.ndarray  # (hidden, embedding)
    b_out: np.ndarray

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> VoiceEncoder:
        n_layers = sum(1 for k in state if k.startswith("lstm.weight_ih_l"))
        f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
        return cls(
            w_ih=tuple(f32(state[f"lstm.weight_ih_l{i}"].T) for i in range(n_layers)),
            w_hh=tuple(f32(state[f"lstm.weight_hh_l{i}"].T) for i in range(n_layers)),
            bias=tuple(f32(state[f"lstm.bias_ih_l{i}"] + state[f"lstm.bias_hh_l{i}"]) for i in range(n_layers)),
            w_out=f32(state["linear.weight"].T),
            b_out=f32(state["linear.bias"]),
        )

    @property
    def hidden(self) -> int:
        return self.w_hh[0].shape[0]

    def embed(self, mels: np.ndarray, batch: int = 64, threads: int = 1) -> np.ndarray:
        """Unit-norm embeddings float32 (B, 256) of mel windows (B, T, 40), ``batch`` windows at a time.

        BLAS runs on ``threads`` threads: the recurrence is many small matrix products, for which a
        multi-threaded BLAS on a busy machine spends its time waiting (benchmarks/bench_collapse.py
        measures both; up to 13x slower on a loaded two-core machine)."""
        from threadpoolctl import threadpool_limits

        mels = np.asarray(mels, np.float32)
        if mels.ndim != 3 or mels.shape[2] != self.w_ih[0].shape[0]:
            raise ValueError(f"mels must be (batch, frames, {self.w_ih[0].shape[0]}), got {mels.shape}")
        out = np.empty((mels.shape[0], self.w_out.shape[1]), np.float32)
        with threadpool_limits(limits=max(1, int(threads)), user_api="blas"):
            for a in range(0, mels.shape[0], batch):
                out[a:a + batch] = self._forward(mels[a:a + batch])
        return out

    def _forward(self, x: np.ndarray) -> np.ndarray:
        b, t, _ = x.shape
        h_size = self.hidden
        seq = x
        h = np.zeros((b, h_size), np.float32)
        for layer, (w_ih, w_hh, bias) in enumerate(zip(self.w_ih, self.w_hh, self.bias)):
            # The input projection of every time step at once; only the recurrence is sequential.
            proj = (seq.reshape(b * t, -1) @ w_ih).reshape(b, t, 4 * h_size) + bias
            h = np.zeros((b, h_size), np.float32)
            c = np.zeros((b, h_size), np.float32)
            last = layer == len(self.w_ih) - 1
            outs = None if last else np.empty((b, t, h_size), np.float32)
            for step in range(t):
                gates = proj[:, step] + h @ w_hh
                i = _sigmoid(gates[:, :h_size])
                f = _sigmoid(gates[:, h_size:2 * h_size])
                g = np.tanh(gates[:, 2 * h_size:3 * h_size])
                o = _sigmoid(gates[:, 3 * h_size:])
                c = f * c + i * g
                h = o * np.tanh(c)
                if outs is not None:
                    outs[:, step] = h
            if outs is not None:
                seq = outs
        raw = np.maximum(h @ self.w_out + self.b_out, 0.0)
        norm = np.linalg.norm(raw, axis=1, keepdims=True)
        return raw / np.maximum(norm, 1e-12)


@functools.lru_cache(maxsize=1)
def load_encoder() -> VoiceEncoder:
    """The pretrained encoder (read once per process from the installed wheel)."""
    checkpoint = load_legacy_checkpoint(weights_path())
    return VoiceEncoder.from_state(checkpoint["model_state"])
