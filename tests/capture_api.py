"""The capture server at the API level, shared by the capture tests: the real app over a temporary
workspace (``client`` fixture: import it into the test module) and a participant's first steps."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from twotrack.capture.server import create_app

RATE = 48000


@pytest.fixture()
def client(tmp_path):
    """A TestClient of the app over ``tmp_path / "ws"`` (``.ws``: the workspace, ``.app_``: the app)."""
    app = create_app(tmp_path / "ws", scan=False)
    with TestClient(app) as c:
        c.ws = tmp_path / "ws"
        c.app_ = app
        yield c


def new_session(c, **kw):
    r = c.post("/api/sessions", json={"license": "CC-BY-4.0", **kw})
    assert r.status_code == 200, r.text
    d = r.json()
    d["tokens"] = {role: link.split("k=")[1] for role, link in d["links"].items()}
    return d


def hdr(d, role):
    return {"X-Capture-Token": d["tokens"][role]}


def consent(c, d, role, name):
    t = c.get(f"/api/sessions/{d['session_id']}/{role}/consent-text", params={"name": name}, headers=hdr(d, role))
    assert t.status_code == 200, t.text
    r = c.post(f"/api/sessions/{d['session_id']}/{role}/consent",
               json={"name": name, "sha256": t.json()["sha256"], "agree": True}, headers=hdr(d, role))
    assert r.status_code == 200, r.text
    return t.json(), r.json()


def put(c, d, role, seq, samples, start, client_ms=1.7e12):
    body = np.asarray(samples, "<f4").tobytes()
    return c.put(f"/api/sessions/{d['session_id']}/{role}/chunks/{seq}",
                 params={"sample_start": start, "rate": RATE, "client_ms": client_ms}, content=body,
                 headers=hdr(d, role))
