"""Fixed names of files twotrack writes, defined once for the modules that write and the ones that read them.

A workspace folder keeps its consent ledger at ``LEDGER_RELPATH`` (``rights.ledger`` appends to it,
``store.Workspace.ledger_path`` points at it); an export folder records itself in ``EXPORT_JSON``
(``export.state`` writes it, ``rights.audit`` reads and amends it), kept in the hidden folder
``EXPORT_STATE_DIR`` so that a data loader pointed at the folder (``datasets.load_dataset(folder)``) never
takes it for data; folders written before that keep it at ``LEGACY_EXPORT_JSON`` until their next export
run moves it (``export_record`` finds either). A leaf module, so that the store, the rights and the export
packages can all import it without importing each other.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: The database file that makes a folder a workspace (``store.Workspace``).
WORKSPACE_DB = "workspace.duckdb"
#: The consent ledger, relative to the workspace folder.
LEDGER_RELPATH = Path("rights") / "ledger.jsonl"
#: The hidden folder of an export folder's own state (its record, the lock of a running export).
EXPORT_STATE_DIR = ".twotrack"
#: The record of an export folder: format, purpose, ledger head, files and recordings (docs/export.md).
EXPORT_JSON = f"{EXPORT_STATE_DIR}/export.json"
#: Where export folders written before the state folder existed keep their record.
LEGACY_EXPORT_JSON = "export.json"
#: The layout version of an export folder (``format_version`` in its record): the highest this twotrack writes
#: and reads. A folder recording a higher one was written by a newer twotrack: this one refuses to rewrite or
#: amend it (``newer_export``). 1: the files and export.json as first written. 2: export.json's
#: ``permissions`` names a team's permissions table that decided the verdicts; a twotrack that ignores the
#: record judges with its built-in table, so its ``rights audit --apply`` deleted what the table allowed.
#: A folder gets the lowest version that describes it (``export_format_version``): one judged by the
#: built-in table alone stays 1, which every twotrack reads the same way.
EXPORT_FORMAT_VERSION = 2


def export_format_version(permissions: dict | None) -> int:
    """The ``format_version`` of an export whose record's ``permissions`` is ``permissions``: 2 when a team's
    table (a file, or one given in code) decided, else 1."""
    return 2 if permissions and permissions.get("path") is not None else 1


def newer_export(record: dict) -> str | None:
    """Why this twotrack must not rewrite or amend the export folder whose record is ``record`` (a newer
    twotrack wrote it), or None. A record without ``format_version`` is an old one (version 1)."""
    version = record.get("format_version", 1)
    if isinstance(version, int) and not isinstance(version, bool) and version <= EXPORT_FORMAT_VERSION:
        return None
    return (f"written by a newer twotrack (export format version {version!r}; this twotrack writes version "
            f"{EXPORT_FORMAT_VERSION}): use that twotrack, or export to a new folder")


def export_record(folder: str | Path) -> Path:
    """The export record of ``folder``: ``EXPORT_JSON``, or ``LEGACY_EXPORT_JSON`` in a folder written
    before the state folder existed (and not yet rerun); ``EXPORT_JSON`` when neither exists."""
    folder = Path(folder)
    new = folder / EXPORT_JSON
    if new.exists():
        return new
    old = folder / LEGACY_EXPORT_JSON
    return old if old.is_file() else new


def written_by_twotrack(folder: str | Path) -> bool:
    """Whether ``folder`` is one twotrack writes (an export folder, a workspace): folder discovery does not
    walk into one, so exported audio is never scanned again as new recordings."""
    folder = Path(folder)
    try:
        return (folder / EXPORT_JSON).is_file() or (folder / WORKSPACE_DB).is_file()
    except OSError:  # an unreadable folder is not ours: walking it names the problem (permission denied)
        return False


def special_file(path: str) -> str | None:
    """The problem with an existing path that is neither a regular file nor a folder (a FIFO, a device, a
    socket, maybe behind a symlink), or None. Such a file is never opened: a FIFO blocks its reader until a
    writer comes, and /dev/zero or /dev/urandom never end."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    return f"not a regular file but {kind}, which is never read (it could block or never end)"
