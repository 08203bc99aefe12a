"""Capture sweep 2026-12-05: a server that stops while it assembles, and scans that cannot run at once.

Driven through the HTTP API as the page does (consent, clock, chunks, finish), over a real workspace."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from capture_api import RATE, client, consent, hdr, new_session, put  # noqa: F401 (client: the fixture)
from twotrack.capture.server import create_app
from twotrack.capture.sessions import SessionStore
from twotrack.store.locks import ScanLock

SAMPLE = "data/sample/clean/demo01_367_1688.flac"


def _speech(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Speech of each speaker of the sample's first dialogue (A from 0.5 s, B from 3.2 s), at RATE."""
    import soxr

    y, rate = sf.read(SAMPLE, dtype="float32")
    n = int(seconds * rate)
    a, b = y[int(0.5 * rate):, 0][:n], y[int(3.2 * rate):, 1][:n]
    return (soxr.resample(a, rate, RATE).astype(np.float32), soxr.resample(b, rate, RATE).astype(np.float32))


def _record(c, d, tracks: dict, finish=("A", "B")) -> None:
    """Consent, one clock exchange each, 1 s chunks stamped from now, and finish for the roles in ``finish``."""
    sid, now = d["session_id"], time.time() * 1000
    for role, x in tracks.items():
        consent(c, d, role, f"Person {role}")
        t0 = time.time() * 1000
        r = c.post(f"/api/sessions/{sid}/{role}/clock", json={"t0": t0}, headers=hdr(d, role)).json()
        c.post(f"/api/sessions/{sid}/{role}/clock", json={"t0": t0 + 1, "prev": [t0, r["ts_in"], r["ts_out"],
                                                                                  time.time() * 1000]},
               headers=hdr(d, role))
        for seq, s0 in enumerate(range(0, len(x), RATE)):
            assert put(c, d, role, seq, x[s0:s0 + RATE], s0, client_ms=now + s0 / RATE * 1000).status_code == 200
    for role in finish:
        n = len(tracks[role])
        r = c.post(f"/api/sessions/{sid}/{role}/finish", json={"n_chunks": -(-n // RATE), "n_samples": n},
                   headers=hdr(d, role))
        assert r.status_code == 200, r.text


def _wait(c, d, timeout=60.0) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        s = c.get(f"/api/sessions/{d['session_id']}", headers={"X-Capture-Token": d["host_token"]}).json()
        if s["state"] not in ("open", "recording", "stopped", "assembling"):
            return s
        time.sleep(0.05)
    raise AssertionError(f"session still {s['state']} after {timeout} s")


def test_a_session_left_assembling_by_a_stopped_server_is_assembled_after_restart(tmp_path):
    """Before: the state on disk stayed 'assembling' for ever; the host's 'assemble what arrived' answered
    'assembling' and did nothing, so the recording was never made."""
    ws = tmp_path / "ws"
    a, b = _speech(2.0)
    with TestClient(create_app(ws, scan=False)) as c:
        d = new_session(c)
        _record(c, d, {"A": a, "B": b}, finish=("A",))
    store = SessionStore(ws)  # B finished, and the server died while assembling
    s = store.get(d["session_id"])
    s.participants["B"].finished = {"n_chunks": 2, "n_samples": len(b), "input_zero_runs": [], "n_anchors": 0}
    s.state = "assembling"
    store.save(s)
    with TestClient(create_app(ws, scan=False)) as c:  # the restarted server
        s = _wait(c, d)
        assert s["state"] == "assembled" and s["error"] is None, s
        assert s["report"]["status"] == "complete"
        y, _ = sf.read(s["report"]["path"], dtype="float32")
        assert y.shape[1] == 2 and np.max(np.abs(y[:, 0])) > 0.01 and np.max(np.abs(y[:, 1])) > 0.01


def test_a_partial_session_left_assembling_can_be_assembled_again_by_the_host(tmp_path):
    ws = tmp_path / "ws"
    a, _ = _speech(2.0)
    with TestClient(create_app(ws, scan=False)) as c:
        d = new_session(c)
        _record(c, d, {"A": a}, finish=("A",))  # B never joined; the host forces, and the server dies
    store = SessionStore(ws)
    s = store.get(d["session_id"])
    s.state = "assembling"
    store.save(s)
    with TestClient(create_app(ws, scan=False)) as c:
        s = c.get(f"/api/sessions/{d['session_id']}", headers={"X-Capture-Token": d["host_token"]}).json()
        assert s["state"] == "stopped" and "host" in s["error"]
        r = c.post(f"/api/sessions/{d['session_id']}/assemble?force=true",
                   headers={"X-Capture-Token": d["host_token"]})
        assert r.json()["state"] == "partial", r.json()


def test_a_capture_whose_scan_cannot_run_is_still_assembled(tmp_path):
    """Before: with another scan writing the workspace (a `twotrack scan`, or a second session's assembly),
    the scan's LockTimeout made the session 'failed' with no report, though its FLAC and manifest row were
    written."""
    ws = tmp_path / "ws"
    a, b = _speech(2.0)
    with TestClient(create_app(ws, scan=True)) as c:
        d = new_session(c)
        with ScanLock(ws):  # another scan holds the workspace for the whole assembly
            _record(c, d, {"A": a, "B": b})
            s = _wait(c, d)
        assert s["state"] == "assembled", s
        assert s["report"]["scan"]["status"] == "not run"
        assert "another scan" in s["report"]["scan"]["error"] and "twotrack scan" in s["report"]["scan"]["error"]


def test_two_sessions_finishing_together_are_both_assembled_and_scanned(tmp_path):
    """Before: the two assemblies' scans ran at once and the second failed on the workspace's scan lock."""
    ws = tmp_path / "ws"
    a, b = _speech(2.0)
    with TestClient(create_app(ws, scan=True)) as c:
        ds = [new_session(c) for _ in range(2)]
        for d in ds:
            _record(c, d, {"A": a, "B": b}, finish=("A",))
        go = threading.Barrier(2)

        def finish(d):
            go.wait()
            c.post(f"/api/sessions/{d['session_id']}/B/finish", json={"n_chunks": 2, "n_samples": len(b)},
                   headers=hdr(d, "B"))

        threads = [threading.Thread(target=finish, args=(d,)) for d in ds]
        [t.start() for t in threads]
        [t.join() for t in threads]
        done = [_wait(c, d) for d in ds]
    assert [s["state"] for s in done] == ["assembled", "assembled"], [s["error"] for s in done]
    assert all(s["report"]["scan"]["status"] == "completed" for s in done)
    from twotrack.store import Workspace, queries

    ids = queries.recording_ids(Workspace(ws))
    assert {s["recording_id"] for s in done} <= ids


def _now() -> str:
    from twotrack.rights.consent import utc_now

    return utc_now()


def _cli(*args):
    from click.testing import CliRunner

    from twotrack.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_no_more_audio_after_a_participant_withdraws_mid_session(tmp_path):
    """Before: `twotrack consent withdraw` during the session changed nothing at the server: the page went
    on uploading the participant's microphone and the server stored it."""
    ws = tmp_path / "ws"
    a, _ = _speech(3.0)
    with TestClient(create_app(ws, scan=False)) as c:
        d = new_session(c)
        sid = d["session_id"]
        _, res = consent(c, d, "A", "Ann")
        assert put(c, d, "A", 0, a[:RATE], 0).json()["status"] == "stored"
        r = _cli("consent", "withdraw", res["speaker_id"], "--date", _now(), "-w", ws)
        assert r.exit_code == 0, r.output
        for r in (put(c, d, "A", 1, a[RATE:2 * RATE], RATE),
                  c.put(f"/api/sessions/{sid}/A/anchors/0", params={"rate": RATE, "capture_ms": 1.7e12},
                        content=a[:480].tobytes(), headers=hdr(d, "A"))):
            assert r.status_code == 403 and "withdrawn" in r.json()["detail"], r.text
        assert c.get(f"/api/sessions/{sid}/A/chunks", headers=hdr(d, "A")).json()["next_seq"] == 1
        # consent given again in the page is a new grant, and the upload resumes where it stopped
        t = c.get(f"/api/sessions/{sid}/A/consent-text", params={"name": "Ann"}, headers=hdr(d, "A")).json()
        r = c.post(f"/api/sessions/{sid}/A/consent", json={"name": "Ann", "sha256": t["sha256"], "agree": True},
                   headers=hdr(d, "A"))
        assert r.status_code == 200 and r.json()["speaker_id"] == res["speaker_id"]
        from twotrack.rights import Ledger, ledger_path

        assert [e.action for e in Ledger(ledger_path(ws)).events()] == ["grant", "withdraw", "grant"]
        assert put(c, d, "A", 1, a[RATE:2 * RATE], RATE).json()["status"] == "stored"


def test_a_withdrawal_of_some_scopes_keeps_the_recording_going(tmp_path):
    ws = tmp_path / "ws"
    a, _ = _speech(2.0)
    with TestClient(create_app(ws, scan=False)) as c:
        d = new_session(c)
        _, res = consent(c, d, "A", "Ann")
        assert _cli("consent", "withdraw", res["speaker_id"], "--scopes", "commercial-use", "--date", _now(),
                    "-w", ws).exit_code == 0
        assert put(c, d, "A", 0, a[:RATE], 0).json()["status"] == "stored"


def test_a_chunk_at_another_rate_than_the_device_rate_is_refused(client):
    """Before: settings said 48000 Hz, chunks said 16000 Hz: stored, and the track was assembled at
    16000 Hz (or resampled from it beside a 48 kHz partner), three times too slow, without a word."""
    d = new_session(client)
    sid = d["session_id"]
    consent(client, d, "A", "Ann")
    assert client.post(f"/api/sessions/{sid}/A/settings", json={"sample_rate": RATE},
                       headers=hdr(d, "A")).status_code == 200
    r = client.put(f"/api/sessions/{sid}/A/chunks/0", params={"sample_start": 0, "rate": 16000, "client_ms": 1.7e12},
                   content=np.zeros(1600, "<f4").tobytes(), headers=hdr(d, "A"))
    assert r.status_code == 409 and "16000" in r.json()["detail"] and str(RATE) in r.json()["detail"]
    assert client.get(f"/api/sessions/{sid}/A/chunks", headers=hdr(d, "A")).json()["next_seq"] == 0
    assert put(client, d, "A", 0, np.zeros(1600), 0).json()["status"] == "stored"  # at the device rate


@pytest.mark.parametrize("title", ["Talk\nParticipant: Mallory (track A)\n\nI agree to everything",
                                   "Talk\r\nLicense of the recording: CC0-1.0"])
def test_a_title_cannot_forge_lines_of_the_consent_text(client, title):
    """Before: a title's line breaks went into the consent text as they were, so the text a participant
    signed had a second 'Participant:' or 'License' line written by the host."""
    d = new_session(client, title=title)
    t = client.get(f"/api/sessions/{d['session_id']}/A/consent-text", params={"name": "Ann"},
                   headers=hdr(d, "A")).json()["text"]
    lines = t.splitlines()
    assert sum(line.startswith("Participant:") for line in lines) == 1
    assert sum(line.startswith("License of the recording:") for line in lines) == 1
    assert lines[2].startswith("Session: ") and " ".join(title.split()) in lines[2]


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200b", "Ann\u202eeve", "\u2067Ann", "Ann\x9b"])
def test_invisible_or_text_reversing_names_are_refused(client, name):
    """Before: a zero-width space was a name (the consent text read 'Participant:  (track A)') and a
    right-to-left override made the text display differently from what it holds."""
    d = new_session(client)
    r = client.get(f"/api/sessions/{d['session_id']}/A/consent-text", params={"name": name}, headers=hdr(d, "A"))
    assert r.status_code == 400, r.text
    if not name.startswith("\u200b"):  # a title may be empty, but not reverse or hide the consent text
        assert client.post("/api/sessions", json={"license": "CC0-1.0", "title": f"T{name}"}).status_code == 400


def test_names_in_any_script_are_taken(client):
    d = new_session(client, title="Gespräch über Ångström")
    for name in ("Zoë Ångström", "山田 太郎", "محمد", "क्षत्रिय"):  # the last holds a virama, no joiner needed
        r = client.get(f"/api/sessions/{d['session_id']}/A/consent-text", params={"name": name}, headers=hdr(d, "A"))
        assert r.status_code == 200 and name in r.json()["text"]


def test_the_consents_of_a_capture_workspace_are_imported_with_its_recordings(tmp_path):
    """A capture laptop's workspace scanned into the team's workspace: its ledger (the consents given in
    the page) is imported with `consent import`. Before: every row was refused ('unknown key(s) hash,
    prev_hash, recorded_at, seq, status'), so the recordings stayed blocked for want of consent."""
    cap, team = tmp_path / "capture-ws", tmp_path / "team-ws"
    a, b = _speech(2.0)
    with TestClient(create_app(cap, scan=False)) as c:
        d = new_session(c)
        _record(c, d, {"A": a, "B": b})
        s = _wait(c, d)
    assert s["state"] == "assembled"
    manifest = cap / "capture" / "manifest.jsonl"
    assert _cli("scan", manifest, "-w", team, "-j", "0", "--no-progress").exit_code == 0
    blocked = _cli("rights", "-w", team, "--purpose", "research-training")
    assert "0 of 1 recording(s) allowed" in blocked.output and "no consent recorded" in blocked.output
    ledger = cap / "rights" / "ledger.jsonl"
    r = _cli("consent", "import", ledger, "-w", team)
    assert r.exit_code == 0, r.output
    allowed = _cli("rights", "-w", team, "--purpose", "research-training")
    assert "1 of 1 recording(s) allowed" in allowed.output, allowed.output
    assert _cli("consent", "verify", "-w", team).exit_code == 0
    before = (team / "rights" / "ledger.jsonl").read_bytes()
    assert _cli("consent", "import", ledger, "-w", team).exit_code == 0  # again: nothing appended
    assert (team / "rights" / "ledger.jsonl").read_bytes() == before
    # a ledger whose chain was edited is not imported
    lines = ledger.read_text().splitlines()
    lines[0] = lines[0].replace('"ai-training"', '"voice-likeness"')
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(lines) + "\n")
    r = _cli("consent", "import", forged, "-w", tmp_path / "third-ws")
    assert r.exit_code == 1 and "hash chain" in r.output and not (tmp_path / "third-ws" / "rights" / "ledger.jsonl").exists()


def test_pages_read_the_stop_after_a_server_restart(tmp_path):
    """The signalling relay is in memory. Before: after a restart a page that had read n messages asked for
    'after=n' of an empty box and saw nothing until n new messages came, so the host's Stop never reached
    it (it went on recording); a stop sent just before the restart and not yet read was lost."""
    ws = tmp_path / "ws"
    with TestClient(create_app(ws, scan=False)) as c:
        d = new_session(c)
        sid = d["session_id"]
        for i in range(3):  # A's offer and candidates, read by B
            c.post(f"/api/sessions/{sid}/A/signal", json={"type": "candidate", "i": i}, headers=hdr(d, "A"))
        got = c.get(f"/api/sessions/{sid}/B/signal", headers=hdr(d, "B")).json()
        nxt_b, epoch = got["next"], got["epoch"]
        assert nxt_b == 3
        d2 = new_session(c)  # a second session: its pages have read one message each (hello, offer) ...
        for role, other in (("A", "B"), ("B", "A")):
            c.post(f"/api/sessions/{d2['session_id']}/{other}/signal", json={"type": "hello"}, headers=hdr(d2, other))
            assert c.get(f"/api/sessions/{d2['session_id']}/{role}/signal", headers=hdr(d2, role)).json()["next"] == 1
        # ... and its host stopped it just before the restart; the pages have not read the stop
        c.post(f"/api/sessions/{d2['session_id']}/stop", headers={"X-Capture-Token": d2["host_token"]})
    with TestClient(create_app(ws, scan=False)) as c:  # restarted
        assert c.post(f"/api/sessions/{sid}/stop", headers={"X-Capture-Token": d["host_token"]}).status_code == 200
        got = c.get(f"/api/sessions/{sid}/B/signal", params={"after": nxt_b, "epoch": epoch}, headers=hdr(d, "B")).json()
        assert [m["type"] for m in got["messages"]] == ["stop"] and got["next"] == 1 and got["epoch"] != epoch
        assert c.get(f"/api/sessions/{sid}/B/signal", params={"after": got["next"], "epoch": got["epoch"]},
                     headers=hdr(d, "B")).json()["messages"] == []
        for role in ("A", "B"):
            got = c.get(f"/api/sessions/{d2['session_id']}/{role}/signal", params={"after": 1, "epoch": epoch},
                        headers=hdr(d2, role)).json()
            assert [m["type"] for m in got["messages"]] == ["stop"], (role, got)


def test_a_ledger_that_refuses_the_grant_is_a_clear_answer_not_a_500(client):
    """Before: a host-fixed id that the ledger already holds in another letter case ('LIBRI-367' beside
    'libri-367'), or a ledger whose chain was edited, made the consent click answer a bare
    '500 Internal Server Error'; the clash was only found when the participant consented."""
    from twotrack.rights import Ledger, ledger_path

    ledger = Ledger(ledger_path(client.ws))
    ledger.grant("libri-367", ["ai-training"], "2026-01-01", "https://example.org/c.pdf", "0" * 64)
    r = client.post("/api/sessions", json={"license": "CC0-1.0", "speaker_a": "LIBRI-367"})
    assert r.status_code == 400 and "libri-367" in r.json()["detail"]
    r = client.post("/api/sessions", json={"license": "CC0-1.0", "speaker_a": "bob", "speaker_b": "Bob"})
    assert r.status_code == 400
    assert client.post("/api/sessions", json={"license": "CC0-1.0", "speaker_a": "libri-367"}).status_code == 200
    d = new_session(client, speaker_b="ann-2")
    path = ledger_path(client.ws)
    path.write_text(path.read_text().replace("ai-training", "voice-likeness", 1))  # an edited chain
    t = client.get(f"/api/sessions/{d['session_id']}/B/consent-text", params={"name": "Ann"}, headers=hdr(d, "B"))
    r = client.post(f"/api/sessions/{d['session_id']}/B/consent",
                    json={"name": "Ann", "sha256": t.json()["sha256"], "agree": True}, headers=hdr(d, "B"))
    assert r.status_code == 503 and "ledger" in r.json()["detail"] and "edited" in r.json()["detail"], r.text
    s = client.get(f"/api/sessions/{d['session_id']}", headers=hdr(d, "B")).json()
    assert s["participants"]["B"]["consented"] is False
    assert put(client, d, "B", 0, np.zeros(480), 0).status_code == 403  # still no audio without consent


def test_accented_names_keep_their_letters_in_the_speaker_id(client):
    """Before: 'Zoë Ångström' became the speaker id 'zo-ngstr-m-<sid6>-a' (every accented letter cut)."""
    d = new_session(client)
    _, res = consent(client, d, "A", "Zoë Ångström")
    assert res["speaker_id"] == f"zoe-angstrom-{d['session_id'][:6]}-a"
    _, res = consent(client, d, "B", "山田 太郎")
    assert res["speaker_id"] == f"speaker-{d['session_id'][:6]}-b"


def test_consent_list_keeps_long_speaker_ids_apart_from_their_status(tmp_path):
    """Before: the speaker column was 16 wide, so a capture speaker id ran into its first status:
    'speaker-5yxo4r-bwithdrawn'."""
    from twotrack.rights import Ledger, ledger_path

    ledger = Ledger(ledger_path(tmp_path / "ws"))
    for spk in ("speaker-5yxo4r-b", "zoe-angstrom-5yxo4r-a", "s1"):
        ledger.grant(spk, ["ai-training"], "2026-01-01", "https://example.org/c.pdf", "0" * 64)
    r = _cli("consent", "list", "-w", tmp_path / "ws")
    assert r.exit_code == 0, r.output
    rows = [line.split() for line in r.output.splitlines()]
    assert rows[0][:2] == ["speaker", "ai-training"]
    assert {tuple(row[:2]) for row in rows[1:]} == {(s, "given") for s in ("speaker-5yxo4r-b", "zoe-angstrom-5yxo4r-a", "s1")}


def test_a_session_file_that_cannot_be_read_does_not_keep_the_server_from_starting(tmp_path):
    """The restart pass reads every session (above); one unreadable session.json is skipped and logged."""
    ws = tmp_path / "ws"
    with TestClient(create_app(ws, scan=False)) as c:
        d = new_session(c)
    bad = ws / "capture" / "sessions" / ("b" * 20)
    bad.mkdir()
    (bad / "session.json").write_text("{not json")
    with TestClient(create_app(ws, scan=False)) as c:
        assert c.get(f"/api/sessions/{d['session_id']}", headers={"X-Capture-Token": d["host_token"]}).status_code == 200


def test_an_upload_cut_off_mid_body_stores_nothing_and_logs_no_traceback(tmp_path):
    """Before: each upload the network cut off mid-body logged 'Exception in ASGI application' with a
    ClientDisconnect traceback (nothing was stored, rightly); a flaky network filled the log with them."""
    import logging
    import socket

    import httpx
    from serving import served

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    app = create_app(tmp_path / "ws", scan=False)
    keep = Keep(level=logging.ERROR)
    try:
        with served(app) as base:
            logging.getLogger("uvicorn.error").addHandler(keep)  # after uvicorn configured its logging
            c = httpx.Client(base_url=base)
            d = new_session(c)
            consent(c, d, "A", "Ann")
            sid, body = d["session_id"], np.ones(RATE, "<f4").tobytes()
            host, port = base.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port))) as s:
                s.sendall(f"PUT /api/sessions/{sid}/A/chunks/0?sample_start=0&rate={RATE}&client_ms=1.7e12 HTTP/1.1\r\n"
                          f"Host: x\r\nX-Capture-Token: {d['tokens']['A']}\r\nContent-Length: {len(body)}\r\n\r\n"
                          .encode() + body[:40_000])
                time.sleep(0.3)
            time.sleep(0.5)
            assert c.get(f"/api/sessions/{sid}/A/chunks", headers=hdr(d, "A")).json()["next_seq"] == 0
            assert put(c, d, "A", 0, np.ones(RATE), 0).json()["status"] == "stored"  # the retry
    finally:
        logging.getLogger("uvicorn.error").removeHandler(keep)
    assert not [r for r in records if "Exception in ASGI application" in r.getMessage()], records


def test_a_second_capture_server_on_one_workspace_is_refused(tmp_path):
    """Before: a second `twotrack capture serve` on the same workspace started; the two processes kept
    their own session locks over the same files (two participants finishing at once on the two servers
    could each rewrite session.json from their own read)."""
    import subprocess
    import sys

    ws = tmp_path / "ws"
    cmd = [sys.executable, "-m", "twotrack", "capture", "serve", "-w", str(ws), "--port", "0", "--no-scan"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Ctrl-C stops it" in first.stdout.readline()  # serving
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert second.returncode == 2 and "another capture server" in second.stderr, second.stderr
        assert str(first.pid) in second.stderr
    finally:
        first.terminate()
        first.wait(10)


def test_a_second_page_on_one_join_link_cannot_splice_its_audio_into_the_track(client):
    """The page sends its own id (X-Capture-Page). Before: a second tab on the same link (or the page
    reloaded mid-recording) counted from chunk 0 again; its chunks under stored numbers were refused with
    next_seq ahead, which the page takes as 'already held' and drops, and once it passed the first page
    its chunks were appended as if they continued the first page's audio: two microphones' takes spliced
    into one track, without a word."""
    d = new_session(client)
    sid = d["session_id"]
    consent(client, d, "A", "Ann")
    first, second = (np.full(RATE, v, "<f4") for v in (0.1, -0.2))

    def put_from(page, seq, x):
        return client.put(f"/api/sessions/{sid}/A/chunks/{seq}",
                          params={"sample_start": seq * RATE, "rate": RATE, "client_ms": 1.7e12 + seq * 1000},
                          content=x.tobytes(), headers={**hdr(d, "A"), "X-Capture-Page": page})

    assert put_from("page-1", 0, first).json()["status"] == "stored"
    assert put_from("page-1", 1, first).json()["status"] == "stored"
    for seq in (0, 2):  # the second page's first chunk, and one past the stored ones
        r = put_from("page-2", seq, second)
        assert r.status_code == 409 and "another page" in r.json()["detail"], r.text
        assert r.json()["next_seq"] is None  # nothing for the page to skip ahead to
    assert put_from("page-1", 2, first).json()["status"] == "stored"
    track = client.app_.state.store.chunks(sid, "A").read_all()
    assert len(track) == 3 * RATE and np.all(track == np.float32(0.1))  # the first page's audio only
