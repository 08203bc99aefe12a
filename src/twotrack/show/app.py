"""The web explorer: a read-only FastAPI app over one workspace (``twotrack serve``).

Pages: ``/`` (the corpus: sortable, filterable table), ``/recordings/{id}`` (two-lane timeline, with the
diarized lanes of ``twotrack collapse`` under the true ones when its results exist; checks, consent,
rights, qualification), ``/report`` (the HTML report, rendered now), ``/docs`` (the API,
rendered from FastAPI's OpenAPI schema without any CDN). JSON under ``/api/``; audio as WAV with
HTTP range requests. Recording ids may contain ``/`` (``clean/demo01``): every route takes the id
as a path and looks it up in the workspace, so an id is a key, never a file name.

Nothing here writes to the workspace. Waveform peaks are cached outside it (``peaks.default_cache_dir``).
Corpus-level data (statistics, qualification, rights) is computed once per workspace version (a scan
commit or a ledger append makes a new version); per-recording data sits in a small LRU cache, so
memory stays flat in the size of the corpus.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..config import Config
from ..errors import InputError, TwotrackError
from ..model import AudioInfo, Recording, track_name
from ..store import queries
from ..usage import track_uses
from . import audio, data, glossary, peaks
from .render import fmt_duration, templates
from .report import COLLAPSE_COLUMNS, collapse_cells, render_report

STATIC_DIR = Path(__file__).parent / "static"
#: Widest timeline the API draws (pixels) and the most events one timeline response carries.
MAX_WIDTH = 8000
MAX_EVENTS = 50000
#: Most words of one track sent for one timeline window (also at most one per pixel of its width: a
#: zoomed-out view of a long recording holds too many to read, and the client says how many to zoom in for).
MAX_WORDS = 3000
#: Most flagged transcript lines of one track sent for one timeline window (and at most one per pixel): a
#: wrong transcript of a long call flags line after line, and a zoomed-out view would carry them all.
MAX_LINES = 1000
#: Longest region one audio request renders when start/end are given (seconds).
MAX_REGION_S = 3600.0
#: Memory budget of the per-recording views kept in memory (bytes of their arrays).
VIEW_CACHE_BYTES = 64 << 20
#: answers smaller than this go out uncompressed (gzip's header and the CPU are not worth it)
GZIP_MIN_BYTES = 1024

EVENT_KINDS = ("ipu", "turn", "pause", "gap", "overlap-between", "overlap-within", "backchannel", "interruption",
               "floor-transfer")


def _r(x: float | None, nd: int = 3) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


@dataclass
class RecordingView:
    """What the timeline needs of one recording, as numpy columns (events sorted by start)."""

    recording: Recording
    duration_s: float
    sample_rate: int | None
    source_key: str
    kind: np.ndarray
    start: np.ndarray
    end: np.ndarray
    track: np.ndarray
    from_track: np.ndarray
    value: np.ndarray
    activity: list[tuple[int, np.ndarray, np.ndarray]]
    #: per track: (track, starts, ends, words) of the words stage's words (or aligned transcript), time order
    words: list[tuple[int, np.ndarray, np.ndarray, list[str]]] = field(default_factory=list)
    words_source: str | None = None
    #: aligned transcript lines with their text fit (``queries.StoredWords.lines``), by start
    lines: list[dict[str, Any]] = field(default_factory=list)
    languages: dict[str, Any] = field(default_factory=dict)  # track name -> {language, probability, model}
    infos: dict[str, AudioInfo] | None = None
    clock: tuple[Any, dict[str, Any]] | None = None  # (ClockFix or None, what the API says of it), when read

    @property
    def nbytes(self) -> int:
        arrays = [self.kind, self.start, self.end, self.track, self.from_track, self.value]
        arrays += [x for _, s, e in self.activity for x in (s, e)]
        arrays += [x for _, s, e, _ in self.words for x in (s, e)]
        text = sum(len(w) + 50 for _, _, _, ws in self.words for w in ws)
        text += sum(len(ln.get("text") or "") + len(ln.get("reason") or "") + 200 for ln in self.lines)
        return sum(int(x.nbytes) for x in arrays) + text + 4096

    def words_in(self, a: float, b: float, limit: int = MAX_WORDS) -> tuple[list[dict[str, Any]], bool]:
        """Per track, the words overlapping [a, b) as columns (start, end, word) and their ``count``; True when
        a track was left out. A track with more than ``limit`` words in the window sends none of them, only the
        count: cutting at the first ``limit`` drew words over the start of a long view and none over the rest,
        as if nobody spoke there."""
        out, cut = [], False
        for t, s, e, ws in self.words:
            idx = np.flatnonzero((e > a) & (s < b))
            count = len(idx)
            if count > limit:
                idx, cut = idx[:0], True
            out.append({"track": t, "name": track_name(t), "count": count, "start": np.round(s[idx], 3).tolist(),
                        "end": np.round(e[idx], 3).tolist(), "word": [ws[i] for i in idx.tolist()]})
        return out, cut

    def flagged_lines_in(self, a: float, b: float, limit: int = MAX_LINES
                         ) -> tuple[list[dict[str, Any]], dict[str, int], bool]:
        """The aligned transcript lines touching [a, b) that the words stage flagged (left out for not fitting
        their audio, or not aligned at all; or unfit and kept with ``words.text_fit = keep``), their count per
        track name, and True when a track was left out: as with ``words_in``, a track with more than ``limit``
        such lines in the window sends none of them, only the count."""
        per: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for ln in self.lines:
            if ln.get("reason") and ln["end"] > a and ln["start"] < b:
                per[int(ln["track"])].append(ln)
        out, counts, cut = [], {}, False
        for t in sorted(per):
            counts[track_name(t)] = len(per[t])
            if len(per[t]) > limit:
                cut = True
                continue
            out.extend(line_json(ln) for ln in per[t])
        out.sort(key=lambda ln: (ln["start"], ln["track"]))
        return out, counts, cut

    def events_in(self, a: float, b: float) -> np.ndarray:
        """Events touching [a, b): an instant (a floor transfer of FTO 0, start == end) when a <= it < b, so
        it is in exactly one of two adjacent windows (``end > a`` alone left it out of both)."""
        touches = (self.end > a) | ((self.end == self.start) & (self.start >= a))
        return np.flatnonzero(touches & (self.start < b))

    def events_json(self, idx: np.ndarray) -> dict[str, list]:
        """Columns (compact JSON); ``None`` for a missing track or value."""
        return {
            "kind": self.kind[idx].tolist(),
            "start": np.round(self.start[idx], 3).tolist(),
            "end": np.round(self.end[idx], 3).tolist(),
            "track": [None if t < 0 else int(t) for t in self.track[idx]],
            "from_track": [None if t < 0 else int(t) for t in self.from_track[idx]],
            "value": [None if not math.isfinite(v) else round(float(v), 3) for v in self.value[idx]],
        }


class Explorer:
    """The state behind the app: the workspace, the corpus snapshot, per-recording views, peak cache."""

    def __init__(self, workspace, config: Config | None = None, cache_dir: str | Path | None = None,
                 peak_cache: peaks.PeakCache | None = None, permissions=None):
        self.ws = data.open_workspace(workspace)
        self.config = config or Config()
        self.permissions = permissions  # the permissions table the verdicts read (None: the packaged one)
        self.peaks = peak_cache or peaks.PeakCache(cache_dir if cache_dir is not None else peaks.default_cache_dir())
        self._lock = threading.Lock()
        self._snap_lock = threading.Lock()
        self._snap: data.Snapshot | None = None
        self._ids: tuple[tuple, frozenset[str]] | None = None
        self._views: OrderedDict[str, tuple[tuple, RecordingView]] = OrderedDict()
        self._view_locks: dict[str, threading.Lock] = {}

    # ---- versions and corpus ---------------------------------------------------------------

    def version(self) -> tuple:
        return data.workspace_version(self.ws)

    def ids(self) -> frozenset[str]:
        v = self.version()
        cached = self._ids
        if cached is not None and cached[0] == v:
            return cached[1]
        ids = queries.recording_ids(self.ws)
        self._ids = (v, ids)
        return ids

    def snapshot(self) -> data.Snapshot:
        v = self.version()
        snap = self._snap
        if snap is not None and snap.version == v:
            return snap
        with self._snap_lock:
            snap = self._snap
            if snap is None or snap.version != self.version():
                snap = data.snapshot(self.ws, self.config, permissions=self.permissions)
                self._snap = snap
            return snap

    def require(self, recording_id: str) -> str:
        if recording_id not in self.ids():
            shown = recording_id if len(recording_id) <= 200 else recording_id[:200] + "..."
            raise HTTPException(404, f"no recording {shown!r} in this workspace (GET /api/recordings lists them)")
        return recording_id

    # ---- collapse (mono + diarization) -------------------------------------------------------

    def collapse_of(self, recording_id: str) -> tuple[dict[str, Any], data.Lanes] | None:
        """The recording's collapse scores and diarized lanes, or None when there are none."""
        part = self.snapshot().collapse
        if not part.available or recording_id not in part.data["by_id"]:
            return None
        return part.data["by_id"][recording_id], part.data["lanes"].get(recording_id, [])

    def require_collapse(self, recording_id: str) -> tuple[dict[str, Any], data.Lanes]:
        self.require(recording_id)
        found = self.collapse_of(recording_id)
        if found is not None:
            return found
        part = self.snapshot().collapse
        if not part.available:
            raise HTTPException(404, f"no collapse results: {part.note}")
        why = part.data["skipped"].get(recording_id)
        if why is not None:
            raise HTTPException(404, f"collapse skipped recording {recording_id!r}: {why}")
        raise HTTPException(404, f"recording {recording_id!r} is not in the collapse results {part.data['path']} "
                                 f"(run `twotrack collapse -w {self.ws.path} -r {recording_id}`)")

    # ---- one recording ---------------------------------------------------------------------

    def view(self, recording_id: str) -> RecordingView:
        self.require(recording_id)
        v = self.version()
        with self._lock:
            hit = self._views.get(recording_id)
            if hit is not None and hit[0] == v:
                self._views.move_to_end(recording_id)
                return hit[1]
            lock = self._view_locks.setdefault(recording_id, threading.Lock())
        with lock:
            with self._lock:
                hit = self._views.get(recording_id)
            if hit is not None and hit[0] == v:
                return hit[1]
            view = self._load_view(recording_id)
            with self._lock:
                self._views[recording_id] = (v, view)
                self._views.move_to_end(recording_id)
                # Least recently used views go first once their arrays exceed the budget (the newest stays).
                total = sum(x[1].nbytes for x in self._views.values())
                while total > VIEW_CACHE_BYTES and len(self._views) > 1:
                    _, (_, old) = self._views.popitem(last=False)
                    total -= old.nbytes
            return view

    def _load_view(self, rid: str) -> RecordingView:
        stored = queries.recording_arrays(self.ws, rid)
        if stored is None:
            raise HTTPException(404, f"no recording {rid!r} in this workspace")
        rec, ev, act = stored.recording, stored.events, stored.activity
        tracks = np.asarray(act["track"], np.int64)
        activity = []
        for t in range(rec.n_tracks):
            m = tracks == t
            activity.append((t, np.asarray(act["start_s"], np.float64)[m], np.asarray(act["end_s"], np.float64)[m]))
        got = queries.words(self.ws, rid)
        words = []
        for t in range(rec.n_tracks):
            mine = [w for w in got.words if w.track == t]
            words.append((t, np.array([w.start for w in mine], np.float64), np.array([w.end for w in mine], np.float64),
                          [w.text for w in mine]))
        languages = {track_name(t): {"language": lang, "probability": p, "model": m}
                     for t, (lang, p, m) in sorted(got.languages.items())}
        return RecordingView(
            recording=rec, duration_s=stored.duration_s, sample_rate=stored.sample_rate, source_key=stored.source_key,
            words=words, words_source=got.source, languages=languages, lines=[dict(ln) for ln in got.lines],
            kind=np.asarray(ev["kind"], dtype=object).astype(str),
            start=np.asarray(ev["start_s"], np.float64), end=np.asarray(ev["end_s"], np.float64),
            track=np.asarray(ev["track"], np.int64), from_track=np.asarray(ev["from_track"], np.int64),
            value=np.asarray(ev["value"], np.float64), activity=activity,
        )

    def infos(self, view: RecordingView) -> dict[str, AudioInfo]:
        if view.infos is None:
            from ..ingest.tracks import source_infos

            try:
                view.infos = source_infos(view.recording)
            except InputError as exc:
                raise HTTPException(422, f"cannot read the source audio of {view.recording.recording_id!r}: "
                                         f"{exc}") from None
        return view.infos

    def clock(self, view: RecordingView) -> tuple[Any, dict[str, Any]]:
        """(ClockFix or None, its API entry): paired files' later tracks go on A's clock exactly when the
        activity stage put their activity there (``ingest.clock.recording_clock``, at the analysis rate)."""
        if view.clock is None:
            from ..ingest.clock import recording_clock

            rec = view.recording
            clock = recording_clock(rec, queries.checks(self.ws, rec.recording_id), int(view.sample_rate or 0),
                                    float(view.duration_s or 0.0))
            view.clock = (clock.fix, clock.entry)
        return view.clock

    def peak_file(self, view: RecordingView) -> peaks.PeakFile:
        rec = view.recording
        fix = self.clock(view)[0]
        key = peaks.cache_key(view.source_key or rec.recording_id, rec.recording_id,
                          [(t.path, t.channel) for t in rec.tracks], fix)
        infos = self.infos(view)
        try:
            return self.peaks.get(key, lambda: peaks.compute_peaks(rec, infos, fix))
        except InputError as exc:
            raise HTTPException(422, f"cannot decode the audio of {rec.recording_id!r}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# request checking
# ---------------------------------------------------------------------------------------------


def require_decoded(view: RecordingView) -> None:
    """409 before any byte is promised: a recording whose decode failed has no audio to stream."""
    if view.duration_s <= 0:
        raise HTTPException(409, f"recording {view.recording.recording_id!r} has no decoded audio (see its errors)")


def window(view: RecordingView, start: float | None, end: float | None) -> tuple[float, float]:
    """A checked time window inside the recording (HTTP 400 with the reason when it is not)."""
    dur = view.duration_s
    if dur <= 0:
        raise HTTPException(409, f"recording {view.recording.recording_id!r} has no decoded audio (see its errors)")
    a = 0.0 if start is None else start
    b = dur if end is None else end
    if not (math.isfinite(a) and math.isfinite(b)):
        raise HTTPException(400, "start and end must be finite numbers of seconds")
    if a < 0 or a >= dur:
        raise HTTPException(400, f"start {a:g} s is outside the recording (0 to {dur:.3f} s)")
    if b <= a:
        raise HTTPException(400, f"end {b:g} s must be after start {a:g} s")
    if b > dur + 0.01:
        raise HTTPException(400, f"end {b:g} s is beyond the end of the recording ({dur:.3f} s)")
    return a, min(b, dur)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=data.json_default, allow_nan=False), status_code=status,
                    media_type="application/json")


def peaks_payload(ex: Explorer, view: RecordingView, a: float, b: float, width: int,
                  tracks: tuple[int, ...]) -> dict[str, Any]:
    pf = ex.peak_file(view)
    scale = pf.track_peak
    if peaks.use_audio(a, b, width):
        try:
            samples, rate = audio.read_region(view.recording, tracks, a, b, ex.infos(view), ex.clock(view)[0])
        except InputError as exc:
            raise HTTPException(422, f"cannot decode the audio: {exc}") from None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        first = math.floor(a * rate) / rate
        lo, hi = peaks.window_from_samples(samples, rate, a, b, width, first)
        source = "audio"
    else:
        lo, hi = peaks.window(pf, tracks, a, b, width)
        source = "frames (10 ms, cached)"
    return {
        "source": source,
        "clock": ex.clock(view)[1],
        "resolution_s": peaks.resolution(a, b, width),
        "tracks": [
            {"track": t, "name": track_name(t), "peak": _r(scale[t], 4) if t < len(scale) else None,
             "min": np.round(lo[i].astype(np.float64), 4).tolist(),
             "max": np.round(hi[i].astype(np.float64), 4).tolist()}
            for i, t in enumerate(tracks)
        ],
    }


def lanes_json(lanes: data.Lanes, a: float = -math.inf, b: float = math.inf) -> list[dict[str, Any]]:
    """Per track: ``[start, end]`` segments that touch [a, b)."""
    out = []
    for t, s, e in lanes:
        m = (e > a) & (s < b)
        segments = np.round(np.stack([s[m], e[m]], axis=1), 3).tolist()
        out.append({"track": t, "name": track_name(t), "segments": segments})
    return out


def line_json(ln: dict[str, Any]) -> dict[str, Any]:
    """One aligned transcript line as ``twotrack show --json`` gives it (plus the track's index)."""
    return {"track": int(ln["track"]), "name": track_name(int(ln["track"])), "start": _r(ln["start"]),
            "end": _r(ln["end"]), "text": ln["text"], "fit": _r(ln.get("fit")), "coverage": _r(ln.get("coverage")),
            "kept": bool(ln["kept"]), "reason": ln.get("reason")}


def collapse_payload(entry: dict[str, Any], lanes: data.Lanes, a: float = -math.inf, b: float = math.inf,
                     full: bool = False) -> dict[str, Any]:
    """A recording's collapse result for the API: its scores and the diarized lanes (those touching [a, b))."""
    keys = ("diarizer", "n_speakers", "mapping", "tracks", "error", "der", "der_without_overlap", "turn_taking")
    out = {k: entry.get(k) for k in keys}
    if full:
        out = {**entry, **out}
    out["lanes"] = lanes_json(lanes, a, b)
    return out


def _tracks(spec: str | None, view: RecordingView) -> tuple[int, ...]:
    try:
        return audio.parse_tracks(spec, view.recording.n_tracks)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


# ---------------------------------------------------------------------------------------------
# the app
# ---------------------------------------------------------------------------------------------

ID_DOC = "The recording id as the workspace stores it (it may contain '/', e.g. clean/demo01_367_1688)."


def create_app(workspace, *, config: Config | None = None, cache_dir: str | Path | None = None,
               peak_cache: peaks.PeakCache | None = None, permissions=None) -> FastAPI:
    """The explorer for ``workspace`` (a path or ``store.Workspace``). ``cache_dir``: where waveform peaks
    are cached (default ``~/.cache/twotrack/peaks``; never inside the workspace). ``permissions``: the
    permissions table the rights verdicts read (``rights.load_permissions(FILE)``; None: the packaged one)."""
    ex = Explorer(workspace, config, cache_dir, peak_cache, permissions)
    env = templates()
    app = FastAPI(
        title="twotrack explorer",
        version=__version__,
        description=("A read-only view of one twotrack workspace: recordings, their checks, turn-taking events, "
                     "waveform peaks and audio, consent and qualification. Recording ids may contain '/'. "
                     "Errors are JSON objects `{\"detail\": message}` with a 4xx status."),
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.explorer = ex
    # The timeline of a long call with its words is megabytes of JSON: compress it for a remote browser.
    # Audio is left alone (audio/* and 206 range answers are excluded by the middleware: byte ranges must
    # address the WAV itself); level 5 keeps the CPU per answer small.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=5)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def page(name: str, status: int = 200, **ctx) -> HTMLResponse:
        html = env.get_template(name).render(version=__version__, **glossary.context(ex.config), **ctx)
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):  # noqa: ARG001
        msgs = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
            msgs.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return JSONResponse({"detail": "; ".join(msgs) or "invalid request"}, status_code=422)

    @app.exception_handler(TwotrackError)
    async def _twotrack(request: Request, exc: TwotrackError):  # noqa: ARG001
        from ..store import LockTimeout

        # A scan holding the workspace too long is a temporary condition (503); bad data is 422.
        return JSONResponse({"detail": str(exc)}, status_code=503 if isinstance(exc, LockTimeout) else 422)

    def html_error(request: Request, exc: HTTPException) -> HTMLResponse:
        return page("error.html", status=exc.status_code, title=f"{exc.status_code}", message=exc.detail,
                    workspace=ex.ws.path.name)

    # ---- pages ---------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def corpus_page():
        snap = ex.snapshot()
        return page("corpus.html", snap=snap, rows=snap.rows, ov=snap.overview.data if snap.overview.available else None,
                    qual=snap.qualify.data["json"] if snap.qualify.available else None)

    @app.get("/recordings/{recording_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def recording_page(recording_id: str, request: Request):
        try:
            view = ex.view(recording_id)
        except HTTPException as exc:
            return html_error(request, exc)
        snap = ex.snapshot()
        detail = recording_detail(ex, view, snap, with_events=False)
        found = ex.collapse_of(recording_id)
        collapse = None
        if found is not None:
            collapse = {**found[0], "cells": [] if found[0].get("error") else collapse_cells(found[0])}
            # left out of the corpus figure: rescanned since it was collapsed, or stored before parts were kept
            summary = snap.collapse.data["summary"] if snap.collapse.available else {}
            collapse["stale"] = recording_id in (summary.get("stale") or ())
            collapse["not_pooled"] = recording_id in (summary.get("not_pooled") or ())
        skipped = snap.collapse.data["skipped"].get(recording_id) if snap.collapse.available else None
        return page("recording.html", snap=snap, d=detail, row=snap.by_id.get(recording_id, {}),
                    duration=view.duration_s, collapse=collapse, collapse_skipped=skipped,
                    collapse_columns=[(k, h) for k, h, _, _ in COLLAPSE_COLUMNS])

    @app.get("/report", response_class=HTMLResponse, include_in_schema=False)
    def report_page():
        return HTMLResponse(render_report(ex.snapshot()))

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs():
        return page("apidocs.html", spec=app.openapi(), workspace=ex.ws.path.name)

    # ---- API -----------------------------------------------------------------------------

    @app.get("/api/corpus", summary="Corpus summary",
             description="Hours, recordings, speakers, isolation verdicts, stage status, the corpus verdict of the "
                         "eight requirements with qualified hours and phase labels, and rights per purpose.")
    def api_corpus():
        snap = ex.snapshot()
        qual = snap.qualify.data["json"] if snap.qualify.available else None
        rights = None
        if snap.rights.available:
            rights = {
                "purposes": {p: {"allowed": sum(v.allowed for v in vs), "blocked": sum(not v.allowed for v in vs)}
                             for p, vs in snap.rights.data["purposes"].items()},
                "withdrawals": snap.rights.data["withdrawals"], "ledger": snap.rights.data["ledger"],
            }
        return json_response({
            "workspace": snap.workspace, "name": snap.name, "twotrack_version": __version__,
            "overview": {k: v for k, v in (snap.overview.data or {}).items() if k != "turns"},
            "stages": snap.stages, "checks_note": snap.checks_note,
            "turns": snap.turns.data["corpus"] if snap.turns.available else None, "turns_note": snap.turns.note,
            "qualification": None if qual is None else {
                k: qual[k] for k in ("corpus_passed", "qualified_hours", "total_hours", "requirements", "phase_fit",
                                     "phase_reasons", "purpose")},
            "qualification_note": snap.qualify.note, "rights": rights, "rights_note": snap.rights.note,
        })

    @app.get("/api/recordings", summary="List recordings",
             description="One object per recording: `recording_id`, duration, layout, isolation verdict, overlap "
                         "share of speech, FTO median, IPU count, errors, rights verdict for the configured purpose, "
                         "qualification and phase labels (null where the stage has no data). `offset` and "
                         "`limit` give one page of the list; the header `X-Total-Count` is the whole list's "
                         "length.")
    def api_recordings(offset: int = Query(0, ge=0, description="rows skipped (default 0)"),
                       limit: int | None = Query(None, ge=1, description="rows returned at most (default all)")):
        # A corpus of thousands of recordings is megabytes of JSON: a client can page through it.
        rows = ex.snapshot().rows
        page_rows = rows[offset:] if limit is None else rows[offset:offset + limit]
        out = json_response(page_rows)
        out.headers["X-Total-Count"] = str(len(rows))
        return out

    @app.get("/api/recordings/{recording_id:path}/timeline", summary="Timeline window",
             description="Waveform peaks (min/max per pixel and track), activity segments, events and words "
                         "(the words stage's, per track), and the aligned transcript lines it flagged (`lines`: "
                         "left out for not fitting their audio, or not aligned, with their fit), that touch "
                         "[start, end), for drawing the two-lane timeline `width` pixels wide.")
    def api_timeline(recording_id: str,
                     start: float | None = Query(None, description="window start, seconds (default 0)"),
                     end: float | None = Query(None, description="window end, seconds (default: the end)"),
                     width: int = Query(1000, ge=1, le=MAX_WIDTH, description="pixels")):
        view = ex.view(recording_id)
        a, b = window(view, start, end)
        tracks = tuple(range(view.recording.n_tracks))
        idx = view.events_in(a, b)
        truncated = len(idx) > MAX_EVENTS
        idx = idx[:MAX_EVENTS]
        found = ex.collapse_of(recording_id)
        words, words_cut = view.words_in(a, b, min(MAX_WORDS, width))  # more words than pixels: none is legible
        lines, lines_count, lines_cut = view.flagged_lines_in(a, b, min(MAX_LINES, width))
        return json_response({
            "recording_id": recording_id, "start": a, "end": b, "width": width, "duration_s": view.duration_s,
            "peaks": peaks_payload(ex, view, a, b, width, tracks), "activity": lanes_json(view.activity, a, b),
            "events": view.events_json(idx), "events_truncated": truncated,
            "words": words, "words_truncated": words_cut, "words_source": view.words_source,
            "lines": lines, "lines_count": lines_count, "lines_truncated": lines_cut,
            "collapse": None if found is None else collapse_payload(*found, a, b),
        })

    @app.get("/api/recordings/{recording_id:path}/collapse", summary="Mono + diarization of one recording",
             description="What `twotrack collapse` found for this recording: the diarizer, the mapping of its "
                         "speakers to tracks, DER with missed speech, false alarm and confusion (with and without "
                         "overlap regions), the turn-taking damage (onsets within 50 ms, overlaps and backchannels "
                         "recovered, FTO Wasserstein distance, transfers to the wrong speaker) and the diarized "
                         "lanes (per track, `[start, end]` segments), plus the corpus sentence. 404 with the reason "
                         "when collapse has not run or skipped the recording.")
    def api_collapse(recording_id: str):
        entry, lanes = ex.require_collapse(recording_id)
        part = ex.snapshot().collapse
        return json_response({**collapse_payload(entry, lanes, full=True),
                              "corpus_sentence": part.data["summary"].get("sentence"),
                              "results_path": part.data["path"], "written_at": part.data["written_at"]})

    @app.get("/api/recordings/{recording_id:path}/peaks", summary="Waveform peaks",
             description="Min and max of each track per pixel for [start, end) drawn `width` pixels wide, computed "
                         "server-side (10 ms frame peaks cached outside the workspace; decoded audio when zoomed in "
                         "finer than a frame).")
    def api_peaks(recording_id: str,
                  start: float | None = Query(None, description="window start, seconds (default 0)"),
                  end: float | None = Query(None, description="window end, seconds (default: the end)"),
                  width: int = Query(1000, ge=1, le=MAX_WIDTH, description="pixels"),
                  tracks: str | None = Query(None, description="A, B, A,B or both (default)")):
        view = ex.view(recording_id)
        a, b = window(view, start, end)
        return json_response({"recording_id": recording_id, "start": a, "end": b, "width": width,
                              **peaks_payload(ex, view, a, b, width, _tracks(tracks, view))})

    @app.head("/api/recordings/{recording_id:path}/audio", include_in_schema=False)
    @app.get("/api/recordings/{recording_id:path}/audio", summary="Audio (WAV)",
                   response_class=Response,
                   description="16-bit PCM WAV of the chosen tracks (one channel per track: `A`, `B`, or `both` as "
                               "stereo A left, B right) between `start` and `end` (default: the whole recording), "
                               "decoded server-side from the source (SPHERE included). Supports `Range: bytes=` "
                               "requests (206 Partial Content); only the requested frames are decoded. Paired "
                               "files whose clock the checks measured or the manifest declared play on track A's clock, like their "
                               "activity (header `X-Twotrack-Clock`; `clock` in the recording's JSON).",
                   responses={200: {"content": {"audio/wav": {}}}, 206: {"description": "Partial content"},
                              416: {"description": "Range not satisfiable"}})
    def api_audio(recording_id: str, request: Request,
                  tracks: str | None = Query(None, description="A, B, A,B or both (default; stereo A left, B right)"),
                  start: float | None = Query(None, description="region start, seconds (default: the beginning)"),
                  end: float | None = Query(None, description="region end, seconds (default: the end)")):
        view = ex.view(recording_id)
        require_decoded(view)
        chosen = _tracks(tracks, view)
        if start is not None or end is not None:
            a, b = window(view, start, end)
            if b - a > MAX_REGION_S:
                raise HTTPException(400, f"a region may be at most {MAX_REGION_S:g} s long")
        else:
            a, b = None, None
        try:
            r = audio.plan(view.recording, chosen, a, b, ex.infos(view), ex.clock(view)[0])
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        try:
            rng = audio.parse_range(request.headers.get("range"), r.size)
        except audio.RangeNotSatisfiable as exc:
            return JSONResponse({"detail": str(exc)}, status_code=416, headers={"Content-Range": f"bytes */{r.size}"})
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        first, last = rng if rng is not None else (0, r.size - 1)
        fix = ex.clock(view)[0]
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(last - first + 1), "Cache-Control": "no-cache",
                   "X-Twotrack-Clock": "own" if fix is None else
                   f"A; later tracks re-timed: offset_ms={fix.offset_ms:+.3f} drift_ppm={fix.drift_ppm:+.3f}",
                   "Content-Disposition": "inline; filename=\"" + recording_id.replace("/", "_").replace('"', "")
                   + "." + "+".join(track_name(t) for t in chosen) + ".wav\""}
        status = 200
        if rng is not None:
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{r.size}"
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type="audio/wav")
        return StreamingResponse(audio.iter_bytes(r, first, last), status_code=status, headers=headers,
                                 media_type="audio/wav")

    @app.get("/api/recordings/{recording_id:path}", summary="One recording",
             description="Everything stored for one recording: metadata, stage status, `checks` (with the numbers; "
                         "null when the checks stage has not run, `checks_note` says why), activity segments, "
                         "`events` (all of them, as objects), counts by kind, turn-taking statistics, consent per "
                         "speaker, rights verdicts per purpose, the qualification row and errors.")
    def api_recording(recording_id: str):
        view = ex.view(recording_id)
        return json_response(recording_detail(ex, view, ex.snapshot(), with_events=True))

    @app.get("/api/{rest:path}", include_in_schema=False)
    def api_unknown(rest: str):
        raise HTTPException(404, f"no API endpoint /api/{rest[:200]} (see /docs)")

    return app


def recording_detail(ex: Explorer, view: RecordingView, snap: data.Snapshot, with_events: bool) -> dict[str, Any]:
    rec = view.recording
    rid = rec.recording_id
    checks = queries.checks(ex.ws, rid)
    stages = queries.stage_table(ex.ws, rid)
    stats = snap.turns.data["per_recording"].get(rid) if snap.turns.available else None
    counts = {k: int((view.kind == k).sum()) for k in EVENT_KINDS}
    counts_by_track = {k: [int(((view.kind == k) & (view.track == t)).sum()) for t in range(rec.n_tracks)]
                       for k in EVENT_KINDS}
    rights = {}
    if snap.rights.available:
        for p, vs in snap.rights.data["purposes"].items():
            for v in vs:
                if v.recording_id == rid:
                    rights[p] = v.to_json()
    # which tracks are unused channels (no speaker named, no speech): as ``twotrack show`` and the rights say
    speech = {int(t): float(np.sum(e - s_)) for t, s_, e in view.activity} if view.activity else None
    uses = track_uses(rec, speech)
    checks_note = ""
    if checks is None:
        st = next((s for s in stages if s["stage"] == "checks"), None)
        checks_note = (f"checks: {st['status']}" + (f" ({st['note']})" if st and st.get("note") else "")) if st \
            else "the checks stage has not run on this recording"
    out = {
        "recording_id": rid,
        "duration_s": view.duration_s,
        "analysis_rate": view.sample_rate,
        "layout": rec.layout.value,
        "source_type": rec.source_type.value,
        "license": rec.license,
        "tags": dict(rec.tags),
        "tracks": [{"track": i, "name": track_name(i), "speaker": rec.speakers[i] if i < len(rec.speakers) else None,
                    "source": t.path, "channel": t.channel, "used": uses[i].used, "use": uses[i].why()}
                   for i, t in enumerate(rec.tracks)],
        "stages": [{k: (str(v) if k == "computed_at" else v) for k, v in s.items()} for s in stages],
        "checks": checks.to_dict() if checks is not None else None,
        "checks_note": checks_note,
        "clock": ex.clock(view)[1],
        "counts": counts,
        "counts_by_track": counts_by_track,
        "stats": stats,
        "stats_note": "" if stats else (snap.turns.note or "no turn-taking events for this recording"),
        "consent": data.consent_of(snap, rec, speech),
        "consent_note": snap.rights.note,
        "rights": rights,
        "qualification": data.qualification_of(snap, rid),
        "qualification_note": snap.qualify.note,
        "errors": [e for e in snap.errors if e["recording_id"] == rid],
        "activity": [{"track": t, "name": track_name(t), "segments": np.round(np.stack([s, e], axis=1), 3).tolist()}
                     for t, s, e in view.activity] if with_events else None,
        "words_source": view.words_source,
        "languages": view.languages,
        "words_per_track": {track_name(t): len(ws) for t, _, _, ws in view.words},
        # every aligned transcript line with its text fit, as `twotrack show --json` lists them
        "lines": [line_json(ln) for ln in view.lines],
        "lines_flagged": [line_json(ln) for ln in view.lines if ln.get("reason")],
    }
    if with_events:
        cols = view.events_json(np.arange(len(view.kind)))
        out["events"] = [dict(zip(cols, vals)) for vals in zip(*cols.values())]
    for e in out["errors"]:
        e["created_at"] = str(e.get("created_at"))
    return out


__all__ = ["create_app", "Explorer", "RecordingView", "recording_detail", "fmt_duration"]
