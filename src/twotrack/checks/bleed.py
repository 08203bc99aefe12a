"""Crosstalk (bleed): how loud each track's speech is in the other track, and how late.

Measured per path (source -> target) on the frames where the source talks alone, as the peak of the
band-limited regression gain (``xcorr``): ``level_db = 20 log10 |g|`` relative to the source's own
speech in the 150-2800 Hz band, ``lag_ms`` > 0 when the copy in the target is late. A path is
*detected* when its peak stands ``bleed_detect_sigma`` null standard deviations above the gains of
misaligned pairings; that threshold, in dB, is the path's ``noise_floor_db``: the weakest bleed this
recording could show. Below it the answer is "none detected", which is not the same as "none".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import ChecksConfig
from ..model import Record, track_name
from .xcorr import PathSpectra, gain_curve, null_sigma, refine_peak


@dataclass(frozen=True)
class BleedPath(Record):
    """One direction: ``source``'s speech as heard in ``target``."""

    source: int
    target: int
    measured: bool = False  # enough single-talker speech to look at all
    detected: bool = False
    level_db: float | None = None
    lag_ms: float | None = None
    noise_floor_db: float | None = None  # weakest detectable bleed; None when the target is digital silence
    polarity: int | None = None  # +1, or -1 when the copy is inverted
    peak_sigma: float | None = None  # peak over the null standard deviation
    single_talker_s: float = 0.0  # seconds of the source talking alone
    note: str = ""

    @property
    def direction(self) -> str:
        return f"{track_name(self.source)}->{track_name(self.target)}"


@dataclass(frozen=True)
class BleedEstimate(Record):
    """The stronger detected direction (``detected`` False and levels None when neither is), plus
    both paths. ``noise_floor_db`` is the stronger path's floor, or, when nothing is detected, the
    higher of the two floors (no bleed above it in either direction)."""

    level_db: float | None
    lag_ms: float | None
    direction: str | None
    detected: bool
    noise_floor_db: float | None
    paths: tuple[BleedPath, ...] = ()

    def path(self, source: int, target: int) -> BleedPath | None:
        return next((p for p in self.paths if p.source == source and p.target == target), None)

    def level_into(self, target: int) -> float | None:
        """Detected bleed level (dB) of the other track's speech in ``target``; None when none."""
        found = [p.level_db for p in self.paths if p.target == target and p.detected]
        return max(found) if found else None


#: A target that is exact zeros on this share of the source's single-talker samples holds no bleed.
GATED_SHARE = 0.5


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def path_bleed(spec: PathSpectra, source: int, target: int, cfg: ChecksConfig) -> BleedPath:
    """Decide one path from its summed spectra."""
    base = dict(source=source, target=target, single_talker_s=round(spec.masked_s, 3))
    if spec.masked_s < cfg.bleed_min_single_s or spec.energy <= 0:
        return BleedPath(**base, note=f"{track_name(source)} talks alone for only {spec.masked_s:.1f} s "
                         f"(< {cfg.bleed_min_single_s:g} s): not measured")
    if spec.target_zero_share >= GATED_SHARE:  # bleed cannot hide in exact zeros
        return BleedPath(**base, measured=True, note=(
            f"{track_name(target)} is digital silence on {100 * spec.target_zero_share:.0f}% of the samples where "
            f"{track_name(source)} talks alone: none"))
    L = spec.max_lag
    g = gain_curve(spec.total, spec.energy, spec.nfft)[: 2 * L + 1]
    sigma = null_sigma(spec)
    j = int(np.argmax(np.abs(g)))
    if sigma == 0.0 or not np.isfinite(sigma):
        if np.abs(g[j]) == 0.0:
            return BleedPath(**base, measured=True, note=f"{track_name(target)} is digital silence while "
                             f"{track_name(source)} talks alone: none")
        return BleedPath(**base, measured=True, note="no null estimate (too few blocks)")
    x, gain = refine_peak(spec.total, spec.energy, spec.nfft, j)
    floor = cfg.bleed_detect_sigma * sigma
    peak_sigma = abs(g[j]) / sigma
    detected = abs(g[j]) > floor
    return BleedPath(
        **base, measured=True, detected=bool(detected),
        level_db=round(_db(abs(gain)), 2) if detected else None,
        lag_ms=round(float(x - L) / spec.fs * 1000.0, 3) if detected else None,
        noise_floor_db=round(_db(floor), 2),
        polarity=(1 if gain >= 0 else -1) if detected else None,
        peak_sigma=round(float(peak_sigma), 2),
    )


def combine(paths: tuple[BleedPath, ...]) -> BleedEstimate:
    """The stronger detected path decides; floors say how far down we could see."""
    detected = [p for p in paths if p.detected]
    if detected:
        top = max(detected, key=lambda p: p.level_db)
        return BleedEstimate(top.level_db, top.lag_ms, top.direction, True, top.noise_floor_db, paths)
    floors = [p.noise_floor_db for p in paths if p.noise_floor_db is not None]
    return BleedEstimate(None, None, None, False, max(floors) if floors else None, paths)
