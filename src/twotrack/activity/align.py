"""Put every track on track A's clock before voice activity is detected.

Paired per-speaker files from separate devices start at different moments and their clocks drift.
When the checks measured that (``CheckResult.offset_ms``/``drift_ppm``, defined by
``t_B = offset + t_A * (1 + drift)``), the later tracks are resampled and shifted onto A's timeline, so
that activity, the crosstalk rule (which compares levels at small lags) and the turn-taking events all
see one clock. One file with one channel per track shares one clock, so nothing moves there.
"""

from __future__ import annotations

import numpy as np
import soxr

from ..model import CheckResult, Layout


def to_reference_clock(track: np.ndarray, sample_rate: int, offset_s: float, drift_ppm: float) -> np.ndarray:
    """One track re-timed onto the reference clock, same length as the input (zeros where it has no audio).

    Sample k of the track holds reference time ``(k / sr - offset) / (1 + drift)``: the track samples the
    reference timeline at ``sr * (1 + drift)`` Hz, starting at ``-offset / (1 + drift)``.
    """
    scale = 1.0 + drift_ppm * 1e-6
    retimed = soxr.resample(track, sample_rate * scale, sample_rate, quality="HQ") if drift_ppm else track
    shift = int(round(offset_s / scale * sample_rate))  # reference sample n is retimed sample n + shift
    out = np.zeros(len(track), dtype=track.dtype)
    src_start, dst_start = max(shift, 0), max(-shift, 0)
    n = max(0, min(len(retimed) - src_start, len(out) - dst_start))
    out[dst_start:dst_start + n] = retimed[src_start:src_start + n]
    return out


def align_tracks(samples: np.ndarray, sample_rate: int, layout: Layout, checks: CheckResult | None
                 ) -> tuple[np.ndarray, str | None]:
    """-> (tracks (n_tracks, n) on track A's clock, a note saying what moved, or None when nothing did)."""
    if layout is not Layout.PAIRED or checks is None or checks.offset_ms is None or samples.shape[0] < 2:
        return samples, None
    offset_s = checks.offset_ms / 1000.0
    drift_ppm = checks.drift_ppm or 0.0
    if abs(offset_s) * sample_rate < 0.5 and abs(drift_ppm) < 1.0:
        return samples, None  # under half a sample and 1 ppm: nothing worth moving
    aligned = samples.copy()
    for i in range(1, samples.shape[0]):  # a loop over tracks, not samples
        aligned[i] = to_reference_clock(samples[i], sample_rate, offset_s, drift_ppm)
    note = f"tracks after A re-timed onto A's clock: offset {checks.offset_ms:+.1f} ms, drift {drift_ppm:+.1f} ppm"
    return aligned, note
