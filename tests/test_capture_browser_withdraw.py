"""Capture sweep 2026-12-05, in one real headless Chromium page (as tests/test_capture_browser.py): a
participant whose consent is withdrawn in the ledger while they record sees it on the page, and the server
stores none of their audio from then on. One page, a few seconds of recording: kept short under load."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from capture_pages import create_session, join_with_consent
from serving import served

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if os.environ.get("TWOTRACK_SKIP_BROWSER") == "1":
    pytest.skip("TWOTRACK_SKIP_BROWSER=1", allow_module_level=True)


def test_a_withdrawal_while_recording_stops_the_upload_and_the_page_says_why(tmp_path):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright

    from twotrack.capture.server import create_app
    from twotrack.rights import Ledger, ledger_path
    from twotrack.rights.consent import utc_now

    ws = tmp_path / "ws"
    app = create_app(ws, scan=False)
    store = app.state.store
    with served(app, "the capture server") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            host = browser.new_page()
            page = browser.new_context().new_page()
            join_with_consent(page, create_session(host, base)["A"], "Ada Lovelace")
            page.wait_for_function("window.twotrack.phase === 'ready'", timeout=20_000)
            page.click("#start")
            page.wait_for_function("window.twotrack.chunksUploaded >= 2", timeout=20_000)
            sid = page.evaluate("window.twotrack.sid")
            speaker = store.get(sid).participants["A"].speaker_id
            Ledger(ledger_path(ws)).withdraw(speaker, ["all"], utc_now())
            held = store.chunks(sid, "A").next_seq
            page.wait_for_function("(window.twotrack.error || '').includes('withdrawn')", timeout=20_000)
            time.sleep(2.5)  # two more chunks' worth: none of them may arrive
            shown = page.inner_text("#error")
            st = page.evaluate("({recording: window.twotrack.recording, phase: window.twotrack.phase,"
                               " made: window.twotrack.chunksMade})")
            time.sleep(1.5)
            made_later = page.evaluate("window.twotrack.chunksMade")
        finally:
            browser.close()
    assert "withdrawn" in shown and speaker in shown
    assert store.chunks(sid, "A").next_seq <= held + 1  # at most the one in flight when the ledger changed
    # the page stopped capturing (before: it went on filling IndexedDB, the badge blinking)
    assert st["recording"] is False and st["phase"] == "refused" and made_later == st["made"], (st, made_later)
