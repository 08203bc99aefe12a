"""Consent events and their replay: the state of a speaker's consent at any time.

Vocabulary (docs/rights.md has the long form):
- An event is one of ``grant`` (the speaker gives consent for scopes, with evidence), ``amend`` (a new
  consent document replaces the set of given scopes), ``withdraw`` (the speaker takes consent back) and
  ``revoke`` (the collector ends it, e.g. the evidence proved invalid). ``expiry`` on a grant/amend makes
  its scopes expire; expiry is never an event, it is computed at replay.
- Status terms are the W3C Data Privacy Vocabulary's consent states (https://w3id.org/dpv#ConsentStatus):
  ``dpv:ConsentGiven``, ``dpv:ConsentWithdrawn`` (by the data subject), ``dpv:ConsentRevoked`` (by another
  entity), ``dpv:ConsentExpired``, and ``dpv:ConsentUnknown`` for a scope nothing was ever recorded for.
- Events take effect at their ``date`` (ISO 8601; a bare date means 00:00 UTC of that day), applied in
  (date, seq) order, so a back-dated event recorded late still lands where it belongs in time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date as _date
from datetime import datetime, timezone
from typing import Iterable, Mapping

from ..model import UNKNOWN_SPEAKER_IDS, Record, is_unknown_speaker  # noqa: F401 - re-exported

# --------------------------------------------------------------------------------------------
# Scopes, actions, DPV terms
# --------------------------------------------------------------------------------------------

#: Permissive scopes: each is something a speaker may allow.
PERMISSIVE_SCOPES = ("ai-training", "commercial-use", "redistribution", "voice-likeness")
#: Restrictive scopes: giving one narrows every other scope (the recording is research-only).
RESTRICTIVE_SCOPES = ("research-only",)
SCOPES = PERMISSIVE_SCOPES + RESTRICTIVE_SCOPES
#: Written in a withdraw/revoke to mean every scope (also an empty scopes cell).
ALL = "all"

ACTIONS = ("grant", "amend", "withdraw", "revoke")

DPV_NS = "https://w3id.org/dpv#"
GIVEN = "dpv:ConsentGiven"
WITHDRAWN = "dpv:ConsentWithdrawn"
REVOKED = "dpv:ConsentRevoked"
EXPIRED = "dpv:ConsentExpired"
UNKNOWN = "dpv:ConsentUnknown"

#: The status an event records (expiry is computed at replay, never recorded).
ACTION_STATUS = {"grant": GIVEN, "amend": GIVEN, "withdraw": WITHDRAWN, "revoke": REVOKED}


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


def speaker_fold(speaker: str) -> str:
    """What two spellings of one id share (letter case, Unicode form). Ids are matched exactly everywhere,
    so the ledger refuses a second spelling: ``LIBRI-367``'s withdrawal would not reach ``libri-367``."""
    return unicodedata.normalize("NFKC", speaker).casefold()


# --------------------------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------------------------


def parse_time(text: str | _date | datetime) -> datetime:
    """ISO 8601 date or date-time -> aware UTC datetime (a bare date is 00:00 UTC; naive times are UTC)."""
    if isinstance(text, datetime):
        dt = text
    elif isinstance(text, _date):
        return datetime(text.year, text.month, text.day, tzinfo=timezone.utc)
    else:
        s = str(text).strip()
        if not s:
            raise ValueError("empty date")
        try:
            if len(s) == 10:  # YYYY-MM-DD
                d = _date.fromisoformat(s)
                return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date: {s!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: its UTC time is before year 1
        raise ValueError(f"date out of range once converted to UTC: {str(text).strip()!r}") from None


def normalise_time(text: str) -> str:
    """Canonical text of a date: ``YYYY-MM-DD`` stays a date; a date-time becomes UTC ``...Z``."""
    s = str(text).strip()
    dt = parse_time(s)
    if len(s) == 10:
        return dt.date().isoformat()
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{dt.microsecond:06d}" if dt.microsecond else "") + "Z"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventDraft(Record):
    """What a user asks to record; the ledger adds seq, recorded_at, status and the hash chain."""

    speaker: str
    action: str
    scopes: tuple[str, ...]
    date: str
    evidence: str | None = None
    evidence_sha256: str | None = None
    jurisdiction: str | None = None
    expiry: str | None = None
    note: str | None = None

    def content_key(self) -> tuple:
        """What makes two records the same fact (used to skip re-imports of the same row)."""
        return (
            self.speaker, self.action, tuple(sorted(self.scopes)), parse_time(self.date),
            self.evidence, self.evidence_sha256, self.jurisdiction,
            parse_time(self.expiry) if self.expiry else None,
        )


@dataclass(frozen=True)
class ConsentEvent(Record):
    """One line of the ledger. ``hash`` is sha256 of the canonical JSON of every other field."""

    seq: int
    speaker: str
    action: str
    status: str
    scopes: tuple[str, ...]
    date: str
    evidence: str | None
    evidence_sha256: str | None
    jurisdiction: str | None
    expiry: str | None
    note: str | None
    recorded_at: str
    prev_hash: str
    hash: str = ""

    @property
    def draft(self) -> EventDraft:
        return EventDraft(
            speaker=self.speaker, action=self.action, scopes=self.scopes, date=self.date,
            evidence=self.evidence, evidence_sha256=self.evidence_sha256,
            jurisdiction=self.jurisdiction, expiry=self.expiry, note=self.note,
        )

    @property
    def when(self) -> datetime:
        return parse_time(self.date)


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def split_scopes(value) -> list[str]:
    """``"ai-training; commercial-use"`` or a list -> ``["ai-training", "commercial-use"]``."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(";")
    return [str(s).strip().lower() for s in items if str(s).strip()]


def make_draft(
    speaker, action, scopes, date, evidence=None, evidence_sha256=None,
    jurisdiction=None, expiry=None, note=None,
) -> EventDraft:
    """Validate one event's fields and return a normalised draft; ValueError lists every problem."""
    problems: list[str] = []
    speaker_s = _clean(speaker)
    if speaker_s is None:
        problems.append("speaker is empty")
    elif is_unknown_speaker(speaker_s):
        problems.append(f"speaker {speaker_s!r} is not an identity (consent needs a known speaker)")
    elif any(c.isspace() for c in speaker_s):
        problems.append(f"speaker {speaker_s!r} contains whitespace")

    action_s = (_clean(action) or "").lower()
    if action_s not in ACTIONS:
        problems.append(f"action {action!r} is not one of {', '.join(ACTIONS)}")

    scope_list = split_scopes(scopes)
    unknown = [s for s in scope_list if s not in SCOPES and s != ALL]
    if unknown:
        problems.append(f"unknown scope(s) {', '.join(unknown)} (known: {', '.join(SCOPES)}, or 'all' to withdraw)")
    if action_s in ("grant", "amend"):
        if not scope_list:
            problems.append(f"{action_s} needs at least one scope")
        if ALL in scope_list:
            problems.append(f"'all' is for withdraw/revoke; a {action_s} names its scopes")
        if "research-only" in scope_list and "commercial-use" in scope_list:
            problems.append("research-only and commercial-use contradict each other in one consent")
    elif action_s in ("withdraw", "revoke") and (not scope_list or ALL in scope_list):
        if len(set(scope_list) - {ALL}) > 0:
            problems.append("'all' cannot be combined with named scopes")
        scope_list = [ALL]
    scopes_t = tuple(dict.fromkeys(scope_list))  # dedupe, keep order

    date_s = _clean(date)
    if date_s is None:
        problems.append("date is empty")
    else:
        try:
            date_s = normalise_time(date_s)
        except ValueError as exc:
            problems.append(f"date: {exc}")
            date_s = None

    evidence_s = _clean(evidence)
    sha_s = (_clean(evidence_sha256) or "").lower() or None
    if evidence_s is not None and not _URI.match(evidence_s):
        problems.append(f"evidence {evidence_s!r} is not a URI (e.g. https://..., s3://..., file:///...)")
    if sha_s is not None and not _SHA256.match(sha_s):
        problems.append(f"evidence_sha256 {sha_s!r} is not 64 hex digits")
    if (evidence_s is None) != (sha_s is None):
        problems.append("evidence and evidence_sha256 go together (a document's location and its hash)")
    if action_s in ("grant", "amend") and evidence_s is None and sha_s is None:
        problems.append(f"{action_s} needs evidence (URI of the signed consent) and its evidence_sha256")

    jur = _clean(jurisdiction)
    if jur is not None:
        jur = jur.upper()
        if not _JURISDICTION.match(jur):
            problems.append(f"jurisdiction {jur!r} is not an ISO 3166 code such as DE, US-CA or EU")

    expiry_s = _clean(expiry)
    if expiry_s is not None:
        if action_s not in ("grant", "amend"):
            problems.append(f"expiry applies to grant/amend, not {action_s}")
        try:
            expiry_s = normalise_time(expiry_s)
            if date_s is not None and parse_time(expiry_s) <= parse_time(date_s):
                problems.append(f"expiry {expiry_s} is not after date {date_s}")
        except ValueError as exc:
            problems.append(f"expiry: {exc}")

    if problems:
        raise ValueError("; ".join(problems))
    return EventDraft(
        speaker=speaker_s, action=action_s, scopes=scopes_t, date=date_s, evidence=evidence_s,
        evidence_sha256=sha_s, jurisdiction=jur, expiry=expiry_s, note=_clean(note),
    )


# --------------------------------------------------------------------------------------------
# Replay
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeState(Record):
    """The state of one scope of one speaker, and the event that set it."""

    scope: str
    status: str = UNKNOWN
    since: str | None = None
    event_seq: int | None = None
    evidence: str | None = None
    evidence_sha256: str | None = None
    jurisdiction: str | None = None
    expiry: str | None = None

    @property
    def given(self) -> bool:
        return self.status == GIVEN

    def describe(self) -> str:
        if self.status == UNKNOWN:
            return f"{self.scope}: no consent recorded ({UNKNOWN})"
        text = f"{self.scope}: {self.status} since {self.since} (event #{self.event_seq})"
        if self.status == GIVEN and self.expiry:
            text += f", expires {self.expiry}"
        return text


@dataclass(frozen=True)
class SpeakerConsent(Record):
    """A speaker's consent at one time, per scope, as replayed from the ledger."""

    speaker: str
    at: str
    scopes: dict[str, ScopeState] = field(default_factory=dict)
    n_events: int = 0  # events that had taken effect by ``at``

    def state(self, scope: str) -> ScopeState:
        return self.scopes.get(scope) or ScopeState(scope)

    def given(self, scope: str) -> bool:
        return self.state(scope).given

    @property
    def given_scopes(self) -> frozenset[str]:
        return frozenset(s for s, st in self.scopes.items() if st.given)

    @property
    def recorded(self) -> bool:
        return self.n_events > 0


def _expire(states: dict[str, ScopeState], until: datetime) -> None:
    """Turn every given scope whose expiry is at or before ``until`` into dpv:ConsentExpired."""
    for scope, st in list(states.items()):
        if st.given and st.expiry and parse_time(st.expiry) <= until:
            states[scope] = replace(st, status=EXPIRED, since=st.expiry)


def replay(events: Iterable[ConsentEvent], speaker: str, at: str | datetime | None = None) -> SpeakerConsent:
    """The consent of ``speaker`` at time ``at`` (default: now), from the ledger's events.

    Events dated after ``at`` have not happened yet; the others apply in (date, seq) order.
    """
    when = parse_time(at) if at is not None else datetime.now(timezone.utc)
    mine = sorted((e for e in events if e.speaker == speaker and e.when <= when), key=lambda e: (e.when, e.seq))
    states: dict[str, ScopeState] = {s: ScopeState(s) for s in SCOPES}
    for ev in mine:
        _expire(states, ev.when)
        named = SCOPES if ALL in ev.scopes else ev.scopes
        if ev.action in ("grant", "amend"):
            base = dict(
                since=ev.date, event_seq=ev.seq, evidence=ev.evidence, evidence_sha256=ev.evidence_sha256,
                jurisdiction=ev.jurisdiction, expiry=ev.expiry,
            )
            if ev.action == "amend":
                # An amendment is a new consent document: what it leaves out is no longer given.
                for scope, st in list(states.items()):
                    if st.given and scope not in named:
                        states[scope] = replace(st, status=WITHDRAWN, since=ev.date, event_seq=ev.seq, expiry=None)
            for scope in named:
                states[scope] = ScopeState(scope, GIVEN, **base)
        else:
            status = ACTION_STATUS[ev.action]
            for scope in named:
                prev = states.get(scope) or ScopeState(scope)
                states[scope] = replace(
                    prev, scope=scope, status=status, since=ev.date, event_seq=ev.seq, expiry=None,
                    evidence=ev.evidence, evidence_sha256=ev.evidence_sha256, jurisdiction=ev.jurisdiction,
                )
    _expire(states, when)
    at_text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return SpeakerConsent(speaker=speaker, at=at_text, scopes=states, n_events=len(mine))


def replay_all(
    events: Iterable[ConsentEvent], speakers: Iterable[str] | None = None, at: str | datetime | None = None
) -> dict[str, SpeakerConsent]:
    """Replay every speaker (or the given ones) at one time."""
    events = list(events)
    names = list(dict.fromkeys(speakers)) if speakers is not None else sorted({e.speaker for e in events})
    by_speaker: dict[str, list[ConsentEvent]] = {}
    for e in events:
        by_speaker.setdefault(e.speaker, []).append(e)
    return {s: replay(by_speaker.get(s, ()), s, at) for s in names}


@dataclass(frozen=True)
class RecordingConsent(Record):
    """The meet of a recording's speakers' consents: a permissive scope is given only when every speaker
    gave it; a restrictive scope (research-only) binds the recording when any speaker gave it."""

    given: tuple[str, ...]
    restrictions: tuple[str, ...]


def meet(consents: Iterable[SpeakerConsent]) -> RecordingConsent:
    consents = list(consents)
    if not consents:
        return RecordingConsent((), ())
    given = set(PERMISSIVE_SCOPES)
    restrictions: set[str] = set()
    for c in consents:
        given &= c.given_scopes
        restrictions |= c.given_scopes & set(RESTRICTIVE_SCOPES)
    return RecordingConsent(
        tuple(s for s in PERMISSIVE_SCOPES if s in given), tuple(s for s in RESTRICTIVE_SCOPES if s in restrictions)
    )


def consent_summary(consent: SpeakerConsent) -> Mapping[str, str]:
    """scope -> status term, for printing."""
    return {s: consent.state(s).status for s in SCOPES}
