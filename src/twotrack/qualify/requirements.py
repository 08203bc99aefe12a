"""The eight requirements for post-training data: operational definitions, evidence, verdicts.

Each requirement is a pure function of plain records (``inputs.py``) and ``QualifyConfig``; the
thresholds live in the config and the numbers behind each verdict go into ``evidence``.

Per recording a requirement passes (True), fails (False), or does not apply (None: it is judged
only at corpus level, like speaker diversity, or it cannot be measured because an earlier
requirement failed, like dyadic timing on a mono recording). Per corpus, a requirement passes
when at least ``min_pass_share`` of the hours it applies to pass it (default: all of them), plus
its corpus-level conditions. The corpus verdict is all-or-nothing: six of eight is a fail.
Qualified hours are the hours of recordings that pass all eight; a requirement that exists only
at corpus level (5) is passed by a recording only when the corpus passes it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import QualifyConfig
from ..model import Layout, Record, SourceType
from .inputs import CorpusInputs, RecordingInputs
from .phases import MONO, PhaseFit, TypeFinding, corpus_phase_fit, measured_type, recording_phase_fit
from .reference import Comparison, Reference, compare, corpus_sample, load_reference

NAMES = {
    1: "full-duplex capture at source",
    2: "spontaneous dyadic structure",
    3: "realistic overlap rate distribution",
    4: "multi-register coverage",
    5: "speaker diversity",
    6: "documented per-speaker consent for AI training",
    7: "commercial redistribution rights",
    8: "phase-fit labeling",
}
CORPUS_ONLY = (5,)


@dataclass(frozen=True)
class Check(Record):
    """One requirement on one recording."""

    passed: bool | None
    evidence: dict[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    headline: str = ""  # the number shown in the terminal matrix


@dataclass(frozen=True)
class RequirementResult(Record):
    id: int
    name: str
    passed: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordingReport(Record):
    recording_id: str
    hours: float
    data_type: TypeFinding
    checks: dict[int, Check]
    qualified: bool
    phase_fit: PhaseFit


@dataclass(frozen=True)
class QualifyReport(Record):
    corpus: str
    purpose: str
    corpus_passed: bool
    qualified_hours: float
    total_hours: float
    requirements: tuple[RequirementResult, ...]
    recordings: tuple[RecordingReport, ...]
    phase_fit: PhaseFit
    reference: str = ""
    comparisons: tuple[Comparison, ...] = ()
    hours_passing_recording_checks: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The stable JSON of ``twotrack qualify --json`` (keys documented in docs/qualify.md)."""
        return {
            "corpus": self.corpus,
            "purpose": self.purpose,
            "corpus_passed": self.corpus_passed,
            "qualified_hours": round(self.qualified_hours, 6),
            "total_hours": round(self.total_hours, 6),
            "hours_passing_recording_checks": round(self.hours_passing_recording_checks, 6),
            "requirements": [
                {"id": r.id, "name": r.name, "passed": r.passed, "evidence": _jsonable(r.evidence),
                 "reasons": list(r.reasons)}
                for r in self.requirements
            ],
            "recordings": [
                {
                    "recording_id": rec.recording_id,
                    "hours": round(rec.hours, 6),
                    "data_type": rec.data_type.data_type,
                    "qualified": rec.qualified,
                    "requirements": [
                        {"id": i, "passed": c.passed, "evidence": _jsonable(c.evidence), "reasons": list(c.reasons)}
                        for i, c in sorted(rec.checks.items())
                    ],
                    "phase_fit": rec.phase_fit.labels(),
                    "phase_reasons": {p: list(v) for p, v in rec.phase_fit.reasons.items()},
                }
                for rec in self.recordings
            ],
            "phase_fit": self.phase_fit.labels(),
            "phase_reasons": {p: list(v) for p, v in self.phase_fit.reasons.items()},
            "reference": {"name": self.reference, "statistics": [c.to_dict() for c in self.comparisons]},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return round(v, 6) if np.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


# ---------------------------------------------------------------------------------------------
# Per-recording definitions
# ---------------------------------------------------------------------------------------------


def full_duplex_capture(rec: RecordingInputs, finding: TypeFinding, cfg: QualifyConfig) -> Check:
    """1. Each speaker captured on a separate track at the source: the isolation verdict of the checks."""
    if rec.checks is None:
        return Check(False, {"isolation": None, "n_tracks": rec.n_tracks},
                     ("not checked: no isolation verdict in the workspace",), "unchecked")
    iso = rec.checks.isolation.value
    ev = {"isolation": iso, "n_tracks": rec.n_tracks, "bleed_db": _r(rec.checks.bleed_db, 1),
          "duplicate_channels": rec.checks.duplicate_channels}
    reasons = list(finding.reasons)
    ok = rec.n_tracks >= 2 and iso in cfg.accept_isolation
    if rec.n_tracks < 2:
        reasons.append("one track: the speakers were not captured separately")
    elif iso not in cfg.accept_isolation:
        reasons.append(f"isolation is {iso}; accepted: {', '.join(cfg.accept_isolation)}")
    clock = rec.clock.get("status") if rec.clock else None
    if clock:
        ev["clock"] = clock
    if clock == "unknown" and rec.layout is Layout.PAIRED:
        # separate tracks on clocks nobody knows are not one full-duplex capture: B's timing against A's is a guess
        ok = False
        reasons.append(f"paired files on an unknown clock: {rec.clock.get('reason', '')}")
    reasons.extend(rec.checks.reasons)
    bleed = f" {rec.checks.bleed_db:.0f}dB" if rec.checks.bleed_db is not None else ""
    head = f"{iso}{bleed}" + (" clock?" if clock == "unknown" and rec.layout is Layout.PAIRED else "")
    return Check(ok, ev, tuple(reasons), head)


def _flags(rec: RecordingInputs, cfg: QualifyConfig) -> list[str]:
    found = []
    flags = {f.lower() for f in cfg.scripted_flags}
    for key, value in rec.tags.items():
        k, v = str(key).lower(), str(value).lower()
        if k in flags and v not in ("", "0", "false", "no"):
            found.append(f"{key}={value}")
        elif v in flags:
            found.append(f"{key}={value}")
    if rec.source_type is SourceType.SYNTHETIC:
        found.append("source_type=synthetic")
    return found


def dyadic_structure(rec: RecordingInputs, capture_ok: bool, cfg: QualifyConfig) -> Check:
    """2. Exactly two speakers who both take the floor, transfers at a conversational rate, timing
    unlike scripted or text-to-speech dialogue (which has no overlapping transfers and near-constant
    gaps), and no manifest flag saying scripted or synthetic."""
    flags = _flags(rec, cfg)
    st = rec.stats
    if st is None:
        if not capture_ok:
            return Check(None, {"flags": flags}, ("not measurable without separate tracks (requirement 1)",), "-")
        return Check(False, {"flags": flags}, ("no turn-taking statistics measured",), "no stats")
    reasons = []
    speakers = rec.known_speakers
    n_speakers = len(set(speakers))
    if rec.n_tracks != cfg.speakers_per_recording:
        reasons.append(f"{rec.n_tracks} tracks, expected {cfg.speakers_per_recording}")
    if len(speakers) == rec.n_tracks and n_speakers != cfg.speakers_per_recording:
        reasons.append(f"{n_speakers} distinct speaker(s) on {rec.n_tracks} tracks")
    shares = st.floor_shares()
    min_share = min(shares) if shares else 0.0
    if min_share < cfg.min_floor_share:
        reasons.append(f"one speaker barely takes the floor: {min_share:.1%} of speech < {cfg.min_floor_share:.0%}")
    min_ipus = min(st.n_ipus) if st.n_ipus else 0
    if min_ipus < cfg.min_ipus_per_track:
        reasons.append(f"a track has {min_ipus} IPUs < {cfg.min_ipus_per_track}")
    minutes = rec.duration_s / 60.0
    tpm = st.n_transfers / minutes if minutes > 0 else 0.0
    if tpm < cfg.min_transfers_per_min:
        reasons.append(f"{tpm:.1f} floor transfers/min < {cfg.min_transfers_per_min:g}")
    f = st.fto_array
    ots = st.overlap_transfer_share
    iqr = float(np.subtract(*np.percentile(f, [75, 25]))) if f.size else None
    if f.size < cfg.min_transfers_for_timing:
        reasons.append(f"{f.size} floor transfers: too few to judge timing (< {cfg.min_transfers_for_timing})")
    else:
        if ots is not None and ots < cfg.min_overlap_transfer_share:
            reasons.append(f"overlapping transfers {ots:.1%} < {cfg.min_overlap_transfer_share:.0%}: "
                           "timing looks scripted or synthesized")
        if iqr is not None and iqr < cfg.min_fto_iqr_s:
            reasons.append(f"FTO spread (IQR) {iqr * 1000:.0f} ms < {cfg.min_fto_iqr_s * 1000:.0f} ms: "
                           "near-constant gaps look synthesized")
    if flags:
        reasons.append("manifest flags: " + ", ".join(flags))
    ev = {"n_speakers": n_speakers, "speakers_known": len(speakers), "floor_share_min": _r(min_share),
          "ipus_min": min_ipus, "transfers": st.n_transfers, "transfers_per_min": _r(tpm, 2),
          "overlap_transfer_share": _r(ots), "fto_iqr_s": _r(iqr), "flags": flags}
    if len(speakers) < rec.n_tracks:
        reasons_note = "speaker ids unknown on some tracks; two active tracks counted as two speakers"
        ev["note"] = reasons_note
    # the matrix cell: the transfer rate, unless a manifest flag is what fails the recording (a read or
    # synthetic recording at a good rate would otherwise show only a passing-looking number)
    return Check(not reasons, ev, tuple(reasons), flags[0] if flags else f"{tpm:.1f}/min")


def recording_overlap(rec: RecordingInputs, capture_ok: bool, cfg: QualifyConfig) -> Check:
    """3 (per recording). Overlap share of speech inside a wide per-recording band; the corpus
    distributions are judged against the reference in ``qualify_corpus``."""
    st = rec.stats
    if st is None:
        if not capture_ok:
            return Check(None, {}, ("not measurable without separate tracks (requirement 1)",), "-")
        return Check(False, {}, ("no turn-taking statistics measured",), "no stats")
    share = st.overlap_speech_share
    lo, hi = cfg.recording_overlap_speech_band
    f = st.fto_array
    ev = {"overlap_speech_share": _r(share), "overlap_transfer_share": _r(st.overlap_transfer_share),
          "fto_median_s": _r(float(np.median(f))) if f.size else None, "band": [lo, hi]}
    if share is None:
        return Check(False, ev, ("no speech measured",), "no speech")
    ok = lo <= share <= hi
    reasons = () if ok else (f"overlap {share:.1%} of speech outside {lo:.1%}-{hi:.0%}",)
    return Check(ok, ev, reasons, f"{share:.1%}")


def _first_tag(rec: RecordingInputs, keys: tuple[str, ...]) -> str | None:
    lower = {str(k).lower(): str(v) for k, v in rec.tags.items() if str(v).strip()}
    for k in keys:
        if k.lower() in lower:
            return lower[k.lower()]
    return None


def register_tags(rec: RecordingInputs, cfg: QualifyConfig) -> Check:
    """4 (per recording). The recording says what it is about (topic) and how it is spoken
    (register or emotion). Absent tags are a fail: coverage is not demonstrated."""
    topic = _first_tag(rec, cfg.topic_tag_keys)
    register = _first_tag(rec, cfg.register_tag_keys)
    reasons = []
    if topic is None:
        reasons.append(f"not demonstrated: no topic tag ({', '.join(cfg.topic_tag_keys)})")
    if register is None:
        reasons.append(f"not demonstrated: no register/emotion tag ({', '.join(cfg.register_tag_keys)})")
    head = "/".join(x for x in (topic, register) if x) or "no tags"
    return Check(not reasons, {"topic": topic, "register": register}, tuple(reasons), head[:18])


def consent_documented(rec: RecordingInputs, cfg: QualifyConfig) -> Check:
    """6. Every speaker of the recording has documented consent for the consent scope (ai-training)."""
    v = rec.consent
    ev = {"scope": cfg.consent_scope, "allowed": v.allowed, "speakers": list(rec.speakers)}
    if v.allowed is True:
        return Check(True, ev, v.reasons, "ok")
    if v.allowed is False:
        return Check(False, ev, v.reasons or (f"consent for {cfg.consent_scope} blocked",), "blocked")
    return Check(False, ev, v.reasons or (f"no documented consent for {cfg.consent_scope}",), "unknown")


def commercial_rights(rec: RecordingInputs, cfg: QualifyConfig) -> Check:
    """7. License and consent both allow the commercial purpose (use and redistribution)."""
    v = rec.rights
    ev = {"purpose": cfg.purpose, "allowed": v.allowed, "license": rec.license}
    if v.allowed is True:
        return Check(True, ev, v.reasons, "ok")
    if v.allowed is False:
        return Check(False, ev, v.reasons or (f"{cfg.purpose} blocked",), "blocked")
    return Check(False, ev, v.reasons or (f"no rights verdict for {cfg.purpose}",), "unknown")


def phase_labeling(finding: TypeFinding) -> Check:
    """8. The recording can carry phase labels: its data type is known and confirmed by measurement."""
    ev = {"declared": finding.declared, "measured": finding.measured, "data_type": finding.data_type}
    if finding.confirmed:
        return Check(True, ev, finding.reasons, "labelled")
    return Check(False, ev, finding.reasons or ("data type not confirmed by measurement",), "unconfirmed")


# ---------------------------------------------------------------------------------------------
# Corpus level
# ---------------------------------------------------------------------------------------------


def _aggregate(rid: int, results: list[tuple[RecordingInputs, Check]], cfg: QualifyConfig,
               extra_ok: bool = True, extra_ev: dict | None = None, extra_reasons: tuple = ()) -> RequirementResult:
    applies = [(r, c) for r, c in results if c.passed is not None]
    h_pass = sum(r.hours for r, c in applies if c.passed)
    h_all = sum(r.hours for r, _ in applies)
    failing = [r.recording_id for r, c in applies if not c.passed]
    share = h_pass / h_all if h_all > 0 else (1.0 if applies and not failing else 0.0)
    ev = {"recordings_passed": len(applies) - len(failing), "recordings_failed": len(failing),
          "recordings_not_applicable": len(results) - len(applies), "hours_passed": _r(h_pass),
          "hours_failed": _r(h_all - h_pass), "share_passed": _r(share), "min_pass_share": cfg.min_pass_share,
          "failed_recordings": failing[:20]}
    reasons = list(extra_reasons)
    ok = bool(applies) and share >= cfg.min_pass_share - 1e-12
    if not applies:
        reasons.insert(0, "not demonstrated: no recording could be evaluated")
    elif not ok:
        reasons.insert(0, f"{share:.1%} of hours pass < {cfg.min_pass_share:.0%} ({len(failing)} recording(s) fail)")
    if extra_ev:
        ev.update(extra_ev)
    return RequirementResult(rid, NAMES[rid], ok and extra_ok, ev, tuple(reasons))


def overlap_distribution(inputs: CorpusInputs, results, reference: Reference, cfg: QualifyConfig):
    """3 (corpus). Pooled overlap share of speech, share of overlapping transfers and the FTO
    distribution inside the config bands (and within Wasserstein distance of a measured reference)."""
    ids = {r.recording_id for r, c in results if c.passed is not None}
    sample = corpus_sample(inputs, ids)
    comps = compare(sample, reference, cfg)
    failed = [c for c in comps if c.passed is False]
    reasons = tuple(
        f"{c.statistic}: {c.note}" if "too few to judge" in c.note
        else f"{c.statistic}: not measured in the corpus (n = 0), so not inside band {c.band}" if c.corpus_value is None
        else f"{c.statistic}: corpus {round(c.corpus_value, 4)} outside band {c.band}"
        + (f" or Wasserstein {c.wasserstein:.3f} > {c.max_wasserstein}"
           if c.wasserstein is not None and c.max_wasserstein is not None else "")
        for c in failed)
    ev = {"reference": reference.name,
          "statistics": {c.statistic: {"corpus": _r(c.corpus_value), "reference": _r(c.reference_value),
                                       "band": list(c.band) if c.band else None, "passed": c.passed,
                                       "wasserstein": _r(c.wasserstein), "n": c.n} for c in comps}}
    return _aggregate(3, results, cfg, extra_ok=not failed, extra_ev=ev, extra_reasons=reasons), comps


def register_coverage(inputs: CorpusInputs, results, cfg: QualifyConfig) -> RequirementResult:
    """4 (corpus). Distinct topics and registers across the corpus, and no untagged hours beyond
    ``max_untagged_share``."""
    # a recording that failed to decode (0 h) covers nothing: its tags do not count
    topics = {c.evidence["topic"] for r, c in results if c.evidence.get("topic") and r.hours > 0}
    registers = {c.evidence["register"] for r, c in results if c.evidence.get("register") and r.hours > 0}
    total = sum(r.hours for r, _ in results)
    untagged = sum(r.hours for r, c in results if not c.passed)
    share = untagged / total if total > 0 else 1.0
    reasons = []
    if share > cfg.max_untagged_share + 1e-12:
        n = sum(1 for _, c in results if not c.passed)
        reasons.append(f"{n} recording(s), {share:.1%} of hours, lack topic or register tags "
                       f"(allowed {cfg.max_untagged_share:.0%})")
    if len(topics) < cfg.min_topics:
        reasons.append(f"{len(topics)} distinct topic(s) < {cfg.min_topics}")
    if len(registers) < cfg.min_registers:
        reasons.append(f"{len(registers)} distinct register/emotion value(s) < {cfg.min_registers}")
    ev = {"topics": sorted(topics), "registers": sorted(registers), "untagged_share": _r(share),
          "min_topics": cfg.min_topics, "min_registers": cfg.min_registers,
          "failed_recordings": [r.recording_id for r, c in results if not c.passed][:20]}
    return RequirementResult(4, NAMES[4], not reasons, ev, tuple(reasons))


def speaker_diversity(inputs: CorpusInputs, cfg: QualifyConfig) -> RequirementResult:
    """5 (corpus only). Unique speakers, the largest speaker's share of speaker-hours, and balance of
    speaker metadata (e.g. sex) where the metadata exists for at least half of the speakers."""
    hours: dict[str, float] = defaultdict(float)
    unknown_tracks = 0
    for rec in inputs.recordings:
        unknown_tracks += sum(1 for spk in rec.speakers if not spk)
        if rec.hours <= 0:  # failed to decode: its speakers are not heard in the corpus
            continue
        for spk in dict.fromkeys(rec.known_speakers):  # a speaker named on two tracks speaks in one recording
            hours[spk] += rec.hours
    total = sum(hours.values())
    reasons = []
    n = len(hours)
    if n < cfg.min_unique_speakers:
        reasons.append(f"{n} unique speaker(s) < {cfg.min_unique_speakers}")
    top_spk, top = max(hours.items(), key=lambda kv: kv[1]) if hours else (None, 0.0)
    # no speaker ids (or no hours): nobody's share can be measured; say so instead of "None has 100%"
    top_share = top / total if total > 0 else None
    if top_share is None:
        reasons.append("no speaker ids with hours: the largest speaker's share cannot be measured "
                       "(name speakers in the manifest)")
    elif top_share > cfg.max_speaker_hour_share + 1e-12:
        reasons.append(f"largest speaker {top_spk} has {top_share:.1%} of speaker-hours "
                       f"> {cfg.max_speaker_hour_share:.0%}")
    balance: dict[str, Any] = {}
    for key in cfg.balance_metadata_keys:
        values = {s: str(inputs.speakers.get(s, {}).get(key, "")).strip().lower() for s in hours}
        known = {s: v for s, v in values.items() if v}
        if not hours or len(known) < 0.5 * len(hours):
            continue
        by_value: dict[str, float] = defaultdict(float)
        for s, v in known.items():
            by_value[v] += hours[s]
        kt = sum(by_value.values())
        minority = min(by_value.values()) / kt if len(by_value) > 1 and kt > 0 else 0.0
        balance[key] = {"hours_share": {v: _r(h / kt) for v, h in sorted(by_value.items())},
                        "minority_share": _r(minority), "speakers_with_value": len(known)}
        if minority < cfg.min_metadata_minority_share:
            reasons.append(f"{key} imbalance: minority {minority:.1%} of speaker-hours "
                           f"< {cfg.min_metadata_minority_share:.0%}")
    ev = {"unique_speakers": n, "min_unique_speakers": cfg.min_unique_speakers,
          "largest_speaker": top_spk, "largest_speaker_share": _r(top_share),
          "tracks_without_speaker_id": unknown_tracks,
          "metadata_balance": balance or "no speaker metadata: balance not assessed"}
    return RequirementResult(5, NAMES[5], not reasons, ev, tuple(reasons))


# ---------------------------------------------------------------------------------------------
# Everything together
# ---------------------------------------------------------------------------------------------


def evaluate_recording(rec: RecordingInputs, cfg: QualifyConfig) -> tuple[TypeFinding, dict[int, Check]]:
    finding = measured_type(rec)
    c1 = full_duplex_capture(rec, finding, cfg)
    capture_ok = bool(c1.passed) and finding.data_type != MONO
    checks = {
        1: c1,
        2: dyadic_structure(rec, capture_ok, cfg),
        3: recording_overlap(rec, capture_ok, cfg),
        4: register_tags(rec, cfg),
        5: Check(None, {}, ("judged at corpus level",), "corpus"),
        6: consent_documented(rec, cfg),
        7: commercial_rights(rec, cfg),
        8: phase_labeling(finding),
    }
    return finding, checks


def qualify_corpus(inputs: CorpusInputs, cfg: QualifyConfig | None = None,
                   reference: Reference | None = None) -> QualifyReport:
    """Evaluate the eight requirements per recording and per corpus, and label every recording."""
    cfg = cfg or QualifyConfig()
    reference = reference or load_reference(cfg.reference_path or None)
    per: list[tuple[RecordingInputs, TypeFinding, dict[int, Check]]] = []
    for rec in inputs.recordings:
        finding, checks = evaluate_recording(rec, cfg)
        per.append((rec, finding, checks))

    def col(i: int) -> list[tuple[RecordingInputs, Check]]:
        return [(rec, checks[i]) for rec, _, checks in per]

    r3, comps = overlap_distribution(inputs, col(3), reference, cfg)
    reqs = {
        1: _aggregate(1, col(1), cfg),
        2: _aggregate(2, col(2), cfg),
        3: r3,
        4: register_coverage(inputs, col(4), cfg),
        5: speaker_diversity(inputs, cfg),
        6: _aggregate(6, col(6), cfg),
        7: _aggregate(7, col(7), cfg),
        8: _aggregate(8, col(8), cfg),
    }
    corpus_only_failed = [i for i in CORPUS_ONLY if not reqs[i].passed]
    recordings = []
    qualified_hours = recording_hours = 0.0
    hours_by_type: dict[str, float] = defaultdict(float)
    for rec, finding, checks in per:
        failed = [i for i, c in checks.items() if c.passed is False]
        own_ok = not failed
        qualified = own_ok and not corpus_only_failed
        recording_hours += rec.hours if own_ok else 0.0
        qualified_hours += rec.hours if qualified else 0.0
        hours_by_type[finding.data_type] += rec.hours
        fit = recording_phase_fit(finding, failed + corpus_only_failed, NAMES)
        recordings.append(RecordingReport(rec.recording_id, rec.hours, finding, checks, qualified, fit))
    corpus_passed = bool(per) and all(r.passed for r in reqs.values())
    fit = corpus_phase_fit(hours_by_type, qualified_hours, corpus_passed, cfg)
    return QualifyReport(
        corpus=inputs.name, purpose=cfg.purpose, corpus_passed=corpus_passed,
        qualified_hours=qualified_hours, total_hours=inputs.hours,
        requirements=tuple(reqs[i] for i in sorted(reqs)), recordings=tuple(recordings),
        phase_fit=fit, reference=reference.name, comparisons=comps,
        hours_passing_recording_checks=recording_hours,
    )
