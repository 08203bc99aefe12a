"""Capture in two real headless Chromium pages (Debian's `chromium` via Playwright, fake microphones):
host page -> two join links -> consent -> headphones check -> record ~3 s with a live WebRTC link -> stop ->
the workspace holds a scanned two-track recording whose speakers both have a ledger grant.

`make browser` installs chromium; Playwright never downloads a browser. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from capture_pages import create_session, join_with_consent
from serving import served
import soundfile as sf

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

if os.environ.get("TWOTRACK_SKIP_BROWSER") == "1":
    pytest.skip("TWOTRACK_SKIP_BROWSER=1", allow_module_level=True)


@pytest.fixture()
def server(tmp_path):
    from twotrack.capture.server import create_app

    ws = tmp_path / "ws"
    app = create_app(ws, scan=True)
    with served(app, "the capture server") as base:
        yield base, ws, app


def _wait(page, expr: str, timeout_s: float = 20.0):
    page.wait_for_function(expr, timeout=timeout_s * 1000)


def test_two_browsers_record_a_consented_two_track_conversation(server):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright

    base, ws, app = server
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            host = browser.new_page()
            links = create_session(host, base, "browser test")
            pages = {}
            for role, name in (("A", "Ada Lovelace"), ("B", "Alan Turing")):
                page = browser.new_context().new_page()  # one browser profile per participant
                page.on("pageerror", lambda e, r=role: errors.append(f"{r}: {e}"))
                page.on("console", lambda m, r=role: errors.append(f"{r}: {m.text}") if m.type == "error" else None)
                join_with_consent(page, links[role], name)
                pages[role] = page
            for page in pages.values():
                _wait(page, "window.twotrack.phase === 'ready'")
            for page in pages.values():
                _wait(page, "window.twotrack.link === 'connected'", 15)
            for page in pages.values():
                page.click("#start")
            time.sleep(3.0)
            pages["A"].screenshot(path=str(ARTIFACTS / "capture-A-recording.png"), full_page=True)
            pages["B"].screenshot(path=str(ARTIFACTS / "capture-B-recording.png"), full_page=True)
            pages["A"].click("#stop")  # B stops through the relay's stop message
            for page in pages.values():
                _wait(page, "['assembled', 'partial', 'failed'].includes(window.twotrack.sessionState)", 60)
            states = {r: pg.evaluate("window.twotrack") for r, pg in pages.items()}
            pages["A"].screenshot(path=str(ARTIFACTS / "capture-A-done.png"), full_page=True)
            time.sleep(1.2)  # one host poll
            host.screenshot(path=str(ARTIFACTS / "capture-host.png"), full_page=True)
        finally:
            browser.close()

    assert not [e for e in errors if "favicon" not in e], errors
    sid = states["A"]["sid"]
    session = app.state.store.get(sid)
    assert session.state == "assembled", session.error
    report = session.report
    flac = Path(report["path"])
    info = sf.info(str(flac))
    assert info.channels == 2 and info.format == "FLAC"
    assert 2.5 <= info.duration <= 8.0  # ~3 s, plus the stop's relay and upload under load
    for t in report["tracks"]:
        assert t["complete"] and t["chunks"] >= 3 and t["peak_dbfs"] is not None  # the fake microphone beeps
        assert t["microphone"]["echoCancellation"] is False and t["microphone"]["autoGainControl"] is False
    remote = {r: states[r].get("remotePeak", 0) for r in "AB"}
    assert min(remote.values()) > 0.01, remote  # each page heard the other's beeps over the WebRTC link
    for role in "AB":
        assert states[role]["chunksMade"] == states[role]["chunksUploaded"] and states[role]["finished"]
    # the ledger holds both grants, for the speakers the manifest names
    from twotrack.rights import Ledger, ledger_path
    from twotrack.store import Workspace, queries

    events = Ledger(ledger_path(ws)).events()
    speakers = {p.speaker_id for p in session.participants.values()}
    assert {e.speaker for e in events if e.action == "grant"} == speakers and len(events) == 2
    assert Ledger(ledger_path(ws)).verify().ok
    rec = queries.recording(Workspace(ws), report["recording_id"])
    assert rec is not None and set(rec.speakers) == speakers and rec.source_type.value == "two-track"
    assert report["scan"]["failed"] == 0
    (ARTIFACTS / "capture-report.json").write_text(json.dumps(report, indent=1))
    print(f"\n[capture browser] {info.duration:.2f} s two-track FLAC at {info.samplerate} Hz; alignment uncertainty "
          f"{report['alignment_uncertainty_ms']} ms; rtt min A/B "
          f"{[round(t['clock']['rtt_min_ms'], 2) for t in report['tracks']]} ms; far-end peak over the WebRTC link {remote}")
