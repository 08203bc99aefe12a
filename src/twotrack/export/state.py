"""An export folder on disk: ``export.json`` (read, held in memory as ``State``), file entries, the lock.

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
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..paths import EXPORT_JSON

LOCK_NAME = ".export.lock"
FORMAT_VERSION = 1


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
               words_sources: dict[str, str | None] | None = None) -> list[str]:
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
