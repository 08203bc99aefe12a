"""What the report and the explorer show, read from a workspace without writing to it.

One function per stage. Each returns a ``Part``: the data, or ``available=False`` with a note in words
when the stage that makes it has not run or its input cannot be read
(a tampered ledger, say). Sections built on a Part say that note instead of drawing an empty chart.
``snapshot`` gathers everything once; the explorer keeps one per workspace version.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, QualifyConfig
from .. import jsonfile
from ..errors import TwotrackError
from ..model import Recording, track_name
from ..qualify.datamap import catalog_rows, measured_row
from ..qualify.reference import load_reference
from ..qualify.requirements import qualify_corpus
from ..qualify.workspace import inputs_from_workspace
from ..rights.consent import SCOPES, replay_all
from ..rights.ledger import Ledger, ledger_path
from ..rights.licenses import table_record
from ..rights.verdicts import PURPOSES, decide_one, speakers_by_track
from ..store import Workspace, queries
from ..turns.corpus import recording_events, workspace_stats
from ..turns.stats import corpus_stats, distributions, recording_stats
from ..usage import track_uses, unused_tracks

#: Purposes whose rights verdicts are shown (the first is the one the corpus table uses).
DEFAULT_PURPOSES = ("commercial-training", "research-training", "redistribution", "voice-synthesis")


@dataclass(frozen=True)
class Part:
    """One stage's data, or why there is none."""

    available: bool
    data: Any = None
    note: str = ""

    @classmethod
    def missing(cls, note: str) -> Part:
        return cls(False, None, note)


class ReadOnlyWorkspace(Workspace):
    """A workspace for reading only: stages that ask it for a folder (the ledger's, the exports') get the
    path without the folder being created."""

    def folder(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bad workspace folder name {name!r}")
        return self.path / name


def open_workspace(workspace) -> ReadOnlyWorkspace:
    """The workspace at a path (or a ``store.Workspace``), opened read-only."""
    if isinstance(workspace, ReadOnlyWorkspace):
        return workspace
    return ReadOnlyWorkspace(workspace.path if isinstance(workspace, Workspace) else workspace)


def workspace_version(ws) -> tuple:
    """Changes whenever a scan commits, the consent ledger changes or collapse writes its results
    (file sizes and mtimes)."""
    out = []
    for p in (ws.db_path, ws.db_path.with_name(ws.db_path.name + ".wal"), ledger_path(ws.path),
              collapse_path(ws)):
        try:
            st = os.stat(p)
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------


def stage_summary(ws) -> dict[str, dict[str, Any]]:
    """stage -> {status: count, ..., "notes": [distinct notes of non-ok rows]}."""
    out: dict[str, dict[str, Any]] = {}
    for r in queries.stage_status_counts(ws):
        d = out.setdefault(r["stage"], {"counts": {}, "notes": []})
        d["counts"][r["status"]] = int(r["n"])
        if r["status"] != "ok":
            d["notes"].extend(n for n in (r["notes"] or []) if n)
    return out


def stage_note(stages: Mapping[str, Any], stage: str) -> str:
    """Why a stage has no results, in words ('' when some recordings have them)."""
    d = stages.get(stage)
    if d is None:
        return f"the {stage} stage has not run on this workspace (no results stored)"
    if d["counts"].get("ok"):
        return ""
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(d["counts"].items()))
    notes = "; ".join(dict.fromkeys(d["notes"]))
    return f"the {stage} stage stored no results ({statuses}{': ' + notes if notes else ''})"


def overview(ws) -> Part:
    """Hours, recordings, speakers, isolation verdicts, errors, turn-taking statistics (``twotrack stats``)."""
    return Part(True, workspace_stats(ws))


def turn_statistics(ws, stages: Mapping[str, Any]) -> Part:
    """Corpus statistics, per-recording statistics and the pooled per-event arrays."""
    note = stage_note(stages, "events")
    if note:
        return Part.missing(note)
    recs = recording_events(ws)
    if not recs:
        return Part.missing("no recording has turn-taking events (the events stage needs two tracks)")
    return Part(True, {
        "corpus": corpus_stats(recs, by_speaker=False),
        "per_recording": {r.recording_id: recording_stats(r) for r in recs},
        "distributions": distributions(recs),
    })


def qualification(ws, cfg: QualifyConfig, permissions=None) -> Part:
    """The eight requirements, phase labels and reference comparisons (computed, never written)."""
    try:
        inputs = inputs_from_workspace(ws, cfg.purpose, cfg, permissions=permissions)
        reference = load_reference(cfg.reference_path or None)
        report = qualify_corpus(inputs, cfg, reference)
    except TwotrackError as exc:
        return Part.missing(f"qualification could not run: {exc}")
    if not report.recordings:
        return Part.missing("no recordings to qualify")
    return Part(True, {"report": report, "inputs": inputs, "reference": reference, "json": report.to_json()})


def reference_only(cfg: QualifyConfig) -> Part:
    """The reference statistics alone (so plots can show them even when qualification cannot run)."""
    try:
        return Part(True, load_reference(cfg.reference_path or None))
    except TwotrackError as exc:
        return Part.missing(f"reference statistics could not be read: {exc}")


def rights(ws, recordings: Sequence[Recording], purposes: Sequence[str] = DEFAULT_PURPOSES,
           permissions=None) -> Part:
    """Verdicts per purpose, consent state per speaker, withdrawals and the ledger's chain check;
    ``permissions``: the permissions table the license verdicts read (None: the packaged one)."""
    # ledger_path(ws.path), not ws.ledger_path: the latter creates WS/rights, and this view never writes.
    led = Ledger(ledger_path(ws.path))
    try:
        check = led.verify()
    except TwotrackError as exc:  # it cannot be opened (a folder in its place): said like a failed check
        return Part.missing(f"{exc}; no verdict is given")
    if not check.ok:
        return Part.missing(f"the consent ledger {led.path} fails verification: {check}; no verdict is given")
    events, head = led.snapshot()
    speakers = sorted({s for r in recordings for _, s in speakers_by_track(r) if s is not None})
    states = replay_all(events, speakers)
    speech = queries.speech_by_track(ws)  # unused channels (no speaker, no speech) need no consent
    by_purpose = {}
    for p in purposes:
        if p in PURPOSES:
            by_purpose[p] = [decide_one(r, p, states, permissions, speech.get(r.recording_id), known=True)
                             for r in recordings]
    speaker_recs: dict[str, list[str]] = defaultdict(list)
    for r in recordings:
        for _, s in speakers_by_track(r):
            if s is not None:
                speaker_recs[s].append(r.recording_id)
    withdrawals = [
        {"seq": e.seq, "speaker": e.speaker, "action": e.action, "status": e.status, "scopes": list(e.scopes),
         "date": e.date, "note": e.note, "recordings": speaker_recs.get(e.speaker, [])}
        for e in events if e.action in ("withdraw", "revoke")
    ]
    return Part(True, {
        "purposes": by_purpose,
        "states": {s: {sc: st.to_dict() for sc, st in states[s].scopes.items()} for s in speakers},
        "n_events_by_speaker": {s: states[s].n_events for s in speakers},
        "withdrawals": withdrawals,
        "ledger": {"path": str(led.path), "events": len(events), "head": head, "verified": str(check),
                   "exists": led.path.exists()},
        "permissions": table_record(permissions),
        "scopes": list(SCOPES),
        "speech": speech,  # recording_id -> track -> speech seconds: which tracks are unused channels
    })


def data_map(ws, qual: Part) -> Part:
    """The catalog of known corpora with this corpus as a measured row."""
    try:
        rows = catalog_rows()
    except TwotrackError as exc:
        return Part.missing(f"the data map catalog could not be read: {exc}")
    note = ""
    if qual.available:
        rows = rows + [measured_row(qual.data["report"], qual.data["inputs"], str(ws.path))]
    else:
        note = f"this corpus is not placed on the map: {qual.note}"
    return Part(True, rows, note)


# ---------------------------------------------------------------------------------------------
# collapse (mono + diarization against the two tracks)
# ---------------------------------------------------------------------------------------------

#: The report draws true-vs-diarized lanes for at most this many recordings, over at most this many seconds.
COLLAPSE_CHARTS = 6
COLLAPSE_CHART_S = 120.0

Lanes = list[tuple[int, np.ndarray, np.ndarray]]  # (track, starts, ends) per track


def collapse_path(ws) -> Path:
    """Where ``twotrack collapse`` writes its results (``collapse.run.collapse_workspace``)."""
    return ws.path / "collapse" / "results.json"


def collapse_not_run_note(ws) -> str:
    return (f"mono + diarization has not been run on this workspace: run `twotrack collapse -w {ws.path}` "
            "(it needs the collapse extra: pip install 'twotrack[collapse]' and "
            "pip install --no-deps resemblyzer==0.1.4; see docs/collapse.md)")


def _lanes(items: Any) -> Lanes:
    """``TrackActivity.to_dict()`` items -> (track, starts, ends) arrays, sorted by track."""
    out = []
    for a in sorted(items or (), key=lambda x: int(x["track"])):
        seg = np.asarray([(float(s["start"]), float(s["end"])) for s in a.get("segments") or ()],
                         np.float64).reshape(-1, 2)
        out.append((int(a["track"]), seg[:, 0].copy(), seg[:, 1].copy()))
    return out


def collapse_results(ws, charts: int = COLLAPSE_CHARTS) -> Part:
    """``WS/collapse/results.json`` read for showing: the corpus summary, every recording's scores, the
    skipped recordings, the diarized lanes, and the true lanes (the stored activity) of the first
    ``charts`` scored recordings. Missing or unreadable results give a Part that says why."""
    path = collapse_path(ws)
    if not path.is_file():
        return Part.missing(collapse_not_run_note(ws))
    try:
        raw = jsonfile.loads(path.read_bytes(), path, strict_numbers=False)  # a JSONFileError is a ValueError
        summary = raw["summary"]
        recordings = list(raw["recordings"])
        by_id = {r["recording_id"]: r for r in recordings}
        lanes = {rid: _lanes(items) for rid, items in (raw.get("lanes") or {}).items()}
        skipped = {s["recording_id"]: s.get("reason", "") for s in raw.get("skipped") or ()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return Part.missing(f"the collapse results {path} cannot be read ({type(exc).__name__}: {exc}); "
                            f"run `twotrack collapse -w {ws.path}` again")
    ok = [r["recording_id"] for r in recordings if not r.get("error") and r["recording_id"] in lanes]
    truth = {}
    for rid in ok[:max(0, charts)]:
        truth[rid] = _lanes(a.to_dict() for a in queries.activity(ws, rid))
    written = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Part(True, {"path": str(path), "written_at": written, "summary": summary, "recordings": recordings,
                       "by_id": by_id, "skipped": skipped, "lanes": lanes, "truth": truth})


# ---------------------------------------------------------------------------------------------
# per-recording rows
# ---------------------------------------------------------------------------------------------


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def recording_rows(ws, recordings: Sequence[Recording], turn: Part, qual: Part, rts: Part,
                   purpose: str, wordless: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One dict per recording: what the corpus table and the per-recording table show; ``wordless``:
    ``wordless_rows`` (None: read here)."""
    table = {r["recording_id"]: r for r in queries.recording_table(ws)}
    checks = {r["recording_id"]: r for r in queries.check_table(ws)}
    errors: dict[str, list[str]] = defaultdict(list)
    for e in queries.error_table(ws):
        if e["recording_id"]:
            errors[e["recording_id"]].append(f"[{e['stage']}] {e['problem']}")
    per_stats = turn.data["per_recording"] if turn.available else {}
    quals = {r["recording_id"]: r for r in qual.data["json"]["recordings"]} if qual.available else {}
    verdicts = {v.recording_id: v for v in rts.data["purposes"].get(purpose, [])} if rts.available else {}
    words = queries.word_counts(ws)
    speech = queries.speech_by_track(ws)
    if wordless is None:
        wordless, _ = wordless_rows(ws, recordings)
    out = []
    for rec in recordings:
        rid = rec.recording_id
        row = table.get(rid, {})
        st = per_stats.get(rid)
        ck = checks.get(rid)
        q = quals.get(rid)
        v = verdicts.get(rid)
        dur = _num(row.get("duration_s"))
        fto = st["fto"]["quantiles"]["50"] if st else None
        out.append({
            "recording_id": rid,
            "status": row.get("status"),
            "duration_s": dur,
            "sample_rate": row.get("sample_rate"),
            "layout": rec.layout.value,
            "source_type": rec.source_type.value,
            "n_tracks": rec.n_tracks,
            "speakers": [s for s in rec.speakers],
            "license": rec.license,
            "tags": dict(rec.tags),
            "isolation": ck["isolation"] if ck else None,
            "bleed_db": _num(ck["bleed_db"]) if ck else None,
            "offset_ms": _num(ck["offset_ms"]) if ck else None,
            "speech_share": {k: _num(v_) for k, v_ in st["speech_share"].items()} if st else None,
            "overlap_share": _num(st["overlap_share_of_speech"]) if st else None,
            "fto_median_s": _num(fto),
            "n_transfers": st["counts"]["floor_transfer"] if st else None,
            "n_ipus": st["counts"]["ipu"] if st else None,
            "per_minute": st["per_minute"] if st else None,
            "errors": len(errors.get(rid, [])),
            "error_messages": errors.get(rid, []),
            "rights_purpose": purpose if v is not None else None,
            "rights_allowed": v.allowed if v is not None else None,
            "rights_reasons": [r.message for r in v.reasons] if v is not None else [],
            "unused_tracks": [track_name(t) for t in unused_tracks(track_uses(rec, speech.get(rid)))]
            if not rec.is_mono else [],
            "qualified": q["qualified"] if q else None,
            "failed_requirements": [r["id"] for r in q["requirements"] if r["passed"] is False] if q else [],
            "phase_fit": q["phase_fit"] if q else None,
            "words": words_row(rec, words.get(rid), speech.get(rid, {})),
            "wordless": wordless.get(rid),
        })
    return out


#: Recordings with words above which the report and the explorer leave speech without words out: it reads
#: every such recording's stored result and transcript (about 10 ms a recording warm, more cold: minutes on a
#: Fisher-sized workspace); ``twotrack stats --wordless`` pools it and ``twotrack show`` gives one recording's.
WORDLESS_ROWS_MAX = 2000


def wordless_rows(ws, recordings: Sequence[Recording],
                  most: int | None = None) -> tuple[dict[str, dict[str, Any]], str | None]:
    """(recording_id -> speech without words (``turns.wordless``) of every recording with words: ``source`` and
    per track name ``share``, ``wordless_s``, ``ipus`` (how many wordless IPUs); a note when left out). Only
    those recordings' results are read; recordings without words are absent (their row's ``wordless`` is None).
    More than ``most`` (``WORDLESS_ROWS_MAX``) recordings with words: none is read, and the note says so."""
    from ..export.context import GoldWords
    from ..ingest.annotations import has_gold
    from ..turns.wordless import read_wordless

    gold = GoldWords(workspace=ws)
    # cheap: a transcript named, or stored words (the transcript files are read once, in read_wordless)
    wanted = {r.recording_id for r in recordings if has_gold(r) or gold.has_stored(r)}
    most = WORDLESS_ROWS_MAX if most is None else most
    if len(wanted) > most:
        return {}, (f"speech without words is not shown for {len(wanted)} recordings with words (more than {most}: "
                    "it reads every stored result); `twotrack stats --wordless` pools it, `twotrack show` gives one")
    out: dict[str, dict[str, Any]] = {}
    for result in (queries.results(ws) if wanted else ()):
        if result.recording.recording_id not in wanted:
            continue
        m = read_wordless(result, gold)
        if m is not None:
            out[result.recording.recording_id] = {
                "source": m["source"],
                "tracks": {t["name"]: {"share": t["share"], "wordless_s": t["wordless_s"],
                                       "ipus": len(t["wordless_ipus"])} for t in m["tracks"]}}
    return out, None


def words_row(rec: Recording, stored: dict[str, Any] | None, speech: dict[int, float]) -> dict[str, Any] | None:
    """Per track name: stored words, words per minute of that track's own speech (its speaking rate),
    and its language; with the words' source. None when the words stage stored nothing."""
    if not stored:
        return None
    tracks = {}
    for t in range(rec.n_tracks):
        n = stored["tracks"].get(t, 0)
        sp = speech.get(t)
        tracks[track_name(t)] = {"words": n, "per_minute": round(60.0 * n / sp, 1) if sp else None,
                                 "language": stored["languages"].get(t)}
    return {"source": stored["source"], "tracks": tracks, "lines": stored.get("lines", 0),
            "unfit_lines": stored.get("unfit_lines", 0)}


# ---------------------------------------------------------------------------------------------
# everything at once
# ---------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything a page or the report shows about one workspace at one version."""

    workspace: str
    name: str
    generated_at: str
    version: tuple
    recordings: list[Recording]
    stages: dict[str, Any]
    overview: Part
    turns: Part
    qualify: Part
    reference: Part
    rights: Part
    datamap: Part
    rows: list[dict[str, Any]]
    purpose: str
    purposes: tuple[str, ...]
    checks_note: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    collapse: Part = field(default_factory=lambda: Part.missing("collapse results were not read"))
    wordless_note: str | None = None  # why speech without words is not in the rows (``wordless_rows``)

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {r["recording_id"]: r for r in self.rows}


def snapshot(ws, config: Config | None = None, purposes: Sequence[str] = DEFAULT_PURPOSES, *,
             permissions=None) -> Snapshot:
    """Read every stage's data from ``ws`` (a ``store.Workspace``) once; ``permissions``: the permissions
    table every rights verdict reads (None: the packaged one)."""
    cfg = config or Config()
    version = workspace_version(ws)
    recordings = queries.recordings(ws)
    stages = stage_summary(ws)
    purpose = cfg.qualify.purpose
    purposes = tuple(dict.fromkeys((purpose, *purposes)))
    turn = turn_statistics(ws, stages)
    qual = qualification(ws, cfg.qualify, permissions)
    reference = Part(True, qual.data["reference"]) if qual.available else reference_only(cfg.qualify)
    rts = rights(ws, recordings, purposes, permissions)
    wordless, wordless_note = wordless_rows(ws, recordings)
    rows = recording_rows(ws, recordings, turn, qual, rts, purpose, wordless)
    return Snapshot(
        workspace=str(ws.path), name=ws.path.name, version=version,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        recordings=recordings, stages=stages, overview=overview(ws), turns=turn, qualify=qual,
        reference=reference, rights=rts, datamap=data_map(ws, qual), rows=rows, purpose=purpose,
        purposes=purposes, checks_note=stage_note(stages, "checks"), errors=queries.error_table(ws),
        collapse=collapse_results(ws), wordless_note=wordless_note,
    )


def consent_of(snap: Snapshot, recording: Recording,
               speech: dict[int, float] | None = None) -> list[dict[str, Any]]:
    """Per track: the speaker and their consent per scope (DPV status terms), or why it is unknown. A track
    without a speaker is an unused channel (needs no consent) when it has no speech, as the rights judge it;
    ``speech`` (track -> seconds) defaults to the activity stage's, read with the rights."""
    out = []
    states = snap.rights.data["states"] if snap.rights.available else {}
    if speech is None and snap.rights.available:
        speech = snap.rights.data.get("speech", {}).get(recording.recording_id)
    uses = track_uses(recording, speech)
    for i in range(recording.n_tracks):
        spk = recording.speakers[i] if i < len(recording.speakers) else None
        st = states.get(spk) if spk else None
        if st:
            note = ""
        elif spk:
            note = snap.rights.note or "no consent recorded"
        elif not uses[i].used:
            note = f"{uses[i].why()}: needs no consent"
        else:
            note = "speaker unknown" + (f" ({uses[i].why()})" if uses[i].speech_s is not None else "")
        out.append({
            "track": track_name(i), "speaker": spk,
            "scopes": {k: {"status": v["status"], "since": v["since"], "event_seq": v["event_seq"],
                           "expiry": v["expiry"]} for k, v in st.items()} if st else None,
            "note": note,
        })
    return out


def qualification_of(snap: Snapshot, recording_id: str) -> dict[str, Any] | None:
    if not snap.qualify.available:
        return None
    for r in snap.qualify.data["json"]["recordings"]:
        if r["recording_id"] == recording_id:
            return r
    return None


def json_default(value: Any) -> Any:
    """For json.dumps of snapshot parts: numpy scalars and arrays, dates, paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (datetime, Path)):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=json_default)


__all__ = [
    "Part", "Snapshot", "snapshot", "stage_summary", "stage_note", "overview", "turn_statistics", "qualification",
    "rights", "data_map", "recording_rows", "consent_of", "qualification_of", "workspace_version",
    "DEFAULT_PURPOSES", "ReadOnlyWorkspace", "open_workspace", "collapse_results", "collapse_path",
]
