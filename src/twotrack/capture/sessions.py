"""Capture sessions: who is in one, what they consented to, their clock exchanges and the signalling relay.

A session lives in ``WS/capture/sessions/<session_id>/``::

    session.json          the session (state, license, scopes, participants A and B)
    A/chunks/, B/chunks/  each participant's chunk store (chunks.py)
    A/anchors/, ...       capture anchors: short stretches of the microphone with its capture timestamp
    A/clock.jsonl, ...    NTP-style clock exchanges (client send, server, client receive), one per line

Session ids are 20 lowercase base-32 characters and each participant has a secret token (in the join
link), so a link cannot be guessed and a participant cannot upload as the other one. Ids and roles are
checked against fixed patterns before any path is built from them.

Consent comes first: ``consent_text`` renders the text a participant reads (scopes in plain words, the
license, the name they typed); ``give_consent`` stores exactly that text in ``WS/capture/consent/``,
and appends a ``grant`` to the workspace's consent ledger with the text's sha256 and its ``file://`` URI as
evidence. No audio is accepted from a participant before that grant is recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError
from ..rights.consent import SCOPES, replay, speaker_fold, utc_now
from ..rights.ledger import Ledger, ledger_path
from ..rights.licenses import validate_license
from .chunks import MAX_ANCHOR_SAMPLES, ChunkStore
from .expiry import GONE, ExpiryPolicy, due, expire, gone_problem, iso

log = logging.getLogger("twotrack.capture")
ROLES = ("A", "B")
SESSION_ID = re.compile(r"^[a-z2-7]{20}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
SPEAKER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Session states, in order. ``partial``: assembled while a participant's upload was incomplete;
#: ``expiring``/``expired``: left unfinished and idle too long, its links gone (expiry.py).
STATES = ("open", "recording", "stopped", "assembling", "assembled", "partial", "failed", "expiring", "expired")
DEFAULT_SCOPES = ("ai-training", "commercial-use", "redistribution")
MAX_NAME = 80

#: What each scope means, in the words a participant reads.
SCOPE_WORDS = {
    "ai-training": "My recorded voice and words may be used to train and evaluate artificial intelligence "
                   "(machine learning) systems, such as speech recognition and conversational models.",
    "commercial-use": "This use may be commercial: companies may use the recording in products and services "
                      "they sell.",
    "redistribution": "The recording may be shared with, or published for, other people and organisations "
                      "under the license named below.",
    "voice-likeness": "Systems may be built that produce speech that sounds like my voice.",
    "research-only": "The recording may be used for non-commercial research only.",
}


class SessionError(Exception):
    """A request about a session that cannot be served; ``status`` is the HTTP status."""

    def __init__(self, status: int, problem: str):
        super().__init__(problem)
        self.status = status
        self.problem = problem


@dataclass
class Participant:
    role: str
    token: str
    speaker_id: str | None = None  # fixed by the host, or derived from the name at consent
    name: str | None = None
    consent: dict | None = None  # {sha256, evidence, at, event_seq}
    sample_rate: int | None = None
    finished: dict | None = None  # {n_chunks, n_samples} the client declared at stop
    settings: dict = field(default_factory=dict)  # the microphone settings the browser reported
    page: str | None = None  # the page (X-Capture-Page) that stored the track's first chunk: it owns the track


@dataclass
class Session:
    session_id: str
    created_at: str
    license: str
    scopes: tuple[str, ...]
    participants: dict[str, Participant]
    title: str = ""
    host_token: str = ""
    state: str = "open"
    recording_id: str | None = None
    report: dict | None = None
    error: str | None = None
    last_activity: str | None = None  # the store's clock at the last change a participant or host made
    expiry: dict | None = None  # expiry.py: when, after how long idle, what it held, what was deleted

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scopes"] = list(self.scopes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Session:
        parts = {r: Participant(**p) for r, p in d.pop("participants").items()}
        d["scopes"] = tuple(d["scopes"])
        return cls(participants=parts, **d)

    def public(self) -> dict:
        """What any participant may see (no tokens)."""
        return {
            "session_id": self.session_id, "title": self.title, "state": self.state, "license": self.license,
            "scopes": list(self.scopes), "recording_id": self.recording_id, "error": self.error,
            "participants": {r: {"consented": p.consent is not None, "name": p.name, "speaker_id": p.speaker_id,
                                 "finished": p.finished is not None} for r, p in self.participants.items()},
            "report": self.report, "last_activity": self.last_activity, "expiry": self.expiry,
        }


def check_role(role: str) -> str:
    if role not in ROLES:
        raise SessionError(404, f"unknown participant {role[:16]!r} (A or B)")
    return role


def slug(text: str) -> str:
    """The name part of a derived speaker id: lowercase ASCII letters and digits. Accents are taken off
    first (NFKD, combining marks dropped: 'Zoë Ångström' -> 'zoe-angstrom', not 'zo-ngstr-m'); a name
    with no Latin letter at all gives 'speaker'."""
    base = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    s = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")
    return s[:32].strip("-") or "speaker"


def consent_text(session: Session, role: str, name: str) -> str:
    """The exact text a participant agrees to (its sha256 goes into the ledger)."""
    lines = [
        "CONSENT TO RECORD A CONVERSATION",
        "",
        f"Session: {session.session_id}" + (f" ({session.title})" if session.title else ""),
        f"Participant: {name} (track {role})",
        "",
        "I agree that my side of this conversation is recorded, as audio of my own microphone on its own track, "
        "and kept together with the other participant's track.",
        "",
        "I agree to these uses:",
    ]
    lines += [f"- {SCOPE_WORDS[s]} [{s}]" for s in session.scopes]
    lines += [
        "",
        f"License of the recording: {session.license}",
        "",
        "I can withdraw this consent later; from then on the recording is excluded from new uses that need it, "
        "and exports made afterwards leave it out.",
        "Recording starts only after I press Start, and the page shows when it is recording.",
    ]
    return "\n".join(lines) + "\n"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Characters that reorder or hide text (bidirectional embeddings, overrides and isolates): in a name or
#: title they would make the consent text read differently from what it holds.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")


def clean_text(text: object, what: str, limit: int, *, required: bool = True) -> str:
    """``text`` on one line, its whitespace runs (line breaks too) made single spaces, so that a title cannot
    forge lines of the consent text; 400 when it is longer than ``limit``, holds another control or a
    bidirectional-control character, or (``required``) has no visible character (an empty name, or one of
    zero-width spaces only)."""
    s = " ".join(str(text or "").split())
    if len(s) > limit:
        raise SessionError(400, f"the {what} is longer than {limit} characters")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 or c in BIDI_CONTROLS for c in s):
        raise SessionError(400, f"the {what} holds control characters (or text-direction marks)")
    if required and not any(unicodedata.category(c)[0] in "LNPS" for c in s):
        raise SessionError(400, f"the {what} is empty" if not s else f"the {what} has no visible character")
    return s


def clean_name(name: object) -> str:
    return clean_text(name, "participant's name", MAX_NAME)


class SessionStore:
    """Every capture session of one workspace. One object per server process (it holds the locks)."""

    def __init__(self, workspace: str | os.PathLike, permissions=None, *, clock=time.time,
                 policy: ExpiryPolicy | None = None):
        """``permissions``: a team's permissions table (None: the packaged one); ``clock``: epoch seconds, read for
        creation, activity and expiry (a test gives its own); ``policy``: when sessions expire (expiry.py;
        default: capture config's defaults)."""
        self.now = clock
        self.policy = policy or ExpiryPolicy()
        self.workspace = Path(workspace).absolute()
        self.permissions = permissions  # a team's table registers its LicenseRef- ids (None: the packaged ones)
        self.root = self.workspace / "capture"
        self.sessions_dir = self.root / "sessions"
        self.consent_dir = self.root / "consent"
        self.sessions_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._locks: dict[str, threading.RLock] = {}
        self._chunks: dict[tuple[str, str], ChunkStore] = {}
        self._anchors: dict[tuple[str, str], ChunkStore] = {}
        self._mail: dict[tuple[str, str], list[dict]] = {}
        self._ledger_cache: tuple[tuple | None, list] = (None, [])
        self.relay_epoch = secrets.token_hex(6)  # numbers the in-memory relay of this process (messages)
        self.ledger = Ledger(ledger_path(self.workspace))

    # ---- sessions --------------------------------------------------------------------------

    def lock(self, sid: str) -> threading.RLock:
        with self._lock:
            return self._locks.setdefault(sid, threading.RLock())

    def folder(self, sid: str) -> Path:
        if not SESSION_ID.match(sid or ""):
            raise SessionError(404, "unknown session")
        return self.sessions_dir / sid

    def create(self, license: str, scopes=DEFAULT_SCOPES, title: str = "", speaker_a: str | None = None,
               speaker_b: str | None = None) -> Session:
        problem = validate_license(license, self.permissions)
        if problem:
            raise SessionError(400, f"license {license!r}: {problem}")
        scopes = tuple(dict.fromkeys(scopes))
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise SessionError(400, f"unknown scope(s) {bad} (known: {', '.join(SCOPES)})" if bad else "no scopes")
        if "research-only" in scopes and "commercial-use" in scopes:
            raise SessionError(400, "research-only and commercial-use contradict each other")
        for spk in (speaker_a, speaker_b):
            if spk is not None and not SPEAKER_ID.match(spk):
                raise SessionError(400, f"speaker id {spk[:70]!r} is not a plain identifier")
        if speaker_a and speaker_b and speaker_fold(speaker_a) == speaker_fold(speaker_b):
            raise SessionError(400, "the two participants need different speaker ids (not only in letter case)")
        fixed = [spk for spk in (speaker_a, speaker_b) if spk]
        if fixed:  # the ledger refuses a second spelling of a known id: say so now, to the host, not at consent
            known = {speaker_fold(k): k for k in self._ledger_call(self.ledger.speakers)}
            for spk in fixed:
                other = known.get(speaker_fold(spk))
                if other is not None and other != spk:
                    raise SessionError(400, f"speaker id {spk!r} differs from {other!r}, already in the consent "
                                            f"ledger, only in letter case: write {other!r} for the same person")
        title = clean_text(title, "title", 200, required=False)
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        sid = "".join(secrets.choice(alphabet) for _ in range(20))
        parts = {r: Participant(role=r, token=secrets.token_urlsafe(24), speaker_id=s)
                 for r, s in zip(ROLES, (speaker_a, speaker_b))}
        now = iso(self.now())
        session = Session(sid, now, license, scopes, parts, title=title.strip(),
                          host_token=secrets.token_urlsafe(24), last_activity=now)
        self.folder(sid).mkdir(parents=True)
        self.save(session)
        return session

    def get(self, sid: str) -> Session:
        path = self.folder(sid) / "session.json"
        if not path.exists():
            raise SessionError(404, "unknown session")
        return Session.from_dict(json.loads(path.read_text()))

    def save(self, session: Session, *, active: bool = False) -> None:
        """Write ``session`` (atomically); ``active``: a participant or the host changed it, which moves its
        ``last_activity`` to now (the clock expiry reads; clock exchanges and polls do not count)."""
        if active:
            session.last_activity = iso(self.now())
        folder = self.folder(session.session_id)
        tmp = folder / ".session.json.tmp"
        tmp.write_text(json.dumps(session.to_dict(), indent=1))
        os.replace(tmp, folder / "session.json")

    def list(self, on_error=None) -> list[Session]:
        """Every session; with ``on_error(sid, exc)`` one whose session.json cannot be read is reported to it
        and left out (the server still starts), else its error is raised."""
        out = []
        for p in sorted(self.sessions_dir.iterdir()):
            if SESSION_ID.match(p.name) and (p / "session.json").exists():
                try:
                    out.append(self.get(p.name))
                except (OSError, ValueError, TypeError, KeyError) as exc:
                    if on_error is None:
                        raise
                    on_error(p.name, exc)
        return out

    def current(self, session: Session) -> Session:
        """``session``, expired first when it is idle past the policy's limit (so a link never works in the
        time between two expiry passes)."""
        if session.state not in GONE and due(session, self.folder(session.session_id), self.now(), self.policy):
            try:
                expire(self, session.session_id, self.policy)
            except OSError as exc:  # it stays 'expiring' (gone all the same); the next pass deletes the rest
                log.error("capture session %s: expiry could not delete its audio: %s", session.session_id, exc)
            session = self.get(session.session_id)
        return session

    def live(self, session: Session) -> Session:
        """``session`` if its links still work; 410 when it expired (or expires now, ``current``)."""
        session = self.current(session)
        if session.state in GONE:
            raise SessionError(410, gone_problem(session))
        return session

    def forget(self, sid: str) -> None:
        """Drop what this process holds in memory of session ``sid`` (chunk stores, relay boxes)."""
        with self._lock:
            for cache in (self._chunks, self._anchors, self._mail):
                for key in [k for k in cache if k[0] == sid]:
                    del cache[key]

    def authorise(self, sid: str, token: str | None, *, gone_ok: bool = False) -> tuple[Session, str]:
        """The session and who holds ``token``: ``host``, ``A`` or ``B`` (403 for anyone else; 410 once it
        expired, except for the host with ``gone_ok``, who may read what became of it)."""
        session = self.get(sid)
        if token and TOKEN.match(token):
            if secrets.compare_digest(token, session.host_token):
                return (self.current(session) if gone_ok else self.live(session)), "host"
            for r, p in session.participants.items():
                if secrets.compare_digest(token, p.token):
                    return self.live(session), r
        raise SessionError(403, "wrong or missing token (use the join link)")

    def participant(self, sid: str, role: str, token: str | None) -> tuple[Session, Participant]:
        """The session and the participant whose token this is (404 unknown, 403 wrong token, 410 expired)."""
        session = self.get(sid)
        p = session.participants[check_role(role)]
        if not token or not TOKEN.match(token) or not secrets.compare_digest(token, p.token):
            raise SessionError(403, "wrong or missing participant token (use the join link)")
        session = self.live(session)
        return session, session.participants[p.role]

    # ---- consent ---------------------------------------------------------------------------

    def give_consent(self, sid: str, role: str, token: str, name: str, sha256: str, agree: bool) -> Session:
        """Record participant ``role``'s consent: the text they saw (by its hash) goes to the ledger."""
        if agree is not True:
            raise SessionError(400, "consent needs the agreement box ticked")
        name = clean_name(name)
        with self.lock(sid):
            session, p = self.participant(sid, role, token)
            if p.consent is not None and self.consent_withdrawn(session, p) is None:
                return session  # idempotent: a second click changes nothing
            # (consent given here and withdrawn since, in the ledger: this click is a new grant)
            if session.state not in ("open", "recording", "stopped"):
                raise SessionError(409, f"session is {session.state}: consent is no longer taken")
            text = consent_text(session, role, name)
            digest = text_sha256(text)
            if digest != (sha256 or "").lower():
                raise SessionError(409, "the consent text changed since it was shown; read it again")
            self.consent_dir.mkdir(parents=True, exist_ok=True)
            doc = self.consent_dir / f"{sid}-{role}-{digest[:16]}.txt"
            doc.write_text(text, encoding="utf-8")
            speaker = p.speaker_id or f"{slug(name)}-{sid[:6]}-{role.lower()}"
            at = utc_now()
            event = self._ledger_call(self.ledger.grant, speaker, list(session.scopes), at, doc.as_uri(), digest,
                                      note=f"capture session {sid}, track {role}, consent given in the capture page")
            p.name, p.speaker_id = name, speaker
            p.consent = {"sha256": digest, "evidence": doc.as_uri(), "at": at, "event_seq": event.seq}
            self.save(session, active=True)
            return session

    @staticmethod
    def _ledger_call(fn, *args, **kw):
        """``fn`` of the consent ledger; its refusal (a broken chain, a clashing id) becomes a SessionError
        with the ledger's own words (503: the server cannot record consent now) instead of a bare 500."""
        try:
            return fn(*args, **kw)
        except InputError as exc:
            raise SessionError(503, f"the consent ledger refused this: {exc.problem}") from None

    def _ledger_events(self) -> list:
        """The ledger's events, read again only when its file changed (it is asked on every chunk; reading
        and parsing a ledger of 5000 events takes about a second)."""
        try:
            st = os.stat(self.ledger.path)
        except FileNotFoundError:
            return []
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if self._ledger_cache[0] != key:
                self._ledger_cache = (key, self._ledger_call(self.ledger.events))
            return self._ledger_cache[1]

    def consent_withdrawn(self, session: Session, p: Participant) -> str | None:
        """Why participant ``p``'s consent is no longer in force (None: it is): the ledger, read now, gives
        none of the session's scopes (`twotrack consent withdraw|revoke` since the page's grant)."""
        if p.consent is None or not p.speaker_id:
            return None
        state = replay(self._ledger_events(), p.speaker_id)
        if any(state.given(scope) for scope in session.scopes):
            return None
        return (f"consent of {p.speaker_id} is no longer in force in the consent ledger (withdrawn): "
                "no more audio is taken; give consent again to go on")

    # ---- audio -----------------------------------------------------------------------------

    def chunks(self, sid: str, role: str) -> ChunkStore:
        key = (sid, check_role(role))
        with self._lock:
            if key not in self._chunks:
                self._chunks[key] = ChunkStore(self.folder(sid) / role / "chunks")
            return self._chunks[key]

    def anchors(self, sid: str, role: str) -> ChunkStore:
        """The capture anchors of one track (chunks.py, ``contiguous=False``)."""
        key = (sid, check_role(role))
        with self._lock:
            if key not in self._anchors:
                self._anchors[key] = ChunkStore(self.folder(sid) / role / "anchors", contiguous=False,
                                                max_samples=MAX_ANCHOR_SAMPLES, what="anchor")
            return self._anchors[key]

    def add_clock(self, sid: str, role: str, t0: float, *rest: float) -> None:
        """One completed exchange (ms): client sent at t0, server stamped ts (or ts_in and ts_out), client
        received at t3."""
        path = self.folder(sid) / check_role(role) / "clock.jsonl"
        with self.lock(sid):
            self.live(self.get(sid))  # expired since the request was let in: nothing is written (410)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as fh:
                fh.write(json.dumps([t0, *rest]) + "\n")

    def clock(self, sid: str, role: str) -> list[tuple[float, ...]]:
        path = self.folder(sid) / check_role(role) / "clock.jsonl"
        if not path.exists():
            return []
        return [tuple(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]

    # ---- signalling relay (WebRTC offer/answer/candidates, stop) ---------------------------

    def post_message(self, sid: str, to_role: str, message: dict) -> None:
        with self._lock:
            box = self._mail.setdefault((sid, check_role(to_role)), [])
            if len(box) >= 2000:
                raise SessionError(429, "too many signalling messages")
            box.append(message)

    def messages(self, sid: str, role: str, after: int, epoch: str | None = None) -> tuple[list[dict], int]:
        """The messages for ``role`` from number ``after`` on, and the number to ask from next. The relay
        lives in memory and is numbered anew by each server process (``relay_epoch``): a page whose
        ``epoch`` is another one's, or that read further than the box holds, was reading before a restart
        and gets the box from its start (else it would miss every message until the box regrew, the host's
        stop included)."""
        with self._lock:
            box = self._mail.get((sid, check_role(role)), [])
            stale = (epoch is not None and epoch != self.relay_epoch) or after > len(box)
            start = 0 if stale else max(after, 0)
            return list(box[start:]), len(box)
