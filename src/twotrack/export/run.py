"""The export run: choosing recordings by rights, keys, incremental reruns, writing export.json.

A rerun recomputes which recordings the purpose allows NOW and each one's key (its sources, the
stage keys of its stored results, its gold file, the export options, and what the format embeds of its
rights). A recording whose key and files are unchanged is kept as it is; a changed one is rewritten; one
no longer allowed (a withdrawal, a license change) or gone from the workspace loses its files. Manifests
and the Croissant card are rewritten from the recorded state, so a rerun with nothing changed writes the
same bytes. Files of an interrupted run that export.json does not list are removed on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import __version__
from ..ingest.clock import ClockFix, RecordingClock, recording_clock
from ..errors import ConfigError, InputError, TwotrackError
from ..model import ErrorRecord, Layout, Recording
from ..ingest.missing import changed_reason, missing_reason
from ..paths import export_format_version
from ..rights.audit import compare_permissions
from ..rights.ledger import Ledger
from ..rights.licenses import PermissionsTable, load_permissions, table_record
from ..rights.verdicts import decide, get_purpose
from ..store import Workspace, queries
from ..usage import track_uses, used_tracks
from .base import ExportItem, ExportOptions, Exporter, ExportSummary, check_options
from .channels import channels_entry, keep_activity, keep_events, keep_tracks, keep_words
from .context import Context, GoldWords
from .card import write_card
from .croissant import write_croissant
from .registry import FORMATS
from .state import (
    EXPORT_JSON, EXPORT_STATE_DIR, KEY_FORMAT_VERSION, LEGACY_LOCK_NAME, State, canonical, export_lock, now_iso,
    read_state, resampling, write_state,
)

#: How often a long export writes its progress to export.json (a killed export resumes from there).
CHECKPOINT_S = 30.0
#: A measured offset between the tracks from which a recording's notes warn when the export cannot re-time them.
SYNC_NOTE_MS = 20.0
#: Bump when the rule that puts paired files on one clock changes what is written (every key changes).
CLOCK_RULE = 1


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest stem before its hash: with the hash, a piece and orientation suffix, the longest ending
#: (``.supervisions.jsonl.gz``) and a temporary file's affixes, far under a file name's 255 bytes.
MAX_STEM = 120


#: What the exporters append to a stem: a piece (``_p000``) and Moshi's other orientation (``_mainB``).
_PIECE_SUFFIX = re.compile(r"_(p\d+|main[a-z])$")  # matched on the lower-cased stem


def make_stems(recording_ids: Iterable[str]) -> dict[str, str]:
    """File-name-safe, unique stems: ``clean/x`` -> ``clean__x`` (a short hash settles collisions, also with
    the names of another recording's pieces: ``talk_p001`` beside ``talk``, whose second piece it would be)."""
    ids = sorted(set(recording_ids))
    raw = {rid: _UNSAFE.sub("_", rid.replace("/", "__")).strip("._") or "recording" for rid in ids}
    # a file name holds 255 bytes: a longer id is cut (and always gets its hash, so cut ids stay apart)
    cut = {rid for rid, s in raw.items() if len(s) > MAX_STEM}
    raw = {rid: s[:MAX_STEM] if rid in cut else s for rid, s in raw.items()}
    # compared without case: the folder is copied to, and the Hub repo cloned on, case-insensitive file systems
    counts: dict[str, int] = {}
    for s in raw.values():
        counts[s.lower()] = counts.get(s.lower(), 0) + 1
    taken = {s.lower() for s in raw.values()}

    def clashes(stem: str) -> bool:
        stem = stem.lower()
        if counts[stem] > 1:
            return True
        while (m := _PIECE_SUFFIX.search(stem)):
            stem = stem[: m.start()]
            if stem in taken:
                return True
        return False

    return {rid: f"{s}-{hashlib.sha1(rid.encode()).hexdigest()[:8]}" if rid in cut or clashes(s) else s
            for rid, s in raw.items()}


def clock_of(res) -> tuple[ClockFix | None, dict[str, Any]]:
    """How a stored recording's tracks are put on one clock in the export: the re-timing the activity
    stage applied (the one rule, ``ingest.clock.recording_clock``, at the analysis rate) and its export.json entry."""
    clock = recording_clock(res.recording, res.checks, int(res.sample_rate or 0), float(res.duration_s or 0.0))
    return clock.fix, clock.entry


def unknown_clock_reason(clock: RecordingClock) -> str:
    """Why an export leaves a recording out by default: its tracks' clocks are not known to be one."""
    return f"clock unknown: {clock.entry.get('reason', '')} (--allow-unknown-clock includes it as stored)"


#: Why a recording without any text is left out (``ExportOptions.allow_no_text`` keeps it).
NO_TEXT = ("no text: no gold transcript and no words stored (scan with --words to transcribe it, or export "
           "with --allow-no-text to write its audio anyway)")
#: ... when the words stage did run on it: it heard nothing to transcribe (silence, or speech it read as none).
NO_WORDS_FOUND = ("no text: no gold transcript, and the words stage found no words in it (export with "
                  "--allow-no-text to write its audio anyway)")
#: ... when the words stage failed on it (a model not installed, a hash mismatch): rescanning alone will not help.
WORDS_FAILED = ("no text: no gold transcript, and the words stage failed on it (`twotrack errors` says why; fix it "
                "and scan with --retry-errors, or export with --allow-no-text to write its audio anyway)")
#: ... when every line of its transcript was judged not to be what was said on its span (words.text_fit).
NO_FITTING_TEXT = ("no text: the words stage judged every line of its transcript not to fit its audio (`twotrack "
                   "show` lists them; scan with --set words.text_fit=keep to keep them, or export with "
                   "--allow-no-text to write its audio anyway)")
#: ... when the words stage could not align any line of its transcript, or judged the rest not to fit.
NO_ALIGNED_TEXT = ("no text: the words stage kept no line of its transcript (each either did not align to its "
                   "audio or did not fit it; `twotrack show --json` lists them under lines), or export with "
                   "--allow-no-text to write its audio anyway")
#: The three in short, for a list under a header that already gives --allow-no-text.
NO_TEXT_SHORT = {NO_TEXT: "no gold transcript and no words stored: scan with --words to transcribe it",
                 NO_WORDS_FOUND: "no gold transcript, and the words stage found no words in it",
                 WORDS_FAILED: "no gold transcript, and the words stage failed on it (`twotrack errors` says why; "
                               "fix it and scan with --retry-errors)",
                 NO_FITTING_TEXT: "the words stage judged every line of its transcript not to fit its audio "
                                  "(`twotrack show` lists them)",
                 NO_ALIGNED_TEXT: "the words stage kept no line of its transcript (none aligned to its audio, or "
                                  "those that did were judged not to fit; `twotrack show --json` lists them)"}


def _make_item(res, rec: Recording, stem: str, verdict, gold: GoldWords, key: str,
               kept: list[int] | None = None) -> ExportItem:
    """The item of ``rec``; ``kept``: the used tracks when some are left out (the item is then a view with
    just those, renumbered from A: ``channels.keep_tracks``)."""
    text = gold.text_words(rec)
    note = text.note
    activity, events, words = tuple(res.activity), tuple(res.events), text.words
    view = rec
    if kept is not None:
        view = keep_tracks(rec, kept)
        activity, events, words = keep_activity(activity, kept), keep_events(events, kept), keep_words(words, kept)
    item = ExportItem(recording=view, stem=stem, duration_s=float(res.duration_s), checks=res.checks,
                      activity=activity, events=events, words=words, verdict=verdict,
                      key=key, words_source=text.source)
    item.clock, item.clock_entry = clock_of(res)
    if kept is not None and kept[:2] != [0, 1]:
        item.clock = None  # the re-timing is of B onto A: a view without both keeps each track as stored
    if note:
        item.notes.append(note)
    unfit = gold.unfit_lines(rec)
    if unfit:  # the words stage judged these lines' text not to be what was said: none of it is training text
        item.unfit_lines = unfit
        item.notes.append(f"{unfit} transcript line(s) whose text does not fit their audio left out of the text "
                          "(words.text_fit; twotrack show lists them)")
    if not res.events:
        item.notes.append("no turn-taking events stored: activity segments stand in for IPUs")
    off = res.checks.offset_ms if res.checks is not None else None
    if item.clock is not None:
        item.notes.append(item.clock.note())
    elif off is not None and abs(off) >= SYNC_NOTE_MS:
        item.notes.append(f"the checks measured the tracks {off:+.0f} ms apart; the export keeps them as stored")
    elif rec.layout is Layout.PAIRED:
        item.notes.append(item.clock_entry["reason"])
    if item.clock_entry.get("status") == "unknown":
        item.notes.append("included with an unknown clock (--allow-unknown-clock): each paired file keeps its own "
                          "clock, so B's audio and labels may sit off A's")
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
               options: ExportOptions | None = None, *, progress=None, permissions=None) -> ExportSummary:
    """Export the recordings of ``workspace`` that ``purpose`` allows now, in format ``fmt``, to ``out``.

    Incremental and idempotent (see the module docstring). ``progress``: optional callable
    ``(done, total, recording_id)``. ``permissions``: the permissions table the verdicts read (a
    ``PermissionsTable``, or a file path loaded here; None: the packaged table); export.json records it.
    Raises ConfigError for a folder holding another format or purpose, or one decided with a team's
    permissions table when none is given; InputError for a table that cannot be read (before anything
    is written).
    """
    t0 = time.monotonic()
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    get_purpose(purpose)
    if permissions is None or isinstance(permissions, (str, os.PathLike)):
        permissions = load_permissions(permissions)
    options = options or ExportOptions()
    check_options(options)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    out = Path(out).absolute()
    outer = _enclosing_export(out)
    if outer is not None:
        raise ConfigError(
            f"{out}: inside the export folder {outer}, whose readers would take this export's files for its own "
            "(moshi-finetune reads every *jsonl under its folder, a Hub push uploads the subfolder with its "
            ".twotrack state); write it to a folder outside that one, e.g. a sibling")
    try:
        return _run(ws, out, fmt, purpose, options, progress, t0, permissions)
    except OSError as exc:  # the folder itself refuses (read-only, under a file, full): one named error
        raise InputError(exc.filename or out, (
            f"the export to {out} stopped: {exc.strerror or exc} (fix the folder and rerun: the rerun finishes "
            "what this one left, files of withdrawn recordings included)")) from None


def _enclosing_export(out: Path) -> Path | None:
    """The nearest folder above ``out`` that holds an export (its ``EXPORT_JSON``), or None."""
    for parent in out.parents:
        try:
            if (parent / EXPORT_JSON).is_file():
                return parent
        except OSError:  # an unreadable parent is not an export we can see
            continue
    return None


def _run(ws: Workspace, out: Path, fmt: str, purpose: str, options: ExportOptions, progress, t0: float,
         permissions: PermissionsTable) -> ExportSummary:
    with export_lock(out) as lock:
        old = read_state(out)
        if old is not None:
            if old.get("format") != fmt or old.get("purpose") != purpose:
                raise ConfigError(f"{out}: holds a {old.get('format')} export for purpose {old.get('purpose')}; "
                                  f"write a {fmt} export for {purpose} to another folder")
        elif any(p.name not in (EXPORT_STATE_DIR, LEGACY_LOCK_NAME) for p in out.iterdir()):
            raise ConfigError(f"{out}: not empty and not an export folder (no {EXPORT_JSON}); choose an empty folder")
        # a folder decided with a team's table is not rerun without one (its recordings would all go)
        changed, why = compare_permissions(out, old.get("permissions"), table_record(permissions)) if old else (False, "")

        events, head = Ledger(ws.ledger_path).snapshot()
        recordings = queries.recordings(ws)
        speech = dict(queries.speech_by_track(ws))  # which tracks carry speech: unused channels are left out
        verdicts = {v.recording_id: v for v in decide(recordings, events, purpose, permissions=permissions,
                                                      speech=speech)}
        ctx = Context(ws, purpose, events, head, recordings, verdicts, permissions=permissions, speech=speech)
        if changed:
            ctx.notes.append(why)
        if old is not None and (lock.interrupted or old.get("complete") is False):
            ctx.notes.append(f"resumed an interrupted export (last checkpoint {old.get('updated_at') or '?'}): "
                             f"finished recordings are kept, unlisted leftovers removed")
        if "[" in str(out):  # datasets globs the folder's own path with its patterns: [...] no longer matches it
            ctx.notes.append("the folder's path holds a glob character ([...]): datasets.load_dataset cannot read it "
                             "by path (it finds no data files); rename the folder, or push it to the Hub")
        exporter = FORMATS[fmt](out, options, ctx)
        state = State(old)
        exporter.state = state
        summary = ExportSummary(format=fmt, out=str(out), purpose=purpose, ledger_head=head,
                                permissions=table_record(permissions), recordings=len(recordings))
        table = {r["recording_id"]: r for r in queries.recording_table(ws)}
        stage_state = queries.stage_state(ws)
        stored_checks = (queries.check_results(ws) if any(r.layout is Layout.PAIRED for r in recordings) else {})
        stems = make_stems(r.recording_id for r in recordings)
        gold = GoldWords(workspace=ws)
        seen = queries.source_cache(ws)  # what the scan saw of each source file: a changed one is skipped
        config_key = canonical({"format": fmt, "format_version": KEY_FORMAT_VERSION, "exporter": exporter.version,
                                "options": exporter.resolved, "clock_rule": CLOCK_RULE})

        keys: dict[str, str] = {}
        kept_tracks: dict[str, list[int]] = {}  # recordings written without their unused tracks
        channels: dict[str, dict[str, Any]] = {}  # ... and what export.json says of them
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
            uses = track_uses(rec, speech.get(rid))
            kept = used_tracks(uses)
            if not rec.is_mono and len(kept) < rec.n_tracks:
                kept_tracks[rid], channels[rid] = kept, channels_entry(uses, kept)
            view = keep_tracks(rec, kept) if rid in kept_tracks else rec
            why = ("no used track (no speaker named, no speech on any)" if not kept else
                   exporter.skip_reason(view, channels.get(rid)) or missing_reason(rec) or changed_reason(rec, seen))
            if why and rid in kept_tracks:
                why += (f" (used: track {', '.join(channels[rid]['source_tracks']) or 'none'}; left out: track "
                        f"{', '.join(channels[rid]['left_out'])}, no speaker named and no speech)")
            if why:
                summary.skipped[rid] = why
                continue
            clock = recording_clock(rec, stored_checks.get(rid), int(row.get("sample_rate") or 0),
                                    float(row.get("duration_s") or 0.0))
            if clock.unknown:
                if not options.allow_unknown_clock:
                    summary.unknown_clock[rid] = unknown_clock_reason(clock)
                    continue
                summary.unknown_clock_included.append(rid)
            if not options.allow_no_text and not gold.has_text(rec):
                words_status = (stage_state.get(rid, {}).get("words") or ("", "", ""))[2]
                summary.skipped[rid] = (
                    NO_FITTING_TEXT if gold.unfit_lines(rec) and gold.unfit_lines(rec) == gold.dropped_lines(rec)
                    else NO_ALIGNED_TEXT if gold.dropped_lines(rec) else
                    {"ok": NO_WORDS_FOUND, "error": WORDS_FAILED}.get(words_status, NO_TEXT))
                summary.no_text.append(rid)
                continue
            stages = {s: list(v3) for s, v3 in sorted(stage_state.get(rid, {}).items())}
            keys[rid] = hashlib.sha256(canonical({
                "config": config_key, "recording": rec.to_dict(), "stem": stems[rid], "stages": stages,
                "gold": gold.file_hash(rec), "rights": {"license": v.license, "duties": list(v.duties)},
                "extra": exporter.key_extra(view, channels.get(rid)),
                **({"channels": channels[rid]} if rid in channels else {}),
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

        if old is None:  # a record from the start: a run killed before its first checkpoint is still resumable
            _write_state(out, state, ctx, exporter, summary, complete=False)
        last_checkpoint = time.monotonic()
        clocks: dict[str, dict[str, Any]] = {}  # per recording written: its clock entry (parquet outputs come later)
        sources: dict[str, str | None] = {}  # per recording written: where its words come from
        unfits: dict[str, int] = {}  # per recording written: transcript lines left out as not fitting the audio
        for i, (rec, res) in enumerate(_stored_results(ws, todo, len(recordings))):
            rid = rec.recording_id
            if progress:
                progress(i, len(todo), rid)
            try:
                if res is None:
                    raise InputError(rid, "no longer in the workspace")
                item = _make_item(res, rec, stems[rid], verdicts[rid], gold, keys[rid], kept_tracks.get(rid))
                item.channels = channels.get(rid)
                if rid in channels:
                    left = channels[rid]["left_out"]
                    item.notes.append(f"track {', '.join(left)} left out (unused: no speaker named and no speech); "
                                      f"channels written: source track {', '.join(channels[rid]['source_tracks'])}")
                clocks[rid] = item.clock_entry
                sources[rid] = item.words_source
                if item.unfit_lines:
                    unfits[rid] = item.unfit_lines
                outputs = exporter.add(item)
            except (InputError, OSError, TwotrackError) as exc:
                path = getattr(exc, "path", None) or (rec.tracks[0].path if rec.tracks else rid)
                problem = getattr(exc, "problem", None) or f"{type(exc).__name__}: {exc}"
                summary.errors.append(ErrorRecord(path=str(path), problem=problem, stage="export", recording_id=rid))
                continue
            summary.written += state.record(outputs, keys, verdicts, clocks, sources, channels, unfits)
            if time.monotonic() - last_checkpoint > CHECKPOINT_S:
                _write_state(out, state, ctx, exporter, summary, complete=False)
                last_checkpoint = time.monotonic()
        summary.written += state.record(exporter.finish(), keys, verdicts, clocks, sources, channels, unfits)
        if progress:
            progress(len(todo), len(todo), None)

        exporter.adopt(state)
        narrowed = sorted(rid for rid in channels if rid in state.recordings)
        if narrowed:
            ctx.notes.append(f"{len(narrowed)} recording(s) written without their unused channels (no speaker named, "
                             "no speech): export.json's `channels` of each says which source tracks were kept")
        if summary.written or summary.removed or old is None:
            state.extra["revision"] = int(state.extra.get("revision", 0)) + 1
        state.data.setdefault("created_at", now_iso())
        for m in exporter.manifests(state):
            state.files[m["path"]] = m
        # "removed" is what is gone at the end: a changed recording's files are dropped, then written again at
        # the same paths (a rerun after one file was lost reported all of the recording's files as removed)
        summary.removed = sorted({rel for rel in summary.removed if rel not in state.files and not (out / rel).exists()})
        _fill_summary(state, summary, ctx)  # the cards read the totals
        state.files["croissant.json"] = write_croissant(out, exporter, state, ctx, summary)
        state.files["README.md"] = write_card(out, exporter, state, ctx, summary)
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
    by_source: dict[str, int] = {}
    for r in state.recordings.values():
        src = r.get("words_source") or "none"
        by_source[src] = by_source.get(src, 0) + 1
    summary.words_sources = dict(sorted(by_source.items()))
    summary.unfit_lines = sum(int(r.get("unfit_lines", 0)) for r in state.recordings.values())
    summary.bytes = int(sum(f.get("bytes") or 0 for f in state.files.values()))
    summary.notes = list(dict.fromkeys(ctx.notes))


def _piece_seconds(p: dict[str, Any]) -> float:
    # every file counts: with --main-speaker both, a stretch of audio is in two examples and counts twice
    return float(p.get("duration", p.get("duration_s", 0.0)) or 0.0)


def clock_record(state: State, exporter: Exporter) -> dict[str, Any]:
    """export.json's ``clock``: whether unknown clocks were allowed, and the exported recordings whose
    paired files were written on unknown clocks (their own clocks; see each recording's ``clock``)."""
    return {"allow_unknown_clock": bool(exporter.options.allow_unknown_clock),
            "unknown_clock_included": sorted(rid for rid, r in state.recordings.items()
                                             if (r.get("clock") or {}).get("status") == "unknown")}


def _write_state(out: Path, state: State, ctx: Context, exporter: Exporter, summary: ExportSummary,
                 complete: bool) -> None:
    _fill_summary(state, summary, ctx)
    old = state.data
    body = {
        "format": exporter.name,
        "format_version": export_format_version(table_record(ctx.permissions)),
        "purpose": ctx.purpose,
        "ledger_head": ctx.ledger_head,
        "permissions": table_record(ctx.permissions),
        "twotrack_version": __version__,
        "config": {"export": exporter.recorded(), "scan": _scan_config(ctx.workspace)},
        "workspace": str(ctx.workspace.path),
        "complete": complete,
        "files": [state.files[k] for k in sorted(state.files)],
        "manifests": list(exporter.manifest_names),
        "recordings": {k: state.recordings[k] for k in sorted(state.recordings)},
        "skipped": {**{k: "blocked: " + "; ".join(v) for k, v in summary.blocked.items()}, **summary.skipped,
                    **summary.unknown_clock},
        "clock": clock_record(state, exporter),
        "summary": {"recordings": summary.exported, "pieces": summary.pieces, "hours": summary.hours,
                    "files": summary.files, "bytes": summary.bytes, "words_sources": summary.words_sources,
                    "unfit_lines": summary.unfit_lines},
        "state": state.extra,
        "notes": summary.notes,
    }
    if old.get("audits"):
        body["audits"] = old["audits"]
    resampled = resampling(state)
    if resampled:
        body["resampled"] = resampled
    # timestamps change only when the content does: a rerun with nothing new rewrites the same bytes
    same = {k: v for k, v in old.items() if k not in ("created_at", "updated_at")} == body
    body["created_at"] = old.get("created_at") or now_iso()
    body["updated_at"] = old.get("updated_at") if same and old.get("updated_at") else now_iso()
    ordered = {k: body[k] for k in ("format", "format_version", "purpose", "ledger_head", "twotrack_version",
                                    "created_at", "updated_at", "complete")}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    write_state(out, (json.dumps(ordered, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    state.data = ordered
