"""Capture expiry in real headless Chromium pages (as tests/test_capture_browser_withdraw.py): when the session
expires (the server's clock, given by the test, moved past the limit), a page that records and a page that
waits with its microphone open both stop their microphone, say the session expired, and drop what they still
buffered; the server holds none of the session's audio any more."""

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
HOUR = 3600.0

if os.environ.get("TWOTRACK_SKIP_BROWSER") == "1":
    pytest.skip("TWOTRACK_SKIP_BROWSER=1", allow_module_level=True)


class Clock:
    def __init__(self):
        self.t = time.time()

    def __call__(self):
        return self.t


STATE = ("({phase: window.twotrack.phase, recording: window.twotrack.recording, made: window.twotrack.chunksMade,"
         " microphone: window.twotrack.microphone, error: window.twotrack.error, cleared: window.twotrack.bufferCleared,"
         " pending: window.twotrack.pending})")


def test_an_expired_session_stops_the_pages_microphones_and_says_so(tmp_path):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright

    from twotrack.capture.expiry import ExpiryPolicy
    from twotrack.capture.server import create_app

    ws, clock = tmp_path / "ws", Clock()
    app = create_app(ws, scan=False, clock=clock, expiry=ExpiryPolicy(HOUR))
    store = app.state.store
    with served(app, "the capture server") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            host = browser.new_page()
            links = create_session(host, base)
            link_a, link_b = links["A"], links["B"]
            a, b = browser.new_context().new_page(), browser.new_context().new_page()
            join_with_consent(a, link_a, "Ada Lovelace")
            join_with_consent(b, link_b, "Bea Waiting")
            for page in (a, b):
                page.wait_for_function("window.twotrack.phase === 'ready'", timeout=20_000)
            a.click("#start")
            a.wait_for_function("window.twotrack.chunksUploaded >= 2", timeout=20_000)
            sid = a.evaluate("window.twotrack.sid")
            assert store.chunks(sid, "A").next_seq >= 2
            clock.t += 2 * HOUR  # the test's server clock: the session sat idle past the limit
            for page in (a, b):  # A's next upload, B's next relay poll meet the 410
                page.wait_for_function("window.twotrack.phase === 'expired'", timeout=20_000)
            a.wait_for_function("window.twotrack.bufferCleared === true", timeout=10_000)
            st = {r: page.evaluate(STATE) for r, page in (("A", a), ("B", b))}
            shown = a.inner_text("#error")
            time.sleep(1.5)  # a chunk's worth: the worklet made none since
            made_later = a.evaluate("window.twotrack.chunksMade")
            # a chunk a closed page left in this browser's buffer: the expired link's page deletes it
            a.evaluate("""(k) => new Promise((res, rej) => { const rq = indexedDB.open('twotrack-capture', 1);
                rq.onsuccess = () => { const t = rq.result.transaction('chunks', 'readwrite');
                  t.objectStore('chunks').put({key: k, seq: 99}); t.oncomplete = () => { rq.result.close(); res(); };
                  t.onerror = () => rej(t.error); }; })""", f"{sid}/A/00000099")
            reopened = a.goto(link_a)
            reopened_text = a.inner_text("body")
            a.wait_for_function("window.twotrackGone && window.twotrackGone.cleared", timeout=10_000)
            left = a.evaluate("""(sid) => new Promise((res) => { const rq = indexedDB.open('twotrack-capture', 1);
                rq.onsuccess = () => { const c = rq.result.transaction('chunks').objectStore('chunks')
                  .count(IDBKeyRange.bound(sid + '/', sid + '/\\uffff')); c.onsuccess = () => res(c.result); }; })""", sid)
        finally:
            browser.close()
    assert "expired" in shown and "deleted" in shown, shown
    for r in "AB":
        assert st[r]["recording"] is False and st[r]["microphone"] == "ended", (r, st[r])
        assert "expired" in st[r]["error"], st[r]
    assert made_later == st["A"]["made"] and st["A"]["pending"] == 0, (st["A"], made_later)
    assert reopened.status == 410 and "expired" in reopened_text and left == 0
    s = store.get(sid)
    assert s.state == "expired" and s.expiry["audio"]["A"]["chunks"] >= 2 and s.expiry["deleted_at"]
    assert not (ws / "capture" / "sessions" / sid / "A").exists()
