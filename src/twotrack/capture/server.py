"""The capture server (FastAPI): sessions, the capture page, consent, clock exchanges, chunk uploads,
the WebRTC signalling relay, and assembly when both participants have stopped.

Every API call names its session and, for a participant, its role (A or B), and carries the secret token
of the join link in the ``X-Capture-Token`` header. ``create_app(workspace)`` is the library call behind
``twotrack capture serve``; docs/capture.md lists the endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path

from fastapi import FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect
from pydantic import BaseModel, Field

from .. import jsonfile
from .assemble import assemble_session
from .limits import check_clock_values, check_settings
from .chunks import MAX_ANCHOR_SAMPLES, MAX_CHUNK_SAMPLES, SAMPLE_BYTES, ChunkRejected
from .expiry import GONE, ExpiryPolicy, gone_problem, sweep
from .sessions import DEFAULT_SCOPES, SessionError, SessionStore, consent_text, clean_name, text_sha256

STATIC = Path(__file__).with_name("static")
MAX_BODY = MAX_CHUNK_SAMPLES * SAMPLE_BYTES
log = logging.getLogger("twotrack.capture")


def server_ms() -> float:
    return time.time() * 1000.0


class CreateSession(BaseModel):
    license: str = "CC-BY-4.0"
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))
    title: str = ""
    speaker_a: str | None = None
    speaker_b: str | None = None


class Consent(BaseModel):
    name: str
    sha256: str
    agree: bool


class Settings(BaseModel):
    sample_rate: int
    settings: dict = Field(default_factory=dict)


class ClockPing(BaseModel):
    t0: float
    prev: list[float] | None = None  # the previous completed exchange (t0, ts, t3)


class Finish(BaseModel):
    n_chunks: int
    n_samples: int
    # runs of exact zeros the page's worklet saw in its input (Chrome input underruns): kept for the report
    input_zero_runs: list[dict] = Field(default_factory=list, max_length=1000)
    # capture anchors the page made (None: a page that sends none); checked against what the server holds
    n_anchors: int | None = Field(None, ge=0)


def create_app(workspace: str | Path, *, scan: bool = True, permissions=None, expiry: ExpiryPolicy | None = None,
               clock=time.time) -> FastAPI:
    """The capture app over ``workspace`` (created when missing). ``scan``: scan each assembled recording;
    ``permissions``: a team's permissions table (``rights.load_permissions(FILE)``), whose ``LicenseRef-`` ids a
    session's license may name; ``expiry``: when unfinished sessions expire (expiry.py; default: the capture
    config's defaults); ``clock``: epoch seconds for session activity and expiry (a test passes its own)."""
    from ..store import Workspace

    Workspace(workspace, create=True)
    policy = expiry or ExpiryPolicy()
    store = SessionStore(workspace, permissions, clock=clock, policy=policy)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # expiry while the server runs: a pass every check_s (a request to an overdue session expires it at
        # once anyway; this pass deletes the audio of sessions nobody asks about any more)
        async def every():
            while True:
                await asyncio.sleep(policy.check_s)
                try:
                    await run_in_threadpool(app.state.expire_now)
                except Exception:  # noqa: BLE001 - logged; the next pass tries again
                    log.exception("capture expiry pass failed")

        task = asyncio.create_task(every())
        try:
            yield
        finally:
            task.cancel()

    app = FastAPI(title="twotrack capture", docs_url="/docs", redoc_url=None, lifespan=lifespan)
    app.state.store = store
    app.state.policy = policy
    app.state.expire_now = lambda: sweep(store, policy)
    app.state.assemblies: dict[str, threading.Thread] = {}
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SessionError)
    async def _session_error(request: Request, exc: SessionError):
        return JSONResponse({"detail": exc.problem}, status_code=exc.status)

    @app.exception_handler(ChunkRejected)
    async def _chunk_error(request: Request, exc: ChunkRejected):
        return JSONResponse({"detail": exc.problem, "next_seq": exc.next_seq}, status_code=exc.status)

    # ---- pages ----------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def host_page():
        return FileResponse(STATIC / "host.html")

    @app.get("/join/{sid}/{role}", include_in_schema=False)
    def join_page(sid: str, role: str):
        s = store.current(store.get(sid))
        from .sessions import check_role

        check_role(role)
        if s.state in GONE:
            return HTMLResponse(_gone_page(sid, gone_problem(s)), status_code=410,
                                headers={"Cache-Control": "no-store"})
        return FileResponse(STATIC / "capture.html", headers={"Cache-Control": "no-store"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    # ---- sessions -------------------------------------------------------------------------

    @app.post("/api/sessions")
    def create_session(body: CreateSession, request: Request):
        s = store.create(body.license, body.scopes, body.title, body.speaker_a, body.speaker_b)
        base = str(request.base_url).rstrip("/")
        links = {r: f"{base}/join/{s.session_id}/{r}?k={p.token}" for r, p in s.participants.items()}
        return {"session_id": s.session_id, "host_token": s.host_token, "links": links, "session": s.public()}

    @app.get("/api/sessions/{sid}")
    def get_session(sid: str, x_capture_token: str | None = Header(None)):
        s, who = store.authorise(sid, x_capture_token, gone_ok=True)  # the host reads what became of it
        out = s.public()
        out["you"] = who
        return out

    @app.post("/api/sessions/{sid}/stop")
    def stop(sid: str, x_capture_token: str | None = Header(None)):
        with store.lock(sid):
            s, who = store.authorise(sid, x_capture_token)
            if s.state in ("open", "recording"):
                s.state = "stopped"
                store.save(s, active=True)
                for r in s.participants:
                    store.post_message(sid, r, {"type": "stop", "from": who})
        return s.public()

    @app.post("/api/sessions/{sid}/assemble")
    def assemble_now(sid: str, force: bool = Query(False), x_capture_token: str | None = Header(None)):
        s, who = store.authorise(sid, x_capture_token)
        if who != "host":
            raise SessionError(403, "only the host may assemble a session by hand")
        return _assemble(sid, force=force, background=False)

    # ---- a participant --------------------------------------------------------------------

    @app.get("/api/sessions/{sid}/{role}/consent-text")
    def get_consent_text(sid: str, role: str, name: str = Query(..., max_length=200),
                         x_capture_token: str | None = Header(None)):
        s, p = store.participant(sid, role, x_capture_token)
        text = consent_text(s, role, clean_name(name))
        return {"text": text, "sha256": text_sha256(text), "scopes": list(s.scopes), "license": s.license}

    @app.post("/api/sessions/{sid}/{role}/consent")
    def give_consent(sid: str, role: str, body: Consent, x_capture_token: str | None = Header(None)):
        s = store.give_consent(sid, role, x_capture_token, body.name, body.sha256, body.agree)
        p = s.participants[role]
        return {"speaker_id": p.speaker_id, "consent": p.consent}

    def _consented(sid, role, token, audio=False):
        """The session and participant, 403 before consent; with ``audio`` (new samples) also 403 once the
        ledger says the consent was withdrawn."""
        s, p = store.participant(sid, role, token)
        if p.consent is None:
            raise SessionError(403, "no audio before consent: give consent first")
        if audio and (why := store.consent_withdrawn(s, p)):
            raise SessionError(403, why)
        return s, p

    @app.post("/api/sessions/{sid}/{role}/settings")
    def settings(sid: str, role: str, body: Settings, x_capture_token: str | None = Header(None)):
        with store.lock(sid):
            s, p = _consented(sid, role, x_capture_token)
            check_settings(int(body.sample_rate), body.settings)
            p.sample_rate = int(body.sample_rate)
            p.settings = {k: v for k, v in list(body.settings.items())[:32] if isinstance(v, (str, int, float, bool))}
            store.save(s, active=True)
        return {"ok": True}

    @app.post("/api/sessions/{sid}/{role}/clock")
    def clock(sid: str, role: str, body: ClockPing, x_capture_token: str | None = Header(None)):
        ts_in = server_ms()
        store.participant(sid, role, x_capture_token)
        check_clock_values("t0", [body.t0])
        if body.prev is not None:
            prev = body.prev
            check_clock_values("prev", prev)
            if len(prev) not in (3, 4) or not (prev[0] <= prev[-1]) or (len(prev) == 4 and prev[1] > prev[2]):
                raise SessionError(400, "prev must be [t0, ts, t3] or [t0, ts_in, ts_out, t3] with t0 <= t3")
            store.add_clock(sid, role, *prev)
        return {"t0": body.t0, "ts_in": ts_in, "ts": ts_in, "ts_out": server_ms()}

    @app.get("/api/sessions/{sid}/{role}/chunks")
    def chunk_status(sid: str, role: str, x_capture_token: str | None = Header(None)):
        store.participant(sid, role, x_capture_token)
        cs = store.chunks(sid, role)
        return {"next_seq": cs.next_seq, "n_samples": cs.n_samples}

    async def _body(request: Request, limit: int, what: str) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise ChunkRejected(413, f"{what} body larger than {limit} bytes")
        body = bytearray()
        try:
            async for piece in request.stream():
                body += piece
                if len(body) > limit:
                    raise ChunkRejected(413, f"{what} body larger than {limit} bytes")
        except ClientDisconnect:
            # the network dropped mid-upload (what the page's retry loop is for): nothing is stored, and it
            # is no server error (before: a traceback in the log for every cut-off upload)
            raise ChunkRejected(400, f"{what} upload cut off after {len(body)} bytes: nothing stored") from None
        return bytes(body)

    def _put(sid, role, cs, what, seq, sample_start, rate, client_ms, body, received, page=None):
        with store.lock(sid):
            s2 = store.live(store.get(sid))  # 410 if it expired since the request's first check
            p2 = s2.participants[role]
            if page and p2.page and page != p2.page:
                # a second tab, or the page reloaded mid-recording: its counters start again at 0, so its
                # chunks would be taken as re-sends (dropped) until they pass the stored ones, then appended
                # as if they continued the first page's audio. No next_seq: the page must not skip ahead.
                raise ChunkRejected(409, f"track {role} is being recorded by another page (the join link opened "
                                         "twice, or the page reloaded while recording); this page cannot add to "
                                         "it: ask the host")
            if s2.state in ("assembling", "assembled", "partial", "failed") or (
                    p2.finished is not None and seq >= cs.next_seq):
                raise ChunkRejected(409, f"session is closed for track {role} ({s2.state}): no new {what}s",
                                    cs.next_seq)
            if what == "chunk" and p2.sample_rate and rate != p2.sample_rate:
                # samples at another rate than the device's play at the wrong speed in the FLAC, silently
                raise ChunkRejected(409, f"chunk {seq} at {rate} Hz, but the page reported a device rate of "
                                         f"{p2.sample_rate} Hz (settings)", cs.next_seq)
            res = cs.put(seq, sample_start, rate, client_ms, body, received)
            if res.status == "stored":  # new audio: activity (a re-sent duplicate is not)
                if page and p2.page is None and what == "chunk":
                    p2.page = page
                if s2.state == "open" and what == "chunk":
                    s2.state = "recording"
                store.save(s2, active=True)
            return res

    @app.put("/api/sessions/{sid}/{role}/chunks/{seq}")
    async def put_chunk(sid: str, role: str, seq: int, request: Request, sample_start: int = Query(..., ge=0),
                        rate: int = Query(...), client_ms: float = Query(...),
                        x_capture_token: str | None = Header(None),
                        x_capture_page: str | None = Header(None, max_length=64)):
        received = server_ms()
        await run_in_threadpool(_consented, sid, role, x_capture_token, True)
        check_clock_values("client_ms", [client_ms])
        body = await _body(request, MAX_BODY, "chunk")
        res = await run_in_threadpool(_put, sid, role, store.chunks(sid, role), "chunk", seq, sample_start, rate,
                                      client_ms, body, received, x_capture_page)
        return {"status": res.status, "next_seq": res.next_seq, "n_samples": res.n_samples}

    @app.put("/api/sessions/{sid}/{role}/anchors/{seq}")
    async def put_anchor(sid: str, role: str, seq: int, request: Request, rate: int = Query(...),
                         capture_ms: float = Query(...), x_capture_token: str | None = Header(None),
                         x_capture_page: str | None = Header(None, max_length=64)):
        """A capture anchor: a few ms of the microphone's samples (raw float32 LE) and the browser's capture
        timestamp of the first one (epoch ms, the page's clock). Assembly finds it in the track by content."""
        received = server_ms()
        await run_in_threadpool(_consented, sid, role, x_capture_token, True)
        check_clock_values("capture_ms", [capture_ms])
        body = await _body(request, MAX_ANCHOR_SAMPLES * SAMPLE_BYTES, "anchor")
        res = await run_in_threadpool(_put, sid, role, store.anchors(sid, role), "anchor", seq, 0, rate,
                                      capture_ms, body, received, x_capture_page)
        return {"status": res.status, "next_seq": res.next_seq}

    @app.post("/api/sessions/{sid}/{role}/finish")
    def finish(sid: str, role: str, body: Finish, x_capture_token: str | None = Header(None)):
        with store.lock(sid):
            s, p = _consented(sid, role, x_capture_token)
            cs = store.chunks(sid, role)
            if body.n_chunks != cs.next_seq or body.n_samples != cs.n_samples:
                raise ChunkRejected(409, f"track {role} holds {cs.next_seq} chunks / {cs.n_samples} samples, "
                                         f"not {body.n_chunks} / {body.n_samples}: upload the rest first",
                                    cs.next_seq)
            held = store.anchors(sid, role).next_seq
            if body.n_anchors is not None and body.n_anchors != held:
                raise ChunkRejected(409, f"track {role} holds {held} capture anchors, not {body.n_anchors}: "
                                         "upload the rest first", cs.next_seq)
            if p.finished is None:
                runs = [{k: r.get(k) for k in ("length", "afterAudio", "recording", "at")} for r in body.input_zero_runs]
                p.finished = {"n_chunks": body.n_chunks, "n_samples": body.n_samples, "input_zero_runs": runs,
                              "n_anchors": held}
                if s.state in ("open", "recording"):
                    s.state = "stopped"
                    other = "B" if role == "A" else "A"
                    store.post_message(sid, other, {"type": "stop", "from": role})
                store.save(s, active=True)
            both = all(q.finished is not None for q in s.participants.values())
        if both:
            _assemble(sid, force=False, background=True)
        return store.get(sid).public()

    @app.post("/api/sessions/{sid}/{role}/signal")
    async def signal(sid: str, role: str, request: Request, x_capture_token: str | None = Header(None)):
        await run_in_threadpool(store.participant, sid, role, x_capture_token)
        raw = await request.body()
        if len(raw) > 64_000:
            raise SessionError(413, "signalling message too large")
        try:  # NaN or a key given twice would be relayed, and the other page's every poll then fails
            msg = jsonfile.loads(raw, "signalling message")
        except jsonfile.JSONFileError as exc:
            raise SessionError(400, f"signalling message: {exc.reason}") from None
        if not isinstance(msg, dict) or msg.get("type") not in ("offer", "answer", "candidate", "hello"):
            raise SessionError(400, "signalling message type must be offer, answer, candidate or hello")
        store.post_message(sid, "B" if role == "A" else "A", msg)
        return {"ok": True}

    @app.get("/api/sessions/{sid}/{role}/signal")
    def messages(sid: str, role: str, after: int = Query(0, ge=0), epoch: str | None = Query(None, max_length=64),
                 x_capture_token: str | None = Header(None)):
        store.participant(sid, role, x_capture_token)
        msgs, nxt = store.messages(sid, role, after, epoch)
        return {"messages": msgs, "next": nxt, "epoch": store.relay_epoch, "server_ms": server_ms()}

    # ---- assembly -------------------------------------------------------------------------

    def _assemble(sid: str, *, force: bool, background: bool) -> dict:
        with store.lock(sid):
            s = store.get(sid)
            if s.state in GONE:  # expired between the request's check and here
                raise SessionError(410, gone_problem(s))
            if s.state in ("assembling",) or (s.state in ("assembled",) and not force):
                return s.public()
            s.state = "assembling"
            store.save(s)

        def work():
            try:
                report = assemble_session(store, sid, force=force, run_scan=scan)
                state, err = ("assembled" if report["status"] == "complete" else "partial"), None
                if report["status"] == "refused":  # capture/limits.py: the reason is in the report
                    state, err = "failed", report["reason"]
            except Exception as exc:  # noqa: BLE001 - the session records why, the server keeps serving
                log.exception("assembly of %s failed", sid)
                report, state, err = None, "failed", f"{type(exc).__name__}: {exc}"
            with store.lock(sid):
                s2 = store.get(sid)
                s2.state, s2.error = state, err
                if report is not None:
                    s2.recording_id, s2.report = report["recording_id"], report
                store.save(s2)

        if background:
            t = threading.Thread(target=work, name=f"assemble-{sid}", daemon=True)
            app.state.assemblies[sid] = t
            t.start()
            return store.get(sid).public()
        work()
        return store.get(sid).public()

    # A session left 'assembling' on disk was being assembled by a server that stopped (killed, restarted):
    # nobody assembles it now and every later request would see it as busy. Assemble it again when both
    # tracks are finished (so also a session whose server stopped between the last finish and assembly);
    # otherwise it waits, stopped, for the host's partial assembly.
    for s in store.list(on_error=lambda sid, exc: log.warning("capture session %s not readable: %s", sid, exc)):
        finished = all(p.finished is not None for p in s.participants.values())
        if s.state == "assembling":
            with store.lock(s.session_id):
                s.state = "stopped"
                s.error = ("the server stopped while assembling this session: assembling it again" if finished else
                           "the server stopped while assembling what arrived: the host assembles it again")
                store.save(s, active=True)  # the host's last request was to assemble: a full expiry time for it
        if s.state == "stopped":  # the relay was in memory: a page that had not read its stop reads it again
            for r, p in s.participants.items():
                if p.finished is None:
                    store.post_message(s.session_id, r, {"type": "stop", "from": "server"})
            if finished:
                _assemble(s.session_id, force=False, background=True)
    # Expiry at start: expiries a stopped process left half done are finished, overdue sessions expire.
    sweep(store, policy)
    return app


def _gone_page(sid: str, problem: str) -> str:
    """The join link's answer once its session expired (410): the page says so in words, and deletes what
    this browser may still hold of the session (chunks and anchors buffered in IndexedDB by a page closed
    before they were uploaded: the server would never take them now)."""
    import html
    import json

    clear = ("(function(){var sid=%s;window.twotrackGone={cleared:false};try{var rq=indexedDB.open('twotrack-capture',1);"
             "rq.onupgradeneeded=function(){rq.result.createObjectStore('chunks',{keyPath:'key'});};"
             "rq.onsuccess=function(){var t=rq.result.transaction('chunks','readwrite');"
             "t.objectStore('chunks').delete(IDBKeyRange.bound(sid+'/',sid+'/\\uffff'));"
             "t.oncomplete=function(){window.twotrackGone.cleared=true;};};}catch(e){}})();") % json.dumps(sid)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Session expired - twotrack "
            "capture</title><link rel=\"stylesheet\" href=\"/static/capture.css\"></head><body><main>"
            "<h1>This capture session has expired</h1>"
            f"<p id=\"error\">{html.escape(problem[0].upper() + problem[1:])}</p></main>"
            f"<script>{clear}</script></body></html>")
