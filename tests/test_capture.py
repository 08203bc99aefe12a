"""Capture server at the API level (FastAPI TestClient, the real app over a temporary workspace) and the
assembly of generated chunk streams with known clock offsets, start times and drifts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from capture_api import RATE, client, consent, hdr, new_session, put  # noqa: F401 (client: the fixture)
from twotrack.capture.assemble import assemble_session, fit_clock
from twotrack.capture.sessions import SessionStore
from twotrack.rights import Ledger, ledger_path


def chunk_files(ws: Path, d, role):
    folder = ws / "capture" / "sessions" / d["session_id"] / role / "chunks"
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


# ------------------------------------------------------------------------------------------------
# consent


def test_no_audio_before_consent(client):
    d = new_session(client)
    sid = d["session_id"]
    r = put(client, d, "A", 0, np.zeros(4800), 0)
    assert r.status_code == 403 and "consent" in r.json()["detail"]
    assert client.post(f"/api/sessions/{sid}/A/settings", json={"sample_rate": RATE}, headers=hdr(d, "A")).status_code == 403
    assert client.post(f"/api/sessions/{sid}/A/finish", json={"n_chunks": 0, "n_samples": 0},
                       headers=hdr(d, "A")).status_code == 403
    assert chunk_files(client.ws, d, "A") == []
    # after A's consent, A may upload; B still may not
    consent(client, d, "A", "Ada Lovelace")
    assert put(client, d, "A", 0, np.zeros(4800), 0).status_code == 200
    assert put(client, d, "B", 0, np.zeros(4800), 0).status_code == 403
    assert chunk_files(client.ws, d, "B") == []


def test_consent_becomes_a_ledger_grant_with_the_text_as_evidence(client):
    d = new_session(client, scopes=["ai-training", "research-only"], license="CC-BY-NC-4.0")
    sid = d["session_id"]
    text, res = consent(client, d, "B", "  Grace   Hopper ")
    assert "Grace Hopper" in text["text"] and "CC-BY-NC-4.0" in text["text"]
    assert "[ai-training]" in text["text"] and "[research-only]" in text["text"]
    assert "[commercial-use]" not in text["text"]
    events = Ledger(ledger_path(client.ws)).events()
    assert len(events) == 1
    ev = events[0]
    assert ev.action == "grant" and ev.speaker == res["speaker_id"] and set(ev.scopes) == {"ai-training", "research-only"}
    doc = Path(ev.evidence.removeprefix("file://"))
    assert doc.is_relative_to(client.ws / "capture" / "consent")
    import hashlib

    assert hashlib.sha256(doc.read_bytes()).hexdigest() == ev.evidence_sha256 == text["sha256"]
    assert Ledger(ledger_path(client.ws)).verify().ok
    # a second click changes nothing
    r = client.post(f"/api/sessions/{sid}/B/consent", json={"name": "Grace Hopper", "sha256": text["sha256"],
                                                            "agree": True}, headers=hdr(d, "B"))
    assert r.status_code == 200 and len(Ledger(ledger_path(client.ws)).events()) == 1


def test_consent_refused_without_agreement_stale_text_or_token(client):
    d = new_session(client)
    sid = d["session_id"]
    t = client.get(f"/api/sessions/{sid}/A/consent-text", params={"name": "Alan"}, headers=hdr(d, "A")).json()
    url = f"/api/sessions/{sid}/A/consent"
    assert client.post(url, json={"name": "Alan", "sha256": t["sha256"], "agree": False}, headers=hdr(d, "A")).status_code == 400
    # the hash of a text for another name: not what this participant was shown
    assert client.post(url, json={"name": "Alan T", "sha256": t["sha256"], "agree": True}, headers=hdr(d, "A")).status_code == 409
    assert client.post(url, json={"name": "Alan", "sha256": t["sha256"], "agree": True}, headers=hdr(d, "B")).status_code == 403
    assert client.post(url, json={"name": "Alan", "sha256": t["sha256"], "agree": True}).status_code == 403
    assert client.post(url, json={"name": "", "sha256": t["sha256"], "agree": True}, headers=hdr(d, "A")).status_code == 400
    assert not ledger_path(client.ws).exists() or Ledger(ledger_path(client.ws)).events() == []


def test_session_creation_validates_license_and_scopes(client):
    assert client.post("/api/sessions", json={"license": "not a license ((("}).status_code == 400
    assert client.post("/api/sessions", json={"license": "MIT", "scopes": ["everything"]}).status_code == 400
    assert client.post("/api/sessions", json={"license": "MIT", "scopes": ["research-only", "commercial-use"]}).status_code == 400
    assert client.post("/api/sessions", json={"license": "MIT", "speaker_a": "../x"}).status_code == 400


# ------------------------------------------------------------------------------------------------
# chunks


def test_chunk_upload_is_idempotent(client):
    d = new_session(client)
    consent(client, d, "A", "Ada")
    x = np.random.default_rng(1).standard_normal(RATE).astype("<f4") * 0.1
    r1 = put(client, d, "A", 0, x, 0)
    r2 = put(client, d, "A", 0, x, 0)
    assert r1.json()["status"] == "stored" and r2.json()["status"] == "duplicate"
    assert r2.json()["next_seq"] == 1 and r2.json()["n_samples"] == RATE
    assert chunk_files(client.ws, d, "A") == ["00000000.json", "00000000.pcm"]
    # the same number with other content is refused and changes nothing
    r3 = put(client, d, "A", 0, x * 0.5, 0)
    assert r3.status_code == 409
    folder = client.ws / "capture" / "sessions" / d["session_id"] / "A" / "chunks"
    assert np.array_equal(np.fromfile(folder / "00000000.pcm", "<f4"), x)


def test_resume_after_gap_and_bad_chunks_change_nothing(client):
    d = new_session(client)
    sid = d["session_id"]
    consent(client, d, "A", "Ada")
    x = np.linspace(-0.5, 0.5, 3 * 4800, dtype=np.float32)
    parts = np.split(x, 3)
    assert put(client, d, "A", 0, parts[0], 0).status_code == 200
    # the network drops: chunk 1 is lost, chunk 2 arrives first -> refused, the client learns where to resume
    r = put(client, d, "A", 2, parts[2], 9600)
    assert r.status_code == 409 and r.json()["next_seq"] == 1
    status = client.get(f"/api/sessions/{sid}/A/chunks", headers=hdr(d, "A")).json()
    assert status == {"next_seq": 1, "n_samples": 4800}
    before = chunk_files(client.ws, d, "A")
    bad = [
        put(client, d, "A", 1, parts[1], 5000),                       # counter does not continue
        put(client, d, "A", 1, np.zeros(RATE * 10 * 4 + 1), 4800),    # oversized
        client.put(f"/api/sessions/{sid}/A/chunks/1", params={"sample_start": 4800, "rate": RATE, "client_ms": 1.0},
                   content=b"abc", headers=hdr(d, "A")),              # not float32
        client.put(f"/api/sessions/{sid}/A/chunks/1", params={"sample_start": 4800, "rate": 44100, "client_ms": 1.0},
                   content=parts[1].tobytes(), headers=hdr(d, "A")),  # rate changed mid-track
        client.put(f"/api/sessions/{sid}/A/chunks/1", params={"sample_start": 4800, "rate": RATE, "client_ms": "nan"},
                   content=parts[1].tobytes(), headers=hdr(d, "A")),
        client.put(f"/api/sessions/{sid}/A/chunks/1", params={"sample_start": 4800, "rate": RATE, "client_ms": 1.0},
                   content=np.array([np.inf], "<f4").tobytes(), headers=hdr(d, "A")),
        client.put(f"/api/sessions/{sid}/A/chunks/-1", params={"sample_start": 0, "rate": RATE, "client_ms": 1.0},
                   content=parts[1].tobytes(), headers=hdr(d, "A")),
    ]
    assert [r.status_code for r in bad] == [409, 413, 400, 409, 400, 400, 400]
    assert all("detail" in r.json() for r in bad)
    assert chunk_files(client.ws, d, "A") == before
    # resume: 1 then 2, and the track is exactly the input
    assert put(client, d, "A", 1, parts[1], 4800).json()["status"] == "stored"
    assert put(client, d, "A", 2, parts[2], 9600).json()["n_samples"] == 3 * 4800
    store = client.app.state.store
    assert np.array_equal(store.chunks(sid, "A").read_all(), x)
    # finish must match what the server holds; afterwards new chunks are refused
    fin = f"/api/sessions/{sid}/A/finish"
    assert client.post(fin, json={"n_chunks": 4, "n_samples": 4 * 4800}, headers=hdr(d, "A")).status_code == 409
    assert client.post(fin, json={"n_chunks": 3, "n_samples": 3 * 4800}, headers=hdr(d, "A")).status_code == 200
    assert put(client, d, "A", 3, parts[0], 3 * 4800).status_code == 409
    assert put(client, d, "A", 2, parts[2], 9600).json()["status"] == "duplicate"  # a late re-send is harmless


@pytest.mark.parametrize("url", [
    "/api/sessions/..%2F..%2Fetc%2Fpasswd",
    "/api/sessions/../../etc/passwd",
    "/api/sessions/aaaaaaaaaaaaaaaaaaaa",            # well-formed, unknown
    "/api/sessions/AAAAAAAAAAAAAAAAAAAA",            # not our alphabet
    "/api/sessions/%00",
    "/join/..%2Fsessions/A",
    "/static/..%2Fserver.py",
    "/static/../sessions.py",
])
def test_hostile_session_ids_and_paths(client, url):
    r = client.get(url, headers={"X-Capture-Token": "x" * 32})
    assert 400 <= r.status_code < 500
    assert "import" not in r.text


def test_hostile_roles_and_tokens(client):
    d = new_session(client)
    sid = d["session_id"]
    for role in ("C", "..", "a", "A%2F..", "host"):
        r = client.get(f"/api/sessions/{sid}/{role}/chunks", headers=hdr(d, "A"))
        assert 400 <= r.status_code < 500, role
    assert client.get(f"/api/sessions/{sid}/B/chunks", headers=hdr(d, "A")).status_code == 403
    assert client.get(f"/api/sessions/{sid}").status_code == 403
    assert client.get(f"/join/{sid}/C").status_code == 404
    assert client.get(f"/join/{sid}/A").status_code == 200
    # participants may not force an assembly
    assert client.post(f"/api/sessions/{sid}/assemble?force=true", headers=hdr(d, "A")).status_code == 403
    r = client.post(f"/api/sessions/{sid}/A/signal", content=b'{"type": "evil"}', headers=hdr(d, "A"))
    assert r.status_code == 400


def test_signalling_relay_delivers_in_order(client):
    d = new_session(client)
    sid = d["session_id"]
    for i in range(3):
        assert client.post(f"/api/sessions/{sid}/A/signal", json={"type": "candidate", "i": i},
                           headers=hdr(d, "A")).status_code == 200
    got = client.get(f"/api/sessions/{sid}/B/signal", params={"after": 1}, headers=hdr(d, "B")).json()
    assert [m["i"] for m in got["messages"]] == [1, 2] and got["next"] == 3
    assert client.get(f"/api/sessions/{sid}/A/signal", headers=hdr(d, "A")).json()["messages"] == []


# ------------------------------------------------------------------------------------------------
# assembly of generated streams with known clocks

BASE = 1_800_000_000.0  # true (server) epoch seconds of the simulated session
BURSTS = BASE + 1.0 + 1.7 * np.arange(16)  # true times of short tone bursts both microphones "hear"


def scene(t: np.ndarray) -> np.ndarray:
    """The sound field at true times ``t - BASE`` (float64 seconds): 2 ms Gaussian 1 kHz bursts."""
    out = np.zeros_like(t)
    for tau in BURSTS - BASE:
        near = np.abs(t - tau) < 0.012
        u = t[near] - tau
        out[near] += 0.5 * np.exp(-0.5 * (u / 0.002) ** 2) * np.sin(2 * np.pi * 1000 * u)
    return out


def simulate(store: SessionStore, sid: str, role: str, *, start_s: float, seconds: float, card_ppm: float,
             clock_offset_ms: float, clock_ppm: float, rng, jitter_ms: float = 0.3, rtt_ms=(0.4, 2.0)) -> np.ndarray:
    """Upload one participant's track as the browser would: 1 s chunks stamped with a client clock that is
    offset and drifting from the server's, a sound card running ``card_ppm`` fast, jittery timestamps, and
    NTP-style exchanges with asymmetric network legs. Returns the uploaded samples."""
    n = int(seconds * RATE)
    card_rate = RATE * (1 + card_ppm * 1e-6)
    t_true = start_s + np.arange(n) / card_rate  # seconds after BASE
    x = scene(t_true).astype(np.float32)
    client = lambda true_s: (BASE + true_s) * 1000 * (1 + clock_ppm * 1e-6) + clock_offset_ms  # noqa: E731
    cs = store.chunks(sid, role)
    for seq, s0 in enumerate(range(0, n, RATE)):
        body = x[s0:s0 + RATE].astype("<f4").tobytes()
        ms = client(t_true[s0]) + rng.normal(0, jitter_ms)
        cs.put(seq, s0, RATE, ms, body, (BASE + t_true[s0]) * 1000)
    sends = np.concatenate([start_s - 1.0 + 0.15 * np.arange(8), np.arange(start_s, start_s + seconds, 2.0)])
    for u in sends:
        d1, d2 = rng.uniform(*rtt_ms, 2) / 2
        busy = rng.uniform(0, 8.0)  # the server's own processing time, stamped out by ts_in/ts_out
        t0 = client(u)
        ts_in = (BASE + u) * 1000 + d1
        t3 = client(u + (d1 + busy + d2) / 1000)
        store.add_clock(sid, role, t0, ts_in, ts_in + busy, t3)
    s = store.get(sid)
    s.participants[role].finished = {"n_chunks": cs.next_seq, "n_samples": cs.n_samples}
    s.participants[role].speaker_id = f"spk-{role.lower()}"
    store.save(s)
    return x


def burst_lags_ms(a: np.ndarray, b: np.ndarray, rate: int) -> np.ndarray:
    """Lag of b behind a at every burst found in a (cross-correlation peak, parabolic sub-sample)."""
    env = np.abs(a)
    lags = []
    half = int(0.015 * rate)
    peaks = []
    i = 0
    while i < len(env):
        if env[i] > 0.25:
            j = i + int(np.argmax(env[i:i + half]))
            peaks.append(j)
            i = j + 2 * half
        else:
            i += 1
    for p in peaks:
        if p - 2 * half < 0 or p + 2 * half > len(a):
            continue
        wa = a[p - half:p + half].astype(np.float64)
        wb = b[p - 2 * half:p + 2 * half].astype(np.float64)
        cc = np.correlate(wb, wa, "valid")  # index k: b window shifted by k - half
        k = int(np.argmax(cc))
        frac = 0.0
        if 0 < k < len(cc) - 1:
            y0, y1, y2 = cc[k - 1], cc[k], cc[k + 1]
            frac = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
        lags.append((k + frac - half) / rate * 1000)
    return np.array(lags)


def test_assembly_aligns_streams_with_known_offsets_within_1ms(tmp_path, capsys):
    store = SessionStore(tmp_path / "ws")
    sid = store.create("CC-BY-4.0").session_id
    rng = np.random.default_rng(7)
    xa = simulate(store, sid, "A", start_s=0.0, seconds=30.0, card_ppm=0.0, clock_offset_ms=-523.4,
                  clock_ppm=-20.0, rng=rng)
    xb = simulate(store, sid, "B", start_s=0.35, seconds=29.0, card_ppm=60.0, clock_offset_ms=12_345.678,
                  clock_ppm=30.0, rng=rng)
    report = assemble_session(store, sid, run_scan=False)
    y, rate = sf.read(report["path"], dtype="float32", always_2d=True)
    assert rate == RATE and y.shape[1] == 2 and report["status"] == "complete"
    lags = burst_lags_ms(y[:, 0], y[:, 1], rate)
    assert len(lags) >= 14
    err = float(np.max(np.abs(lags)))
    # B starts 0.35 s after A: A is copied sample for sample from the start, B is shifted and resampled
    ta, tb = report["tracks"]
    assert ta["offset_samples"] == 0 and not ta["resampled"]
    assert abs(tb["offset_samples"] - 0.35 * RATE) <= 0.001 * RATE
    assert tb["resampled"] and abs(tb["drift_ppm"] - 60.0) < 15  # the sound card runs 60 ppm fast
    np.testing.assert_allclose(y[:len(xa), 0], xa, atol=2.0 ** -22)  # no lost samples: FLAC 24-bit only
    with capsys.disabled():
        print(f"\n[capture] alignment error over {len(lags)} bursts: max {err:.4f} ms, mean {np.mean(lags):+.4f} ms; "
              f"B drift measured {tb['drift_ppm']} ppm (true 60); uncertainty reported "
              f"{report['alignment_uncertainty_ms']} ms")
    assert err < 1.0
    # the manifest row names the speakers, the license and the source type
    row = json.loads((store.root / "manifest.jsonl").read_text().splitlines()[-1])
    assert (row["speaker_a"], row["speaker_b"], row["source_type"], row["license"]) == ("spk-a", "spk-b", "two-track", "CC-BY-4.0")
    # ... and that its clock is measured (both tracks placed on the server clock), never unknown
    from twotrack.ingest.clock import recording_clock
    from twotrack.ingest.manifest import read_manifest

    (rec,) = read_manifest(store.root / "manifest.jsonl").recordings
    assert recording_clock(rec, None, report["sample_rate"]).status == "measured"


def test_clock_fit_recovers_offset_under_asymmetric_legs():
    rng = np.random.default_rng(3)
    u = np.sort(rng.uniform(0, 60_000, 40))  # client send times (ms)
    d1, d2 = rng.uniform(0.2, 5.0, 40), rng.uniform(0.2, 5.0, 40)
    true_offset = 777.0
    ex = np.c_[u, u + true_offset + d1, u + d1 + d2]
    fit = fit_clock(ex)
    assert abs(fit.offset_ms - true_offset) <= fit.error_bound_ms
    assert fit.n_used >= 3 and fit.error_bound_ms < 2.5
    # with the server's receipt and reply stamped, its processing time does not widen the bound
    busy = rng.uniform(0, 50.0, 40)
    ex4 = np.c_[u, u + true_offset + d1, u + true_offset + d1 + busy, u + d1 + busy + d2]
    fit4 = fit_clock(ex4)
    assert abs(fit4.offset_ms - true_offset) <= fit4.error_bound_ms < 2.5
    with pytest.raises(ValueError):
        fit_clock([])


def test_partial_recording_when_a_participant_never_returns(tmp_path):
    store = SessionStore(tmp_path / "ws")
    sid = store.create("CC0-1.0").session_id
    rng = np.random.default_rng(5)
    simulate(store, sid, "A", start_s=0.0, seconds=4.0, card_ppm=0, clock_offset_ms=0, clock_ppm=0, rng=rng)
    # B uploaded two chunks and vanished (never finished)
    cs = store.chunks(sid, "B")
    for seq in range(2):
        cs.put(seq, seq * RATE, RATE, BASE * 1000 + 200 + seq * 1000, np.zeros(RATE, "<f4").tobytes(), 0.0)
    store.add_clock(sid, "B", BASE * 1000, BASE * 1000 + 0.5, BASE * 1000 + 1.0)
    with pytest.raises(ValueError, match="not every participant"):
        assemble_session(store, sid, run_scan=False)
    report = assemble_session(store, sid, force=True, run_scan=False)
    assert report["status"] == "partial"
    assert [t["complete"] for t in report["tracks"]] == [True, False]
    info = sf.info(report["path"])
    assert info.channels == 2 and info.frames >= 4 * RATE
    row = json.loads((store.root / "manifest.jsonl").read_text())
    assert row["tags"] == {"capture": "partial"}


# ------------------------------------------------------------------------------------------------
# capture anchors: the browser's capture timestamps, and the zero blocks its input FIFO inserts


def put_anchor(c, d, role, seq, samples, capture_ms=1.7e12, rate=RATE):
    return c.put(f"/api/sessions/{d['session_id']}/{role}/anchors/{seq}",
                 params={"rate": rate, "capture_ms": capture_ms}, content=np.asarray(samples, "<f4").tobytes(),
                 headers=hdr(d, role))


def test_anchor_upload_is_validated_idempotent_and_counted_at_finish(client):
    d = new_session(client)
    sid = d["session_id"]
    a = np.random.default_rng(2).standard_normal(480).astype("<f4") * 0.1
    assert put_anchor(client, d, "A", 0, a).status_code == 403  # no audio (anchors are audio) before consent
    consent(client, d, "A", "Ada")
    assert put_anchor(client, d, "A", 0, a).json() == {"status": "stored", "next_seq": 1}
    assert put_anchor(client, d, "A", 0, a).json()["status"] == "duplicate"
    url = f"/api/sessions/{sid}/A/anchors/1"
    folder = client.ws / "capture" / "sessions" / sid / "A" / "anchors"
    before = sorted(p.name for p in folder.glob("*"))
    bad = [
        put_anchor(client, d, "A", 0, a * 0.5),                        # other content under a stored number
        put_anchor(client, d, "A", 2, a),                              # out of order
        put_anchor(client, d, "A", 1, np.zeros(19_201)),               # oversized (more than 0.1 s at 192 kHz)
        client.put(url, params={"rate": RATE, "capture_ms": 1.7e12}, content=b"abcde", headers=hdr(d, "A")),
        put_anchor(client, d, "A", 1, a, capture_ms=float("nan")),
        put_anchor(client, d, "A", 1, a, capture_ms=-5.0),             # not an epoch time
        put_anchor(client, d, "A", 1, a, rate=100),
        put_anchor(client, d, "A", 1, np.array([np.nan], "<f4")),
        client.put(url, params={"rate": RATE}, content=a.tobytes(), headers=hdr(d, "A")),  # no capture time
        client.put(url, params={"rate": RATE, "capture_ms": 1.7e12}, content=a.tobytes(), headers=hdr(d, "B")),
    ]
    assert [r.status_code for r in bad] == [409, 409, 413, 400, 400, 400, 400, 400, 422, 403]
    assert sorted(p.name for p in folder.glob("*")) == before
    # finish checks the anchor count the page declares; afterwards new anchors are refused
    assert put(client, d, "A", 0, a, 0).status_code == 200
    fin = f"/api/sessions/{sid}/A/finish"
    r = client.post(fin, json={"n_chunks": 1, "n_samples": 480, "n_anchors": 2}, headers=hdr(d, "A"))
    assert r.status_code == 409 and "capture anchors" in r.json()["detail"]
    assert client.post(fin, json={"n_chunks": 1, "n_samples": 480, "n_anchors": 1}, headers=hdr(d, "A")).status_code == 200
    assert put_anchor(client, d, "A", 1, a).status_code == 409


FRAME = RATE // 100  # the browser's 10 ms capture buffer


def simulate_browser(store: SessionStore, sid: str, role: str, *, start_s: float, seconds: float, latency_ms: float,
                     inserted_at_s=(), dropped_at_s=(), clock_offset_ms: float, rng, anchors: bool = True,
                     bracket: bool = True) -> dict:
    """Upload a track the way Chrome delivers it: the microphone (the burst scene plus -50 dBFS noise, so it
    is never digital silence) is captured from ``start_s``; the AudioWorklet sees each sample ``latency_ms``
    later, and each time the input FIFO runs dry (``inserted_at_s``, capture seconds) it is handed a block of
    FRAME zeros, after which the audio arrives that much later. ``dropped_at_s``: a FRAME of input lost.
    The page stamps chunks with the worklet's time and sends one 10 ms frame per second with its capture
    timestamp, and (``bracket``) the two frames around each jump of the capture timestamps (a dropped frame).
    Returns the captured samples and the worklet's (what the chunks hold)."""
    card_ppm = 0.0
    n = int(seconds * RATE)
    t_cap = start_s + np.arange(n) / RATE
    cap = (scene(t_cap) + rng.normal(0, 10 ** (-50 / 20), n)).astype(np.float32)
    client = lambda true_s: (BASE + true_s) * 1000 + clock_offset_ms  # noqa: E731
    pieces, prev = [], 0
    events = sorted([(int(s * RATE) // FRAME * FRAME, "ins") for s in inserted_at_s]
                    + [(int(s * RATE) // FRAME * FRAME, "drop") for s in dropped_at_s])
    for at, kind in events:
        pieces.append(cap[prev:at])
        if kind == "ins":
            pieces.append(np.zeros(FRAME, np.float32))
            prev = at
        else:
            prev = at + FRAME
    pieces.append(cap[prev:])
    worklet = np.concatenate(pieces)
    t_w0 = start_s + latency_ms / 1000.0  # the worklet's time of its first sample
    cs = store.chunks(sid, role)
    for seq, s0 in enumerate(range(0, len(worklet), RATE)):
        cs.put(seq, s0, RATE, client(t_w0 + s0 / RATE) + rng.normal(0, 0.3), worklet[s0:s0 + RATE].tobytes(),
               (BASE + t_w0 + s0 / RATE) * 1000)
    if anchors:
        an = store.anchors(sid, role)
        starts = list(range(RATE // 2, n - RATE, RATE))
        if bracket:
            starts += [c for at, kind in events if kind == "drop" for c in (at - FRAME, at + FRAME)]
        for k, c0 in enumerate(starts):
            an.put(k, 0, RATE, client(t_cap[c0]) + rng.normal(0, 0.05), cap[c0:c0 + FRAME].tobytes(), 0.0)
    for u in np.concatenate([start_s - 1.0 + 0.15 * np.arange(8), np.arange(start_s, start_s + seconds, 2.0)]):
        d1, d2 = rng.uniform(0.4, 2.0, 2) / 2
        store.add_clock(sid, role, client(u), (BASE + u) * 1000 + d1, client(u + (d1 + d2) / 1000))
    s = store.get(sid)
    s.participants[role].finished = {"n_chunks": cs.next_seq, "n_samples": cs.n_samples}
    s.participants[role].speaker_id = f"spk-{role.lower()}"
    store.save(s)
    return {"captured": cap, "worklet": worklet}


def test_capture_anchors_align_despite_input_latency_and_inserted_zeros(tmp_path, capsys):
    """A's worklet sees its audio 50 ms after capture, B's 95 ms, and B's FIFO runs dry twice (two inserted
    10 ms zero blocks): worklet stamps alone put B 45-65 ms late; the anchors place both within 0.2 ms,
    and the inserted zeros are cut so B's channel is exactly its captured audio."""
    results = {}
    for use_anchors in (False, True):
        store = SessionStore(tmp_path / f"ws-{use_anchors}")
        sid = store.create("CC-BY-4.0").session_id
        rng = np.random.default_rng(11)
        simulate_browser(store, sid, "A", start_s=0.0, seconds=28.0, latency_ms=50.0, clock_offset_ms=-523.4,
                         rng=rng, anchors=use_anchors)
        b = simulate_browser(store, sid, "B", start_s=0.35, seconds=27.0, latency_ms=95.0, inserted_at_s=(9.3, 17.85),
                             clock_offset_ms=12_345.678, rng=rng, anchors=use_anchors)
        report = assemble_session(store, sid, run_scan=False)
        y, _ = sf.read(report["path"], dtype="float32", always_2d=True)
        results[use_anchors] = (burst_lags_ms(y[:, 0], y[:, 1], RATE), report, y, b)
    lags_off, rep_off = results[False][:2]
    lags, report, y, b = results[True]
    ta, tb = report["tracks"]
    assert rep_off["tracks"][1]["timing"] == "worklet" and rep_off["tracks"][1]["capture_anchors"] is None
    assert "not measured" in rep_off["input_latency"] and "capture timestamps" in report["input_latency"]
    # where B's first sample went, against the truth (B's capture starts 0.35 s after A's)
    placed = {k: (r["tracks"][1]["offset_samples"] - r["tracks"][0]["offset_samples"]) / RATE * 1000 - 350.0
              for k, r in ((False, rep_off), (True, report))}
    assert 44.0 < placed[False] < 46.0  # the worklet stamps alone: B late by the latency difference (45 ms)
    assert abs(placed[True]) < 0.1
    assert ta["timing"] == tb["timing"] == "capture" and len(lags) >= 14
    assert np.max(np.abs(lags)) < 0.2, lags
    # the two inserted blocks are found and cut: B's channel is its captured audio, sample for sample
    cb = tb["capture_anchors"]
    assert cb["samples_removed"] == 2 * FRAME and len(cb["inserted_zeros_removed"]) == 2
    assert cb["unexplained_steps"] == [] and cb["matched"] == cb["sent"] >= 25
    assert 94.5 < cb["input_latency_ms"][0] and cb["input_latency_ms"][2] < 115.5  # 95 ms, +10 per insertion
    off = tb["offset_samples"]
    np.testing.assert_allclose(y[off:off + len(b["captured"]), 1], b["captured"], atol=2.0 ** -22)
    assert tb["samples"] == len(b["worklet"]) == len(b["captured"]) + 2 * FRAME
    with capsys.disabled():
        print(f"\n[capture] B's start placed {placed[False]:+.2f} ms off by worklet stamps only, {placed[True]:+.4f} ms "
              f"with capture anchors; bursts after B's two inserted zero blocks within {np.max(np.abs(lags)):.4f} ms; "
              f"B latency {cb['input_latency_ms']} ms")


def test_capture_timing_reports_what_zeros_do_not_explain():
    """Input lost (the counter falls behind the capture clock) between two anchors a second apart is
    reported, not patched; anchors on digital silence or a steady tone cannot be placed and are not used."""
    from twotrack.capture.assemble import capture_timing, fit_sample_clock

    store = SessionStore(Path(__import__("tempfile").mkdtemp()) / "ws")
    sid = store.create("CC-BY-4.0").session_id
    rng = np.random.default_rng(4)
    sim = simulate_browser(store, sid, "A", start_s=0.0, seconds=12.0, latency_ms=60.0, dropped_at_s=(6.2,),
                           clock_offset_ms=0.0, rng=rng, bracket=False)
    cs, an = store.chunks(sid, "A"), store.anchors(sid, "A")
    anchors = [(m.client_ms, m.sample_rate, an.read(m.seq)) for m in an.metas()]
    timing = capture_timing(cs.read_all(), anchors, fit_sample_clock(cs.metas()))
    assert timing.cuts == [] and len(timing.steps) == 1
    step = timing.steps[0]
    assert abs(step["ms"] - 10.0) < 0.3 and step["after_sample"] < 6.2 * RATE < step["before_sample"]
    # the start is still placed from the audio before the loss
    assert abs(timing.clock.start_ms - BASE * 1000) < 0.1 and len(sim["worklet"]) == len(sim["captured"]) - FRAME
    tone = np.sin(2 * np.pi * 1000 * np.arange(RATE * 3) / RATE).astype(np.float32)
    silent = np.zeros(RATE * 3, np.float32)
    sc = fit_sample_clock(cs.metas())
    for x in (tone, silent):
        t = capture_timing(x, [(sc.start_ms + 1000.0 * k, RATE, x[RATE * k:RATE * k + FRAME]) for k in range(2)], sc)
        assert t.clock is None and t.n_matched == 0


def test_missed_input_is_filled_where_the_page_saw_the_capture_timestamps_jump():
    """The device missed a frame (Chromium's fake device skips a tick when its callback runs late; a real one
    overruns): the page sends the frames on both sides of the jump, which are adjacent in the track, so the
    missing 10 ms goes back as zeros exactly there and the audio after it keeps its capture time."""
    from twotrack.capture.assemble import apply_corrections, capture_timing, fit_sample_clock

    store = SessionStore(Path(__import__("tempfile").mkdtemp()) / "ws")
    sid = store.create("CC-BY-4.0").session_id
    rng = np.random.default_rng(8)
    sim = simulate_browser(store, sid, "A", start_s=0.0, seconds=12.0, latency_ms=60.0, dropped_at_s=(6.2,),
                           inserted_at_s=(3.1,), clock_offset_ms=0.0, rng=rng)
    cs, an = store.chunks(sid, "A"), store.anchors(sid, "A")
    received = cs.read_all()
    timing = capture_timing(received, [(m.client_ms, m.sample_rate, an.read(m.seq)) for m in an.metas()],
                            fit_sample_clock(cs.metas()))
    at = int(6.2 * RATE) // FRAME * FRAME
    assert timing.steps == [] and len(timing.cuts) == 1 and timing.fills == [[at + FRAME, FRAME]]  # received index: after the inserted block
    fixed = apply_corrections(received, timing.cuts, timing.fills)
    truth = sim["captured"].copy()
    truth[at:at + FRAME] = 0.0  # what the microphone never delivered
    assert np.array_equal(fixed, truth)
    assert abs(timing.clock.start_ms - BASE * 1000) < 0.1 and timing.residual_ms < 0.2


def test_a_capture_timestamp_glitch_is_not_filled_but_a_persisting_stall_is():
    """Synthetic anchors on a continuous track: the capture timestamps jump +10 ms between two adjacent frames.
    When every later frame stays 10 ms later (Chromium's fake device skipping a tick: the file plays on, later)
    the 10 ms are filled there; when the timestamps come back three frames later (a glitch: the counter ran on,
    nothing was missed) nothing is filled, no step is reported and the glitched anchors are left out of the fit."""
    from twotrack.capture.assemble import SampleClock, apply_corrections, capture_timing

    rng = np.random.default_rng(21)
    track = rng.normal(0, 0.05, 12 * RATE).astype(np.float32)
    ms = 1000.0 / RATE
    t0 = BASE * 1000
    stamps = SampleClock(t0 + 50.0, ms, RATE, True, 0.0, 0.0)  # the worklet sees each sample 50 ms late
    at = int(6.2 * RATE) // FRAME * FRAME  # the first frame stamped late

    def anchors(shifted):
        starts = sorted(set(list(range(RATE // 2, 11 * RATE, RATE)) + [at - FRAME, at, at + 2 * FRAME, at + 3 * FRAME]))
        return [(t0 + c * ms + (10.0 if shifted(c) else 0.0), RATE, track[c:c + FRAME]) for c in starts]

    stall = capture_timing(track, anchors(lambda c: c >= at), stamps)
    assert stall.fills == [[at, FRAME]] and stall.cuts == [] and stall.steps == []
    assert stall.residual_ms < 0.01 and abs(stall.clock.start_ms - t0) < 0.01
    assert len(apply_corrections(track, stall.cuts, stall.fills)) == len(track) + FRAME

    glitch = capture_timing(track, anchors(lambda c: at <= c < at + 3 * FRAME), stamps)
    assert glitch.fills == [] and glitch.cuts == [] and glitch.steps == []
    assert glitch.n_matched == len(anchors(lambda c: False))  # all found; the two stamped late are not fitted
    assert glitch.residual_ms < 0.01 and abs(glitch.clock.start_ms - t0) < 0.01 and glitch.clock.rate_measured


def test_a_stall_longer_than_the_zeros_chrome_put_there_is_filled_after_them():
    """The device missed 20 ms and Chrome's input FIFO, running dry right then, handed the worklet one 10 ms
    block of zeros there (measured in the end-to-end test: capture clock +20 ms, 441 zeros, the file playing on).
    The frames around the jump are adjacent in the track but for those zeros: they are part of the silence, the
    other 10 ms go in right after them, and the audio after it keeps its capture time."""
    from twotrack.capture.assemble import SampleClock, apply_corrections, capture_timing

    rng = np.random.default_rng(22)
    audio = rng.normal(0, 0.05, 12 * RATE).astype(np.float32)
    at = int(6.2 * RATE) // FRAME * FRAME  # the first frame the device delivered late
    track = np.concatenate([audio[:at], np.zeros(FRAME, np.float32), audio[at:]])
    ms = 1000.0 / RATE
    t0 = BASE * 1000
    stamps = SampleClock(t0 + 50.0, ms, RATE, True, 0.0, 0.0)
    starts = sorted(set(list(range(RATE // 2, 11 * RATE, RATE)) + [at - FRAME, at]))  # in the device's audio
    anchors = [(t0 + c * ms + (20.0 if c >= at else 0.0), RATE, audio[c:c + FRAME]) for c in starts]
    timing = capture_timing(track, anchors, stamps)
    assert timing.cuts == [] and timing.steps == [] and timing.fills == [[at + FRAME, FRAME]]
    truth = np.concatenate([audio[:at], np.zeros(2 * FRAME, np.float32), audio[at:]])
    assert np.array_equal(apply_corrections(track, timing.cuts, timing.fills), truth)
    assert timing.residual_ms < 0.01 and abs(timing.clock.start_ms - t0) < 0.01
