"""Issue 13's end-to-end test: two real headless Chromium processes (Debian's `chromium` via Playwright), each
with a fake microphone fed from a KNOWN speech file, consent, >= 30 s of recording with one client offline
for a few seconds in the middle, then stop, and the assembled two-track FLAC is checked against the inputs:

- every sample the page counted reached the server, in order, bit for bit equal to the input file;
- each assembled channel cross-correlates with its own input in one clean peak, holds no run of zeros
  inside its span, and is exactly lead-in + recorded samples + tail long;
- the two channels are aligned within 10 ms, measured against Chrome's own capture timestamps;
- the ledger holds both grants.

What Chrome does with the fake-microphone file (Chromium 156, measured here): the fake input device runs at
44.1 kHz, so a 48 kHz file is resampled by Chrome (not bit-exact); the file is written at 44.1 kHz so the
page gets its samples unchanged (to the 16-bit LSB). The file starts playing when the page's getUserMedia
opens the device (not at browser launch) and LOOPS at its end; the files here are 68 s, longer than the
~40 s from getUserMedia to stop, so no loop happens inside a recording (the content check handles one).

Truth for the alignment: a MediaStreamTrackProcessor on a clone of the page's microphone track (injected by
the test, not part of the page) gives Chrome's capture timestamp of the first audio frames in the page's
clock; with the file position of those frames (found from the content) this is the page-clock time of file
sample 0 on each side. The assembly's placement is measured from the content too (the lag of each
assembled channel against its input), so the residual is content position minus capture time, per side,
A minus B. Numbers are printed (and written to test-artifacts/capture-e2e.json).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SOURCE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"
FAKE_RATE = 44100  # Chrome's fake input device rate: files at this rate reach the page unresampled
RECORD_S = 30.5
OFFLINE_AT_S, OFFLINE_FOR_S = 12.0, 4.0
LSB = 1.0 / 32767

if os.environ.get("TWOTRACK_SKIP_BROWSER") == "1":
    pytest.skip("TWOTRACK_SKIP_BROWSER=1", allow_module_level=True)

# Injected into each page before its own script: taps the microphone track the page opens and keeps the
# first ~1.5 s of frames with Chrome's capture timestamps (performance-clock microseconds).
TAP = """
(() => {
  const md = navigator.mediaDevices; if (!md) return;
  const orig = md.getUserMedia.bind(md);
  window.__tap = {frames: [], done: false, error: null, origin: performance.timeOrigin};
  md.getUserMedia = async (c) => {
    const s = await orig(c);
    try {
      const clone = s.getAudioTracks()[0].clone();
      const rd = new MediaStreamTrackProcessor({track: clone}).readable.getReader();
      (async () => {
        for (let i = 0; i < 150; i++) {
          const {value, done} = await rd.read(); if (done) break;
          const b = new Float32Array(value.numberOfFrames);
          value.copyTo(b, {planeIndex: 0, format: "f32-planar"});
          window.__tap.frames.push({ts: value.timestamp, rate: value.sampleRate, data: Array.from(b)});
          value.close();
        }
        window.__tap.done = true; rd.cancel(); clone.stop();
      })().catch((e) => { window.__tap.error = String(e); });
    } catch (e) { window.__tap.error = String(e); }
    return s;
  };
})();
"""


def make_inputs(folder: Path) -> dict[str, Path]:
    """One speaker per file (the dialogue's two channels), 44.1 kHz mono 16-bit, with seeded noise at
    -50 dBFS so that no stretch of the input is digital silence (a run of zeros in a track is then a gap)."""
    import soxr

    x, rate = sf.read(str(SOURCE), dtype="float64")
    rng = np.random.default_rng(13)
    out = {}
    for ch, role in ((0, "A"), (1, "B")):
        y = soxr.resample(x[:, ch], rate, FAKE_RATE, quality="VHQ") + rng.normal(0, 10 ** (-50 / 20), int(
            round(len(x) * FAKE_RATE / rate)))
        path = folder / f"input-{role}.wav"
        sf.write(str(path), np.clip(np.round(y * 32767), -32768, 32767).astype(np.int16), FAKE_RATE, subtype="PCM_16")
        out[role] = path
    return out


def read_input(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="int16")[0].astype(np.float32) / 32767


def file_position(ref: np.ndarray, probe: np.ndarray) -> int:
    """Where ``probe`` starts in ``ref`` looped once (Chrome loops the fake file)."""
    from scipy.signal import fftconvolve

    c = fftconvolve(np.concatenate([ref, ref[:len(probe)]]), probe[::-1], mode="valid")[:len(ref)]
    return int(np.argmax(c))


def correlate(track: np.ndarray, ref: np.ndarray) -> tuple[int, float]:
    """Lag L with track[i] ~ ref[i - L] (phase-transform weighted cross-correlation, so speech's own
    periodicity does not smear the peak), and the ratio of the peak to the largest value >= 1 ms away."""
    n = 1 << int(np.ceil(np.log2(len(track) + len(ref))))
    g = np.fft.rfft(track, n) * np.conj(np.fft.rfft(ref, n))
    c = np.fft.irfft(g / np.maximum(np.abs(g), 1e-12), n)
    k = int(np.argmax(c))
    guard = FAKE_RATE // 1000
    rest = np.concatenate([c[:max(k - guard, 0)], c[k + guard:]])
    return (k if k < n // 2 else k - n), float(c[k] / max(np.abs(rest).max(), 1e-12))


def file_start_from_frames(ref: np.ndarray, frames: list[dict], rate: int) -> tuple[float, int, float]:
    """Page-clock time (performance.now ms) of file sample 0 from the tapped frames: each frame's capture
    timestamp minus its file position. The first frames may be zeros (the device starting) and the tap may
    skip a frame, so only frames that equal the file exactly at their predicted position are used."""
    data = [np.asarray(f["data"], np.float32) for f in frames]
    k0 = next(k for k, d in enumerate(data) if d.any())
    cum = np.concatenate([[0], np.cumsum([len(d) for d in data])])
    q = file_position(ref, np.concatenate(data[k0:k0 + 50]))
    at = []
    for k in range(k0, len(data)):
        pos = q + cum[k] - cum[k0]
        if np.max(np.abs(np.take(ref, np.arange(pos, pos + len(data[k])), mode="wrap") - data[k])) <= 1.5 * LSB:
            at.append(frames[k]["ts"] / 1000.0 - pos / rate * 1000.0)
    assert len(at) >= 20, f"only {len(at)} tapped frames match the input file"
    return float(np.median(at)), len(at), float(np.std(at))


def longest_zero_run(x: np.ndarray) -> int:
    z = np.concatenate([[0], (x == 0).astype(np.int8), [0]])
    d = np.flatnonzero(np.diff(z))
    return int((d[1::2] - d[::2]).max()) if len(d) else 0


@pytest.fixture()
def server(tmp_path):
    import uvicorn

    from twotrack.capture.server import create_app

    ws = tmp_path / "ws"
    app = create_app(ws, scan=False)  # the scan of a capture is covered by test_capture_browser.py
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (srv.started and srv.servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the capture server did not start")
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", ws, app
    srv.should_exit = True
    thread.join(10)


def page_clock_offset_ms(page) -> tuple[float, float]:
    """Server (this process's time.time) minus page clock, from the shortest of a few bracketed reads."""
    best = (np.inf, 0.0)
    for _ in range(12):
        w0 = time.time()
        c = page.evaluate("performance.timeOrigin + performance.now()")
        w1 = time.time()
        best = min(best, ((w1 - w0) * 1000, (w0 + w1) / 2 * 1000 - c))
    return best[1], best[0]


def test_two_browsers_thirty_seconds_network_cut_lossless_and_aligned(server, tmp_path):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright

    base, ws, app = server
    inputs = make_inputs(tmp_path)
    refs = {r: read_input(p) for r, p in inputs.items()}
    errors: list[str] = []
    puts: dict[str, list] = {"A": [], "B": []}
    offline_seen: dict[str, int] = {}
    t_wall0 = time.monotonic()
    with sync_playwright() as p:
        browsers = {r: p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=ARGS + [f"--use-file-for-fake-audio-capture={inputs[r]}"])
                    for r in "AB"}  # the fake file is per process: one browser per participant
        try:
            host = browsers["A"].new_page()
            host.goto(base + "/")
            host.fill("#title", "e2e test")
            host.click("#create-btn")
            host.wait_for_selector("#link-B:not(:empty)")
            links = {r: host.get_attribute(f"#link-{r}", "href") for r in "AB"}
            pages, contexts = {}, {}
            for role, name in (("A", "Ada Lovelace"), ("B", "Alan Turing")):
                contexts[role] = browsers[role].new_context()
                contexts[role].add_init_script(TAP)
                page = contexts[role].new_page()
                page.on("pageerror", lambda e, r=role: errors.append(f"{r}: {e}"))
                page.on("console", lambda m, r=role: errors.append(f"{r}: {m.text}") if m.type == "error" else None)
                page.on("requestfinished", lambda q, r=role: puts[r].append(q) if q.method == "PUT" else None)
                page.goto(links[role])
                page.fill("#name", name)
                page.click("#show-consent")
                page.wait_for_selector("#consent-text:not([hidden])")
                page.check("#agree")
                page.click("#consent-btn")
                page.wait_for_selector("#consent-done:not([hidden])")
                page.click("#hp-tone")
                page.check("#hp-ok")
                page.click("#hp-continue")
                pages[role] = page
            for page in pages.values():
                page.wait_for_function("window.twotrack.phase === 'ready' && window.__tap.done", timeout=20_000)
            for page in pages.values():
                page.wait_for_function("window.twotrack.link === 'connected'", timeout=15_000)
            for page in pages.values():
                page.click("#start")
            t_start = time.monotonic()
            rate = pages["A"].evaluate("window.twotrack.sampleRate")
            # B loses its network for a few seconds in the middle; its page keeps recording into IndexedDB
            time.sleep(OFFLINE_AT_S)
            contexts["B"].set_offline(True)
            t_off = time.monotonic()
            while time.monotonic() - t_off < OFFLINE_FOR_S:
                time.sleep(0.5)
                stB = pages["B"].evaluate("window.twotrack")
                offline_seen["max_pending"] = max(offline_seen.get("max_pending", 0), stB.get("pending") or 0)
                offline_seen["uploaded_while_offline"] = stB["chunksUploaded"]
            contexts["B"].set_offline(False)
            offline_seen["net_errors"] = pages["B"].evaluate("window.twotrack.netErrors")
            while time.monotonic() - t_start < RECORD_S:
                time.sleep(0.2)
            for page in pages.values():  # both counters past 30 s of audio before stopping
                page.wait_for_function(f"window.twotrack.samples >= {int(30.05 * rate)}", timeout=10_000)
            pages["A"].click("#stop")  # B stops through the relay's stop message
            for page in pages.values():
                page.wait_for_function("['assembled', 'partial', 'failed'].includes(window.twotrack.sessionState)",
                                       timeout=60_000)
            states = {r: pg.evaluate("window.twotrack") for r, pg in pages.items()}
            taps = {r: pg.evaluate("window.__tap") for r, pg in pages.items()}
            clock_truth = {r: page_clock_offset_ms(pg) for r, pg in pages.items()}
            sizes = {r: [q.sizes() for q in puts[r] if "/chunks/" in q.url] for r in "AB"}
            ARTIFACTS.mkdir(exist_ok=True)
            pages["B"].screenshot(path=str(ARTIFACTS / "capture-e2e-B-done.png"), full_page=True)
        finally:
            for b in browsers.values():
                b.close()
    wall_s = time.monotonic() - t_wall0

    # the browser logs each request refused while offline; anything else is a page error
    assert not [e for e in errors if "favicon" not in e and "ERR_INTERNET_DISCONNECTED" not in e], errors
    session = app.state.store.get(states["A"]["sid"])
    assert session.state == "assembled", session.error
    report = session.report
    assert rate == FAKE_RATE and report["sample_rate"] == rate
    # the network cut happened and the page kept recording through it
    assert offline_seen["net_errors"] > 0 and offline_seen["max_pending"] >= 2, offline_seen

    # ---- no lost samples: the page's counter, the server's store and the input file agree sample for sample
    out, out_rate = sf.read(report["path"], dtype="float32", always_2d=True)
    assert out.shape[1] == 2 and out_rate == rate
    numbers: dict = {"wall_s": round(wall_s, 1), "offline": offline_seen, "tracks": {}}
    lags = {}
    for i, role in enumerate("AB"):
        st, t = states[role], report["tracks"][i]
        stored = app.state.store.chunks(session.session_id, role).read_all()
        assert st["finished"] and st["chunksMade"] == st["chunksUploaded"] == t["chunks"]
        assert st["samples"] == len(stored) == t["samples"] == t["declared_samples"] and t["complete"]
        assert len(stored) / rate >= 30.0
        ref = refs[role]
        q = file_position(ref, stored[:rate])
        expected = np.resize(np.roll(ref, -q), len(stored))  # the file from q on, looped if it must
        bad = int(np.count_nonzero(np.abs(stored - expected) > 1.5 * LSB))
        assert bad == 0, f"{role}: {bad} received samples differ from the input file"
        # the assembled channel: lead-in zeros, the received samples, trailing zeros
        ch = out[:, i]
        off = t["offset_samples"]
        n_out = len(ch) - off - int(round(t["trail_pad_s"] * rate))  # length minus lead-in and tail
        if not t["resampled"]:  # copied bit for bit: exactly the received samples (FLAC 24-bit of the float)
            assert n_out == len(stored) and np.max(np.abs(ch[off:off + n_out] - stored)) <= 2.0 ** -22
        else:  # drift-corrected: the length follows the measured rate
            assert abs(n_out - len(stored) * rate / t["rate_on_server_clock"]) <= 2
        assert not ch[:off].any() and not ch[off + n_out:].any()
        zero_run = longest_zero_run(ch[off + 2:off + n_out - 2])
        assert zero_run <= 3, f"{role}: a run of {zero_run} zeros inside the track"
        lag, clean = correlate(ch, ref)
        other_lag, other_clean = correlate(ch, refs["B" if role == "A" else "A"])
        assert clean > 10.0, f"{role}: correlation peak only {clean:.2f} x the next one"
        assert lag == off - q or t["resampled"], (lag, off, q)
        lags[role] = lag
        sizes_ok = sizes[role]
        body = sum(s["requestBodySize"] for s in sizes_ok)
        wire = sum(s["requestBodySize"] + s["requestHeadersSize"] + s["responseBodySize"] + s["responseHeadersSize"]
                   for s in sizes_ok)
        secs = len(stored) / rate
        numbers["tracks"][role] = {
            "samples_page": st["samples"], "samples_received": len(stored), "chunks": t["chunks"],
            "resent": t["chunks_resent"], "page_resent": st["resent"], "file_start_s": round(q / rate, 4),
            "mismatched_samples": bad, "longest_zero_run": zero_run, "corr_peak_ratio": round(clean, 1),
            "other_input_peak_ratio": round(other_clean, 2), "resampled": t["resampled"],
            "drift_ppm": t["drift_ppm"], "clock_drift_ppm": round(t["clock"]["drift_ppm"], 2),
            "sound_card_ppm": t["sample_clock"]["rate_ppm"], "clock_offset_fit_ms": round(t["clock"]["offset_ms"], 3),
            "clock_offset_true_ms": round(clock_truth[role][0], 3), "rtt_min_ms": round(t["clock"]["rtt_min_ms"], 2),
            "upload_body_bytes_per_s": round(body / secs), "upload_wire_bytes_per_s": round(wire / secs),
            "overhead_vs_pcm16": round(wire / secs / (2 * rate), 3),
            "overhead_vs_float32": round(wire / secs / (4 * rate), 4), "put_requests": len(sizes_ok),
        }

    # ---- alignment against Chrome's capture timestamps: page-clock time of file sample 0 on each side
    starts_ms = {}
    for role in "AB":
        frames = taps[role]["frames"]
        assert taps[role]["error"] is None and len(frames) >= 50, taps[role]["error"]
        starts_ms[role], numbers["tracks"][role]["capture_frames_used"], jitter = file_start_from_frames(
            refs[role], frames, rate)
        numbers["tracks"][role]["capture_ts_jitter_ms"] = round(jitter, 3)
    origins = {r: taps[r].get("origin") for r in "AB"}
    # server-clock time of file sample 0 = page origin + perf ms + (server - page) offset
    true_ms = {r: origins[r] + starts_ms[r] + clock_truth[r][0] for r in "AB"}
    placed_ms = {r: lags[r] / rate * 1000.0 for r in "AB"}  # relative to the output's sample 0
    residual = (placed_ms["A"] - placed_ms["B"]) - (true_ms["A"] - true_ms["B"])
    numbers.update({"alignment_residual_ms": round(residual, 3),
                    "alignment_uncertainty_reported_ms": report["alignment_uncertainty_ms"],
                    "true_start_difference_ms": round(true_ms["A"] - true_ms["B"], 3),
                    "duration_s": report["duration_s"]})
    (ARTIFACTS / "capture-e2e.json").write_text(json.dumps({"numbers": numbers, "report": report}, indent=1))
    print(f"\n[capture e2e] {json.dumps(numbers)}")
    assert abs(residual) < 10.0, numbers

    # ---- the ledger holds both grants, for the speakers the session names
    from twotrack.rights import Ledger, ledger_path

    events = Ledger(ledger_path(ws)).events()
    speakers = {p.speaker_id for p in session.participants.values()}
    assert {e.speaker for e in events if e.action == "grant"} == speakers and len(speakers) == 2
    assert Ledger(ledger_path(ws)).verify().ok
