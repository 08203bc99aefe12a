"""Withdrawal reaches exports: which files of an earlier export must go, and removing them.

An export folder holds ``.twotrack/export.json`` (written by the export stage; ``export.json`` at the top in
folders written before the state folder existed: ``paths.export_record`` finds either). The fields read here:

```
{
  "purpose": "commercial-training",            # a key of verdicts.PURPOSES
  "ledger_head": "<64 hex>",                   # Ledger.head when the export was made ("000..0" if empty)
  "files": [                                   # every file written (paths relative to the export folder)
    {"path": "audio/x.wav", "sha256": "<64 hex>", "recording_ids": ["clean/x"],
     "ids": ["x_0001"]}                        # optional: other ids manifests use for this file's lines
  ],
  "manifests": ["train.jsonl", "lhotse/supervisions.jsonl.gz"],  # JSONL(.gz) or CSV files to rewrite (or
                                                                  # objects with a "path" key)
  "permissions": {"path": "/abs/team-permissions.json",          # optional: the table that decided (path None:
                  "sha256": "<64 hex>", "builtin_sha256": "<64 hex>"}   # the packaged table alone)
}
```

A file must be removed when any recording it holds is not allowed for the export's purpose NOW (after
later withdrawals, revocations or expiries, or a license that changed), or when the recording is no longer
known to the workspace (rights cannot be shown). Files named in ``manifests`` are rewritten, never removed:
a manifest line is dropped when its ``recording_id`` or ``id`` names a removed recording or an ``ids``
entry of a removed file, or when any string in it is a removed file's path (as written in export.json,
relative to the manifest's folder, or absolute).

An export decided with a team's permissions table must be audited with one (``--permissions``): without it,
its ``LicenseRef-`` recordings would be listed for removal, so that is refused. The report says when the
table (or the packaged one) is not the one the export recorded; the removals follow the table given now.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping

from .. import jsonfile
from ..errors import ConfigError, InputError
from ..model import Record, Recording
from ..paths import EXPORT_JSON, export_record, newer_export
from ..spreadsheet import spreadsheet_plain  # a formula-like id was written with a leading '
from .consent import utc_now
from .errors import LedgerError
from .ledger import Ledger
from .licenses import Permissions, table_record
from .verdicts import decide, get_purpose


@dataclass(frozen=True)
class Removal(Record):
    """One file to remove and why."""

    path: str  # as written in export.json (relative to the export folder)
    recording_ids: tuple[str, ...]  # the recordings in it that are now blocked
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class AuditReport(Record):
    export_dir: str
    purpose: str
    export_head: str
    ledger_head: str
    new_events: int  # events appended to the ledger since the export was made
    removals: tuple[Removal, ...]
    files_checked: int
    export_permissions: dict | None = None  # the table export.json records (None: not recorded, older export)
    permissions: dict | None = None  # the table this audit judged with (``PermissionsTable.record()``)
    permissions_changed: bool = False  # the team's table or the packaged one differs from the recorded one
    permissions_note: str = ""  # one line saying which table decided, and what changed


def read_export(export_dir: str | os.PathLike) -> dict:
    path = export_record(export_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no export.json: not an export folder, or written by an older twotrack") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    # numbers not strict: the record is written with json.dumps's default (NaN); a JSONFileError names the file
    data = jsonfile.loads(raw, path, strict_numbers=False)
    problems = []
    if not isinstance(data, dict):
        raise InputError(path, "export.json is not a JSON object")
    if not isinstance(data.get("purpose"), str):
        problems.append("'purpose' is missing")
    head = data.get("ledger_head")
    if not (isinstance(head, str) and len(head) == 64):
        problems.append("'ledger_head' is missing or not a 64-hex hash")
    files = data.get("files")
    if not isinstance(files, list):
        problems.append("'files' is missing or not a list")
    else:
        for i, f in enumerate(files):
            if not (isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("recording_ids"), list)):
                problems.append(f"files[{i}] needs 'path' and a 'recording_ids' list")
    if problems:
        raise InputError(path, "; ".join(problems))
    return data


def _short(rec: dict) -> str:
    return "the built-in table alone" if not rec.get("path") else f"{rec['path']} (sha256 {str(rec.get('sha256'))[:12]})"


def compare_permissions(export_dir, recorded, current: dict) -> tuple[bool, str]:
    """(changed, note) of the table an export recorded against the one given now. ConfigError when the
    export recorded a team's table and none is given (its recordings would be judged by licenses it does
    not know, and their files listed for removal)."""
    recorded = recorded if isinstance(recorded, dict) else {}
    if recorded.get("path") and current.get("path") is None:
        raise ConfigError(
            f"{export_dir}: decided with the permissions table {_short(recorded)}; give it again with "
            "--permissions FILE (that table, or the one that replaces it): judged by the built-in table alone, "
            "the recordings it allowed would be listed for removal")
    notes = []
    team = recorded.get("sha256") != current.get("sha256")
    if team:
        notes.append(f"permissions table changed since the export: it was decided by {_short(recorded)}, "
                     f"this run judges by {_short(current)}")
    builtin = bool(recorded.get("builtin_sha256")) and recorded["builtin_sha256"] != current.get("builtin_sha256")
    if builtin:
        notes.append("the built-in permissions table changed since the export (another twotrack version)")
    if notes:
        return True, "; ".join(notes) + "; verdicts follow the table given now"
    return False, f"licenses judged by {_short(current)}, as when the export was made" if current.get("path") else ""


def _manifest_paths(data: dict) -> list[str]:
    out = []
    for m in data.get("manifests") or []:
        out.append(m["path"] if isinstance(m, dict) else str(m))
    return out


def audit_report(
    export_dir: str | os.PathLike,
    ledger: Ledger | str | os.PathLike,
    recordings: Iterable[Recording],
    *,
    at: str | datetime | None = None,
    permissions: Mapping[str, Permissions] | None = None,
    speech: Mapping[str, Mapping[int, float]] | None = None,
) -> AuditReport:
    """Check an export against the ledger and recordings as they are now (or at ``at``). ``speech``: the
    workspace's speech seconds per track (``verdicts.decide``: unused channels need no consent).

    Raises LedgerError when the ledger fails verification or does not contain the export's head (a
    different or rewritten ledger cannot vouch for the export)."""
    led = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    data = read_export(export_dir)
    purpose = get_purpose(data["purpose"])
    current = table_record(permissions)
    changed, note = compare_permissions(export_dir, data.get("permissions"), current)
    export_head = data["ledger_head"]
    try:
        events, head = led.snapshot(expected_head=export_head)
    except LedgerError as exc:
        raise LedgerError(led.path, f"cannot audit {export_dir}: {exc.problem}") from None
    hashes = [e.hash for e in events]
    new_events = len(events) - (hashes.index(export_head) + 1 if export_head in hashes else 0)
    manifests = set(_manifest_paths(data))
    files = [f for f in data["files"] if f["path"] not in manifests]
    wanted = {rid for f in files for rid in f["recording_ids"]}
    by_id = {r.recording_id: r for r in recordings if r.recording_id in wanted}
    verdicts = {v.recording_id: v for v in decide(by_id.values(), events, purpose, at=at, permissions=permissions,
                                                         speech=speech)}
    removals = []
    for f in files:
        blocked, reasons = [], []
        for rid in f["recording_ids"]:
            if rid not in by_id:
                blocked.append(rid)
                reasons.append(f"{rid}: not in the workspace any more, so its rights cannot be shown")
            elif not verdicts[rid].allowed:
                blocked.append(rid)
                reasons.extend(f"{rid}: {r.message}" for r in verdicts[rid].reasons)
        if blocked:
            removals.append(Removal(f["path"], tuple(blocked), tuple(dict.fromkeys(reasons))))
    return AuditReport(
        export_dir=str(export_dir), purpose=purpose.name, export_head=export_head, ledger_head=head,
        new_events=new_events, removals=tuple(removals), files_checked=len(files),
        export_permissions=data.get("permissions") if isinstance(data.get("permissions"), dict) else None,
        permissions=current, permissions_changed=changed, permissions_note=note,
    )


def audit_export(
    export_dir: str | os.PathLike,
    ledger: Ledger | str | os.PathLike,
    recordings: Iterable[Recording],
    *,
    at: str | datetime | None = None,
    permissions: Mapping[str, Permissions] | None = None,
    speech: Mapping[str, Mapping[int, float]] | None = None,
) -> list[Removal]:
    """The files of ``export_dir`` that must be removed (see ``audit_report``)."""
    return list(audit_report(export_dir, ledger, recordings, at=at, permissions=permissions,
                             speech=speech).removals)


# --------------------------------------------------------------------------------------------
# Applying an audit
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyResult(Record):
    removed: tuple[str, ...]  # files deleted
    missing: tuple[str, ...]  # files listed for removal that were already gone
    manifest_lines_dropped: dict[str, int]


def _inside(root: Path, rel: str) -> Path:
    p = (root / rel).resolve()
    if not p.is_relative_to(root.resolve()):
        raise InputError(root / rel, "path in export.json points outside the export folder; refusing to touch it")
    return p


def _strings(obj) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _hit(obj, here: Path, drop_ids: set[str], drop_paths: set[str]) -> bool:
    if isinstance(obj, dict) and (obj.get("recording_id") in drop_ids or obj.get("id") in drop_ids):
        return True
    for s in _strings(obj):
        cand = Path(s) if os.path.isabs(s) else (here / s)
        if s in drop_paths or str(cand.resolve()) in drop_paths:
            return True
    return False


def _filtered_csv(path: Path, text: str, drop_ids: set[str], drop_paths: set[str]) -> tuple[bytes | None, int]:
    """A CSV manifest (a header, then a row per item, e.g. the ``metadata.csv`` of an audio folder)."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(path, f"not a readable CSV manifest ({exc}); manifest left unchanged") from None
    if not rows:
        return None, 0
    header, keep = rows[0], [rows[0]]
    for row in rows[1:]:
        if not _hit(dict(zip(header, map(spreadsheet_plain, row))), path.parent, drop_ids, drop_paths):
            keep.append(row)
    dropped = len(rows) - len(keep)
    if not dropped:
        return None, 0
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(keep)
    return buf.getvalue().encode("utf-8"), dropped


def _manifest_text(path: Path) -> str:
    """A manifest's text (gunzipped for ``.gz``); InputError naming it when it cannot be read as such."""
    raw = path.read_bytes()
    try:
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
        return data.decode("utf-8")
    except (OSError, EOFError) as exc:  # BadGzipFile, a truncated stream
        raise InputError(path, f"not a readable gzip file ({exc}); manifest left unchanged") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start}); manifest left unchanged") from None


def _filtered_manifest(root: Path, rel: str, drop_ids: set[str], drop_paths: set[str]
                       ) -> tuple[Path, bytes | None, int]:
    """(path, its new bytes or None when nothing is dropped, lines dropped) of one manifest; nothing is
    written here, so a manifest that cannot be read stops the audit before any file is removed."""
    path = _inside(root, rel)
    if not path.exists():
        return path, None, 0
    text = _manifest_text(path)
    if path.suffix == ".csv":
        return (path, *_filtered_csv(path, text, drop_ids, drop_paths))
    gz = path.suffix == ".gz"
    here = path.parent
    keep, dropped = [], 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = jsonfile.loads(line, path, lineno, strict_numbers=False)
        except jsonfile.JSONFileError as exc:
            raise InputError(path, f"line {lineno}: {exc.reason}; manifest left unchanged") from None
        if _hit(obj, here, drop_ids, drop_paths):
            dropped += 1
        else:
            keep.append(line)
    if not dropped:
        return path, None, 0
    out = ("\n".join(keep) + ("\n" if keep else "")).encode("utf-8")
    # mtime=0 keeps the gzip bytes a function of the content (idempotent re-runs)
    return path, gzip.compress(out, mtime=0) if gz else out, dropped


#: The Croissant card every export writes: its FileObjects carry each file's sha256.
CROISSANT = "croissant.json"


def _read_croissant(root: Path) -> dict | None:
    """The export's Croissant card (None without one); InputError naming it when it is not a JSON object
    whose ``distribution`` is a list (read before any file is removed)."""
    path = root / CROISSANT
    if not path.exists():
        return None
    try:
        card = jsonfile.loads(path.read_bytes(), path, strict_numbers=False)
    except jsonfile.JSONFileError as exc:
        raise InputError(path, f"not a JSON Croissant card ({exc.reason}); rerun the export to rewrite it") from None
    if not isinstance(card, dict) or not isinstance(card.get("distribution", []), list):
        raise InputError(path, "not a Croissant card (a JSON object with a distribution list); rerun the export "
                               "to rewrite it")
    return card


def _patch_croissant(root: Path, card: dict | None, removed: set[str], hashes: Mapping[str, str]
                     ) -> tuple[str, int] | None:
    """Keep the card loadable after removals: drop the FileObjects of removed files and give rewritten
    manifests their new sha256 (mlcroissant refuses a file whose hash differs). Record sets read the manifests
    and file sets, so their records follow. Returns the card's new (sha256, bytes), None when unchanged."""
    if card is None:
        return None
    path = root / CROISSANT
    nodes = []
    for node in card.get("distribution") or []:
        url = node.get("contentUrl") if isinstance(node, dict) and node.get("@type") == "cr:FileObject" else None
        if url in removed:
            continue
        if url in hashes and node.get("sha256") != hashes[url]:
            node = {**node, "sha256": hashes[url]}
        nodes.append(node)
    if nodes == card.get("distribution"):
        return None
    card["distribution"] = nodes
    raw = (json.dumps(card, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    _atomic_write(path, raw)
    return hashlib.sha256(raw).hexdigest(), len(raw)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def apply_audit(
    export_dir: str | os.PathLike, removals: Iterable[Removal], *, ledger_head: str | None = None,
    permissions: dict | None = None,
) -> ApplyResult:
    """Delete the files named by an audit, drop their lines from the manifests, and update export.json
    (removed files leave ``files``, rewritten manifests get their new sha256, and an ``audits`` entry
    records what was removed, when, under which ledger head and, given, which permissions table
    (``AuditReport.permissions``))."""
    try:
        return _apply(Path(export_dir), removals, ledger_head, permissions)
    except OSError as exc:  # a file the folder will not let go (read-only, a folder in its place): named
        raise InputError(exc.filename or export_dir, (
            f"audit --apply stopped: {exc.strerror or exc} (fix it and rerun: files already removed are "
            "reported as gone, the rest removed)")) from None


def _apply(root: Path, removals: Iterable[Removal], ledger_head: str | None, permissions: dict | None
           ) -> ApplyResult:
    record = export_record(root)
    data = read_export(root)
    newer = newer_export(data)
    if newer:  # removing files and rewriting manifests of a layout this twotrack does not know: refused
        raise InputError(record, f"audit --apply refused: {newer}")
    removals = list(removals)
    remove_paths = {r.path for r in removals}
    manifests = _manifest_paths(data)
    if remove_paths & set(manifests):
        raise InputError(record, "an audit may not remove a manifest; manifests are rewritten")
    blocked_ids = {rid for r in removals for rid in r.recording_ids}
    drop_ids = set(blocked_ids)
    for f in data["files"]:
        if f["path"] in remove_paths:
            drop_ids.update(str(x) for x in f.get("ids") or [])
    drop_paths = set(remove_paths)
    for rel in remove_paths:
        drop_paths.add(str(_inside(root, rel)))
    # read and check every manifest and the card first: one that cannot be read stops the audit here, before
    # any file is removed (the export stays as it was, not half pruned)
    rewrites = {rel: _filtered_manifest(root, rel, drop_ids, drop_paths) for rel in manifests}
    croissant = _read_croissant(root)
    removed, missing = [], []
    for rel in sorted(remove_paths):
        p = _inside(root, rel)
        if p.exists():
            p.unlink()
            removed.append(rel)
        else:
            missing.append(rel)
    for path, new, _ in rewrites.values():
        if new is not None:
            _atomic_write(path, new)
    dropped = {rel: n for rel, (_, _, n) in rewrites.items()}
    files = []
    for f in data["files"]:
        if f["path"] in remove_paths:
            continue
        if f["path"] in manifests and dropped.get(f["path"]):
            p = _inside(root, f["path"])
            if p.exists():
                f = {**f, "sha256": _sha256(p), "bytes": p.stat().st_size}
        files.append(f)
    card = _patch_croissant(root, croissant, remove_paths, {f["path"]: f["sha256"] for f in files})
    if card is not None:
        files = [{**f, "sha256": card[0], "bytes": card[1]} if f["path"] == CROISSANT else f for f in files]
    data["files"] = files
    entry = {
        "applied_at": utc_now(),
        "ledger_head": ledger_head,
        "removed": sorted(remove_paths),
        "recording_ids": sorted(blocked_ids),
    }
    if permissions is not None:
        entry["permissions"] = permissions
    data.setdefault("audits", []).append(entry)
    _atomic_write(record, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return ApplyResult(tuple(removed), tuple(missing), dropped)


__all__ = [
    "ApplyResult", "AuditReport", "EXPORT_JSON", "Removal", "apply_audit", "audit_export",
    "audit_report", "compare_permissions", "read_export",
]
