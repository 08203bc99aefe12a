"""Rows of ``length`` samples every ``hop`` samples, as a view of the signal: no copy.

Spectrum frames, model windows, level lags and gathered stretches all read a signal as overlapping rows.
``frames`` makes that view once for all of them, with ``sliding_window_view(x, length, axis)[::hop]``'s
shape and strides (the same numbers then come out of every product over it), but built directly:
numpy's function checks and copies its arguments, which costs more than the view on the short blocks
of a stream.
"""

from __future__ import annotations

import numpy as np


def frame_count(n: int, length: int, hop: int) -> int:
    """Whole rows of ``length`` every ``hop`` in ``n`` samples (0 when ``n < length``)."""
    return 0 if n < length else (n - length) // hop + 1


def frames(x: np.ndarray, length: int, hop: int = 1, axis: int = -1, count: int | None = None) -> np.ndarray:
    """Read-only view of ``x`` whose ``axis`` holds row starts ``0, hop, 2 hop, ...`` and whose new last
    axis holds each row's ``length`` samples: shape ``x.shape`` with ``x.shape[axis]`` replaced by the
    number of whole rows (at most ``count``) and ``length`` appended. Fewer samples than ``length``: no rows.

    >>> frames(np.arange(7), 3, 2).tolist()
    [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    """
    x = np.asarray(x)
    if length < 1 or hop < 1:
        raise ValueError(f"frames need length >= 1 and hop >= 1, got length {length}, hop {hop}")
    axis = axis + x.ndim if axis < 0 else axis
    if not 0 <= axis < x.ndim:
        raise ValueError(f"axis out of range for an array of {x.ndim} dimensions")
    rows = frame_count(x.shape[axis], length, hop)
    if count is not None:
        rows = max(0, min(rows, int(count)))
    step = x.strides[axis]
    shape = x.shape[:axis] + (rows,) + x.shape[axis + 1:] + (length,)
    strides = x.strides[:axis] + (hop * step,) + x.strides[axis + 1:] + (step,)
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
