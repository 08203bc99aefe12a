"""Issue 13's end-to-end test: two real headless Chromium processes (Debian's `chromium` via Playwright), each
with a fake microphone fed from a KNOWN speech file, consent, >= 30 s of recording with one client offline
for a few seconds in the middle, then stop, and the assembled two-track FLAC is checked against the inputs:

- every sample the page counted reached the server, in order, bit for bit equal to the input file except for
  blocks of zeros Chrome's WebAudio input inserted under load (the audio continuing unchanged after them);
- the assembly found and cut exactly those inserted blocks (from the page's capture anchors) and put silence
  in where the device missed input (Chromium's fake device skips a 10 ms tick when its callback runs late: the
  file plays on later). Chrome's FIFO sometimes inserts its zeros right at such a skip: they are that silence
  and stay (the test tells them from inserted blocks by its own tap's capture clock). So each assembled
  channel is lead-in + the input file's samples without a gap but that silence + tail, holds no other run of
  zeros inside its span, and, with the silence taken out, cross-correlates with its own input in one clean
  peak over its first and its last 10 s;
- the two channels are aligned within 10 ms at the start AND at the end of the tracks, measured against
  Chrome's own capture timestamps (read by the test, independently of the page's anchors);
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

Chrome's capture -> WebAudio path delays samples by 50-115 ms (differently per browser) and under load inserts
zero blocks: the page's capture anchors correct both, and the test asserts the 10 ms limit. One condition is
outside anything the page can correct: Chrome's input itself broken (the recorded audio departs from the
input file in a way that is not inserted zeros, or input samples are lost). When the content check detects
that, and only then, the test ends as an expected failure with the numbers (docs/capture.md).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from capture_pages import create_session, join_with_consent
from serving import served
import soundfile as sf
import soxr

from twotrack.capture.assemble import apply_corrections

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
# first ~1.5 s of frames with Chrome's capture timestamps (performance-clock microseconds), then, for every
# later frame, its timestamp, length and first 32 samples: the truth of when each file sample was captured,
# through the whole session (Chromium's fake device skips a tick when its callback runs late: the file then
# plays on 10 ms later, which only the timestamps show).
TAP = """
(() => {
  const md = navigator.mediaDevices; if (!md) return;
  const orig = md.getUserMedia.bind(md);
  window.__tap = {frames: [], done: false, error: null, origin: performance.timeOrigin};
  md.getUserMedia = async (c) => {
    const s = await orig(c);
    try {
      const clone = s.getAudioTracks()[0].clone();
      const rd = new MediaStreamTrackProcessor({track: clone, maxBufferSize: 500}).readable.getReader();
      window.__tap.heads = [];
      (async () => {
        for (let i = 0; i < 12000; i++) {
          const {value, done} = await rd.read(); if (done) break;
          const b = new Float32Array(value.numberOfFrames);
          value.copyTo(b, {planeIndex: 0, format: "f32-planar"});
          if (i < 150) window.__tap.frames.push({ts: value.timestamp, rate: value.sampleRate, data: Array.from(b)});
          window.__tap.heads.push([value.timestamp, value.numberOfFrames, Array.from(b.subarray(0, 32))]);
          value.close();
          if (i === 149) window.__tap.done = true;
        }
        rd.cancel(); clone.stop();
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


def best_match(window: np.ndarray, x: np.ndarray) -> int:
    """The offset in ``window`` where ``x`` fits best in the least-squares sense (plain correlation would
    prefer any loud stretch over the exact match of a quiet probe)."""
    from scipy.signal import fftconvolve

    w = window.astype(np.float64)
    c = np.concatenate([[0.0], np.cumsum(w * w)])
    energy = c[len(x):] - c[:-len(x)]
    return int(np.argmin(energy - 2 * fftconvolve(w, x[::-1].astype(np.float64), mode="valid")))


def file_position(ref: np.ndarray, probe: np.ndarray) -> int:
    """Where ``probe`` starts in ``ref`` looped once (Chrome loops the fake file)."""
    return best_match(np.concatenate([ref, ref[:len(probe)]]), probe) % len(ref)


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


def locate_near(ref: np.ndarray, x: np.ndarray, guess: int, span: int = 8820) -> int | None:
    """The file position within ``span`` of ``guess`` where ``ref`` (looped) equals ``x`` exactly, or None."""
    lo = guess - span
    k = lo + best_match(np.take(ref, np.arange(lo, guess + span + len(x)), mode="wrap"), x)
    ok = np.max(np.abs(np.take(ref, np.arange(k, k + len(x)), mode="wrap") - x)) <= 1.5 * LSB
    return k % len(ref) if ok else None


def file_start_from_frames(ref: np.ndarray, frames: list[dict], rate: int) -> tuple[float, int, float]:
    """Page-clock time (performance.now ms) of file sample 0 from the tapped frames: each frame's capture
    timestamp minus its file position. The first frames may be zeros (the device starting) and the tap may
    skip frames, so each frame is located on its own (near where the previous one predicts) and used only
    when it equals the file exactly there."""
    data = [np.asarray(f["data"], np.float32) for f in frames]
    k0 = next(k for k, d in enumerate(data) if np.count_nonzero(d) > len(d) // 2)
    pos = file_position(ref, np.concatenate(data[k0:k0 + 20]))
    at = []
    for k in range(k0, len(data)):
        if not data[k].any():
            continue
        found = locate_near(ref, data[k], pos)
        if found is None:
            continue
        at.append(frames[k]["ts"] / 1000.0 - found / rate * 1000.0)
        pos = found + len(data[k])
    assert len(at) >= 20, f"only {len(at)} tapped frames match the input file"
    return float(np.median(at)), len(at), float(np.std(at))


def capture_clock_along_file(ref: np.ndarray, heads: list, start_ms: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Chrome's capture time minus the file time (ms) along the file, from every tapped frame: (file positions,
    capture ms - position / rate). Each frame's first 32 samples are found in the file where the previous
    frame predicts (or, after frames the tap missed, nearby); frames that match nowhere are left out."""
    pos, r, p = [], [], None
    for ts, n, head in heads:
        h = np.asarray(head, np.float32)
        if not h.any():
            continue
        if p is None:  # the first frame with audio: where the start estimate puts it
            p = int(round((ts / 1000.0 - start_ms) * rate / 1000.0))
        ok = np.max(np.abs(np.take(ref, np.arange(p, p + len(h)), mode="wrap") - h)) <= 1.5 * LSB
        if not ok:
            found = locate_near(ref, h, p, span=4410)
            if found is None:
                p = p + n
                continue
            p = found
        pos.append(p)
        r.append(ts / 1000.0 - p / rate * 1000.0)
        p = p + n
    return np.array(pos), np.array(r)


def capture_offset_at(pos: np.ndarray, r: np.ndarray, k: float) -> float:
    """Capture time minus file time at file position ``k`` (the tapped frame at or before it)."""
    i = max(int(np.searchsorted(pos, k, side="right")) - 1, 0)
    return float(r[i])


def compare_with_file(stored: np.ndarray, ref: np.ndarray) -> tuple[int, list[dict], int, int]:
    """Walk the received track along the (looped) input file. Returns the file position of its first sample,
    the runs of zeros found in place of audio (each with how many file samples it replaced: 0 = inserted, the
    rest arriving late; the file position where the audio resumes after it; and how many of the run's zeros are
    the file's own exact zeros at its edges), the count of samples that differ from the file for any other
    reason, and where the track stops following the file (its length when it never does)."""
    # the first sample's place from the audio before the first run of zeros: a run in the first second (silence
    # put in for missed input) would pull the least-squares match to the audio after it
    q = file_position(ref, stored[:max(next_zero_run(stored, 0, FAKE_RATE) or FAKE_RATE, 441)])
    i, p, gaps = 0, q, []
    while i < len(stored):
        diff = np.abs(stored[i:] - np.take(ref, np.arange(p, p + len(stored) - i), mode="wrap")) > 1.5 * LSB
        bad = np.flatnonzero(diff)
        if not len(bad):
            return q, gaps, 0, len(stored)
        b = i + int(bad[0])
        if stored[b] == 0:  # the run starts at its first zero (the file sample there may be within 1.5 LSB of 0)
            audio = np.flatnonzero(stored[i:b] != 0)
            b = i + (int(audio[-1]) + 1 if len(audio) else 0)
        m = int(np.argmax(stored[b:] != 0)) if stored[b:].any() else len(stored) - b
        # The probe that finds where the file resumes ends before the next run of zeros: two corrections (a
        # Chrome-inserted block and a stall's fill) can lie closer than the probe, and zeros never match (a run
        # starting at the probe's last sample too: the search looks MIN_LEN past it).
        probe_end = min(b + m + 4410, next_zero_run(stored, b + m, b + m + 4410 + 32) or b + m + 4410, len(stored))
        probe_end = max(probe_end, b + m + 32)  # (a frame of audio between two runs may be 440 samples; a fill
        # may lie less than the probe before the track's end)
        resume = locate_near(ref, stored[b + m:probe_end], p + (b - i)) if m and probe_end <= len(stored) else None
        if resume is None:
            return q, gaps, int(len(bad)), b
        replaced = (resume - (p + b - i)) % len(ref)
        replaced = replaced - len(ref) if replaced > len(ref) // 2 else replaced
        # file samples the run stands in place of that are exact zeros themselves are in the run, not lost
        own = 0
        if 0 < replaced < m and not np.take(ref, np.arange(p + b - i, resume), mode="wrap").any():
            own = replaced
        gaps.append({"at_sample": b, "at_s": round(b / FAKE_RATE, 3), "zeros": m,
                     "file_samples_lost": int(replaced - own), "file_zeros": own, "file_at": int(resume)})
        i, p = b + m, resume
    return q, gaps, 0, len(stored)


def next_zero_run(x: np.ndarray, start: int, stop: int, min_len: int = 32) -> int | None:
    """Start of the first run of at least ``min_len`` exact zeros in ``x[start:stop]``, or None."""
    z = np.concatenate([[0], (x[start:stop] == 0).astype(np.int8), [0]])
    d = np.flatnonzero(np.diff(z))
    runs = [(a, e) for a, e in zip(d[::2].tolist(), d[1::2].tolist()) if e - a >= min_len]
    return start + runs[0][0] if runs else None


def longest_zero_run(x: np.ndarray) -> int:
    z = np.concatenate([[0], (x == 0).astype(np.int8), [0]])
    d = np.flatnonzero(np.diff(z))
    return int((d[1::2] - d[::2]).max()) if len(d) else 0


def stands_for_missed_input(gap: dict, pos: np.ndarray, r: np.ndarray, rate: int) -> bool:
    """Whether a run of zeros in the received track lies where the device missed input: Chrome's capture clock
    (the tap's truth) steps by at least the run's length right at it (the frame after the zeros captured that
    much later than the frame before them, the file playing on). Chrome's input FIFO then ran dry at that very
    moment and its zeros are (part of) the silence the assembly puts in for missed input: they stay, and any
    more the device missed is filled right after them. A skip a frame later is not this: the zeros were
    inserted (cut), and the skip gets its own fill."""
    step = capture_offset_at(pos, r, gap["file_at"]) - capture_offset_at(pos, r, gap["file_at"] - 1)
    return step >= (gap["zeros"] - gap["file_zeros"]) / rate * 1000.0 - 1.0


def silence_in(stretches, lo: int, hi: int, half: int) -> tuple[list, int]:
    """The (start, length) ``stretches`` that start in the window [lo, hi), relative to ``lo`` and cut at
    ``hi``, and how many of their samples lie before the window's middle (``half`` before ``hi``)."""
    inside = [(a - lo, min(n, hi - a)) for a, n in stretches if lo <= a < hi]
    return inside, sum(n for a, n in inside if a < hi - lo - half)


def without(x: np.ndarray, stretches) -> np.ndarray:
    """``x`` with the (start, length) stretches taken out."""
    keep = np.ones(len(x), bool)
    for a, n in stretches:
        keep[a:a + n] = False
    return x[keep]


@pytest.fixture()
def server(tmp_path):
    from twotrack.capture.server import create_app

    ws = tmp_path / "ws"
    app = create_app(ws, scan=False)  # the scan of a capture is covered by test_capture_browser.py
    with served(app, "the capture server") as base:
        yield base, ws, app


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
            links = create_session(host, base, "e2e test")
            pages, contexts = {}, {}
            for role, name in (("A", "Ada Lovelace"), ("B", "Alan Turing")):
                contexts[role] = browsers[role].new_context()
                contexts[role].add_init_script(TAP)
                page = contexts[role].new_page()
                page.on("pageerror", lambda e, r=role: errors.append(f"{r}: {e}"))
                page.on("console", lambda m, r=role: errors.append(f"{r}: {m.text}") if m.type == "error" else None)
                page.on("requestfinished", lambda q, r=role: puts[r].append(q) if q.method == "PUT" else None)
                join_with_consent(page, links[role], name)
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
            anchor_sizes = {r: [q.sizes() for q in puts[r] if "/anchors/" in q.url] for r in "AB"}
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

    # ---- Chrome's capture clock along each input file, from the test's own tap (the truth used below)
    starts_ms, tap_fit, truth = {}, {}, {}
    (tmp_path / "taps.json").write_text(json.dumps(taps))  # for a look after a failure (with the pages)
    (tmp_path / "pages.json").write_text(json.dumps({"states": states, "clock_truth": clock_truth}))
    for role in "AB":
        frames = taps[role]["frames"]
        assert taps[role]["error"] is None and len(frames) >= 50, taps[role]["error"]
        starts_ms[role], *tap_fit[role] = file_start_from_frames(refs[role], frames, rate)
        truth[role] = capture_clock_along_file(refs[role], taps[role]["heads"], starts_ms[role], rate)

    # ---- no lost samples: the page's counter, the server's store and the input file agree sample for sample
    out, out_rate = sf.read(report["path"], dtype="float32", always_2d=True)
    assert out.shape[1] == 2 and out_rate == rate
    broken: list[str] = []  # Chrome's input itself broken (detected from the content): the only xfail
    numbers: dict = {"wall_s": round(wall_s, 1), "offline": offline_seen, "tracks": {}}
    lags, lags_end, ends = {}, {}, {}
    for i, role in enumerate("AB"):
        st, t = states[role], report["tracks"][i]
        stored = app.state.store.chunks(session.session_id, role).read_all()
        assert st["finished"] and st["chunksMade"] == st["chunksUploaded"] == t["chunks"]
        assert st["samples"] == len(stored) == t["samples"] == t["declared_samples"] and t["complete"]
        assert len(stored) / rate >= 30.0
        # the page's capture anchors: made about once a second while recording, all uploaded, nearly all
        # found in the track (the last one or two may be captured after the worklet stopped)
        ca = t["capture_anchors"]
        assert st["anchors"] == "done" and st["anchorsMade"] == st["anchorsUploaded"] == ca["sent"] >= 28, (st["anchors"], ca)
        ref = refs[role]
        q, gaps, bad, followed = compare_with_file(stored, ref)  # what Chrome handed the worklet, vs the input
        lost = sum(g["file_samples_lost"] for g in gaps)
        kept: list[dict] = []  # zeros Chrome left where the device missed input (the capture clock steps there)
        if bad or lost:
            broken.append(f"{role}: the track departs from the input file at sample {followed} ({bad} samples "
                          f"differ) after {len(gaps)} zero runs, {lost} input samples lost in them (Chrome input path)")
        else:  # (input frames Chrome lost never reached the track: their anchors cannot be found in it)
            assert t["timing"] == "capture" and ca["matched"] >= ca["sent"] - 2, ca
            seen = [z for z in st["inputZeroRuns"] if z["recording"] and z["afterAudio"]]
            assert [z["length"] for z in seen] == [g["zeros"] for g in gaps], (seen, gaps)  # the page saw them
            # the assembly cut exactly the inserted blocks (found from the anchors alone) and nothing else; the
            # zeros that stand where the device missed input stay
            kept = [g for g in gaps if stands_for_missed_input(g, *truth[role], rate)]
            inserted = [g for g in gaps if g not in kept]
            cut = ca["inserted_zeros_removed"]
            assert len(cut) == len(inserted) and all(abs(c[0] - g["at_sample"]) <= 2 and abs(c[1] - g["zeros"]) <= 2
                                                     for c, g in zip(cut, inserted)), (cut, gaps, kept)
            assert ca["unexplained_steps"] == [], ca  # every jump of the capture clock explained (cut or filled)
        # the report holds the zero runs the page sent with its finish; the page listens on after that (runs it
        # saw later are outside the recording)
        page_runs = [{k: z[k] for k in ("length", "afterAudio", "recording", "at")} for z in st["inputZeroRuns"]]
        sent_runs = t["input_zero_runs"]
        assert page_runs[:len(sent_runs)] == sent_runs and not any(z["recording"] for z in page_runs[len(sent_runs):]), (
            sent_runs, page_runs)
        corrected = apply_corrections(stored, ca["inserted_zeros_removed"], ca["missed_input_filled"])
        q2, gaps2, bad2, followed2 = compare_with_file(corrected, ref)
        if not (bad or lost):
            # the corrected track is the input file, sample for sample, except the silence where the device
            # missed input, put in or left by Chrome (the file itself plays on, later: 0 file samples lost at each)
            # (received start, received end, samples of silence): a fill right after zeros that stay is one run
            silence: list[tuple[int, int, int]] = []
            for a, e, n in sorted([(f[0], f[0], f[1]) for f in ca["missed_input_filled"]]
                                  + [(g["at_sample"], g["at_sample"] + g["zeros"], g["zeros"] - g["file_zeros"])
                                     for g in kept]):
                if silence and silence[-1][1] == a:
                    silence[-1] = (silence[-1][0], e, silence[-1][2] + n)
                else:
                    silence.append((a, e, n))
            assert q2 == q and bad2 == 0 and [g["zeros"] - g["file_zeros"] for g in gaps2] == [n for _, _, n in silence] \
                and all(g["file_samples_lost"] == 0 for g in gaps2), (q2, q, gaps2, bad2, ca, kept)
        # the assembled channel: lead-in zeros, the corrected samples, trailing zeros
        ch = out[:, i]
        off = t["offset_samples"]
        n_out = len(ch) - off - int(round(t["trail_pad_s"] * rate))  # length minus lead-in and tail
        if not t["resampled"]:  # copied bit for bit: exactly those samples (FLAC 24-bit of the float)
            assert n_out == len(corrected) and np.max(np.abs(ch[off:off + n_out] - corrected)) <= 2.0 ** -22
        else:  # drift-corrected: the length follows the measured rate
            assert abs(n_out - len(corrected) * rate / t["rate_on_server_clock"]) <= 2
        assert not ch[:off].any() and not ch[off + n_out:].any()
        inside = ch[off + 2:off + n_out - 2].copy()
        for g in gaps2:  # the silence put in for missed input aside
            inside[max(g["at_sample"] - 2, 0):g["at_sample"] - 2 + g["zeros"]] = 1.0
        zero_run = longest_zero_run(inside)
        assert bad or lost or zero_run <= 3, f"{role}: a run of {zero_run} zeros inside the track"
        # cross-correlate the first 10 s and the last 10 s of the channel with the input (up to where Chrome's
        # broken input leaves it: samples lost in a run of zeros or without one)
        end = off + (min([g["at_sample"] for g in gaps2 if g["file_samples_lost"]] + [followed2]) if bad or lost
                     else n_out)
        if end - off < 10 * rate:
            assert broken, "a gap within the first 10 seconds that the content check did not flag"
            pytest.xfail(f"Chrome's input path is broken in this run: {'; '.join(broken)}")
        ends[role] = end
        # The silence for missed input (found from the content above) delays the rest of the file by its
        # length: inside a window it would split the correlation peak between the lags before and after it.
        # So it is taken out of the window (the lag is then that of the window's first sample) and added back
        # for the placement in the window's middle, where the alignment below is measured.
        scale = n_out / len(corrected)
        silent = [(off + int(round(g["at_sample"] * scale)), int(round((g["zeros"] - g["file_zeros"]) * scale)))
                  for g in gaps2]
        # A drift-corrected track is the file stretched by its measured rate: over 10 s, 20 ppm moves the lag
        # by 9 samples, which smears a phase-transform peak. Its peak is judged against the file stretched
        # alike (same threshold); its lag is read against the file itself.
        as_played = soxr.resample(ref, t["rate_on_server_clock"], rate, quality="VHQ") if t["resampled"] else ref
        taken, before_mid = silence_in(silent, 0, off + 10 * rate, 5 * rate)
        window = without(ch[:off + 10 * rate], taken)
        lag, clean = correlate(window, ref)
        if t["resampled"]:
            clean = correlate(window, as_played)[1]
        _, other_clean = correlate(window, refs["B" if role == "A" else "A"])
        assert clean > 10.0, f"{role}: correlation peak only {clean:.2f} x the next one"
        assert lag == off - q or t["resampled"], (lag, off, q)
        lags[role] = lag + before_mid
        tail0 = end - 10 * rate
        taken, before_mid = silence_in(silent, tail0, end, 5 * rate)
        window = without(ch[tail0:end], taken)
        lag_end, clean_end = correlate(window, ref)
        if t["resampled"]:
            clean_end = correlate(window, as_played)[1]
        assert clean_end > 10.0, f"{role}: end correlation peak only {clean_end:.2f} x the next one"
        lags_end[role] = lag_end + tail0 + before_mid
        body = sum(x["requestBodySize"] for x in sizes[role])
        wire = sum(x["requestBodySize"] + x["requestHeadersSize"] + x["responseBodySize"] + x["responseHeadersSize"]
                   for x in sizes[role] + anchor_sizes[role])
        anchor_wire = sum(x["requestBodySize"] + x["requestHeadersSize"] + x["responseBodySize"] + x["responseHeadersSize"]
                          for x in anchor_sizes[role])
        secs = len(stored) / rate
        numbers["tracks"][role] = {
            "samples_page": st["samples"], "samples_received": len(stored), "chunks": t["chunks"],
            "resent": t["chunks_resent"], "page_resent": st["resent"], "file_start_s": round(q / rate, 4), "file_start_sample": q,
            "mismatched_samples": bad, "zero_gaps": gaps, "page_zero_runs": st["inputZeroRuns"], "file_samples_lost": lost,
            "zeros_for_missed_input": kept,
            "inserted_zeros_removed": ca["inserted_zeros_removed"], "missed_input_filled": ca["missed_input_filled"],
            "unexplained_steps": ca["unexplained_steps"], "page_capture_jumps": st.get("captureJumps"),
            "anchors_sent": ca["sent"], "anchors_matched": ca["matched"],
            "anchor_residual_ms": ca["residual_ms"], "input_latency_ms": ca["input_latency_ms"],
            "longest_zero_run": zero_run, "corr_peak_ratio": round(clean, 1),
            "other_input_peak_ratio": round(other_clean, 2), "resampled": t["resampled"],
            "drift_ppm": t["drift_ppm"], "clock_drift_ppm": round(t["clock"]["drift_ppm"], 2),
            "sound_card_ppm": t["sample_clock"]["rate_ppm"], "clock_offset_fit_ms": round(t["clock"]["offset_ms"], 3),
            "clock_offset_true_ms": round(clock_truth[role][0], 3), "rtt_min_ms": round(t["clock"]["rtt_min_ms"], 2),
            "upload_body_bytes_per_s": round(body / secs), "upload_wire_bytes_per_s": round(wire / secs),
            "anchor_wire_bytes_per_s": round(anchor_wire / secs),
            "overhead_vs_pcm16": round(wire / secs / (2 * rate), 3),
            "overhead_vs_float32": round(wire / secs / (4 * rate), 4), "put_requests": len(sizes[role]) + len(anchor_sizes[role]),
        }

    # ---- alignment against Chrome's capture timestamps: page-clock time of file sample 0 on each side
    for role in "AB":
        numbers["tracks"][role]["capture_frames_used"] = tap_fit[role][0]
        numbers["tracks"][role]["capture_ts_jitter_ms"] = round(tap_fit[role][1], 3)
    origins = {r: taps[r].get("origin") for r in "AB"}
    # Per track: (where the FLAC put file sample k) - (Chrome's capture time of k on the server clock), for k
    # in the middle of the first and of the last 10 s; the residual is A minus B. Chrome's capture clock is
    # followed along the file through the session, so a tick the fake device skipped moves the truth too.
    err = {}
    for r in "AB":
        pos, rr = truth[r]
        steps = np.diff(rr)
        numbers["tracks"][r]["capture_clock_steps_ms"] = [round(float(v), 3) for v in steps[np.abs(steps) > 1.0]]
        numbers["tracks"][r]["tapped_frames_followed"] = int(len(pos))
        t = report["tracks"]["AB".index(r)]
        k_start = t["offset_samples"] + 5 * rate - lags[r]
        k_end = ends[r] - 5 * rate - lags_end[r]
        base = origins[r] + clock_truth[r][0]
        err[r] = (lags[r] / rate * 1000.0 - (base + capture_offset_at(pos, rr, k_start)),
                  lags_end[r] / rate * 1000.0 - (base + capture_offset_at(pos, rr, k_end)))
    true_ms = {r: origins[r] + starts_ms[r] + clock_truth[r][0] for r in "AB"}
    residual = err["A"][0] - err["B"][0]
    residual_end = err["A"][1] - err["B"][1]
    # what the page's old worklet stamps would have left out: Chrome's capture -> worklet delay per page
    for r in "AB":
        t = report["tracks"]["AB".index(r)]
        q_s = numbers["tracks"][r]["file_start_sample"] / rate
        numbers["tracks"][r]["capture_to_worklet_ms"] = round(
            t["worklet_clock"]["start_ms"] - (origins[r] + starts_ms[r] + q_s * 1000.0), 3)
    numbers.update({"alignment_residual_ms": round(residual, 3), "alignment_residual_end_ms": round(residual_end, 3),
                    "alignment_uncertainty_reported_ms": report["alignment_uncertainty_ms"],
                    "true_start_difference_ms": round(true_ms["A"] - true_ms["B"], 3),
                    "duration_s": report["duration_s"], "chrome_input_broken": broken})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "capture-e2e.json").write_text(json.dumps({"numbers": numbers, "report": report}, indent=1))
    with (ARTIFACTS / "capture-e2e-runs.jsonl").open("a") as fh:  # one line per run, for the docs' table
        fh.write(json.dumps(numbers) + "\n")
    print(f"\n[capture e2e] {json.dumps(numbers)}")

    # ---- the ledger holds both grants, for the speakers the session names
    from twotrack.rights import Ledger, ledger_path

    events = Ledger(ledger_path(ws)).events()
    speakers = {p.speaker_id for p in session.participants.values()}
    assert {e.speaker for e in events if e.action == "grant"} == speakers and len(speakers) == 2
    assert Ledger(ledger_path(ws)).verify().ok
    # Chrome's input itself broken (audio that is not the input file, or input lost, detected above): nothing
    # the page records can be right after that point, so the alignment there is not the page's to meet
    if broken:
        pytest.xfail("Chrome's input path is broken in this run: " + "; ".join(broken)
                     + f" (alignment residual start {residual:+.2f} ms, end {residual_end:+.2f} ms)")
    assert abs(residual) <= 10.0 and abs(residual_end) <= 10.0, (
        f"tracks not aligned within 10 ms: residual {residual:+.2f} ms at the start, {residual_end:+.2f} ms at the "
        f"end (capture -> worklet latency A {numbers['tracks']['A']['capture_to_worklet_ms']} ms, B "
        f"{numbers['tracks']['B']['capture_to_worklet_ms']} ms; anchors A {numbers['tracks']['A']['anchors_matched']}/"
        f"{numbers['tracks']['A']['anchors_sent']}, B {numbers['tracks']['B']['anchors_matched']}/"
        f"{numbers['tracks']['B']['anchors_sent']}; cuts A {numbers['tracks']['A']['inserted_zeros_removed']}, "
        f"B {numbers['tracks']['B']['inserted_zeros_removed']})")
