"""Source files that were scanned but are no longer there (deleted or moved since), or no longer the same.

The workspace keeps a recording's results when its file disappears (a folder walk simply no longer finds
it), so nothing would say so until an export tried to read it. These functions over stored ``Recording``
values (or (recording_id, path) pairs) let the next scan of the folder, ``stats`` and the exports name it
instead: one stat per local source file; URLs are not checked (a remote store is read when it is used).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..model import ErrorRecord, Recording
from . import remote

PROBLEM = ("source file missing (deleted or moved since it was scanned): the workspace keeps its results, "
           "exports skip the recording; restore the file, or rescan where it went")


def missing_paths(recording: Recording) -> list[str]:
    """The recording's local source files that do not exist now (each once, in track order)."""
    out: list[str] = []
    for t in recording.tracks:
        if not t.path or remote.is_url(t.path):
            continue
        path = remote.local_path(t.path)
        if path not in out and not os.path.exists(path):
            out.append(path)
    return out


def missing_sources(recordings: Iterable[Recording]) -> dict[str, list[str]]:
    """recording_id -> its missing source files, for every recording that has any."""
    return {r.recording_id: gone for r in recordings if (gone := missing_paths(r))}


def missing_reason(recording: Recording) -> str | None:
    """Why an export skips the recording (its missing files), or None when every source is there."""
    gone = missing_paths(recording)
    return f"source file missing: {', '.join(gone)} (deleted or moved since the scan)" if gone else None


def changed_paths(recording: Recording, seen: Mapping[str, Any]) -> list[str]:
    """The recording's local source files whose content is no longer what the scan read: ``seen`` is the
    workspace's source cache (path -> a record with ``size_bytes``, ``mtime_ns``, ``sha256``). A file with
    the size and mtime the scan saw is taken as unchanged; one with the size but another mtime (touched,
    copied) is re-hashed; a missing or never-seen file is left to ``missing_paths`` and the scan."""
    from .hashing import sha256_file

    out: list[str] = []
    for t in recording.tracks:
        if not t.path or remote.is_url(t.path) or t.path in out:
            continue
        old = seen.get(t.path)
        if old is None:
            continue
        try:
            st = os.stat(remote.local_path(t.path))
        except OSError:
            continue
        if (st.st_size, st.st_mtime_ns) == (old.size_bytes, old.mtime_ns):
            continue
        if st.st_size == old.size_bytes and sha256_file(remote.local_path(t.path)) == (t.sha256 or old.sha256):
            continue
        out.append(t.path)
    return out


def changed_reason(recording: Recording, seen: Mapping[str, Any]) -> str | None:
    """Why an export skips a recording whose source files changed since the scan (its stored results,
    times and duration describe the old content), or None."""
    changed = changed_paths(recording, seen)
    return (f"source file changed since the scan: {', '.join(changed)} (the stored results describe its old "
            "content; scan it again to export it)") if changed else None


def missing_errors(tracks: Iterable[tuple[str, str]], known: Iterable[ErrorRecord] = ()) -> list[ErrorRecord]:
    """One discovery error per missing local file among ``tracks`` ((recording_id, path) pairs: a scan's
    stored tracks under its paths), except files or recordings an error in ``known`` already names (a
    manifest row whose file is gone says so itself)."""
    known = list(known)
    named = {e.path for e in known}
    named_ids = {e.recording_id for e in known if e.recording_id}
    out = []
    for rid, path in tracks:
        if rid in named_ids or not path or remote.is_url(path):
            continue
        local = remote.local_path(path)
        if local not in named and not os.path.exists(local):
            out.append(ErrorRecord(path=local, problem=PROBLEM, stage="ingest", recording_id=rid))
            named.add(local)
    return out
