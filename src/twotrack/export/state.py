"""An export folder on disk: ``export.json`` (read, held in memory as ``State``), file entries, the lock.

An export folder is owned by one format and one purpose. Its own state lives in the hidden folder
``.twotrack/`` (``paths.EXPORT_STATE_DIR``), out of the way of the loaders pointed at the folder:
``.twotrack/export.json`` and, while an export runs, ``.twotrack/lock``. A folder written before that
(``export.json`` and ``.export.lock`` at the top) is read as it is and moved over by its next run.
``export.json`` records (the fields ``rights.audit`` reads, plus our own):

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
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import jsonfile
from ..errors import ConfigError, InputError
from ..paths import (
    EXPORT_FORMAT_VERSION, EXPORT_JSON, EXPORT_STATE_DIR, LEGACY_EXPORT_JSON, export_record, newer_export,
)
from ..spreadsheet import spreadsheet_safe

LOCK_NAME = f"{EXPORT_STATE_DIR}/lock"
_UMASK = os.umask(0o022)
os.umask(_UMASK)
#: The lock of folders written before the state folder existed (removed when found free).
LEGACY_LOCK_NAME = ".export.lock"
FORMAT_VERSION = EXPORT_FORMAT_VERSION
#: The export format in every recording's key: the files' layout, which format 2 (a record naming the team's
#: permissions table, ``paths.EXPORT_FORMAT_VERSION``) did not change, so the keys stay as they were.
KEY_FORMAT_VERSION = 1


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
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; the folder's files are meant to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def csv_bytes(header, rows) -> bytes:
    """A CSV file's bytes: the header, then the rows (None as an empty cell), ``\\n`` line ends. A text cell
    from a manifest, a ledger or a transcript (an id, a speaker, words) that starts like a formula is written
    with a leading ``'`` (``spreadsheet_safe``): the CSV is opened in spreadsheets, which would run it."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([["" if v is None else spreadsheet_safe(v) for v in row] for row in rows])
    return buf.getvalue().encode("utf-8")


def file_entry(out: Path, rel: str, recording_ids: Iterable[str], ids: Iterable[str] = ()) -> dict[str, Any]:
    """The export.json record of one written file (hash read back from disk)."""
    p = out / rel
    entry: dict[str, Any] = {"path": rel, "sha256": sha256_file(p), "bytes": p.stat().st_size,
                             "recording_ids": sorted(set(recording_ids))}
    ids = sorted(set(ids))
    if ids:
        entry["ids"] = ids
    return entry


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass
class Lock:
    """The held lock of an export folder. ``interrupted``: the lock file was there before this run took
    it, so the previous run on this folder stopped without finishing (killed, or the machine went down)."""

    path: Path
    interrupted: bool = False


def _flock(fh, out: Path) -> None:
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise ConfigError(f"{out}: another export is writing this folder") from None


def _drop_legacy_lock(out: Path) -> None:
    """Remove the top-level lock an older twotrack left in every folder, unless an export holds it."""
    legacy = out / LEGACY_LOCK_NAME
    if legacy.is_file():
        with open(legacy, "a+b") as fh:
            _flock(fh, out)
            legacy.unlink(missing_ok=True)


@contextlib.contextmanager
def export_lock(out: Path) -> Iterator[Lock]:
    """One export at a time per folder (a second one fails at once instead of mixing files). The lock
    file is removed when the export ends, so a finished folder holds none; one found on entry marks an
    interrupted run (``Lock.interrupted``)."""
    path = out / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        existed = path.exists()
        fh = open(path, "a+b")
        _flock(fh, out)
        try:  # the file may have been removed by the run that held it: lock the one on disk
            same = os.fstat(fh.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    try:
        _drop_legacy_lock(out)
        yield Lock(path, interrupted=existed)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still held: a run waiting on this inode retries on the new file
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty: a refused folder is left as it was
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


@dataclass
class Output:
    """What one recording produced, once it is on disk for good."""

    recording_id: str
    pieces: list[dict[str, Any]]
    files: list[dict[str, Any]]  # file entries (see file_entry)
    notes: list[str] = field(default_factory=list)


class State:
    def __init__(self, data: dict[str, Any] | None):
        data = data or {}
        self.data = data
        self.files: dict[str, dict[str, Any]] = {f["path"]: f for f in data.get("files", []) if "path" in f}
        self.recordings: dict[str, dict[str, Any]] = dict(data.get("recordings") or {})
        self.extra: dict[str, Any] = dict(data.get("state") or {})

    def record(self, outputs: Iterable[Output], keys: dict[str, str], verdicts: dict[str, Any],
               clocks: dict[str, dict[str, Any]] | None = None,
               words_sources: dict[str, str | None] | None = None,
               channels: dict[str, dict[str, Any]] | None = None,
               unfit_lines: dict[str, int] | None = None) -> list[str]:
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
            if words_sources and o.recording_id in words_sources:
                self.recordings[o.recording_id]["words_source"] = words_sources[o.recording_id]
            if channels and o.recording_id in channels:  # written without its unused tracks
                self.recordings[o.recording_id]["channels"] = channels[o.recording_id]
            if unfit_lines and o.recording_id in unfit_lines:  # transcript lines left out: text not what was said
                self.recordings[o.recording_id]["unfit_lines"] = unfit_lines[o.recording_id]
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
    """The export record of ``out`` (``.twotrack/export.json``, or a legacy top-level ``export.json``),
    None when the folder holds none."""
    path = export_record(out)
    if not path.exists():
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the export record: {exc}") from None
    try:  # numbers not strict: the record is written with json.dumps's default, which writes NaN
        data = jsonfile.loads(raw, path, strict_numbers=False)
    except jsonfile.JSONFileError as exc:
        raise InputError(path, f"cannot read the export record: {exc.reason}") from None
    if not isinstance(data, dict):
        raise InputError(path, "export.json is not a JSON object")
    newer = newer_export(data)
    if newer:  # its layout is not ours to rewrite: rerunning would drop what the newer exporter wrote
        raise ConfigError(f"{out}: export folder {newer}")
    return data


def write_state(out: Path, data: bytes) -> None:
    """Write the export record to ``.twotrack/export.json``; a legacy top-level ``export.json`` goes once
    the new one is in place (the folder is then a current export folder)."""
    atomic_write(out / EXPORT_JSON, data)
    legacy = out / LEGACY_EXPORT_JSON
    if legacy.is_file():
        legacy.unlink()


def exported_licenses(state: State) -> list[str]:
    """The licenses of the exported recordings as their verdicts read them (SPDX spelling: ``cc-by-4.0`` in a
    manifest is ``CC-BY-4.0``, a deprecated ``GPL-2.0`` is ``GPL-2.0-only``), what the cards must name."""
    return sorted({lic for r in state.recordings.values() if (lic := r.get("license"))})


def resampling(state: State) -> list[dict[str, Any]]:
    """Which exported recordings were resampled from which rate: ``[{"from_hz", "to_hz", "upsampled",
    "recordings"}]`` from the pieces' ``source_rates`` (the tracks' rates at the source) and ``sample_rate``.
    Upsampled audio (8 kHz telephone written at 24 kHz) holds nothing above the source's Nyquist frequency."""
    groups: dict[tuple[int, int], set[str]] = {}
    for rid, rec in state.recordings.items():
        for p in rec.get("pieces", []):
            to = p.get("sample_rate")
            for src in p.get("source_rates") or ():
                if to and src and int(src) != int(to):
                    groups.setdefault((int(src), int(to)), set()).add(rid)
    return [{"from_hz": a, "to_hz": b, "upsampled": b > a, "recordings": sorted(ids)}
            for (a, b), ids in sorted(groups.items())]
