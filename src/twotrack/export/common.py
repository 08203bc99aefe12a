"""What every export shares: choosing recordings by rights, export.json, incremental reruns, the run loop.

An export folder is owned by one format and one purpose. ``export.json`` records (the fields
``rights.audit`` reads, plus our own):

```
{
  "format": "moshi", "format_version": 1, "purpose": "commercial-training",
  "ledger_head": "<64 hex>",                    # consent ledger head the recordings were judged under
  "twotrack_version": "0.1.0", "created_at": ..., "updated_at": ..., "complete": true,
  "config": {"export": {...resolved options}, "scan": {...}, "stage_keys": {...}},
  "workspace": "/abs/path/of/the/workspace",
  "files": [{"path": "audio/x.wav", "sha256": ..., "bytes": ..., "recording_ids": ["clean/x"], "ids": ["x"]}],
  "manifests": ["train.jsonl"],                 # rewritten (never removed) by `rights audit --apply`
  "recordings": {"clean/x": {"key": ..., "pieces": [...], "files": [...], "license": ..., "duties": [...],
                              "clock": {"retimed": false, "reason": ...}}},  # or retimed, offset_ms, drift_ppm
  "skipped": {"clean/y": "blocked: ..."},
  "summary": {...}
}
```

A rerun recomputes which recordings the purpose allows NOW and each one's key (its sources, the
stage keys of its stored results, its gold file, the export options, and what the format embeds of its
rights). A recording whose key and files are unchanged is kept as it is; a changed one is rewritten; one
no longer allowed (a withdrawal, a license change) or gone from the workspace loses its files. Manifests
and the Croissant card are rewritten from the recorded state, so a rerun with nothing changed writes the
same bytes. Files of an interrupted run that export.json does not list are removed on the next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..activity.align import ClockFix, clock_status
from ..errors import ConfigError, InputError, TwotrackError
from ..model import CheckResult, ErrorRecord, Event, EventKind, Layout, Record, Recording, TrackActivity, Word
from ..store import queries
from .split import Plan, intervals, plan_pieces, speech_intervals

EXPORT_JSON = "export.json"  # the same name rights.audit reads
LOCK_NAME = ".export.lock"
FORMAT_VERSION = 1
#: How often a long export writes its progress to export.json (a killed export resumes from there).
CHECKPOINT_S = 30.0
#: A measured offset between the tracks from which a recording's notes warn when the export cannot re-time them.
SYNC_NOTE_MS = 20.0
#: Bump when the rule that puts paired files on one clock changes what is written (every key changes).
CLOCK_RULE = 1


# --------------------------------------------------------------------------------------------
# Options and per-recording inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions(Record):
    """What the user chooses. ``None`` takes the format's default (``Exporter.defaults``)."""

    sample_rate: int | None = None  # Hz of the exported audio (moshi: 24000; others: the source's)
    max_duration_s: float | None = None  # split longer recordings at silences (0: never split)
    main_speaker: str = "A"  # moshi: A, B, a speaker id, or both
    other_words: bool = False  # moshi: also write the other speaker's words (as SPEAKER_OTHER)
    shard_mb: float = 256.0  # parquet: target shard size
    min_cut_silence_s: float = 0.2  # shortest silence preferred for a cut
    verify: bool = False  # on a rerun, re-hash kept files instead of trusting their size


@dataclass
class ExportItem:
    """One recording with everything the exporters read from the workspace."""

    recording: Recording
    stem: str  # file-name-safe id, unique in the workspace
    duration_s: float
    checks: CheckResult | None
    activity: tuple[TrackActivity, ...]
    events: tuple[Event, ...]
    words: dict[int, list[Word]] | None  # gold words per track; None: no word timings
    verdict: Any  # rights.Verdict for the export's purpose
    key: str = ""
    notes: list[str] = field(default_factory=list)
    clock: ClockFix | None = None  # tracks after A re-timed onto A's clock by this (paired files); None: as stored
    clock_entry: dict[str, Any] = field(default_factory=dict)  # what export.json says of the clock (``clock_of``)

    @property
    def recording_id(self) -> str:
        return self.recording.recording_id

    def ipus(self) -> dict[int, np.ndarray]:
        """IPUs per track as (n, 2) seconds; the activity segments when the events stage did not run."""
        out: dict[int, list[tuple[float, float]]] = {t: [] for t in range(self.recording.n_tracks)}
        have_ipus = False
        for e in self.events:
            if e.kind is EventKind.IPU and e.track is not None:
                out.setdefault(e.track, []).append((e.start, e.end))
                have_ipus = True
        if not have_ipus:
            for a in self.activity:
                out[a.track] = [(s.start, s.end) for s in a.segments]
        return {t: intervals(v) for t, v in out.items()}

    def plan(self, max_s: float | None, min_silence_s: float) -> Plan:
        plan = plan_pieces(self.duration_s, speech_intervals(self.ipus(), self.words), max_s,
                           min_silence_s=min_silence_s)
        for i in plan.over_long:
            a, b = plan.pieces[i]
            self.notes.append(f"piece {i} is {b - a:.1f} s (over the {max_s:g} s maximum): no silence to cut at")
        return plan


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def file_entry(out: Path, rel: str, recording_ids: Iterable[str], ids: Iterable[str] = ()) -> dict[str, Any]:
    """The export.json record of one written file (hash read back from disk)."""
    p = out / rel
    entry: dict[str, Any] = {"path": rel, "sha256": sha256_file(p), "bytes": p.stat().st_size,
                             "recording_ids": sorted(set(recording_ids))}
    ids = sorted(set(ids))
    if ids:
        entry["ids"] = ids
    return entry


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def make_stems(recording_ids: Iterable[str]) -> dict[str, str]:
    """File-name-safe, unique stems: ``clean/x`` -> ``clean__x`` (a short hash settles collisions)."""
    ids = sorted(set(recording_ids))
    raw = {rid: _UNSAFE.sub("_", rid.replace("/", "__")).strip("._") or "recording" for rid in ids}
    counts: dict[str, int] = {}
    for s in raw.values():
        counts[s] = counts.get(s, 0) + 1
    return {rid: s if counts[s] == 1 else f"{s}-{hashlib.sha1(rid.encode()).hexdigest()[:8]}"
            for rid, s in raw.items()}


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def export_lock(out: Path) -> Iterator[None]:
    """One export at a time per folder (a second one fails at once instead of mixing files)."""
    out.mkdir(parents=True, exist_ok=True)
    fh = open(out / LOCK_NAME, "a+b")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{out}: another export is writing this folder") from None
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


# --------------------------------------------------------------------------------------------
# Gold words
# --------------------------------------------------------------------------------------------


class GoldWords:
    """Gold words per recording, from the transcript path in the manifest (files parsed once per run)."""

    def __init__(self, keep: int = 16):
        self._cache: OrderedDict[str, dict[str, list[Word]]] = OrderedDict()
        self._keep = keep

    def _read(self, path: str) -> dict[str, list[Word]]:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        from ..ingest.annotations import read_gold

        data = read_gold(path)
        self._cache[path] = data
        while len(self._cache) > self._keep:
            self._cache.popitem(last=False)
        return data

    @staticmethod
    def _match(rec: Recording, by_id: dict[str, list[Word]]) -> str | None:
        rid = rec.recording_id
        candidates = [rid, rid.rsplit("/", 1)[-1]]
        for t in rec.tracks:
            name = Path(t.path).name
            candidates += [name.split(".", 1)[0], Path(t.path).stem]
        for c in candidates:
            if c in by_id:
                return c
        return next(iter(by_id)) if len(by_id) == 1 else None

    def words(self, rec: Recording) -> tuple[dict[int, list[Word]] | None, str | None]:
        """(words per track, or None) and a note when a transcript was named but gave no words."""
        if not rec.transcript:
            return None, None
        try:
            by_id = self._read(rec.transcript)
        except InputError as exc:
            return None, f"transcript unreadable: {exc}"
        except OSError as exc:
            return None, f"transcript unreadable: {rec.transcript}: {exc.strerror or exc}"
        key = self._match(rec, by_id)
        if key is None:
            return None, f"transcript {rec.transcript} has no words for {rec.recording_id}"
        out: dict[int, list[Word]] = {t: [] for t in range(rec.n_tracks)}
        for w in by_id[key]:
            if 0 <= w.track < rec.n_tracks and w.end > w.start and w.text.strip():
                out[w.track].append(w)
        for ws in out.values():
            ws.sort(key=lambda w: (w.start, w.end))
        return out, None

    def file_hash(self, rec: Recording) -> str | None:
        if not rec.transcript:
            return None
        try:
            st = os.stat(rec.transcript)
        except OSError:
            return "missing"
        return f"{st.st_size}:{st.st_mtime_ns}"


# --------------------------------------------------------------------------------------------
# The run context and the exporter interface
# --------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a run knows beyond one recording: the workspace, the rights snapshot, lazily the rest."""

    workspace: Any  # store.Workspace
    purpose: str
    events: list  # consent events of the ledger snapshot
    ledger_head: str
    recordings: list[Recording]
    verdicts: dict[str, Any]  # recording_id -> Verdict for the purpose
    _all_verdicts: dict[str, dict[str, Any]] | None = None
    _qualification: dict[str, dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)

    def all_verdicts(self) -> dict[str, dict[str, Any]]:
        """purpose -> recording_id -> Verdict, for every known purpose (what Parquet rows carry)."""
        if self._all_verdicts is None:
            from ..rights.verdicts import PURPOSES, decide

            self._all_verdicts = {p: {v.recording_id: v for v in decide(self.recordings, self.events, p)}
                                  for p in PURPOSES}
        return self._all_verdicts

    def qualification(self) -> dict[str, dict[str, Any]]:
        """recording_id -> its own qualification (requirements judged per recording, data type, phase
        fit from its own failures). Corpus-level requirements are not per-row facts and stay out."""
        if self._qualification is None:
            self._qualification = {}
            try:
                from ..config import QualifyConfig
                from ..qualify.phases import recording_phase_fit
                from ..qualify.requirements import NAMES, evaluate_recording
                from ..qualify.workspace import inputs_from_workspace

                cfg = QualifyConfig()
                inputs = inputs_from_workspace(self.workspace, self.purpose, cfg)
                for rec in inputs.recordings:
                    finding, checks = evaluate_recording(rec, cfg)
                    failed = sorted(i for i, c in checks.items() if c.passed is False)
                    fit = recording_phase_fit(finding, failed, NAMES)
                    self._qualification[rec.recording_id] = {
                        "data_type": finding.data_type,
                        "type_confirmed": bool(finding.confirmed),
                        "passed_own_checks": not failed,
                        "failed": failed,
                        "requirements": [
                            {"id": int(i), "name": NAMES.get(i, str(i)), "passed": c.passed,
                             "reasons": list(c.reasons)}
                            for i, c in sorted(checks.items())
                        ],
                        "phase_fit": fit.labels(),
                    }
            except Exception as exc:  # noqa: BLE001 - qualification is optional content, never a blocker
                self.notes.append(f"qualification unavailable: {type(exc).__name__}: {exc}")
        return self._qualification


@dataclass
class Output:
    """What one recording produced, once it is on disk for good."""

    recording_id: str
    pieces: list[dict[str, Any]]
    files: list[dict[str, Any]]  # file entries (see file_entry)
    notes: list[str] = field(default_factory=list)


class Exporter:
    """One format. Subclasses set ``name`` and the defaults, write one recording in ``add`` and the
    manifests in ``manifests``; formats that pack several recordings in one file override ``drop``."""

    name = ""
    version = 1
    defaults: dict[str, Any] = {}
    #: Folders (relative to the export) whose files only the exporter writes: unknown files there are
    #: leftovers of an interrupted run and are removed.
    managed_dirs: tuple[str, ...] = ()
    manifest_names: tuple[str, ...] = ()

    def __init__(self, out: Path, options: ExportOptions, ctx: Context):
        self.out = out
        self.ctx = ctx
        self.options = options
        self.resolved = self.resolve(options)
        self.state: State | None = None  # set by run_export before any writing

    def resolve(self, options: ExportOptions) -> dict[str, Any]:
        """The options that decide the output (recorded in export.json and in every key)."""
        d = options.to_dict()
        d.pop("verify", None)
        for k, v in self.defaults.items():
            if d.get(k) is None:
                d[k] = v
        return d

    # ---- choosing ----
    def skip_reason(self, rec: Recording) -> str | None:
        return None

    def key_extra(self, rec: Recording) -> Any:
        return None

    # ---- writing ----
    def add(self, item: ExportItem) -> list[Output]:
        raise NotImplementedError

    def finish(self) -> list[Output]:
        return []

    def drop(self, state: State, recording_ids: Iterable[str]) -> None:
        """Remove everything of these recordings (their own files)."""
        for rid in recording_ids:
            for rel in state.recordings.get(rid, {}).get("files", []):
                (self.out / rel).unlink(missing_ok=True)
                state.files.pop(rel, None)
            state.recordings.pop(rid, None)

    def manifests(self, state: State) -> list[dict[str, Any]]:
        return []

    def keep_unlisted(self, rel: str, state: State) -> bool:
        """An unlisted file in a managed folder that is not a leftover (e.g. a user's own annotation)."""
        return False

    def adopt(self, state: State) -> None:
        """List files others added for exported recordings (so audits and reruns remove them with it)."""

    def describe(self, state: State) -> dict[str, Any]:
        """What the Croissant card needs to know of this format (see croissant.py)."""
        return {}


# --------------------------------------------------------------------------------------------
# State (export.json in memory)
# --------------------------------------------------------------------------------------------


class State:
    def __init__(self, data: dict[str, Any] | None):
        data = data or {}
        self.data = data
        self.files: dict[str, dict[str, Any]] = {f["path"]: f for f in data.get("files", []) if "path" in f}
        self.recordings: dict[str, dict[str, Any]] = dict(data.get("recordings") or {})
        self.extra: dict[str, Any] = dict(data.get("state") or {})

    def record(self, outputs: Iterable[Output], keys: dict[str, str], verdicts: dict[str, Any],
               clocks: dict[str, dict[str, Any]] | None = None) -> list[str]:
        done = []
        for o in outputs:
            v = verdicts.get(o.recording_id)
            for f in o.files:
                self.files[f["path"]] = f
            self.recordings[o.recording_id] = {
                "key": keys.get(o.recording_id, ""),
                "pieces": o.pieces,
                "files": [f["path"] for f in o.files],
                "license": getattr(v, "license", None),
                "speakers": list(getattr(v, "speakers", ()) or ()),
                "duties": list(getattr(v, "duties", ()) or ()),
                "notes": o.notes,
            }
            if clocks and o.recording_id in clocks:
                self.recordings[o.recording_id]["clock"] = clocks[o.recording_id]
            done.append(o.recording_id)
        return done

    def complete(self, rid: str, out: Path, verify: bool) -> bool:
        """Every file of the recording is listed and on disk, unchanged (size, or hash with ``verify``)."""
        rec = self.recordings.get(rid)
        if not rec or not rec.get("files"):
            return False
        for rel in rec["files"]:
            entry = self.files.get(rel)
            p = out / rel
            if entry is None or not p.is_file():
                return False
            if entry.get("bytes") is not None and p.stat().st_size != entry["bytes"]:
                return False
            if verify and sha256_file(p) != entry.get("sha256"):
                return False
        return True


def read_state(out: Path) -> dict[str, Any] | None:
    path = out / EXPORT_JSON
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot read the export record: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(path, "export.json is not a JSON object")
    return data


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


@dataclass
class ExportSummary(Record):
    """What one export run did; ``to_dict`` is the JSON of ``twotrack export --json`` (docs/export.md)."""

    format: str
    out: str
    purpose: str
    ledger_head: str
    recordings: int = 0  # in the workspace
    exported: int = 0  # in the export now
    written: list[str] = field(default_factory=list)  # (re)written this run
    kept: int = 0  # unchanged, left as they were
    removed: list[str] = field(default_factory=list)  # files dropped (no longer allowed, gone or changed)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # not allowed for the purpose, with reasons
    skipped: dict[str, str] = field(default_factory=dict)  # allowed but not exportable in this format
    errors: list[ErrorRecord] = field(default_factory=list)
    pieces: int = 0
    hours: float = 0.0  # audio in the export now
    hours_written: float = 0.0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def clock_of(res) -> tuple[ClockFix | None, dict[str, Any]]:
    """How a stored recording's tracks are put on one clock in the export: the re-timing the activity
    stage applied (the one rule, ``activity.align.clock_fix``, at the analysis rate) and its export.json entry."""
    return clock_status(res.recording.layout, res.checks, int(res.sample_rate or 0), res.recording.n_tracks)


def _make_item(res, rec: Recording, stem: str, verdict, gold: GoldWords, key: str) -> ExportItem:
    words, note = gold.words(rec)
    item = ExportItem(recording=rec, stem=stem, duration_s=float(res.duration_s), checks=res.checks,
                      activity=tuple(res.activity), events=tuple(res.events), words=words, verdict=verdict,
                      key=key)
    item.clock, item.clock_entry = clock_of(res)
    if note:
        item.notes.append(note)
    if not res.events:
        item.notes.append("no turn-taking events stored: activity segments stand in for IPUs")
    off = res.checks.offset_ms if res.checks is not None else None
    if item.clock is not None:
        item.notes.append(item.clock.note())
    elif off is not None and abs(off) >= SYNC_NOTE_MS:
        item.notes.append(f"the checks measured the tracks {off:+.0f} ms apart; the export keeps them as stored")
    elif rec.layout is Layout.PAIRED:
        item.notes.append(item.clock_entry["reason"])
    return item


def _stored_results(ws, todo: list[Recording], n_all: int):
    """(recording, stored result) for each recording to write, in order. Most of the corpus: one pass
    over the workspace in batches; a few: one query each."""
    if len(todo) * 2 >= n_all:
        want = {r.recording_id: r for r in todo}
        for res in queries.results(ws):
            rec = want.get(res.recording.recording_id)
            if rec is not None:
                yield rec, res
    else:
        for rec in todo:
            yield rec, queries.result(ws, rec.recording_id)


def _leftovers(out: Path, dirs: Iterable[str], known: set[str]) -> list[Path]:
    found = []
    for d in dirs:
        base = out / d
        if not base.is_dir():
            continue
        for p in base.rglob("*"):
            if p.is_file() and str(p.relative_to(out)) not in known:
                found.append(p)
    return found


def _scan_config(ws) -> dict[str, Any]:
    """The config and stage keys of the workspace's latest finished scan (what the results came from)."""
    try:
        runs = [r for r in queries.runs(ws) if r.get("status") == "completed"] or queries.runs(ws)
    except Exception:  # noqa: BLE001 - provenance only
        return {}
    if not runs:
        return {}
    last = runs[-1]
    out = {"run_id": last.get("run_id"), "twotrack_version": last.get("twotrack_version")}
    for k in ("config", "stage_keys"):
        v = last.get(k)
        try:
            out[k] = json.loads(v) if isinstance(v, str) else v
        except json.JSONDecodeError:
            out[k] = v
    return out


def run_export(workspace, out: str | os.PathLike, fmt: str, purpose: str,
               options: ExportOptions | None = None, *, progress=None) -> ExportSummary:
    """Export the recordings of ``workspace`` that ``purpose`` allows now, in format ``fmt``, to ``out``.

    Incremental and idempotent (see the module docstring). ``progress``: optional callable
    ``(done, total, recording_id)``. Raises ConfigError for a folder holding another format or purpose.
    """
    from ..rights.ledger import Ledger
    from ..rights.verdicts import decide, get_purpose
    from ..store import Workspace
    from . import FORMATS

    t0 = time.monotonic()
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    get_purpose(purpose)
    options = options or ExportOptions()
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    out = Path(out).absolute()
    with export_lock(out):
        old = read_state(out)
        if old is not None:
            if old.get("format") != fmt or old.get("purpose") != purpose:
                raise ConfigError(f"{out}: holds a {old.get('format')} export for purpose {old.get('purpose')}; "
                                  f"write a {fmt} export for {purpose} to another folder")
        elif any(p.name not in (LOCK_NAME,) for p in out.iterdir()):
            raise ConfigError(f"{out}: not empty and not an export folder (no {EXPORT_JSON}); choose an empty folder")

        events, head = Ledger(ws.ledger_path).snapshot()
        recordings = queries.recordings(ws)
        verdicts = {v.recording_id: v for v in decide(recordings, events, purpose)}
        ctx = Context(ws, purpose, events, head, recordings, verdicts)
        exporter = FORMATS[fmt](out, options, ctx)
        state = State(old)
        exporter.state = state
        summary = ExportSummary(format=fmt, out=str(out), purpose=purpose, ledger_head=head,
                                recordings=len(recordings))
        table = {r["recording_id"]: r for r in queries.recording_table(ws)}
        stage_state = queries.stage_state(ws)
        stems = make_stems(r.recording_id for r in recordings)
        gold = GoldWords()
        config_key = canonical({"format": fmt, "format_version": FORMAT_VERSION, "exporter": exporter.version,
                                "options": exporter.resolved, "clock_rule": CLOCK_RULE})

        keys: dict[str, str] = {}
        todo: list[Recording] = []
        wanted: set[str] = set()
        for rec in recordings:
            rid = rec.recording_id
            v = verdicts[rid]
            if not v.allowed:
                summary.blocked[rid] = [r.message for r in v.reasons]
                continue
            row = table.get(rid, {})
            if row.get("status") == "failed" or not row.get("duration_s"):
                summary.skipped[rid] = "not decoded in the workspace (see `twotrack errors`)"
                continue
            why = exporter.skip_reason(rec)
            if why:
                summary.skipped[rid] = why
                continue
            stages = {s: list(v3) for s, v3 in sorted(stage_state.get(rid, {}).items())}
            keys[rid] = hashlib.sha256(canonical({
                "config": config_key, "recording": rec.to_dict(), "stem": stems[rid], "stages": stages,
                "gold": gold.file_hash(rec), "rights": {"license": v.license, "duties": list(v.duties)},
                "extra": exporter.key_extra(rec),
            }).encode()).hexdigest()[:24]
            wanted.add(rid)
            if state.recordings.get(rid, {}).get("key") == keys[rid] and state.complete(rid, out, options.verify):
                summary.kept += 1
            else:
                todo.append(rec)

        # drop what is no longer wanted, changed, or incomplete (an audit may have removed part of it)
        todo_ids = {r.recording_id for r in todo}
        stale = sorted(rid for rid in state.recordings if rid not in wanted or rid in todo_ids)
        before = set(state.files)
        exporter.drop(state, stale)
        summary.removed = sorted(before - set(state.files))
        # listed files whose recordings are gone from the state (e.g. after a crash) go too
        owned = {rel for r in state.recordings.values() for rel in r.get("files", [])}
        for rel in [p for p, f in state.files.items() if f.get("recording_ids") and p not in owned
                    and p not in exporter.manifest_names]:
            (out / rel).unlink(missing_ok=True)
            state.files.pop(rel)
            summary.removed.append(rel)
        for p in _leftovers(out, exporter.managed_dirs, set(state.files)):
            if not exporter.keep_unlisted(str(p.relative_to(out)), state):
                p.unlink()

        last_checkpoint = time.monotonic()
        clocks: dict[str, dict[str, Any]] = {}  # per recording written: its clock entry (parquet outputs come later)
        for i, (rec, res) in enumerate(_stored_results(ws, todo, len(recordings))):
            rid = rec.recording_id
            if progress:
                progress(i, len(todo), rid)
            try:
                if res is None:
                    raise InputError(rid, "no longer in the workspace")
                item = _make_item(res, rec, stems[rid], verdicts[rid], gold, keys[rid])
                clocks[rid] = item.clock_entry
                outputs = exporter.add(item)
            except (InputError, OSError, TwotrackError) as exc:
                path = getattr(exc, "path", None) or (rec.tracks[0].path if rec.tracks else rid)
                problem = getattr(exc, "problem", None) or f"{type(exc).__name__}: {exc}"
                summary.errors.append(ErrorRecord(path=str(path), problem=problem, stage="export", recording_id=rid))
                continue
            summary.written += state.record(outputs, keys, verdicts, clocks)
            if time.monotonic() - last_checkpoint > CHECKPOINT_S:
                _write_state(out, state, ctx, exporter, summary, complete=False)
                last_checkpoint = time.monotonic()
        summary.written += state.record(exporter.finish(), keys, verdicts, clocks)
        if progress:
            progress(len(todo), len(todo), None)

        exporter.adopt(state)
        if summary.written or summary.removed or old is None:
            state.extra["revision"] = int(state.extra.get("revision", 0)) + 1
        state.data.setdefault("created_at", now_iso())
        for m in exporter.manifests(state):
            state.files[m["path"]] = m
        from .croissant import write_croissant

        state.files["croissant.json"] = write_croissant(out, exporter, state, ctx, summary)
        _write_state(out, state, ctx, exporter, summary, complete=True)
    summary.seconds = round(time.monotonic() - t0, 3)
    return summary


def _fill_summary(state: State, summary: ExportSummary, ctx: Context) -> None:
    summary.exported = len(state.recordings)
    pieces = [p for r in state.recordings.values() for p in r.get("pieces", [])]
    summary.pieces = len(pieces)
    summary.hours = round(sum(_piece_seconds(p) for p in pieces) / 3600, 6)
    written = set(summary.written)
    summary.hours_written = round(sum(_piece_seconds(p) for rid in written
                                      for p in state.recordings.get(rid, {}).get("pieces", [])) / 3600, 6)
    summary.files = len(state.files)
    summary.bytes = int(sum(f.get("bytes") or 0 for f in state.files.values()))
    summary.notes = list(dict.fromkeys(ctx.notes))


def _piece_seconds(p: dict[str, Any]) -> float:
    # every file counts: with --main-speaker both, a stretch of audio is in two examples and counts twice
    return float(p.get("duration", p.get("duration_s", 0.0)) or 0.0)


def _write_state(out: Path, state: State, ctx: Context, exporter: Exporter, summary: ExportSummary,
                 complete: bool) -> None:
    _fill_summary(state, summary, ctx)
    old = state.data
    body = {
        "format": exporter.name,
        "format_version": FORMAT_VERSION,
        "purpose": ctx.purpose,
        "ledger_head": ctx.ledger_head,
        "twotrack_version": __version__,
        "config": {"export": exporter.resolved, "scan": _scan_config(ctx.workspace)},
        "workspace": str(ctx.workspace.path),
        "complete": complete,
        "files": [state.files[k] for k in sorted(state.files)],
        "manifests": list(exporter.manifest_names),
        "recordings": {k: state.recordings[k] for k in sorted(state.recordings)},
        "skipped": {**{k: "blocked: " + "; ".join(v) for k, v in summary.blocked.items()}, **summary.skipped},
        "summary": {"recordings": summary.exported, "pieces": summary.pieces, "hours": summary.hours,
                    "files": summary.files, "bytes": summary.bytes},
        "state": state.extra,
        "notes": summary.notes,
    }
    if old.get("audits"):
        body["audits"] = old["audits"]
    # timestamps change only when the content does: a rerun with nothing new rewrites the same bytes
    same = {k: v for k, v in old.items() if k not in ("created_at", "updated_at")} == body
    body["created_at"] = old.get("created_at") or now_iso()
    body["updated_at"] = old.get("updated_at") if same and old.get("updated_at") else now_iso()
    ordered = {k: body[k] for k in ("format", "format_version", "purpose", "ledger_head", "twotrack_version",
                                    "created_at", "updated_at", "complete")}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    atomic_write(out / EXPORT_JSON, (json.dumps(ordered, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    state.data = ordered
