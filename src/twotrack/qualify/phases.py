"""Phase fitness: pre / mid / post-training x fit / partial / unfit, with the reasons.

The labels follow a training-phase x data-type matrix:

| data type            | pre     | mid     | post                                   |
|----------------------|---------|---------|----------------------------------------|
| mono (web audio)     | fit     | partial | unfit                                  |
| two-track dyadic     | unfit   | partial | fit when it qualifies                  |
| commercial two-track | unfit   | partial | fit when it qualifies (rights included)|
| synthetic dialogue   | unfit   | partial | partial (additive to a real seed only) |
| multiparty close-talk| unfit   | partial | unfit (not dyadic)                     |

Two-track data is unfit for pre-training *as a corpus* because it is too small to drive
self-supervised scale; a corpus with at least ``pretraining_min_hours`` of it becomes partial.
The data type is what the manifest declares, confirmed by measurement: a "two-track" recording
whose checks say mono is mono.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..config import QualifyConfig
from ..model import Isolation, Layout, Record, SourceType
from .inputs import RecordingInputs

FIT, PARTIAL, UNFIT = "fit", "partial", "unfit"
PHASES = ("pre", "mid", "post")
MONO, TWO_TRACK, COMMERCIAL, SYNTHETIC, MULTIPARTY = (
    "mono", "two-track", "commercial-two-track", "synthetic", "multiparty")
REAL_DYADIC = (TWO_TRACK, COMMERCIAL)
#: Requirements whose failure makes a two-track recording unusable for post-training (capture,
#: structure, rights); failing only the others (distribution, coverage, diversity) leaves it partial.
HARD_REQUIREMENTS = (1, 2, 6, 7)

_MATRIX: dict[str, dict[str, tuple[str, str]]] = {
    MONO: {
        "pre": (FIT, "mono audio feeds self-supervised pre-training at scale"),
        "mid": (PARTIAL, "dialogue-shaped input only after diarization; turns and overlaps are mixed in one channel"),
        "post": (UNFIT, "one channel: turn-taking cannot be learned from a mix"),
    },
    TWO_TRACK: {
        "pre": (UNFIT, "two-track dyadic data is too small to drive self-supervised pre-training"),
        "mid": (PARTIAL, "dialogue-shaped, but scarce beside the web audio that drives mid-training"),
        "post": (FIT, "real two-track dyadic conversation"),
    },
    COMMERCIAL: {
        "pre": (UNFIT, "two-track dyadic data is too small to drive self-supervised pre-training"),
        "mid": (PARTIAL, "dialogue-shaped, but scarce beside the web audio that drives mid-training"),
        "post": (FIT, "real two-track dyadic conversation under a commercial contract"),
    },
    SYNTHETIC: {
        "pre": (UNFIT, "synthetic speech adds nothing to self-supervised pre-training"),
        "mid": (PARTIAL, "dialogue-shaped, synthetic timing"),
        "post": (PARTIAL, "additive only: beside a real two-track seed, never instead of it"),
    },
    MULTIPARTY: {
        "pre": (UNFIT, "close-talk meeting audio is too small to drive self-supervised pre-training"),
        "mid": (PARTIAL, "conversation-shaped, but multiparty"),
        "post": (UNFIT, "more than two speakers: not dyadic"),
    },
}


@dataclass(frozen=True)
class TypeFinding(Record):
    """The data type of a recording: declared by the manifest, confirmed (or corrected) by measurement."""

    declared: str
    measured: str | None  # None: not measured (no checks) or not judged (isolation unknown)
    data_type: str
    confirmed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseFit(Record):
    pre: str
    mid: str
    post: str
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def labels(self) -> dict[str, str]:
        return {"pre": self.pre, "mid": self.mid, "post": self.post}


def measured_type(rec: RecordingInputs) -> TypeFinding:
    declared = rec.source_type.value if isinstance(rec.source_type, SourceType) else str(rec.source_type)
    reasons: list[str] = []
    single = rec.n_tracks < 2 or rec.layout is Layout.MONO
    measured: str | None
    if rec.checks is None:
        measured = MONO if single else None
        if measured is None:
            reasons.append("no checks measured: the declared type is unconfirmed")
    else:
        iso = rec.checks.isolation
        if single or iso is Isolation.MONO:
            measured = MONO
        elif iso is Isolation.NOT_ISOLATED:
            measured = MONO
            reasons.append("channels are not isolated (bleed or duplicate): effectively one mix")
        elif rec.n_tracks > 2 or len(set(rec.known_speakers)) > 2:
            measured = MULTIPARTY
        elif iso is Isolation.UNKNOWN:
            measured = None
            reasons.append("isolation could not be judged: the declared type is unconfirmed")
        else:
            measured = TWO_TRACK
    if measured in (MONO, MULTIPARTY):
        data_type = measured
        if declared != measured:
            reasons.append(f"manifest says {declared}, measurement says {measured}")
    elif measured == TWO_TRACK:
        # synthetic and commercial are origins the audio cannot show; the manifest decides between them
        # a pair of headsets kept from a meeting (declared multiparty) is still not a dyadic conversation
        data_type = declared if declared in (TWO_TRACK, COMMERCIAL, SYNTHETIC, MULTIPARTY) else TWO_TRACK
        if declared == MONO:
            reasons.append("manifest says mono, measurement finds two isolated tracks")
    else:
        data_type = declared
    return TypeFinding(declared=declared, measured=measured, data_type=data_type,
                       confirmed=measured is not None, reasons=tuple(reasons))


def type_phase_fit(data_type: str) -> PhaseFit:
    """The matrix row of a data type, before any requirement is considered."""
    row = _MATRIX.get(data_type)
    if row is None:
        return PhaseFit(UNFIT, UNFIT, UNFIT, {p: (f"unknown data type {data_type!r}",) for p in PHASES})
    return PhaseFit(row["pre"][0], row["mid"][0], row["post"][0], {p: (row[p][1],) for p in PHASES})


def recording_phase_fit(finding: TypeFinding, failed: Iterable[int], names: Mapping[int, str]) -> PhaseFit:
    """Labels of one recording; ``failed`` are the requirements it does not pass (corpus-only ones included)."""
    base = type_phase_fit(finding.data_type)
    reasons = {p: list(base.reasons.get(p, ())) for p in PHASES}
    failed = sorted(set(failed))
    post = base.post
    if not finding.confirmed:
        reasons["post"].append("data type not confirmed by measurement")
        post = UNFIT if finding.data_type not in REAL_DYADIC else post
    if finding.data_type in REAL_DYADIC:
        hard = [r for r in failed if r in HARD_REQUIREMENTS]
        soft = [r for r in failed if r not in HARD_REQUIREMENTS]
        if hard:
            post = UNFIT
            reasons["post"].append("fails " + ", ".join(f"{r} ({names[r]})" for r in hard))
        elif soft:
            post = PARTIAL
            reasons["post"].append("usable in a mix but fails " + ", ".join(f"{r} ({names[r]})" for r in soft))
    elif finding.data_type == SYNTHETIC:
        blocked = [r for r in failed if r in (6, 7)]
        if blocked:
            post = UNFIT
            reasons["post"].append("fails " + ", ".join(f"{r} ({names[r]})" for r in blocked))
    return PhaseFit(base.pre, base.mid, post, {p: tuple(v) for p, v in reasons.items()})


def corpus_phase_fit(
    hours_by_type: Mapping[str, float],
    qualified_hours: float,
    corpus_passed: bool,
    cfg: QualifyConfig,
) -> PhaseFit:
    """Labels of the whole corpus from the hours of each data type and the post-training verdict."""
    total = sum(hours_by_type.values())
    mono = hours_by_type.get(MONO, 0.0)
    real = sum(hours_by_type.get(t, 0.0) for t in REAL_DYADIC)
    synth = hours_by_type.get(SYNTHETIC, 0.0)
    reasons: dict[str, list[str]] = {p: [] for p in PHASES}
    if total <= 0:
        return PhaseFit(UNFIT, UNFIT, UNFIT, {p: ("empty corpus",) for p in PHASES})
    mix = ", ".join(f"{t} {h:.2f} h" for t, h in sorted(hours_by_type.items()) if h > 0)
    # pre-training wants scale of any speech; two-track counts only once it is large
    if mono >= 0.5 * total:
        pre = FIT
        reasons["pre"].append(f"mostly mono audio ({mono:.2f} of {total:.2f} h)")
    elif real + mono >= cfg.pretraining_min_hours:
        pre = PARTIAL
        reasons["pre"].append(f"{real + mono:.0f} h reach pretraining_min_hours ({cfg.pretraining_min_hours:g} h)")
    else:
        pre = UNFIT
        reasons["pre"].append(
            # the rule counts mono and real two-track hours only (not synthetic or multiparty): say that number
            f"too small to drive self-supervised pre-training: {real + mono:.2f} h of mono and two-track audio "
            f"< {cfg.pretraining_min_hours:g} h")
    mid = PARTIAL
    reasons["mid"].append(f"dialogue-shaped input is one part of a mid-training mix ({mix})")
    if corpus_passed and qualified_hours > 0:
        post = FIT
        reasons["post"].append(f"passes all eight requirements ({qualified_hours:.2f} qualified h)")
    elif qualified_hours > 0:
        post = PARTIAL
        reasons["post"].append(f"fails the corpus verdict, but {qualified_hours:.2f} h qualify on their own")
    elif synth > 0 and real == 0:
        post = PARTIAL
        reasons["post"].append("synthetic dialogue only: usable as an addition to a real two-track seed")
    else:
        post = UNFIT
        reasons["post"].append("no recording qualifies for post-training")
    if synth > 0 and real + synth > 0:
        share = synth / (real + synth)
        if share > cfg.max_synthetic_post_share:
            if post == FIT:
                post = PARTIAL
            reasons["post"].append(
                f"synthetic share of the post-training mix {share:.0%} exceeds {cfg.max_synthetic_post_share:.0%}, "
                "the share published recipes put beside a real seed")
    return PhaseFit(pre, mid, post, {p: tuple(v) for p, v in reasons.items()})
