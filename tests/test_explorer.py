"""The explorer's JSON API and pages over a real scanned workspace (FastAPI TestClient, no network)."""

from __future__ import annotations

import io
import math
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from show_fixtures import RECORDINGS, peak_cache_dir, sample_ws  # noqa: F401
from twotrack.ingest.tracks import load_tracks
from twotrack.show import create_app
from twotrack.store import Workspace, queries


def url(rid: str, suffix: str = "") -> str:
    return f"/api/recordings/{rid}{suffix}"


@pytest.fixture(scope="module")
def client(sample_ws, peak_cache_dir):
    app = create_app(sample_ws, cache_dir=peak_cache_dir)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def ws(sample_ws):
    return Workspace(sample_ws)


def test_list_recordings(client):
    r = client.get("/api/recordings")
    assert r.status_code == 200
    rows = r.json()
    assert isinstance(rows, list)
    assert sorted(x["recording_id"] for x in rows) == sorted(RECORDINGS)
    for row in rows:
        assert row["duration_s"] > 60
        assert row["n_ipus"] > 0
        assert row["layout"] in ("multichannel", "paired")
        assert row["phase_fit"] is None or set(row["phase_fit"]) == {"pre", "mid", "post"}


def test_list_recordings_pages_with_offset_and_limit(client):
    whole = client.get("/api/recordings")
    assert whole.headers["x-total-count"] == str(len(RECORDINGS))
    rows = whole.json()
    pages = [client.get("/api/recordings", params={"offset": o, "limit": 2}) for o in range(0, len(rows), 2)]
    assert all(p.status_code == 200 and p.headers["x-total-count"] == str(len(rows)) for p in pages)
    assert [x for p in pages for x in p.json()] == rows
    assert client.get("/api/recordings", params={"offset": 1}).json() == rows[1:]
    assert client.get("/api/recordings", params={"offset": len(rows)}).json() == []
    for bad in ({"limit": 0}, {"offset": -1}, {"limit": "x"}):
        assert client.get("/api/recordings", params=bad).status_code == 422, bad


def test_recording_detail_has_checks_and_events(client, ws):
    for rid in RECORDINGS:
        r = client.get(url(rid))
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["recording_id"] == rid
        stored = queries.events(ws, rid)
        assert len(d["events"]) == len(stored)
        n_ipu = sum(e.kind.value == "ipu" for e in stored)
        assert d["counts"]["ipu"] == n_ipu == sum(e["kind"] == "ipu" for e in d["events"])
        assert sum(d["counts_by_track"]["ipu"]) == n_ipu
        checks = queries.checks(ws, rid)
        if checks is None:
            assert d["checks"] is None and d["checks_note"]
        else:
            assert d["checks"]["isolation"] == checks.isolation.value
        assert [t["name"] for t in d["tracks"]] == ["A", "B"]
        assert {c["track"] for c in d["consent"]} == {"A", "B"}
        assert "commercial-training" in d["rights"]
        assert d["qualification"] is None or d["qualification"]["recording_id"] == rid


def test_consent_state_follows_the_ledger(client):
    # demo02: libri-3080 withdrew commercial-use on 2026-03-14 (data/sample/RIGHTS.md)
    d = client.get(url("telephone/demo02_3080_2033")).json()
    a = next(c for c in d["consent"] if c["track"] == "A")
    assert a["speaker"] == "libri-3080"
    assert a["scopes"]["commercial-use"]["status"] == "dpv:ConsentWithdrawn"
    assert a["scopes"]["ai-training"]["status"] == "dpv:ConsentGiven"
    assert d["rights"]["commercial-training"]["allowed"] is False
    ok = client.get(url("clean/demo01_367_1688")).json()
    assert ok["rights"]["commercial-training"]["allowed"] is True


def test_timeline_window(client, ws):
    rid = "clean/demo01_367_1688"
    r = client.get(url(rid, "/timeline"), params={"start": 10, "end": 40, "width": 300})
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["start"] == 10 and t["end"] == 40 and t["width"] == 300
    assert t["peaks"]["source"].startswith("frames")
    for tr in t["peaks"]["tracks"]:
        assert len(tr["min"]) == len(tr["max"]) == 300
        lo, hi = np.array(tr["min"]), np.array(tr["max"])
        assert np.all(lo <= hi) and lo.min() >= -1 and hi.max() <= 1
        assert hi.max() > 0.01  # speech is there
    ev = t["events"]
    assert len(ev["kind"]) == len(ev["start"]) == len(ev["end"]) == len(ev["track"])
    stored = [e for e in queries.events(ws, rid) if e.end > 10 and e.start < 40]
    assert len(ev["kind"]) == len(stored)
    assert all(e > 10 for e in ev["end"]) and all(s < 40 for s in ev["start"])
    for lane in t["activity"]:
        for a, b in lane["segments"]:
            assert b > 10 and a < 40


def test_peaks_match_the_audio(client, ws):
    """Deep-zoom peaks are the min/max of the decoded audio in each pixel; cached peaks hold each pixel's
    min/max, widened at most by one entry of the level they come from (80 ms here) on either side."""
    rid = "telephone/demo02_3080_2033"  # SPHERE mu-law: decoded server-side
    audio = load_tracks(queries.recording(ws, rid))
    x, rate = audio.samples, audio.sample_rate
    for start, end, width, source, slack in ((20.0, 22.0, 400, "audio", 0.0), (0.0, 60.0, 600, "frames", 0.08)):
        r = client.get(url(rid, "/peaks"), params={"start": start, "end": end, "width": width})
        assert r.status_code == 200, r.text
        p = r.json()
        assert p["source"].startswith(source)
        step = (end - start) / width
        for tr in p["tracks"]:
            for i in range(0, width, 7):
                a, b = int(round((start + i * step) * rate)), int(round((start + (i + 1) * step) * rate))
                inner = x[tr["track"], a:b]
                outer = x[tr["track"], max(0, a - int(slack * rate)): b + int(slack * rate)]
                assert inner.max() - 2e-3 <= tr["max"][i] <= outer.max() + 2e-3
                assert outer.min() - 2e-3 <= tr["min"][i] <= inner.min() + 2e-3


def _wav(content: bytes) -> tuple[np.ndarray, int]:
    data, rate = sf.read(io.BytesIO(content), dtype="float32", always_2d=True)
    return data, rate


def test_json_answers_are_compressed_and_audio_is_not(client):
    """A browser that accepts gzip gets the timeline compressed (the same JSON); audio, whole or a byte range,
    stays plain WAV so that Range offsets address the file."""
    rid = "clean/demo01_367_1688"
    params = {"start": 0, "end": 60, "width": 2000}
    packed = client.get(url(rid, "/timeline"), params=params, headers={"Accept-Encoding": "gzip"})
    plain = client.get(url(rid, "/timeline"), params=params, headers={"Accept-Encoding": "identity"})
    assert packed.headers.get("content-encoding") == "gzip"
    assert "content-encoding" not in plain.headers
    assert packed.json() == plain.json()
    assert len(plain.content) > 4 * int(packed.headers["content-length"])
    whole = client.get(url(rid, "/audio"), params={"tracks": "A"}, headers={"Accept-Encoding": "gzip"})
    part = client.get(url(rid, "/audio"), params={"tracks": "A"},
                      headers={"Accept-Encoding": "gzip", "Range": "bytes=100-199"})
    assert whole.status_code == 200 and part.status_code == 206
    assert "content-encoding" not in whole.headers and "content-encoding" not in part.headers
    assert part.content == whole.content[100:200]


def test_audio_region_is_the_source_audio(client, ws):
    for rid in RECORDINGS:
        rec = queries.recording(ws, rid)
        full = load_tracks(rec)
        rate = full.sample_rate
        r = client.get(url(rid, "/audio"), params={"tracks": "both", "start": 12.5, "end": 14.5})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "audio/wav"
        assert r.headers["accept-ranges"] == "bytes"
        got, got_rate = _wav(r.content)
        assert got_rate == rate and got.shape[1] == 2
        a = int(math.floor(12.5 * rate))
        want = full.samples[:, a: a + got.shape[0]].T
        assert got.shape[0] == int(math.ceil(14.5 * rate)) - a
        assert np.max(np.abs(got - np.clip(want, -1, 1))) < 2e-4  # 16-bit quantisation
        one, _ = _wav(client.get(url(rid, "/audio"), params={"tracks": "B", "start": 12.5, "end": 14.5}).content)
        assert one.shape[1] == 1 and np.allclose(one[:, 0], got[:, 1])


def test_audio_range_requests(client):
    rid = "paired/demo03_2609_367"
    whole = client.get(url(rid, "/audio"), params={"tracks": "A"})
    assert whole.status_code == 200
    size = int(whole.headers["content-length"])
    assert size == len(whole.content)
    riff = struct.unpack("<4sI4s", whole.content[:12])
    assert riff[0] == b"RIFF" and riff[2] == b"WAVE" and riff[1] == size - 8
    r = client.get(url(rid, "/audio"), params={"tracks": "A"}, headers={"Range": "bytes=0-99"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-99/{size}"
    assert r.content == whole.content[:100]
    mid = client.get(url(rid, "/audio"), params={"tracks": "A"}, headers={"Range": "bytes=100001-200000"})
    assert mid.status_code == 206 and mid.content == whole.content[100001:200001]
    tail = client.get(url(rid, "/audio"), params={"tracks": "A"}, headers={"Range": "bytes=-1000"})
    assert tail.status_code == 206 and tail.content == whole.content[-1000:]
    open_end = client.get(url(rid, "/audio"), params={"tracks": "A"}, headers={"Range": f"bytes={size - 10}-"})
    assert open_end.content == whole.content[-10:]
    beyond = client.get(url(rid, "/audio"), params={"tracks": "A"}, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    assert "detail" in beyond.json()
    multi = client.get(url(rid, "/audio"), params={"tracks": "A"}, headers={"Range": "bytes=0-1,5-6"})
    assert multi.status_code == 400
    head = client.head(url(rid, "/audio"), params={"tracks": "A"})
    assert head.status_code == 200 and head.headers["content-length"] == str(size) and head.content == b""


BAD = [
    (url("no/such/recording"), 404),
    (url("../../../etc/passwd"), 404),
    ("/api/recordings/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 404),
    (url("..%2F..%2Fworkspace.duckdb", "/audio"), 404),
    (url("clean/demo01_367_1688", "/timeline?start=500"), 400),
    (url("clean/demo01_367_1688", "/timeline?start=-1"), 400),
    (url("clean/demo01_367_1688", "/timeline?start=10&end=5"), 400),
    (url("clean/demo01_367_1688", "/timeline?start=0&end=1e9"), 400),
    (url("clean/demo01_367_1688", "/timeline?start=nan"), 400),
    (url("clean/demo01_367_1688", "/timeline?start=inf"), 400),
    (url("clean/demo01_367_1688", "/timeline?start=abc"), 422),
    (url("clean/demo01_367_1688", "/timeline?width=0"), 422),
    (url("clean/demo01_367_1688", "/timeline?width=100000"), 422),
    (url("clean/demo01_367_1688", "/peaks?tracks=C"), 400),
    (url("clean/demo01_367_1688", "/audio?tracks=Z"), 400),
    (url("clean/demo01_367_1688", "/audio?start=70&end=80"), 400),
    (url("clean/demo01_367_1688", "/audio?start=5&end=5"), 400),
    ("/api/nothing/here", 404),
    ("/recordings/does/not/exist", 404),
    ("/static/../../../etc/passwd", 404),
    ("/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 404),
    ("/static/..%2f..%2fapp.py", 404),
]


@pytest.mark.parametrize("path,status", BAD)
def test_bad_requests_get_4xx_with_a_message(client, path, status):
    r = client.get(path)
    assert r.status_code == status, (path, r.status_code, r.text[:300])
    if path.startswith("/api/"):
        detail = r.json()["detail"]
        assert isinstance(detail, str) and len(detail) > 5
    assert b"root:" not in r.content  # never a file outside the package's static folder


def test_unknown_recording_message_names_it(client):
    r = client.get(url("clean/nope"))
    assert r.status_code == 404 and "clean/nope" in r.json()["detail"]
    page = client.get("/recordings/clean/nope")
    assert page.status_code == 404 and "clean/nope" in page.text and "<html" in page.text


def test_pages(client):
    home = client.get("/")
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    for rid in RECORDINGS:
        assert rid in home.text
        page = client.get(f"/recordings/{rid}")
        assert page.status_code == 200
        assert 'id="timeline"' in page.text and f'data-recording-id="{rid}"' in page.text
    for asset in ("/static/timeline.js", "/static/corpus.js", "/static/explorer.css"):
        assert client.get(asset).status_code == 200
    report = client.get("/report")
    assert report.status_code == 200 and "Corpus report" in report.text


def test_no_cdn_anywhere(client):
    """Pages and scripts reference only this server."""
    texts = [client.get(p).text for p in ("/", f"/recordings/{RECORDINGS[0]}", "/docs", "/static/timeline.js",
                                          "/static/corpus.js")]
    for t in texts:
        assert "http://" not in t.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in t


def test_openapi_documents_the_api(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in ("/api/recordings", "/api/recordings/{recording_id}", "/api/recordings/{recording_id}/timeline",
              "/api/recordings/{recording_id}/peaks", "/api/recordings/{recording_id}/audio", "/api/corpus"):
        assert p in paths, p
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/recordings/{recording_id}/timeline" in docs.text


def test_corpus_summary(client):
    c = client.get("/api/corpus").json()
    assert c["overview"]["recordings"]["total"] == len(RECORDINGS)
    assert c["qualification"] is None or isinstance(c["qualification"]["qualified_hours"], float)
    assert c["rights"]["ledger"]["events"] == 8
    assert [w["speaker"] for w in c["rights"]["withdrawals"]] == ["libri-3080", "libri-2033"]


def _state(folder: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            out[str((Path(root) / d).relative_to(folder)) + "/"] = (0, 0)
        for f in files:
            p = Path(root) / f
            if f.endswith(".lock"):
                continue  # session locks are opened (not changed) by every reader
            st = p.stat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def test_explorer_never_writes_to_the_workspace(sample_ws, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(sample_ws, ws)
    shutil.rmtree(ws / "rights")  # no ledger yet: reading must not create its folder either
    before = _state(ws)
    app = create_app(ws, cache_dir=tmp_path / "cache")
    with TestClient(app) as c:
        for rid in RECORDINGS:
            assert c.get(url(rid, "/timeline")).status_code == 200
            d = c.get(url(rid)).json()
            assert all(t["scopes"] is None or t["scopes"]["ai-training"]["status"] == "dpv:ConsentUnknown"
                       for t in d["consent"])
            assert c.get(url(rid, "/audio"), params={"start": 1, "end": 2}).status_code == 200
        assert c.get("/").status_code == 200
        assert c.get("/report").status_code == 200
    assert _state(ws) == before
    assert list((tmp_path / "cache").glob("*.npy"))  # the peaks went to the cache instead
