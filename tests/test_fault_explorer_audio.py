"""Issue 18, fault 2: the explorer's audio endpoint answers 409 (like /timeline) for a recording whose decode
failed, instead of 200 with a content-length and then a broken stream."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from show_fixtures import run_cli
from twotrack.show import create_app


@pytest.fixture(scope="module")
def failed_ws(tmp_path_factory):
    """A workspace with one good recording and one FLAC whose header reads but whose body does not decode."""
    root = tmp_path_factory.mktemp("failed-decode")
    corpus = root / "corpus"
    corpus.mkdir()
    noise = (np.random.default_rng(0).standard_normal((16000 * 3, 2)) * 0.05).astype(np.float32)
    sf.write(corpus / "good.wav", noise, 16000)
    sf.write(corpus / "bad.flac", noise, 16000, subtype="PCM_16")
    body = bytearray((corpus / "bad.flac").read_bytes())
    body[len(body) // 3: len(body) // 3 + 4000] = bytes(4000)  # frames lost: libsndfile loses sync mid-file
    (corpus / "bad.flac").write_bytes(bytes(body))
    (corpus / "manifest.csv").write_text("recording_id,path\ngood,good.wav\nbad,bad.flac\n")
    ws = root / "ws"
    res = run_cli("scan", str(corpus / "manifest.csv"), "-w", str(ws), "--jobs", "1", check=False)
    assert "bad.flac" in res.stdout + res.stderr  # the decode error is reported by the scan
    return ws


def test_audio_of_a_failed_decode_is_409_like_timeline(failed_ws, tmp_path):
    with TestClient(create_app(failed_ws, cache_dir=tmp_path / "cache"), raise_server_exceptions=False) as c:
        t = c.get("/api/recordings/bad/timeline")
        assert t.status_code == 409
        for method in ("GET", "HEAD"):
            r = c.request(method, "/api/recordings/bad/audio")
            assert r.status_code == 409, (method, r.status_code, r.headers)
            assert r.headers["content-type"].startswith("application/json")
        assert c.get("/api/recordings/bad/audio").json()["detail"] == t.json()["detail"]
        assert c.get("/api/recordings/bad/audio", headers={"Range": "bytes=0-99"}).status_code == 409
        good = c.get("/api/recordings/good/audio")
        assert good.status_code == 200 and good.content[:4] == b"RIFF"
