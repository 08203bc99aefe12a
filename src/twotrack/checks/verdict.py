"""The isolation verdict of one recording, with the numbers that decided it, first in ``reasons``.

In order (the first rule that applies decides):
1. one track, or a mono layout                                  -> mono
2. track B is a copy of A (identical, inverted, scaled)         -> mono (mono presented as two tracks)
3. one track is a mix of both speakers                          -> not-isolated
4. no track has speech                                          -> unknown
5. bleed at or above ``bleed_not_isolated_db``                  -> not-isolated; with two or more tracks
   that talk, only the paths between them count: the dead ones (unused channels of a multichannel file,
   a spare input or room mic that only picks up the talkers) are named and left out of this rule and
   the ones below
6. only one track has speech (the other is dead)                -> unknown (a one-sided recording)
7. neither direction could be measured (too little single talk) -> unknown
8. bleed at or above ``bleed_leaky_db``                         -> leaky
9. a direction with none detected but a noise floor at or above ``bleed_leaky_db`` (too noisy to
   tell isolated from leaky)                                     -> unknown
10. otherwise (weaker bleed, or none detected above the floor)  -> isolated
"""

from __future__ import annotations

from ..config import ChecksConfig
from ..model import Isolation, track_name
from .bleed import BleedEstimate, BleedPath
from .channels import ChannelRelation


def describe_path(p: BleedPath) -> str:
    if not p.measured:
        return f"bleed {p.direction}: {p.note}"
    if p.detected:
        return (f"bleed {p.direction} {p.level_db:.1f} dB at {p.lag_ms:+.2f} ms "
                f"(noise floor {p.noise_floor_db:.1f} dB, peak {p.peak_sigma:.0f} sigma, "
                f"{p.single_talker_s:.1f} s of single talk)")
    if p.noise_floor_db is None:
        return f"bleed {p.direction}: none detected ({p.note})" if p.note else f"bleed {p.direction}: none detected"
    return f"bleed {p.direction}: none detected above the noise floor {p.noise_floor_db:.1f} dB"


def isolation_verdict(
    n_tracks: int,
    mono_layout: bool,
    relation: ChannelRelation,
    bleed: BleedEstimate | None,
    dead: list[int],
    cfg: ChecksConfig,
) -> tuple[Isolation, list[str]]:
    """(verdict, reasons): the deciding reason first, then the other bleed numbers."""
    if n_tracks == 1 or mono_layout:
        return Isolation.MONO, ["one track holding every speaker: mono" if n_tracks == 1
                                else "layout is mono: every speaker on one track"]
    if relation.duplicate:
        return Isolation.MONO, [relation.describe()]
    paths = bleed.paths if bleed is not None else ()
    details = [describe_path(p) for p in paths]
    if relation.kind == "mix":
        return Isolation.NOT_ISOLATED, [relation.describe()] + details
    speaking = [i for i in range(n_tracks) if i not in dead]
    if not speaking:
        return Isolation.UNKNOWN, ["no track has speech: isolation cannot be judged"] + details
    names = ", ".join(track_name(i) for i in dead)
    if dead and len(speaking) >= 2:
        # a 6-channel export or a recorder with unused inputs: judge the speakers, not the empty inputs (a
        # spare input or room mic that picks up the talkers is not a leak between them)
        paths = tuple(p for p in paths if p.source in speaking and p.target in speaking)
        details = [f"track {names} has no speech of its own (an unused channel): isolation is judged between "
                   f"track {', '.join(track_name(i) for i in speaking)}"] + details
    strongest = max((p for p in paths if p.detected), key=lambda p: p.level_db, default=None)
    if strongest is not None and strongest.level_db >= cfg.bleed_not_isolated_db:
        return Isolation.NOT_ISOLATED, [
            f"bleed {strongest.direction} {strongest.level_db:.1f} dB >= not-isolated threshold "
            f"{cfg.bleed_not_isolated_db:g} dB"] + details
    if dead and len(speaking) < 2:
        return Isolation.UNKNOWN, [
            f"only one side talks: track {names} has no speech of its own; isolation cannot be judged"] + details
    if paths and not any(p.measured for p in paths):
        return Isolation.UNKNOWN, [
            "too little single-talker speech on either side to measure bleed: isolation cannot be judged"] + details
    if strongest is not None and strongest.level_db >= cfg.bleed_leaky_db:
        return Isolation.LEAKY, [
            f"bleed {strongest.direction} {strongest.level_db:.1f} dB >= leaky threshold {cfg.bleed_leaky_db:g} dB "
            f"(below not-isolated {cfg.bleed_not_isolated_db:g} dB)"] + details
    blind = [p for p in paths if p.measured and not p.detected and p.noise_floor_db is not None
             and p.noise_floor_db >= cfg.bleed_leaky_db]
    if blind:
        p = blind[0]
        return Isolation.UNKNOWN, [
            f"bleed {p.direction}: none detected, but the noise floor {p.noise_floor_db:.1f} dB is at or above "
            f"the leaky threshold {cfg.bleed_leaky_db:g} dB: cannot tell isolated from leaky"] + details
    if strongest is not None:
        first = (f"bleed {strongest.direction} {strongest.level_db:.1f} dB < leaky threshold "
                 f"{cfg.bleed_leaky_db:g} dB: isolated")
    else:
        floors = [p.noise_floor_db for p in paths if p.noise_floor_db is not None]
        first = ("no bleed detected in either direction" +
                 (f" (noise floor up to {max(floors):.1f} dB)" if floors else "") + ": isolated")
    return Isolation.ISOLATED, [first] + details
