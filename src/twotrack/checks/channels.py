"""Duplicated and mixed channels: is one track a copy of the other, or a mix of both speakers?

Both tests use the zero-lag correlation, which a copy made by software (a duplicated, inverted or
scaled channel, a mono file written as stereo, a digital mix) keeps exactly:

- *duplicate*: the whole-recording correlation is at least ``duplicate_correlation`` in magnitude;
  the kind (identical, inverted, scaled) comes from exact sample equality and the regression gain.
- *mix*: per 10 ms frame, frames where the correlation is that high are *copy frames*. Track M is a
  mix of both when at least ``mix_copy_share`` of the other track's active frames are copy frames
  (M repeats the other speaker) and M also has sound where the other track is silent (its own speaker).

A copy with a delay is not found here; the bleed estimate sees it as bleed near 0 dB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import ChecksConfig
from ..model import track_name
from .power import hop_samples

#: A copy within this of unity gain is not called "scaled".
UNITY_DB = 0.1
#: The mixed track must carry sound of its own on at least this share of its active frames.
OWN_MATERIAL_SHARE = 0.1


@dataclass(frozen=True)
class ChannelRelation:
    kind: str | None = None  # see CheckResult.channel_relation
    correlation: float | None = None  # whole-recording zero-lag correlation of B with A
    gain_db: float | None = None  # copy gain: B = g A (for a mix: the copied speaker's gain in it)
    mixed_track: int | None = None  # which track holds both speakers (None: both, or no mix)
    copy_share: float | None = None  # share of the copied track's active frames repeated in the mix
    pair: tuple[int, int] = (0, 1)  # the two tracks compared (first, second)

    @property
    def duplicate(self) -> bool:
        return self.kind is not None and self.kind != "mix"

    def describe(self) -> str:
        if self.kind is None:
            return ""
        if self.kind == "mix":
            if self.mixed_track is None:
                return (f"each track holds both speakers: {100 * (self.copy_share or 0):.0f}% of one track's speech "
                        f"frames are repeated in the other (zero-lag copies, gain {self.gain_db:+.1f} dB)")
            m = track_name(self.mixed_track)
            o = track_name(self.pair[1] if self.mixed_track == self.pair[0] else self.pair[0])
            return (f"track {m} is a mix of both speakers: {100 * (self.copy_share or 0):.0f}% of track {o}'s speech "
                    f"frames are repeated in it (zero-lag copies, gain {self.gain_db:+.1f} dB)")
        first, second = (track_name(i) for i in self.pair)
        words = {"identical": "an identical copy", "inverted": "a polarity-inverted copy",
                 "scaled-copy": "a scaled copy", "inverted-scaled-copy": "a scaled, inverted copy",
                 "near-copy": "a near-identical copy"}[self.kind]
        return (f"track {second} is {words} of {first} (correlation {self.correlation:+.4f}, gain {self.gain_db:+.2f} dB): "
                "mono presented as two tracks")


def frame_sums(x: np.ndarray, y: np.ndarray, hop: int) -> tuple[np.ndarray, ...]:
    """Per frame: sum x, sum y, sum x^2, sum y^2, sum xy (float64; full frames only)."""
    n = (min(x.size, y.size) // hop) * hop
    X = x[:n].reshape(-1, hop)
    Y = y[:n].reshape(-1, hop)
    return (X.sum(1, dtype=np.float64), Y.sum(1, dtype=np.float64),
            np.einsum("ij,ij->i", X, X, dtype=np.float64), np.einsum("ij,ij->i", Y, Y, dtype=np.float64),
            np.einsum("ij,ij->i", X, Y, dtype=np.float64))


def channel_relation(a: np.ndarray, b: np.ndarray, sample_rate: int, active_a: np.ndarray,
                     active_b: np.ndarray, cfg: ChecksConfig, pair: tuple[int, int] = (0, 1)) -> ChannelRelation:
    """How the second track (``b``) relates to the first (``a``) at zero lag (see the module docstring).
    ``pair`` names the two tracks in the result."""
    hop = hop_samples(sample_rate)
    return relation_from_sums(frame_sums(a, b, hop), hop, lambda: np.array_equal(a, b),
                              lambda: np.array_equal(a, -b), active_a, active_b, cfg, pair)


def relation_from_sums(sums: tuple[np.ndarray, ...], hop: int, identical, inverted, active_a: np.ndarray,
                       active_b: np.ndarray, cfg: ChecksConfig, pair: tuple[int, int] = (0, 1)) -> ChannelRelation:
    """``channel_relation`` from the per-frame sums of ``_frame_sums`` (``frame_sums`` of a stream) and two
    callables saying whether the tracks are sample for sample equal / opposite (asked only for copies)."""
    sa, sb, saa, sbb, sab = sums
    n = sa.size * hop
    if n == 0:
        return ChannelRelation(pair=pair)
    va = saa.sum() - sa.sum() ** 2 / n
    vb = sbb.sum() - sb.sum() ** 2 / n
    cov = sab.sum() - sa.sum() * sb.sum() / n
    if va <= 0 or vb <= 0:
        return ChannelRelation(pair=pair)
    rho = float(cov / math.sqrt(va * vb))
    gain = cov / va
    gain_db = 20.0 * math.log10(abs(gain)) if gain != 0 else -math.inf
    if abs(rho) >= cfg.duplicate_correlation:
        if identical():
            kind = "identical"
        elif inverted():
            kind = "inverted"
        elif abs(gain_db) < UNITY_DB:
            kind = "inverted" if rho < 0 else "near-copy"
        else:
            kind = "inverted-scaled-copy" if rho < 0 else "scaled-copy"
        return ChannelRelation(kind, round(rho, 6), round(gain_db, 3), pair=pair)
    # per-frame zero-lag correlation: copy frames
    h = float(hop)
    fva = saa - sa**2 / h
    fvb = sbb - sb**2 / h
    fcov = sab - sa * sb / h
    ok = (fva > 1e-12 * h) & (fvb > 1e-12 * h)
    frho = np.zeros_like(fva)
    frho[ok] = fcov[ok] / np.sqrt(fva[ok] * fvb[ok])
    m = sa.size
    act_a, act_b = active_a[:m], active_b[:m]
    copy = ok & (np.abs(frho) >= cfg.duplicate_correlation) & (act_a | act_b)
    found: list[tuple[int, float, float]] = []  # (mixed track, share, gain dB)
    for mixed, other_active, mixed_active, gains in (
        (pair[1], act_a, act_b, fcov / np.where(fva > 0, fva, np.inf)),  # B = g A on copy frames
        (pair[0], act_b, act_a, fcov / np.where(fvb > 0, fvb, np.inf)),  # A = g B on copy frames
    ):
        if other_active.sum() == 0 or mixed_active.sum() == 0:
            continue
        share = float((copy & other_active).sum() / other_active.sum())
        own = float((mixed_active & ~other_active & ~copy).sum() / mixed_active.sum())
        if share >= cfg.mix_copy_share and own >= OWN_MATERIAL_SHARE:
            g = float(np.median(np.abs(gains[copy & other_active])))
            found.append((mixed, share, 20.0 * math.log10(g) if g > 0 else -math.inf))
    if not found:
        return ChannelRelation(None, round(rho, 6), round(gain_db, 3) if math.isfinite(gain_db) else None,
                               pair=pair)
    mixed = found[0][0] if len(found) == 1 else None
    top = max(found, key=lambda f: f[1])
    return ChannelRelation("mix", round(rho, 6), round(top[2], 2), mixed, round(top[1], 4), pair)
