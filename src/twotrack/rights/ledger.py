"""The consent ledger: an append-only JSONL file of consent events chained by hashes.

Each line is one ``ConsentEvent``. ``hash`` is the sha256 of the event's canonical JSON (keys sorted, no
spaces, UTF-8) without the ``hash`` key; ``prev_hash`` is the previous line's hash (``GENESIS`` for the
first). Changing, inserting, deleting or reordering a line breaks the chain at the first line that no longer
fits, which ``verify`` names. Deleting lines from the END leaves a valid shorter chain: only a head recorded
elsewhere (an export's ``ledger_head``) catches that, so ``verify(expected_head=...)`` checks it.

Writers take an exclusive ``flock`` on the file for the whole read-validate-append, so concurrent
appends (several processes) serialise and the chain stays linear. Readers take a shared lock so they never
see a half-written line. POSIX only (fcntl); on network file systems flock may not be honoured.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .. import jsonfile
from ..model import Record
from ..paths import LEDGER_RELPATH
from .consent import (
    ACTION_STATUS, ACTIONS, ConsentEvent, EventDraft, SpeakerConsent, make_draft, replay, replay_all, speaker_fold,
    utc_now,
)
from .errors import ImportRejected, LedgerError, RowError
from .importer import read_event_rows

#: prev_hash of the first event, and the head of an empty ledger.
GENESIS = "0" * 64

_EVENT_KEYS = (
    "seq", "speaker", "action", "status", "scopes", "date", "evidence", "evidence_sha256",
    "jurisdiction", "expiry", "note", "recorded_at", "prev_hash", "hash",
)


def canonical_json(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _json_line(raw: bytes, lineno: int) -> object:
    """One ledger line's value; a ValueError saying what is wrong with it (the callers name the ledger and
    the line). A key given twice is refused: the hash and a reader could otherwise see different events."""
    try:
        return jsonfile.loads(raw, LEDGER_RELPATH, lineno)
    except jsonfile.JSONFileError as exc:
        raise ValueError(exc.reason) from None


def event_hash(data: dict) -> str:
    """sha256 of the canonical JSON of an event without its ``hash`` key."""
    body = {k: v for k, v in data.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def ledger_path(workspace: str | os.PathLike) -> Path:
    """Where a workspace folder keeps its ledger (``WS/rights/ledger.jsonl``)."""
    return Path(workspace) / LEDGER_RELPATH


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[object]:
    try:
        if exclusive:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(path, "a+b")
        else:
            fh = open(path, "rb")
    except OSError as exc:  # a file where its folder goes, a folder where it goes, no permission: named
        where = exc.filename or path
        raise LedgerError(path, f"cannot open the consent ledger ({where}: {exc.strerror or exc})") from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield fh
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def _read_lines(fh) -> list[bytes]:
    fh.seek(0)
    return fh.read().splitlines()


def _event_from_dict(data: dict) -> ConsentEvent:
    missing = [k for k in _EVENT_KEYS if k not in data]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    extra = [k for k in data if k not in _EVENT_KEYS]
    if extra:
        raise ValueError(f"unexpected field(s) {', '.join(extra)}")
    if not isinstance(data["seq"], int) or isinstance(data["seq"], bool):
        raise ValueError(f"seq {data['seq']!r} is not an integer")
    if not isinstance(data["scopes"], list):
        raise ValueError("scopes is not a list")
    return ConsentEvent.from_dict(data)


@dataclass(frozen=True)
class VerifyResult(Record):
    """Outcome of checking the chain. ``first_bad_seq``/``first_bad_line`` name the first event that fails."""

    ok: bool
    n_events: int
    head: str
    first_bad_line: int | None = None
    first_bad_seq: int | None = None
    problem: str | None = None
    #: The first bad event is intact (its hash and link verify) but has a field or action this twotrack
    #: does not know: a newer twotrack wrote it; not reported as tampering.
    newer: bool = False

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.n_events} events, head {self.head}"
        if self.first_bad_line is None:  # no line to point at (an empty ledger)
            return f"{'NOT READABLE by this twotrack' if self.newer else 'TAMPERED'}: {self.problem}"
        where = f"line {self.first_bad_line}" + (f" (event #{self.first_bad_seq})" if self.first_bad_seq else "")
        return f"{'NOT READABLE by this twotrack' if self.newer else 'TAMPERED'} at {where}: {self.problem}"


def _newer_event(data: dict, prev: str) -> str | None:
    """What an intact event (hash and link verify) has that this twotrack does not know, or None."""
    if data.get("prev_hash") != prev or data.get("hash") != event_hash(data):
        return None
    unknown = [f"field {k!r}" for k in data if k not in _EVENT_KEYS]
    if data.get("action") not in ACTIONS:
        unknown.append(f"action {data.get('action')!r}")
    if not unknown:
        return None
    return (f"{', '.join(unknown)} unknown to this twotrack: a newer twotrack wrote this event (its hash and link "
            "verify); read and append to this ledger with that version")


def _verify_lines(lines: Sequence[bytes], expected_head: str | None = None) -> VerifyResult:
    prev = GENESIS
    n = 0
    for lineno, raw in enumerate(lines, start=1):
        seq_hint = None
        data = None
        try:
            data = _json_line(raw, lineno)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            seq_hint = data.get("seq") if isinstance(data.get("seq"), int) else None
            ev = _event_from_dict(data)
        except ValueError as exc:
            newer = _newer_event(data, prev) if isinstance(data, dict) else None
            if newer:
                return VerifyResult(False, n, prev, lineno, seq_hint, newer, newer=True)
            return VerifyResult(False, n, prev, lineno, seq_hint, f"unreadable event: {exc}")
        if ev.seq != lineno:
            return VerifyResult(False, n, prev, lineno, ev.seq, f"seq is {ev.seq}, expected {lineno} (events missing or reordered)")
        if data["prev_hash"] != prev:
            return VerifyResult(
                False, n, prev, lineno, ev.seq,
                f"prev_hash {data['prev_hash'][:12]}... does not match the previous event's hash {prev[:12]}... "
                "(an event before it was changed, removed or reordered)",
            )
        if event_hash(data) != data["hash"]:
            return VerifyResult(False, n, prev, lineno, ev.seq, "hash does not match the event's content (the event was edited)")
        try:  # the content must still be a valid event (a tamperer could recompute hashes; see docs)
            make_draft(**ev.draft.to_dict())
            if ev.status != ACTION_STATUS.get(ev.action):
                raise ValueError(f"status {ev.status!r} does not match action {ev.action!r}")
        except ValueError as exc:
            newer = _newer_event(data, prev)
            if newer:
                return VerifyResult(False, n, prev, lineno, ev.seq, newer, newer=True)
            return VerifyResult(False, n, prev, lineno, ev.seq, f"invalid event content: {exc}")
        prev = data["hash"]
        n += 1
    if expected_head is not None and expected_head != GENESIS:
        heads = set()
        for raw in lines:
            heads.add(json.loads(raw)["hash"])
        if not lines:  # nothing to be bad at a line: a missing or emptied ledger, or another workspace's
            return VerifyResult(
                False, 0, prev, None, None,
                f"the ledger holds no events, but the head {expected_head[:12]}... was expected (missing or "
                "emptied; is this the workspace the export was made from?)",
            )
        if expected_head not in heads:
            return VerifyResult(
                False, n, prev, len(lines) or None, None,
                f"expected head {expected_head[:12]}... is not in the chain (events were removed from the end, "
                "or this is a different ledger)",
            )
    return VerifyResult(True, n, prev)


@dataclass(frozen=True)
class AppendResult(Record):
    appended: tuple[ConsentEvent, ...]
    skipped: tuple[int, ...]  # row numbers already in the ledger (same fact), not appended again
    head: str


def _predating_errors(existing: Sequence[ConsentEvent], to_write: Sequence[tuple[int, EventDraft]]) -> list[RowError]:
    """Withdrawals/revocations dated before the grant they would revoke (rights/withdrawals.py)."""
    from .withdrawals import predating_withdrawals

    found = predating_withdrawals(existing, [d for _, d in to_write])
    return [RowError(to_write[i][0], why) for i, why in found]


class Ledger:
    """The consent ledger of one workspace (a JSONL file). Every method re-reads the file: it is the truth.

    >>> led = Ledger("/tmp/ws/consent-ledger.jsonl")          # doctest: +SKIP
    >>> led.grant("spk-1", ["ai-training"], "2024-01-01", "https://forms/1.pdf", "ab" * 32)  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, clock: Callable[[], str] = utc_now):
        self.path = Path(path)
        self._clock = clock

    @classmethod
    def in_workspace(cls, workspace: str | os.PathLike, **kw) -> Ledger:
        return cls(ledger_path(workspace), **kw)

    # ---- reading --------------------------------------------------------------------------

    def _lines(self) -> list[bytes]:
        if not self.path.exists():
            return []
        with _locked(self.path, exclusive=False) as fh:
            return _read_lines(fh)

    def events(self) -> list[ConsentEvent]:
        """Every event in order. A line that is not a valid event is a LedgerError naming it
        (run ``verify`` for the hash chain)."""
        out = []
        for lineno, raw in enumerate(self._lines(), start=1):
            try:
                out.append(_event_from_dict(_json_line(raw, lineno)))
            except (ValueError, TypeError) as exc:
                raise LedgerError(self.path, f"line {lineno}: not a valid consent event ({exc})") from None
        return out

    @property
    def head(self) -> str:
        """Hash of the last event (``GENESIS`` when empty): what exports record."""
        lines = self._lines()
        if not lines:
            return GENESIS
        try:
            return _json_line(lines[-1], len(lines))["hash"]
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerError(self.path, f"line {len(lines)}: cannot read the head event ({exc})") from None

    def verify(self, expected_head: str | None = None) -> VerifyResult:
        return _verify_lines(self._lines(), expected_head)

    def snapshot(self, expected_head: str | None = None) -> tuple[list[ConsentEvent], str]:
        """The events and the head from ONE read of a verified chain: what a stage that records the head it
        decided under (an export) must use, so the head it writes matches the events it judged by.
        Raises LedgerError naming the first bad event when the chain fails (or lacks ``expected_head``)."""
        lines = self._lines()
        res = _verify_lines(lines, expected_head)
        if not res.ok:
            raise LedgerError(self.path, str(res))
        return [_event_from_dict(json.loads(raw)) for raw in lines], res.head

    def events_since(self, head: str) -> list[ConsentEvent]:
        """Events appended after the event whose hash is ``head`` (all of them for GENESIS)."""
        events = self.events()
        if head == GENESIS:
            return events
        for i, ev in enumerate(events):
            if ev.hash == head:
                return events[i + 1 :]
        raise LedgerError(self.path, f"head {head[:12]}... is not in this ledger")

    def state(self, speaker: str, at: str | datetime | None = None) -> SpeakerConsent:
        return replay(self.events(), speaker, at)

    def states(self, speakers: Iterable[str] | None = None, at: str | datetime | None = None) -> dict[str, SpeakerConsent]:
        return replay_all(self.events(), speakers, at)

    def speakers(self) -> list[str]:
        return sorted({e.speaker for e in self.events()})

    # ---- writing --------------------------------------------------------------------------

    def append(
        self, drafts: Sequence[EventDraft], *, rows: Sequence[int] | None = None, source: object = None,
        skip_recorded: bool = False,
    ) -> AppendResult:
        """Append events atomically: all are checked against the ledger (under the lock) first, and if any
        fails, ImportRejected lists each failing row and nothing is written.

        ``rows`` are the row numbers reported in errors (default 1..n). ``skip_recorded`` skips drafts
        identical to an event already in the ledger (re-importing the same file appends nothing)."""
        rows = list(rows) if rows is not None else list(range(1, len(drafts) + 1))
        with _locked(self.path, exclusive=True) as fh:
            lines = _read_lines(fh)
            check = _verify_lines(lines)
            if not check.ok:
                raise LedgerError(self.path, f"refusing to append to a broken chain: {check}")
            existing = [_event_from_dict(json.loads(raw)) for raw in lines]
            recorded = {e.draft.content_key() for e in existing}
            speakers_with_consent = {e.speaker for e in existing if e.action in ("grant", "amend")}
            spellings: dict[str, str] = {}  # folded id -> the spelling the ledger has
            for e in existing:
                spellings.setdefault(speaker_fold(e.speaker), e.speaker)
            errors: list[RowError] = []
            to_write: list[tuple[int, EventDraft]] = []
            for row, draft in zip(rows, drafts):
                try:
                    draft = make_draft(**draft.to_dict())  # re-validate: drafts may be built by hand
                except ValueError as exc:
                    errors.append(RowError(row, str(exc)))
                    continue
                if skip_recorded and draft.content_key() in recorded:
                    continue
                known = spellings.setdefault(speaker_fold(draft.speaker), draft.speaker)
                if known != draft.speaker:
                    errors.append(RowError(row, (
                        f"speaker {draft.speaker!r} differs from {known!r}, already in the ledger, only in letter "
                        f"case or Unicode form; ids are matched exactly, so this {draft.action} would not reach "
                        f"{known!r}'s recordings: write {known!r}")))
                    continue
                if draft.action == "amend" and draft.speaker not in speakers_with_consent:
                    errors.append(RowError(row, f"amend for {draft.speaker!r}, who has no earlier grant to amend"))
                    continue
                if draft.action in ("grant", "amend"):
                    speakers_with_consent.add(draft.speaker)
                recorded.add(draft.content_key())
                to_write.append((row, draft))
            errors = sorted(errors + _predating_errors(existing, to_write), key=lambda e: e.row)
            if errors:
                raise ImportRejected(source or self.path, errors)
            prev = check.head
            seq = len(existing)
            now = self._clock()
            new: list[ConsentEvent] = []
            payload = bytearray()
            for _, draft in to_write:
                seq += 1
                body = dict(draft.to_dict(), seq=seq, status=ACTION_STATUS[draft.action], recorded_at=now, prev_hash=prev)
                body["hash"] = event_hash(body)
                ev = _event_from_dict(body)
                payload += canonical_json(body) + b"\n"
                new.append(ev)
                prev = body["hash"]
            if lines and not _ends_with_newline(fh):
                payload = bytearray(b"\n") + payload
            if payload:
                fh.write(bytes(payload))  # one write in append mode: the batch lands whole or not at all
                fh.flush()
                os.fsync(fh.fileno())
            written_rows = {r for r, _ in to_write}
            skipped = tuple(r for r in rows if r not in written_rows)
            return AppendResult(tuple(new), skipped, prev)

    def record(self, speaker: str, action: str, scopes, date: str, **fields) -> ConsentEvent:
        """Validate and append one event (raises ImportRejected with the reason when it is malformed)."""
        try:
            draft = make_draft(speaker, action, scopes, date, **fields)
        except ValueError as exc:
            raise ImportRejected(self.path, [RowError(1, str(exc))]) from None
        return self.append([draft]).appended[0]

    def grant(self, speaker, scopes, date, evidence, evidence_sha256, **kw) -> ConsentEvent:
        return self.record(speaker, "grant", scopes, date, evidence=evidence, evidence_sha256=evidence_sha256, **kw)

    def amend(self, speaker, scopes, date, evidence, evidence_sha256, **kw) -> ConsentEvent:
        return self.record(speaker, "amend", scopes, date, evidence=evidence, evidence_sha256=evidence_sha256, **kw)

    def withdraw(self, speaker, scopes, date, **kw) -> ConsentEvent:
        return self.record(speaker, "withdraw", scopes, date, **kw)

    def revoke(self, speaker, scopes, date, **kw) -> ConsentEvent:
        return self.record(speaker, "revoke", scopes, date, **kw)

    def import_file(self, path: str | os.PathLike) -> AppendResult:
        """Import a CSV or JSONL file of events: every row is validated first; one bad row appends nothing.
        Another workspace's ledger is taken (its chain keys are dropped) when its hash chain verifies."""
        drafts, rows = read_event_rows(path)
        if _is_ledger_file(path):
            lines = Path(path).read_bytes().splitlines()
            while lines and not lines[-1].strip():  # a blank last line (an editor's, a copy's) is no event
                lines.pop()
            check = _verify_lines(lines)
            if not check.ok:
                raise LedgerError(Path(path), f"a twotrack ledger whose hash chain does not verify ({check}): "
                                              "nothing was imported")
        return self.append(drafts, rows=rows, source=path, skip_recorded=True)


def _is_ledger_file(path) -> bool:
    """Whether ``path`` is JSONL whose first event carries a ledger's chain (``hash`` and ``prev_hash``)."""
    if Path(path).suffix.lower() not in (".jsonl", ".json", ".ndjson"):
        return False
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.strip() and not raw.lstrip().startswith(b"#"):
                try:
                    first = _json_line(raw, 1)
                except ValueError:
                    return False
                return isinstance(first, dict) and "hash" in first and "prev_hash" in first
    return False


def _ends_with_newline(fh) -> bool:
    fh.seek(0, os.SEEK_END)
    if fh.tell() == 0:
        return True
    fh.seek(-1, os.SEEK_END)
    return fh.read(1) == b"\n"


__all__ = [
    "ACTIONS", "AppendResult", "GENESIS", "ImportRejected", "LEDGER_RELPATH", "Ledger", "LedgerError",
    "RowError", "VerifyResult", "canonical_json", "event_hash", "ledger_path",
]
