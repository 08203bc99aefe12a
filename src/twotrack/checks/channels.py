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
    (sx, sxx), (sy, syy) = track_sums(x[:n], hop), track_sums(y[:n], hop)
    return sx, sy, sxx, syy, cross_sums(x[:n], y[:n], hop)


def track_sums(x: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Per whole frame of one row: sum x, sum x^2 (float64; a last partial frame is left out)."""
    X = x[: (x.size // hop) * hop].reshape(-1, hop)
    return X.sum(1, dtype=np.float64), np.einsum("ij,ij->i", X, X, dtype=np.float64)


def cross_sums(x: np.ndarray, y: np.ndarray, hop: int) -> np.ndarray:
    """Per whole frame of two rows: sum xy (float64)."""
    n = (min(x.size, y.size) // hop) * hop
    return np.einsum("ij,ij->i", x[:n].reshape(-1, hop), y[:n].reshape(-1, hop), dtype=np.float64)


@dataclass(frozen=True)
class RelationSums:
    """What the zero-lag tests need of two tracks, without their samples: sums over whole 10 ms frames,
    the frames whose own correlation reaches ``duplicate_correlation`` (*copyable*), and there the
    regression gains both ways. ``relation_sums`` of consecutive blocks ``merge`` into the whole's."""

    hop: int
    n_frames: int
    totals: tuple[float, float, float, float, float]  # sum x, sum y, sum x^2, sum y^2, sum xy
    copyable: np.ndarray  # bool (n_frames,)
    gain_ab: np.ndarray  # per copyable frame: B = g A
    gain_ba: np.ndarray  # per copyable frame: A = g B


def relation_sums(a: np.ndarray, b: np.ndarray, hop: int, threshold: float,
                  sums: tuple[np.ndarray, ...] | None = None) -> RelationSums:
    """``RelationSums`` of two rows (full frames only; a block's cut must fall on the frame grid).
    ``sums``: ``frame_sums(a, b, hop)`` when the caller has it."""
    sa, sb, saa, sbb, sab = frame_sums(a, b, hop) if sums is None else sums
    h = float(hop)
    fva = saa - sa**2 / h
    fvb = sbb - sb**2 / h
    fcov = sab - sa * sb / h
    ok = (fva > 1e-12 * h) & (fvb > 1e-12 * h)
    frho = np.zeros_like(fva)
    frho[ok] = fcov[ok] / np.sqrt(fva[ok] * fvb[ok])
    copyable = ok & (np.abs(frho) >= threshold)
    return RelationSums(hop, int(sa.size), (sa.sum(), sb.sum(), saa.sum(), sbb.sum(), sab.sum()), copyable,
                        fcov[copyable] / fva[copyable], fcov[copyable] / fvb[copyable])


def merge(parts: list[RelationSums]) -> RelationSums:
    """The sums of consecutive blocks joined into the sums of the whole."""
    if not parts:
        return RelationSums(1, 0, (0.0,) * 5, np.zeros(0, bool), np.zeros(0), np.zeros(0))
    totals = tuple(float(sum(p.totals[k] for p in parts)) for k in range(5))
    return RelationSums(parts[0].hop, sum(p.n_frames for p in parts), totals,
                        np.concatenate([p.copyable for p in parts]), np.concatenate([p.gain_ab for p in parts]),
                        np.concatenate([p.gain_ba for p in parts]))


def channel_relation(a: np.ndarray, b: np.ndarray, sample_rate: int, active_a: np.ndarray,
                     active_b: np.ndarray, cfg: ChecksConfig, pair: tuple[int, int] = (0, 1)) -> ChannelRelation:
    """How the second track (``b``) relates to the first (``a``) at zero lag (see the module docstring).
    ``pair`` names the two tracks in the result."""
    sums = relation_sums(a, b, hop_samples(sample_rate), cfg.duplicate_correlation)
    return relation_from_sums(sums, lambda: np.array_equal(a, b), lambda: np.array_equal(a, -b), active_a,
                              active_b, cfg, pair)


def relation_from_sums(sums: RelationSums, identical, inverted, active_a: np.ndarray, active_b: np.ndarray,
                       cfg: ChecksConfig, pair: tuple[int, int] = (0, 1)) -> ChannelRelation:
    """``channel_relation`` from ``RelationSums`` and two callables saying whether the tracks are sample
    for sample equal / opposite (asked only for copies)."""
    sa, sb, saa, sbb, sab = sums.totals
    n = sums.n_frames * sums.hop
    if n == 0:
        return ChannelRelation(pair=pair)
    va = saa - sa**2 / n
    vb = sbb - sb**2 / n
    cov = sab - sa * sb / n
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
    m = sums.n_frames
    act_a, act_b = active_a[:m], active_b[:m]
    copy = sums.copyable & (act_a | act_b)
    at = np.flatnonzero(sums.copyable)  # where the stored gains sit
    found: list[tuple[int, float, float]] = []  # (mixed track, share, gain dB)
    for mixed, other_active, mixed_active, gains in (
        (pair[1], act_a, act_b, sums.gain_ab),  # B = g A on copy frames
        (pair[0], act_b, act_a, sums.gain_ba),  # A = g B on copy frames
    ):
        if other_active.sum() == 0 or mixed_active.sum() == 0:
            continue
        share = float((copy & other_active).sum() / other_active.sum())
        own = float((mixed_active & ~other_active & ~copy).sum() / mixed_active.sum())
        if share >= cfg.mix_copy_share and own >= OWN_MATERIAL_SHARE:
            g = float(np.median(np.abs(gains[(copy & other_active)[at]])))
            found.append((mixed, share, 20.0 * math.log10(g) if g > 0 else -math.inf))
    if not found:
        return ChannelRelation(None, round(rho, 6), round(gain_db, 3) if math.isfinite(gain_db) else None,
                               pair=pair)
    mixed = found[0][0] if len(found) == 1 else None
    top = max(found, key=lambda f: f[1])
    return ChannelRelation("mix", round(rho, 6), round(top[2], 2), mixed, round(top[1], 4), pair)
