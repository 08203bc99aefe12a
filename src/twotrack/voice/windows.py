"""Windows of speech frames for the voice encoder, shared by the diarizer (``collapse``) and the activity
stage's own-voice option: where they start, and unit-length embeddings."""

from __future__ import annotations

import numpy as np

from ..framing import frames


def window_starts(n: int, length: int, step: int) -> np.ndarray:
    """Starts of windows of ``length`` frames every ``step`` over ``n`` frames; the last window ends at
    ``n`` (one shorter window when ``n < length``)."""
    if n <= length:
        return np.zeros(1, np.int64)
    starts = np.arange(0, n - length + 1, step, dtype=np.int64)
    if starts[-1] != n - length:
        starts = np.append(starts, n - length)
    return starts


def windows_at(x: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The encoder's input (k, length, d): frames ``[s, s + length)`` of ``x`` (n, d) for each ``s`` in
    ``starts``, copied. Gathered as (k, d, length) and transposed, the layout the encoder has always been
    given (a product's last bits can depend on it)."""
    return frames(x, length, axis=0)[starts].transpose(0, 2, 1)


def unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to unit length along its last axis (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
