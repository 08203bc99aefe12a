"""Rights verdicts: may this recording be used for this purpose, and if not, why.

A recording is allowed for a purpose when (1) every speaker on it is known and has given every consent
scope the purpose needs, none of them under a restriction the purpose excludes (the meet of the speakers'
consents: a two-speaker recording needs both), and (2) its license expression permits every license term
the purpose needs. ``PURPOSES`` is the one table that says what each purpose needs.

A track with no named speaker and no speech (an unused channel of a multichannel file, ``usage``) records
nobody and needs no consent; one with speech and no named speaker blocks. Which tracks carry speech is
the activity stage's answer, passed as ``speech`` (recording_id -> track -> seconds); without it every
track counts as used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping, Sequence

from ..model import SPEAKER_COLUMNS, Record, Recording, track_name
from ..usage import track_uses
from .consent import (
    GIVEN, UNKNOWN, ConsentEvent, SpeakerConsent, is_unknown_speaker, replay_all,
)
from .ledger import GENESIS, Ledger
from .licenses import Permissions, evaluate_license, table_record


@dataclass(frozen=True)
class Purpose(Record):
    """What a use of the data needs: consent scopes from every speaker, and license permissions."""

    name: str
    description: str
    consent_scopes: tuple[str, ...]  # every speaker must have given each of these
    excluded_by: tuple[str, ...]  # a speaker who gave one of these restrictions blocks the purpose
    license_permissions: tuple[str, ...]  # fields of the permissions table that must all be true
    restriction_duties: tuple[str, ...] = ()  # restrictions that do not block but travel with the data


#: The purposes and what each needs. Training a model that is deployed or published shares adapted material,
#: hence share_derivatives for the commercial purposes (see permissions.json for the reading of ND licenses).
PURPOSES: dict[str, Purpose] = {
    p.name: p
    for p in (
        Purpose(
            "commercial-training",
            "train a model used or sold commercially",
            consent_scopes=("ai-training", "commercial-use"),
            excluded_by=("research-only",),
            license_permissions=("commercial_use", "derivatives", "share_derivatives"),
        ),
        Purpose(
            "research-training",
            "train a model for non-commercial research",
            consent_scopes=("ai-training",),
            excluded_by=(),
            license_permissions=("derivatives",),
        ),
        Purpose(
            "redistribution",
            "share copies of the recordings with others, not for commercial use",
            consent_scopes=("redistribution",),
            excluded_by=(),
            license_permissions=("redistribution",),
            restriction_duties=("research-only",),
        ),
        Purpose(
            "commercial-redistribution",
            "share or sell copies of the recordings for any use, commercial included",
            consent_scopes=("redistribution", "commercial-use"),
            excluded_by=("research-only",),
            license_permissions=("redistribution", "commercial_use"),
        ),
        Purpose(
            "voice-synthesis",
            "build synthesis in a speaker's own voice (a commercial voice product)",
            consent_scopes=("ai-training", "voice-likeness", "commercial-use"),
            excluded_by=("research-only",),
            license_permissions=("commercial_use", "derivatives", "share_derivatives"),
        ),
    )
}


def get_purpose(name: str) -> Purpose:
    try:
        return PURPOSES[name]
    except KeyError:
        from ..errors import ConfigError

        raise ConfigError(f"unknown purpose {name!r} (known: {', '.join(PURPOSES)})") from None


@dataclass(frozen=True)
class Reason(Record):
    """Why a recording is blocked: the speaker (and track), the scope and its status, or the license term."""

    kind: str  # "speaker", "consent" or "license"
    message: str
    track: str | None = None
    speaker: str | None = None
    scope: str | None = None
    status: str | None = None
    event_seq: int | None = None
    license: str | None = None


@dataclass(frozen=True)
class Verdict(Record):
    recording_id: str
    purpose: str
    allowed: bool
    reasons: tuple[Reason, ...] = ()
    duties: tuple[str, ...] = ()
    consent_allowed: bool = False
    license_allowed: bool = False
    speakers: tuple[str | None, ...] = ()
    license: str | None = None
    unused_tracks: tuple[str, ...] = ()  # tracks with no speaker named and no speech: need no consent

    def to_json(self) -> dict:
        """The CLI's JSON row: reasons as readable strings, with their structured form beside them."""
        return {
            "recording_id": self.recording_id,
            "allowed": self.allowed,
            "reasons": [r.message for r in self.reasons],
            "consent_allowed": self.consent_allowed,
            "license_allowed": self.license_allowed,
            "speakers": list(self.speakers),
            "license": self.license,
            "duties": list(self.duties),
            "reason_details": [r.to_dict() for r in self.reasons],
            "unused_tracks": list(self.unused_tracks),
        }


def speakers_by_track(recording: Recording, speech: Mapping[int, float] | None = None,
                      *, known: bool = False) -> list[tuple[str, str | None]]:
    """(track name, speaker id or None) for every person who must consent. A track without a listed
    speaker counts as an unknown speaker, unless ``known`` (the activity stage's result is given as
    ``speech``, track -> seconds) and it carries no speech: an unused channel, nobody to ask (left out).
    A mono recording holds several people on one track: the manifest names them in ``speaker_a``,
    ``speaker_b``, ... (kept in metadata by the reader); none named is one unknown."""
    unused = set() if recording.is_mono or not known else {
        u.track for u in track_uses(recording, speech) if not u.used}
    speakers = list(recording.speakers)
    if recording.is_mono and not speakers:
        speakers = [recording.metadata[k] for k in SPEAKER_COLUMNS if recording.metadata.get(k)]
    n = len(speakers) if recording.is_mono else max(len(speakers), recording.n_tracks)
    out = []
    for i in range(max(n, 1)):
        spk = speakers[i] if i < len(speakers) else None
        if i in unused:
            continue
        label = f"A (speaker {i + 1} of the mix)" if recording.is_mono else track_name(i)
        out.append((label, None if is_unknown_speaker(spk) else str(spk).strip()))
    return out


def check_consent(
    recording: Recording,
    consents: Mapping[str, SpeakerConsent],
    required: Sequence[str],
    excluded_by: Sequence[str] = (),
    purpose_name: str = "this purpose",
    speech: Mapping[int, float] | None = None,
    *,
    known: bool = False,
) -> list[Reason]:
    """Reasons the speakers' consents block ``required`` (empty list: every speaker consents). ``speech``
    and ``known``: the activity stage's speech seconds per track (see ``speakers_by_track``)."""
    reasons: list[Reason] = []
    heard = {u.name: u for u in track_uses(recording, speech)} if known and not recording.is_mono else {}
    placed = speakers_by_track(recording, speech, known=known)
    if not placed:  # every track unused: no one to document consent for, and nothing to use
        return [Reason("speaker", "no track has a speaker named or any speech: nobody whose consent could allow a use")]
    for track, spk in placed:
        if spk is None:
            use = heard.get(track)
            why = ("" if use is None else " (no activity result shows it silent)" if use.speech_s is None
                   else f" (the activity stage found {use.speech_s:.1f} s of speech on it)")
            reasons.append(Reason("speaker", f"track {track}: speaker unknown, so consent cannot be documented{why}",
                                  track=track))
            continue
        consent = consents.get(spk)
        for scope in required:
            st = consent.state(scope) if consent is not None else None
            if st is None or st.status == UNKNOWN:
                reasons.append(Reason(
                    "consent", f"track {track} ({spk}): no consent recorded for {scope} ({UNKNOWN})",
                    track=track, speaker=spk, scope=scope, status=UNKNOWN,
                ))
            elif st.status != GIVEN:
                reasons.append(Reason(
                    "consent", f"track {track} ({spk}): {scope} is {st.status} since {st.since} (event #{st.event_seq})",
                    track=track, speaker=spk, scope=scope, status=st.status, event_seq=st.event_seq,
                ))
        for scope in excluded_by:
            if consent is not None and consent.given(scope):
                st = consent.state(scope)
                reasons.append(Reason(
                    "consent", f"track {track} ({spk}): consent is {scope} (event #{st.event_seq}), which excludes {purpose_name}",
                    track=track, speaker=spk, scope=scope, status=GIVEN, event_seq=st.event_seq,
                ))
    return reasons


def _events_of(ledger) -> tuple[list[ConsentEvent], str]:
    """Events and head; a Ledger or a path is verified first (a tampered ledger decides nothing)."""
    if isinstance(ledger, (str, os.PathLike)):
        ledger = Ledger(ledger)
    if isinstance(ledger, Ledger):
        return ledger.snapshot()
    events = list(ledger)
    return events, (events[-1].hash if events else GENESIS)


def decide_one(
    recording: Recording,
    purpose: Purpose | str,
    consents: Mapping[str, SpeakerConsent],
    permissions: Mapping[str, Permissions] | None = None,
    speech: Mapping[int, float] | None = None,
    *,
    known: bool = False,
) -> Verdict:
    """The verdict for one recording given its speakers' replayed consents (``speech``, ``known``: see
    ``speakers_by_track``)."""
    p = get_purpose(purpose) if isinstance(purpose, str) else purpose
    consent_reasons = check_consent(recording, consents, p.consent_scopes, p.excluded_by, p.name, speech,
                                    known=known)
    placed = speakers_by_track(recording, speech, known=known)
    lic = evaluate_license(recording.license, p.license_permissions, permissions)
    license_reasons = [Reason("license", r, license=lic.expression) for r in lic.reasons]
    duties = list(lic.duties)
    for track, spk in placed:
        c = consents.get(spk) if spk else None
        for scope in p.restriction_duties:
            if c is not None and c.given(scope):
                duties.append(f"{scope} consent ({spk}): recipients may use it for research only")
    reasons = tuple(dict.fromkeys(consent_reasons + license_reasons))  # a speaker on both tracks says it once
    return Verdict(
        recording_id=recording.recording_id, purpose=p.name, allowed=not reasons, reasons=reasons,
        duties=tuple(dict.fromkeys(duties)), consent_allowed=not consent_reasons, license_allowed=lic.allowed,
        speakers=tuple(s for _, s in placed), license=lic.expression,
        unused_tracks=tuple(u.name for u in track_uses(recording, speech) if known and not recording.is_mono
                            and not u.used),
    )


def decide(
    recordings: Iterable[Recording],
    ledger,
    purpose: Purpose | str,
    *,
    at: str | datetime | None = None,
    permissions: Mapping[str, Permissions] | None = None,
    speech: Mapping[str, Mapping[int, float]] | None = None,
) -> list[Verdict]:
    """Verdicts for every recording. ``ledger``: a Ledger or a ledger file path (verified first: LedgerError
    when tampered), or a list of ConsentEvents (e.g. from ``Ledger.snapshot()``). ``at``: the time the
    consents are judged at (default now). ``speech``: recording_id -> track -> speech seconds from the
    activity stage (``store.queries.speech_by_track``): a track with no speaker named and no speech is an
    unused channel and needs no consent; without ``speech`` every track counts as used."""
    recordings = list(recordings)
    p = get_purpose(purpose) if isinstance(purpose, str) else purpose
    events, _ = _events_of(ledger)
    known = speech is not None
    speech = speech or {}
    speakers = {s for r in recordings for _, s in speakers_by_track(r) if s is not None}
    consents = replay_all(events, sorted(speakers), at)
    return [decide_one(r, p, consents, permissions, speech.get(r.recording_id), known=known) for r in recordings]


def allowed_ids(verdicts: Iterable[Verdict]) -> list[str]:
    return [v.recording_id for v in verdicts if v.allowed]


def rights_report(
    recordings: Iterable[Recording],
    ledger,
    purpose: Purpose | str,
    *,
    at: str | datetime | None = None,
    permissions: Mapping[str, Permissions] | None = None,
    speech: Mapping[str, Mapping[int, float]] | None = None,
) -> dict:
    """What ``twotrack rights --json`` prints: purpose, ledger head, and a row per recording (``speech``:
    see ``decide``)."""
    p = get_purpose(purpose) if isinstance(purpose, str) else purpose
    events, head = _events_of(ledger)
    verdicts = decide(recordings, events, p, at=at, permissions=permissions, speech=speech)
    from .consent import parse_time

    when = parse_time(at) if at is not None else datetime.now().astimezone()
    return {
        "purpose": p.name,
        "needs": {"consent_scopes": list(p.consent_scopes), "excluded_by": list(p.excluded_by),
                  "license_permissions": list(p.license_permissions)},
        "at": when.astimezone().isoformat(timespec="seconds"),
        "ledger_head": head,
        "permissions": table_record(permissions),
        "summary": {"recordings": len(verdicts), "allowed": sum(v.allowed for v in verdicts),
                    "blocked": sum(not v.allowed for v in verdicts)},
        "recordings": [v.to_json() for v in verdicts],
    }
