"""The consent ledger: replay over time, hash-chain verification, atomic validated imports, concurrency."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

from twotrack.rights.consent import (
    EXPIRED, GIVEN, REVOKED, UNKNOWN, WITHDRAWN, make_draft, meet, replay,
)
from twotrack.rights.ledger import GENESIS, ImportRejected, Ledger, LedgerError, event_hash, ledger_path

H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64
DOC = "https://consent.example.org/forms/"


def _ledger(tmp_path) -> Ledger:
    return Ledger(tmp_path / "rights" / "ledger.jsonl")


def _history(led: Ledger) -> None:
    led.grant("spk1", ["ai-training", "commercial-use", "redistribution"], "2024-01-10", DOC + "1.pdf", H1,
              jurisdiction="de", expiry="2028-01-01")
    led.withdraw("spk1", ["commercial-use"], "2025-03-01")
    led.grant("spk1", ["commercial-use"], "2025-09-01", DOC + "2.pdf", H2)  # given again later
    led.revoke("spk1", "all", "2026-02-01", note="forms found unsigned")


def test_replay_gives_the_state_at_any_time(tmp_path):
    led = _ledger(tmp_path)
    _history(led)
    events = led.events()
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert [e.status for e in events] == [GIVEN, WITHDRAWN, GIVEN, REVOKED]

    before = replay(events, "spk1", "2024-01-09")
    assert not before.recorded and before.state("ai-training").status == UNKNOWN

    s = replay(events, "spk1", "2024-06-01")
    assert s.given("ai-training") and s.given("commercial-use") and s.given("redistribution")
    assert not s.given("voice-likeness") and s.state("voice-likeness").status == UNKNOWN
    assert s.state("ai-training").jurisdiction == "DE" and s.state("ai-training").evidence_sha256 == H1

    # the withdrawal takes effect on its date (00:00 UTC), for the withdrawn scope only
    assert replay(events, "spk1", "2025-02-28T23:59:59Z").given("commercial-use")
    w = replay(events, "spk1", "2025-03-01")
    assert w.state("commercial-use").status == WITHDRAWN and w.state("commercial-use").event_seq == 2
    assert w.given("ai-training") and w.given("redistribution")

    assert replay(events, "spk1", "2025-10-01").given("commercial-use")  # granted again
    r = replay(events, "spk1", "2026-03-01")  # the collector revoked everything
    assert all(r.state(s).status == REVOKED for s in ("ai-training", "commercial-use", "voice-likeness"))
    assert r.n_events == 4


def test_expiry_is_computed_at_replay(tmp_path):
    led = _ledger(tmp_path)
    led.grant("spk2", ["ai-training"], "2024-01-01", DOC + "a.pdf", H1, expiry="2025-01-01")
    events = led.events()
    assert replay(events, "spk2", "2024-12-31").given("ai-training")
    exp = replay(events, "spk2", "2025-01-01")
    assert exp.state("ai-training").status == EXPIRED and exp.state("ai-training").since == "2025-01-01"
    # no event is ever written for an expiry
    assert [e.status for e in led.events()] == [GIVEN]
    led.grant("spk2", ["ai-training"], "2025-06-01", DOC + "b.pdf", H2)  # renewed without expiry
    assert replay(led.events(), "spk2", "2030-01-01").given("ai-training")
    assert replay(led.events(), "spk2", "2025-03-01").state("ai-training").status == EXPIRED


def test_amend_replaces_the_given_scopes_and_backdated_events_land_in_time(tmp_path):
    led = _ledger(tmp_path)
    led.grant("spk3", ["ai-training", "voice-likeness"], "2024-01-01", DOC + "1.pdf", H1)
    led.amend("spk3", ["ai-training", "commercial-use"], "2024-05-01", DOC + "2.pdf", H2)
    s = led.state("spk3", "2024-06-01")
    assert s.given("commercial-use") and s.given("ai-training")
    assert s.state("voice-likeness").status == WITHDRAWN  # left out of the new document
    # recorded later but dated earlier: replay orders by date, not by seq
    led.withdraw("spk3", ["ai-training"], "2024-03-01", evidence=DOC + "w.pdf", evidence_sha256=H3)
    assert not led.state("spk3", "2024-04-01").given("ai-training")
    assert led.state("spk3", "2024-06-01").given("ai-training")  # the amendment (2024-05) gave it again


def test_meet_of_two_speakers():
    from twotrack.rights.consent import ConsentEvent

    def ev(seq, spk, scopes):
        return ConsentEvent(seq, spk, "grant", GIVEN, tuple(scopes), "2024-01-01", DOC, H1, None, None, None, "", GENESIS)

    events = [ev(1, "a", ["ai-training", "commercial-use"]), ev(2, "b", ["ai-training", "research-only"])]
    m = meet([replay(events, "a", "2025-01-01"), replay(events, "b", "2025-01-01")])
    assert m.given == ("ai-training",)  # commercial-use needs both
    assert m.restrictions == ("research-only",)  # a restriction binds when either speaker gave it


def test_verify_names_the_first_bad_event(tmp_path):
    led = _ledger(tmp_path)
    _history(led)
    assert led.verify().ok and led.verify().n_events == 4 and led.head == led.events()[-1].hash
    original = led.path.read_bytes()
    lines = original.splitlines()

    # 1. an edited field (hash no longer matches)
    edited = json.loads(lines[1])
    edited["date"] = "2025-12-01"
    led.path.write_bytes(b"\n".join([lines[0], json.dumps(edited).encode(), *lines[2:]]) + b"\n")
    res = led.verify()
    assert not res.ok and res.first_bad_seq == 2 and res.first_bad_line == 2 and "edited" in res.problem

    # 2. an edit that recomputes the event's own hash breaks the NEXT link
    edited["hash"] = event_hash(edited)
    led.path.write_bytes(b"\n".join([lines[0], json.dumps(edited).encode(), *lines[2:]]) + b"\n")
    res = led.verify()
    assert not res.ok and res.first_bad_seq == 3 and "prev_hash" in res.problem

    # 3. a deleted event in the middle
    led.path.write_bytes(b"\n".join([lines[0], *lines[2:]]) + b"\n")
    res = led.verify()
    assert not res.ok and res.first_bad_line == 2 and res.first_bad_seq == 3

    # 4. reordered events
    led.path.write_bytes(b"\n".join([lines[1], lines[0], *lines[2:]]) + b"\n")
    res = led.verify()
    assert not res.ok and res.first_bad_line == 1

    # 5. events cut from the end: only a head recorded elsewhere shows it
    led.path.write_bytes(b"\n".join(lines[:2]) + b"\n")
    assert led.verify().ok
    res = led.verify(expected_head=json.loads(lines[3])["hash"])
    assert not res.ok and "not in the chain" in res.problem

    # 6. garbage line
    led.path.write_bytes(original + b"{not json\n")
    res = led.verify()
    assert not res.ok and res.first_bad_line == 5 and "unreadable" in res.problem

    # appending to a broken chain is refused, and changes nothing
    with pytest.raises(LedgerError, match="broken chain"):
        led.withdraw("spk1", "all", "2027-01-01")
    assert led.path.read_bytes() == original + b"{not json\n"


def test_malformed_rows_are_rejected_with_row_and_reason_and_nothing_changes(tmp_path):
    led = _ledger(tmp_path)
    led.grant("spk1", ["ai-training"], "2024-01-01", DOC + "1.pdf", H1)
    before = led.path.read_bytes()
    src = tmp_path / "events.csv"
    src.write_text(
        "# a comment line\n"
        "speaker,action,scopes,date,evidence,evidence_sha256,jurisdiction,expiry\n"
        f"spk2,grant,ai-training;commercial-use,2024-02-01,{DOC}2.pdf,{H2},FR,\n"  # line 3: fine
        f"spk3,grant,ai-training;telepathy,2024-02-01,{DOC}3.pdf,{H2},,\n"  # line 4: unknown scope
        f"spk4,grant,ai-training,01/02/2024,{DOC}4.pdf,{H2},,\n"  # line 5: not ISO 8601
        "spk5,grant,ai-training,2024-02-01,,,,\n"  # line 6: grant without evidence
        f"spk6,erase,ai-training,2024-02-01,{DOC}6.pdf,{H2},,\n"  # line 7: unknown action
        f"spk7,grant,ai-training,2024-02-01,{DOC}7.pdf,xyz,,\n"  # line 8: bad sha256
        f"unknown,grant,ai-training,2024-02-01,{DOC}8.pdf,{H2},,\n"  # line 9: not an identity
        f"spk9,amend,ai-training,2024-02-01,{DOC}9.pdf,{H2},,\n"  # line 10: fine syntactically, no grant yet
        f"spk10,grant,ai-training,2024-02-01,{DOC}10.pdf,{H2},,2023-01-01\n"  # line 11: expiry before date
        "spk11,withdraw\n"  # line 12: too few cells
    )
    with pytest.raises(ImportRejected) as info:
        led.import_file(src)
    errors = {e.row: e.reason for e in info.value.errors}
    assert sorted(errors) == [4, 5, 6, 7, 8, 9, 11, 12]
    assert "telepathy" in errors[4]
    assert "ISO 8601" in errors[5]
    assert "evidence" in errors[6]
    assert "erase" in errors[7]
    assert "64 hex" in errors[8]
    assert "not an identity" in errors[9]
    assert "not after" in errors[11]
    assert "cells" in errors[12]
    assert led.path.read_bytes() == before  # nothing appended, nothing changed

    # once the syntax is fixed, the semantic check (amend before any grant) still rejects the whole file
    src.write_text(
        "speaker,action,scopes,date,evidence,evidence_sha256\n"
        f"spk2,grant,ai-training,2024-02-01,{DOC}2.pdf,{H2}\n"
        f"spk9,amend,ai-training,2024-02-01,{DOC}9.pdf,{H2}\n"
    )
    with pytest.raises(ImportRejected) as info:
        led.import_file(src)
    assert [(e.row, "no earlier grant" in e.reason) for e in info.value.errors] == [(3, True)]
    assert led.path.read_bytes() == before


def test_jsonl_import_is_idempotent_and_header_errors_are_named(tmp_path):
    led = _ledger(tmp_path)
    src = tmp_path / "events.jsonl"
    rows = [
        {"speaker": "s1", "action": "grant", "scopes": ["ai-training", "redistribution"], "date": "2024-01-01",
         "evidence": DOC + "1.pdf", "evidence_sha256": H1, "jurisdiction": "US-CA"},
        {"speaker": "s1", "action": "withdraw", "scopes": "", "date": "2025-01-01T12:00:00+02:00",
         "evidence": None, "evidence_sha256": None},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = led.import_file(src)
    assert len(res.appended) == 2 and res.appended[1].scopes == ("all",)
    assert res.appended[1].date == "2025-01-01T10:00:00Z"  # normalised to UTC
    again = led.import_file(src)
    assert again.appended == () and again.skipped == (1, 2) and len(led.events()) == 2

    bad = tmp_path / "bad.csv"
    bad.write_text("speaker,action,scope,date,evidence,evidence_sha256\n")
    with pytest.raises(ImportRejected, match="missing column"):
        led.import_file(bad)


def _append_many(path: str, worker: int, n: int) -> None:
    led = Ledger(path)
    for i in range(n):
        led.grant(f"w{worker}-s{i}", ["ai-training"], "2024-01-01", f"{DOC}{worker}-{i}.pdf", H1)


def test_concurrent_appends_keep_one_valid_chain(tmp_path):
    path = str(tmp_path / "rights" / "ledger.jsonl")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(path, w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    led = Ledger(path)
    res = led.verify()
    assert res.ok and res.n_events == 60
    assert sorted(e.speaker for e in led.events()) == sorted(f"w{w}-s{i}" for w in range(4) for i in range(15))


def test_drafts_validate_fields():
    d = make_draft("s", "WITHDRAW", "all", "2024-01-01")
    assert d.action == "withdraw" and d.scopes == ("all",)
    with pytest.raises(ValueError, match="contradict"):
        make_draft("s", "grant", "research-only;commercial-use", "2024-01-01", DOC, H1)
    with pytest.raises(ValueError, match="ISO 3166"):
        make_draft("s", "grant", "ai-training", "2024-01-01", DOC, H1, jurisdiction="Germany")
    with pytest.raises(ValueError, match="not a URI"):
        make_draft("s", "grant", "ai-training", "2024-01-01", "consent form.pdf", H1)


def test_ledger_lives_where_the_workspace_says(tmp_path):
    from twotrack.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    assert ledger_path(tmp_path / "ws") == ws.ledger_path
    assert Ledger(ws.ledger_path).head == GENESIS


@pytest.mark.parametrize("tail", [b"\n", b"  \n", b"\r\n"])
def test_another_ledger_with_a_blank_last_line_is_imported(tmp_path, tail):
    """Another workspace's ledger (a capture laptop's) that an editor or a copy left with a blank last line
    (or CRLF and a BOM) still verifies as a chain: before, the import was refused as TAMPERED at that line."""
    src = Ledger(tmp_path / "laptop" / "rights" / "ledger.jsonl")
    _history(src)
    body = src.path.read_bytes()
    copy = tmp_path / "laptop-ledger.jsonl"
    copy.write_bytes(b"\xef\xbb\xbf" + body.replace(b"\n", b"\r\n") + tail if tail == b"\r\n" else body + tail)
    led = _ledger(tmp_path)
    res = led.import_file(copy)
    assert len(res.appended) == 4 and led.verify().ok
    assert [e.action for e in led.events()] == ["grant", "withdraw", "grant", "revoke"]
    copy.write_bytes(body + b"\n" + body.splitlines()[0] + b"\n")  # a blank line inside is still no chain
    with pytest.raises(LedgerError, match="does not verify"):
        _ledger(tmp_path / "other").import_file(copy)


def test_a_missing_or_empty_ledger_under_an_expected_head_says_it_holds_no_events(tmp_path):
    """`rights audit EXPORT -w WS` with WS not the export's workspace (no ledger there, or an empty one) said
    "TAMPERED at line None: expected head ... is not in the chain": no line is bad, the ledger holds nothing.
    It now says the ledger holds no events and asks whether it is the workspace the export was made from."""
    head = "ab" * 32
    for led in (Ledger(tmp_path / "none" / "ledger.jsonl"), Ledger(tmp_path / "empty.jsonl")):
        if led.path.name == "empty.jsonl":
            led.path.write_text("")
        res = led.verify(expected_head=head)
        assert not res.ok
        text = str(res)
        assert "line None" not in text and "holds no events" in text and head[:12] in text, text
        with pytest.raises(LedgerError, match="holds no events"):
            led.snapshot(expected_head=head)
