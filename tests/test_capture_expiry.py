"""Expiry of abandoned capture sessions (capture/expiry.py): links answer 410, partial audio is deleted (or
kept on request) with a record in the session, finished sessions are never touched, and expiry happens at
start, periodically, on request, by `twotrack capture expire`, and resumes after a stop mid-expiry.

The real app over a real workspace (as tests/capture_api.py), with a clock the test moves: no waiting."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from capture_api import RATE, consent, hdr, new_session, put
from twotrack.capture import expiry
from twotrack.capture.expiry import ExpiryPolicy, iso
from twotrack.capture.server import create_app
from twotrack.capture.sessions import SessionStore
from twotrack.cli import main
from twotrack.rights import Ledger, ledger_path

HOUR = 3600.0
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
PAST = 1_700_000_000.0  # 2023-11-14T22:13:20Z: `capture expire --at` judges at a moment already passed


class Clock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _app(ws, clock, after_s=HOUR, keep=False, check_s=300.0):
    return create_app(ws, scan=False, clock=clock, expiry=ExpiryPolicy(after_s, keep, check_s))


def _tone(seconds=1.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _upload(c, d, role, n, start_seq=0, base_ms=1.7e12):
    for seq in range(start_seq, start_seq + n):
        r = put(c, d, role, seq, _tone(), seq * RATE, client_ms=base_ms + seq * 1000)
        assert r.status_code == 200 and r.json()["status"] == "stored", r.text


def _host(c, d):
    return c.get(f"/api/sessions/{d['session_id']}", headers={"X-Capture-Token": d["host_token"]})


def _track_files(ws, sid):
    base = ws / "capture" / "sessions" / sid
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and p.parent != base)


def _sync(c, d, role) -> float:
    """One clock exchange (as the page's first ones, which the assembly needs); the client clock now (ms)."""
    sid, t0 = d["session_id"], time.time() * 1000
    r = c.post(f"/api/sessions/{sid}/{role}/clock", json={"t0": t0}, headers=hdr(d, role)).json()
    c.post(f"/api/sessions/{sid}/{role}/clock", json={"t0": t0 + 1, "prev": [t0, r["ts_in"], r["ts_out"],
                                                                              time.time() * 1000]},
           headers=hdr(d, role))
    return t0


def _record_both(c, d, seconds=2):
    """Both participants consent, upload ``seconds`` 1 s chunks and finish (the session assembles)."""
    for role in ("A", "B"):
        consent(c, d, role, f"Person {role}")
        _upload(c, d, role, seconds, base_ms=_sync(c, d, role))
    for role in ("A", "B"):
        r = c.post(f"/api/sessions/{d['session_id']}/{role}/finish",
                   json={"n_chunks": seconds, "n_samples": seconds * RATE}, headers=hdr(d, role))
        assert r.status_code == 200, r.text


def _wait_assembled(c, d, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        s = _host(c, d).json()
        if s["state"] not in ("open", "recording", "stopped", "assembling"):
            return s
        time.sleep(0.05)
    raise AssertionError(f"not assembled: {s['state']}")


def test_an_idle_unfinished_session_expires_its_links_answer_410_and_its_audio_is_deleted(tmp_path):
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock)) as c:
        d = new_session(c, title="Abandoned")
        sid = d["session_id"]
        consent(c, d, "A", "Ann")
        consent(c, d, "B", "Bob")
        _upload(c, d, "A", 3)
        clock.t += 0.99 * HOUR  # activity (a stored chunk) moves the limit on
        _upload(c, d, "A", 1, start_seq=3)
        clock.t += 0.99 * HOUR  # clock exchanges and polls are not activity
        ping = {"t0": 1.7e12 + 9, "prev": [1.7e12, 1.7e12 + 1, 1.7e12 + 2]}
        assert c.post(f"/api/sessions/{sid}/A/clock", json=ping, headers=hdr(d, "A")).status_code == 200
        assert c.get(f"/api/sessions/{sid}/B/signal", headers=hdr(d, "B")).status_code == 200
        assert c.app.state.expire_now() == []  # 0.99 h since the last chunk: not yet
        held = _track_files(ws, sid)
        assert any(f.startswith("A/chunks/") for f in held) and "A/clock.jsonl" in held
        clock.t += 0.02 * HOUR
        expired_at = clock.t
        rows = c.app.state.expire_now()
        assert [r["session_id"] for r in rows] == [sid]

        page = c.get(f"/join/{sid}/A", params={"k": d["tokens"]["A"]})
        assert page.status_code == 410 and "expired" in page.text and "session" in page.text
        for method, url, kw in [
            ("GET", f"/api/sessions/{sid}", {}),
            ("GET", f"/api/sessions/{sid}/A/chunks", {}),
            ("GET", f"/api/sessions/{sid}/A/signal", {}),
            ("GET", f"/api/sessions/{sid}/A/consent-text", {"params": {"name": "Ann"}}),
            ("POST", f"/api/sessions/{sid}/A/clock", {"json": {"t0": 1.7e12}}),
            ("POST", f"/api/sessions/{sid}/A/finish", {"json": {"n_chunks": 4, "n_samples": 4 * RATE}}),
        ]:
            r = c.request(method, url, headers=hdr(d, "A"), **kw)
            assert r.status_code == 410 and "expired" in r.json()["detail"], (url, r.status_code, r.text)
        r = put(c, d, "A", 4, _tone(), 4 * RATE)
        assert r.status_code == 410 and "deleted" in r.json()["detail"], r.text
        for path in ("stop", "assemble?force=true"):  # the host cannot revive it either
            assert c.post(f"/api/sessions/{sid}/{path}", headers={"X-Capture-Token": d["host_token"]}).status_code == 410
        s = _host(c, d)  # ... but reads what became of it
    assert s.status_code == 200 and s.json()["state"] == "expired"
    e = s.json()["expiry"]
    assert e["at"] == iso(expired_at) == e["deleted_at"]
    assert e["last_activity"] == iso(T0 + 0.99 * HOUR) and e["after_s"] == HOUR
    assert e["state_before"] == "recording" and e["audio_action"] == "delete"
    assert e["audio"]["A"]["chunks"] == 4 and e["audio"]["A"]["samples"] == 4 * RATE and e["audio"]["A"]["seconds"] == 4.0
    assert e["audio"]["A"]["files"] == len([f for f in held if f.startswith("A/")])
    assert e["audio"]["B"]["chunks"] == 0
    assert _track_files(ws, sid) == []  # chunks, clock exchanges: all gone; session.json stays as the record
    assert (ws / "capture" / "sessions" / sid / "session.json").exists()
    # the consents given stay in the ledger (they are its history); the evidence texts stay with them
    assert len(Ledger(ledger_path(ws)).events()) == 2
    assert len(list((ws / "capture" / "consent").glob(f"{sid}-*.txt"))) == 2


def test_a_link_used_after_the_limit_expires_its_session_at_once(tmp_path):
    """No pass has run since the limit passed (the periodic one every 300 s): the request itself expires
    the session, so a link never works, nor revives the session, in between."""
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock)) as c:
        d = new_session(c)
        consent(c, d, "A", "Ann")
        _upload(c, d, "A", 2)
        clock.t += HOUR
        r = put(c, d, "A", 2, _tone(), 2 * RATE)
        assert r.status_code == 410 and "expired" in r.json()["detail"]
        assert _host(c, d).json()["state"] == "expired"
        assert _track_files(ws, d["session_id"]) == []
        # a session nobody joined expires too (its links were never used)
        d2 = new_session(c)
        clock.t += HOUR
        assert c.get(f"/join/{d2['session_id']}/B").status_code == 410
        assert _host(c, d2).json()["expiry"]["state_before"] == "open"


def test_finished_sessions_are_never_touched(tmp_path):
    """Assembled (both tracks finished), partial (assembled by the host) and a session whose two tracks
    are finished but not yet assembled: none expires, however long they sit."""
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock)) as c:
        done = new_session(c)
        _record_both(c, done)
        assert _wait_assembled(c, done)["state"] == "assembled"
        part = new_session(c)
        consent(c, part, "A", "Ann")
        _upload(c, part, "A", 2, base_ms=_sync(c, part, "A"))
        r = c.post(f"/api/sessions/{part['session_id']}/assemble?force=true",
                   headers={"X-Capture-Token": part["host_token"]})
        assert r.json()["state"] == "partial", r.json()
        before = {d["session_id"]: _track_files(ws, d["session_id"]) for d in (done, part)}
        recordings = sorted(p.name for p in (ws / "capture" / "recordings").iterdir())
        clock.t += 1000 * HOUR
        assert c.app.state.expire_now() == []
        for d in (done, part):
            assert _host(c, d).json()["state"] in ("assembled", "partial")
            assert c.get(f"/api/sessions/{d['session_id']}", headers=hdr(d, "A")).status_code == 200
            assert c.get(f"/join/{d['session_id']}/A").status_code == 200
            assert _track_files(ws, d["session_id"]) == before[d["session_id"]]
        assert sorted(p.name for p in (ws / "capture" / "recordings").iterdir()) == recordings
    # both tracks finished, the server stopped before it assembled them (it assembles them at its start)
    store = SessionStore(ws, clock=clock, policy=ExpiryPolicy(HOUR))
    s = store.create("CC-BY-4.0")
    for p in s.participants.values():
        p.finished = {"n_chunks": 0, "n_samples": 0, "input_zero_runs": [], "n_anchors": 0}
    s.state = "stopped"
    store.save(s)
    clock.t += 1000 * HOUR
    assert expiry.sweep(store, store.policy) == [] and store.get(s.session_id).state == "stopped"


def test_the_operator_can_keep_the_audio_of_expired_sessions(tmp_path):
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock, keep=True)) as c:
        d = new_session(c)
        consent(c, d, "A", "Ann")
        _upload(c, d, "A", 2)
        held = _track_files(ws, d["session_id"])
        clock.t += 2 * HOUR
        c.app.state.expire_now()
        r = put(c, d, "A", 2, _tone(), 2 * RATE)
        assert r.status_code == 410 and "kept by the operator" in r.json()["detail"]
        e = _host(c, d).json()["expiry"]
    assert e["audio_action"] == "keep" and e["deleted_at"] is None and e["audio"]["A"]["chunks"] == 2
    assert _track_files(ws, d["session_id"]) == held


def test_expiry_runs_at_server_start(tmp_path):
    """A server restarted after the limit passed expires what became overdue while it was down."""
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock)) as c:
        d = new_session(c)
        consent(c, d, "B", "Bea")
        _upload(c, d, "B", 2)
    clock.t += 2 * HOUR
    app = _app(ws, clock)  # nothing asked of it yet
    s = app.state.store.get(d["session_id"])
    assert s.state == "expired" and s.expiry["audio"]["B"]["chunks"] == 2
    assert _track_files(ws, d["session_id"]) == []


def test_the_running_server_expires_sessions_periodically(tmp_path):
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock, check_s=0.05)) as c:
        d = new_session(c)
        consent(c, d, "A", "Ann")
        _upload(c, d, "A", 1)
        clock.t += 2 * HOUR
        store, end = c.app.state.store, time.monotonic() + 20
        while store.get(d["session_id"]).state != "expired":  # no request: only the periodic pass can do it
            assert time.monotonic() < end, "the periodic pass never expired the session"
            time.sleep(0.02)
    assert _track_files(ws, d["session_id"]) == []


def test_a_server_stopped_mid_expiry_finishes_the_deletion_at_restart(tmp_path):
    """Step 1 (session saved 'expiring' with its inventory) done, step 2 (deletion) cut off after some files:
    the next start deletes the rest, keeps the inventory of what the session held, and says it resumed."""
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock)) as c:
        d = new_session(c)
        consent(c, d, "A", "Ann")
        _upload(c, d, "A", 3)
        consent(c, d, "B", "Bob")
        _upload(c, d, "B", 2)
    sid = d["session_id"]
    clock.t += 2 * HOUR
    store = SessionStore(ws, clock=clock, policy=ExpiryPolicy(HOUR))
    with store.lock(sid):
        assert expiry.begin(store, sid, store.policy, clock())
    base = ws / "capture" / "sessions" / sid
    for p in sorted((base / "A" / "chunks").iterdir())[:3]:  # the killed deletion got this far
        p.unlink()
    with TestClient(_app(ws, clock)) as c:
        # even before the restart finished it, an 'expiring' session's links are gone
        clock.t += 60
        s = _host(c, d).json()
        assert c.get(f"/api/sessions/{sid}", headers=hdr(d, "B")).status_code == 410
    assert s["state"] == "expired", s
    e = s["expiry"]
    assert e["audio"]["A"]["chunks"] == 3 and e["audio"]["B"]["chunks"] == 2  # what it held, not what was left
    assert e["resumed_at"] == iso(T0 + 2 * HOUR) and e["deleted_at"] == iso(T0 + 2 * HOUR)
    assert _track_files(ws, sid) == []


def test_no_expiry_with_expire_after_zero(tmp_path):
    ws, clock = tmp_path / "ws", Clock()
    with TestClient(_app(ws, clock, after_s=0)) as c:
        d = new_session(c)
        consent(c, d, "A", "Ann")
        _upload(c, d, "A", 1)
        clock.t += 10_000 * HOUR
        assert c.app.state.expire_now() == []
        _upload(c, d, "A", 1, start_seq=1)


def _cli(*args):
    return CliRunner().invoke(main, ["capture", *args])


def test_capture_sessions_lists_state_and_age_and_capture_expire_expires(tmp_path):
    ws, clock = tmp_path / "ws", Clock(PAST)
    with TestClient(_app(ws, clock)) as c:
        idle = new_session(c, title="idle one")
        consent(c, idle, "A", "Ann")
        _upload(c, idle, "A", 2)
        clock.t += 0.5 * HOUR
        fresh = new_session(c, title="fresh one")
        done = new_session(c, title="done")
        _record_both(c, done, seconds=1)
        _wait_assembled(c, done)
    at = iso(PAST + 1.25 * HOUR)
    r = _cli("sessions", "-w", str(ws), "--at", at, "--expire-after", "1h", "--json")
    assert r.exit_code == 0, r.output
    rows = {x["title"]: x for x in json.loads(r.output)}
    assert rows["idle one"]["state"] == "recording" and rows["idle one"]["idle_s"] == 1.25 * HOUR
    assert rows["idle one"]["overdue"] and rows["idle one"]["tracks"]["A"]["seconds"] == 2.0
    assert rows["fresh one"]["expires"] == iso(PAST + 1.5 * HOUR) and not rows["fresh one"]["overdue"]
    assert rows["done"]["state"] == "assembled" and rows["done"]["expires"] is None
    text = _cli("sessions", "-w", str(ws), "--at", at, "--expire-after", "1h").output
    assert "overdue" in text and "1.2 h" in text and "expire after 1 h" in text

    r = _cli("expire", "-w", str(ws), "--at", at, "--expire-after", "1h", "--dry-run")
    assert r.exit_code == 0 and "would expire, delete audio" in r.output and "1 session(s) would expire" in r.output
    assert SessionStore(ws).get(idle["session_id"]).state == "recording"  # a dry run changes nothing
    r = _cli("expire", "-w", str(ws), "--at", at, "--set", "capture.expire_after_s=3600")
    assert r.exit_code == 0, r.output
    assert idle["session_id"] in r.output and "deleted 2.0 s of audio" in r.output, r.output
    states = {s.session_id: s.state for s in SessionStore(ws).list()}
    assert states == {idle["session_id"]: "expired", fresh["session_id"]: "open", done["session_id"]: "assembled"}
    assert _track_files(ws, idle["session_id"]) == []


@pytest.mark.parametrize("args, words", [
    (["--expire-after", "soon"], "not a duration"),
    (["--set", "capture.expire_after_s=-1"], "capture.expire_after_s"),
    (["--set", "capture.expire_check_s=0"], "capture.expire_check_s"),
])
def test_bad_expiry_settings_are_usage_errors(tmp_path, args, words):
    (tmp_path / "ws" / "capture" / "sessions").mkdir(parents=True)
    for cmd in ("sessions", "expire"):
        r = _cli(cmd, "-w", str(tmp_path / "ws"), *args)
        assert r.exit_code == 2 and words in r.output, (cmd, r.output)


@contextmanager
def _serving(ws):
    """A real `twotrack capture serve -w WS --expire-after 90m` process, once it says it serves; stopped after."""
    import subprocess
    import sys

    serve = [sys.executable, "-m", "twotrack", "capture", "serve", "-w", str(ws), "--port", "0", "--no-scan",
             "--expire-after", "90m"]
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Ctrl-C stops it" in server.stdout.readline()
        yield server
    finally:
        server.terminate()
        server.wait(10)


def test_capture_expire_is_refused_while_a_server_serves_the_workspace(tmp_path):
    import subprocess
    import sys

    ws = tmp_path / "ws"
    with _serving(ws) as server:
        assert "expire after 1.5 h without activity" in server.stdout.readline()
        r = subprocess.run([sys.executable, "-m", "twotrack", "capture", "expire", "-w", str(ws)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "expires sessions itself" in r.stderr and str(server.pid) in r.stderr, r.stderr


def test_a_session_saved_before_activity_was_recorded_is_judged_by_its_newest_file(tmp_path):
    """session.json without last_activity (written by an earlier twotrack): its newest file stands for its
    last activity, so one with a chunk stored an hour ago is not expired at the first start."""
    import os

    ws, now = tmp_path / "ws", time.time()
    with TestClient(_app(ws, Clock(now - 30 * HOUR))) as c:
        old, recent = new_session(c), new_session(c)
        for d in (old, recent):
            consent(c, d, "A", "Ann")
            _upload(c, d, "A", 1)
    for d, age in ((old, 30 * HOUR), (recent, 1 * HOUR)):
        folder = ws / "capture" / "sessions" / d["session_id"]
        doc = json.loads((folder / "session.json").read_text())
        del doc["last_activity"], doc["expiry"]
        (folder / "session.json").write_text(json.dumps(doc))
        for p in folder.rglob("*"):
            os.utime(p, (now - age, now - age))
    app = _app(ws, Clock(now), after_s=24 * HOUR)
    assert app.state.store.get(old["session_id"]).state == "expired"
    assert app.state.store.get(recent["session_id"]).state == "recording"


def test_capture_expire_keeps_the_audio_when_told(tmp_path):
    ws, clock = tmp_path / "ws", Clock(PAST)
    with TestClient(_app(ws, clock)) as c:
        d = new_session(c)
        consent(c, d, "B", "Bo")
        _upload(c, d, "B", 2)
    held = _track_files(ws, d["session_id"])
    r = _cli("expire", "-w", str(ws), "--at", iso(PAST + 80 * HOUR), "--keep-expired-audio")  # default limit: 72 h
    assert r.exit_code == 0 and "kept 2.0 s of audio" in r.output, r.output
    s = SessionStore(ws).get(d["session_id"])
    assert s.state == "expired" and s.expiry["audio_action"] == "keep" and s.expiry["after_s"] == 72 * HOUR
    assert _track_files(ws, d["session_id"]) == held


def test_a_server_started_while_capture_expire_runs_says_so(tmp_path):
    """The lock `capture expire` holds names it: a `capture serve` started meanwhile said "another capture
    server already serves" (the expire command's pid)."""
    import fcntl
    import os

    ws = tmp_path / "ws"
    (ws / "capture" / "sessions").mkdir(parents=True)
    from twotrack.cli.capture import _one_server

    held = _one_server(ws, doing="expire")  # what `capture expire` holds while it runs
    try:
        r = _cli("serve", "-w", str(ws), "--port", "0")
        assert r.exit_code == 2 and "capture expire" in r.output and str(os.getpid()) in r.output, r.output
        assert "another capture server" not in r.output
        r = _cli("expire", "-w", str(ws))
        assert r.exit_code == 2 and "capture expire" in r.output, r.output
    finally:
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
        held.close()


@pytest.mark.parametrize("args", [
    ["--expire-after", "1000000000000"],  # 31 700 years: the listing's date was a traceback (year out of range)
    ["--set", "capture.expire_after_s=inf"],  # 'OverflowError: timestamp out of range'
    ["--set", "capture.expire_after_s=1e308"],
])
def test_an_expiry_too_long_to_date_is_a_usage_error_not_a_traceback(tmp_path, args):
    ws = tmp_path / "ws"
    with TestClient(_app(ws, Clock())) as c:
        new_session(c, title="waiting")
    for cmd in ("sessions", "expire"):
        r = _cli(cmd, "-w", str(ws), *args)
        assert r.exit_code == 2 and "100 years" in r.output, (cmd, r.exit_code, r.output)
    r = _cli("sessions", "-w", str(ws), "--expire-after", "36500d")  # 100 years less a bit is dated
    assert r.exit_code == 0 and "waiting" in r.output, r.output


def test_capture_expire_at_a_future_moment_deletes_nothing_and_says_to_dry_run(tmp_path):
    """`capture expire --at` next week, without --dry-run, deleted now the audio of sessions idle for less
    than the limit, under a record saying they expired next week. Refused (exit 2); a dry run may look ahead."""
    ws = tmp_path / "ws"
    with TestClient(_app(ws, Clock(time.time()))) as c:
        d = new_session(c, title="recording now")
        consent(c, d, "A", "Ann")
        _upload(c, d, "A", 2)
    sid, week = d["session_id"], iso(time.time() + 7 * 24 * HOUR)
    r = _cli("expire", "-w", str(ws), "--at", week, "--expire-after", "72h")
    assert r.exit_code == 2 and "in the future" in r.output and "--dry-run" in r.output, r.output
    assert SessionStore(ws).get(sid).state == "recording" and len(_track_files(ws, sid)) > 0
    r = _cli("expire", "-w", str(ws), "--at", week, "--expire-after", "72h", "--dry-run")
    assert r.exit_code == 0 and sid in r.output and "would expire, delete audio" in r.output, r.output
    assert SessionStore(ws).get(sid).state == "recording"


def test_a_limit_under_a_second_is_not_said_to_be_0_s(tmp_path):
    # before: `--expire-after 0.04` printed "expire after 0 s without activity", while 0 means never
    (tmp_path / "ws" / "capture" / "sessions").mkdir(parents=True)
    r = _cli("expire", "-w", str(tmp_path / "ws"), "--expire-after", "0.04", "--dry-run")
    assert r.exit_code == 0 and "expire after 0.04 s without activity" in r.output, r.output
    assert expiry.duration_text(0.5) == "0.5 s" and expiry.duration_text(90) == "90 s"


def test_capture_sessions_judges_by_the_limit_of_the_server_that_runs(tmp_path):
    """`capture sessions` judged expiry by the config's capture.expire_after_s (72 h) while the server that
    expires the sessions ran with `--expire-after 90m`: a session the server would expire in 1.5 h was listed
    as expiring in 3 days. The running server now writes its limit in its lock (WS/capture/.serve.lock) and
    `capture sessions` uses it while the lock is held, naming the server; options given on the command line still decide, and
    the listing says what the server applies."""
    ws = tmp_path / "ws"
    with TestClient(_app(ws, Clock(time.time()))) as c:
        sid = new_session(c)["session_id"]

    def listed(*extra):
        res = CliRunner().invoke(main, ["capture", "sessions", "-w", str(ws), *extra], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        return res.output

    def limit_s(rows):
        (row,) = rows
        assert row["session_id"] == sid
        return expiry.epoch(row["expires"]) - expiry.epoch(row["last_activity"])

    with _serving(ws) as server:
        assert "expire after 1.5 h" in server.stdout.readline()
        rows = json.loads(listed("--json"))
        assert limit_s(rows) == pytest.approx(1.5 * HOUR, abs=1.0)
        assert rows[0]["limit_from"] == f"the running capture server (pid {server.pid})"
        text = listed()
        assert f"expire after 1.5 h without activity, their partial audio deleted (the running capture server, " \
               f"pid {server.pid})" in text, text
        # an option given decides the listing; the listing says what the server applies
        rows = json.loads(listed("--json", "--expire-after", "3h"))
        assert limit_s(rows) == pytest.approx(3 * HOUR, abs=1.0) and rows[0]["limit_from"] == "the options given"
        assert f"the running capture server (pid {server.pid}) expires them after 1.5 h" in listed("--expire-after", "3h")
    # no server: the config's limit, as the next server started without options would apply it
    rows = json.loads(listed("--json"))
    assert limit_s(rows) == pytest.approx(72 * HOUR, abs=1.0)
    assert rows[0]["limit_from"] == "the config: no capture server runs"


def test_capture_sessions_with_an_unreadable_limit_in_the_running_servers_lock(tmp_path):
    """The serve lock of a running server overwritten (a stray `echo > .serve.lock`, a disk error) with bytes
    that are not text, a NaN limit or one past 100 years: `capture sessions` ended in a UnicodeDecodeError or
    OverflowError traceback, or listed a NaN limit ('expire after nan s', an expiry date in the past). The
    listing now falls back on the config's limit and says the server's limit could not be read."""
    ws = tmp_path / "ws"
    with TestClient(_app(ws, Clock(time.time()))) as c:
        new_session(c)
    lock = ws / "capture" / ".serve.lock"
    with _serving(ws) as server:
        for body in (b"\xff\xfe\x00\x81 garbage", f"{server.pid} ".encode() + json.dumps(
                {"expire_after_s": float("nan"), "keep_expired_audio": False, "expire_check_s": 300.0}).encode(),
                     f"{server.pid} ".encode() + json.dumps(
                {"expire_after_s": 1e20, "keep_expired_audio": False, "expire_check_s": 300.0}).encode(),
                     b"hello world"):
            lock.write_bytes(body)
            res = CliRunner().invoke(main, ["capture", "sessions", "-w", str(ws), "--json"])
            assert res.exit_code == 0 and res.exception is None, (body, res.output, res.exception)
            (row,) = json.loads(res.stdout)
            assert row["expire_after_s"] == 72 * HOUR, body
            assert "a capture server runs" in row["limit_from"] and "not readable" in row["limit_from"], row
            text = CliRunner().invoke(main, ["capture", "sessions", "-w", str(ws)]).output
            assert "expire after 72 h" in text and "not readable" in text and "nan" not in text, text
            # `capture expire` (and a second `capture serve`) still say a server holds the workspace
            res = CliRunner().invoke(main, ["capture", "expire", "-w", str(ws)])
            assert res.exit_code == 2 and res.exception is None or isinstance(res.exception, SystemExit), \
                (body, res.output, res.exception)
            assert "a capture server serves" in res.output, res.output


def test_a_capture_serve_started_while_capture_sessions_peeks_at_the_lock_still_starts(tmp_path):
    """`capture sessions` takes the serve lock shared for an instant to see whether a server holds it. A `capture
    serve` (or `capture expire`) asking for it in that instant exited 2 "another capture server already serves"
    naming the pid a killed server had left in the file. It now waits a moment for a shared holder to let go."""
    import fcntl
    import threading

    from twotrack.cli.capture import _one_server

    lock = tmp_path / "ws" / "capture" / ".serve.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text('4242 {"expire_after_s": 5400.0, "keep_expired_audio": false, "expire_check_s": 300.0}')
    peek = open(lock)
    fcntl.flock(peek.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)  # as `capture sessions` holds it
    threading.Timer(0.05, peek.close).start()  # and lets go
    fh = _one_server(tmp_path / "ws")
    try:
        assert lock.read_text().split(" ")[0] == str(__import__("os").getpid())
    finally:
        fh.close()
