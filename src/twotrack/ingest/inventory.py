"""Per-file inventory of what the header probes find: the library side of ``twotrack info``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..config import Config
from ..model import AudioInfo, track_name
from .discover import scan
from .extensions import MANIFEST_EXTENSIONS
from .sources import probe_safely

#: Keys of every inventory row, in display order.
FIELDS = ("path", "recording_id", "layout", "format", "codec", "channels", "sample_rate", "duration_s",
          "n_samples", "tracks", "repairs", "error")


def display_path(path: str) -> str:
    """Relative to the working folder when inside it, else absolute."""
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    return rel if not rel.startswith("..") else path


def _row(path: str, info: AudioInfo | None = None, *, recording_id: str | None = None, layout: str | None = None,
         tracks: list[str] | None = None, error: str | None = None) -> dict[str, Any]:
    row = dict.fromkeys(FIELDS)
    row.update(path=display_path(path), recording_id=recording_id, layout=layout, tracks=tracks or [],
               repairs=[], error=error)
    if info is not None:
        row.update(format=info.format, codec=info.codec, channels=info.channels, sample_rate=info.sample_rate,
                   duration_s=round(info.duration_s, 6), n_samples=info.n_samples, repairs=list(info.repairs))
    return row


def describe(paths: Iterable[str | Path], config: Config | None = None) -> list[dict[str, Any]]:
    """One row per audio file (keys ``FIELDS``; ``error`` None when the file is fine).

    A file argument is probed as it is; folders and manifests go through discovery (pairing, ids,
    manifest checks), so a lone half of a pair or a bad manifest row shows as an error row too.
    No audio payload is decoded and nothing is hashed.
    """
    rows: list[dict[str, Any]] = []
    for raw in paths:
        path = str(raw)
        is_manifest = os.path.isfile(path) and Path(path).suffix.lower() in MANIFEST_EXTENSIONS
        if os.path.isfile(path) and not is_manifest:
            info, err = probe_safely(os.path.abspath(path))
            if err:
                rows.append(_row(err.path, error=err.problem))
            else:
                layout = "mono" if info.channels == 1 else "multichannel"
                rows.append(_row(info.path, info, recording_id=Path(path).stem, layout=layout,
                                 tracks=[track_name(c) for c in range(info.channels)]))
            continue
        found = scan([path], config, hash_files=False)
        group: list[dict[str, Any]] = []
        for rec in found.recordings:
            for src in rec.source_paths:
                names = [track_name(i) for i, t in enumerate(rec.tracks) if t.path == src]
                group.append(_row(src, found.infos.get(src), recording_id=rec.recording_id,
                                  layout=rec.layout.value, tracks=names))
        for err in found.errors:
            group.append(_row(err.path, found.infos.get(err.path), recording_id=err.recording_id, error=err.problem))
        rows.extend(sorted(group, key=lambda r: (r["path"], r["error"] or "")))
    return rows
