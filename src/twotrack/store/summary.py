"""Corpus tables over a workspace: counts from SQL, turn-taking statistics from ``turns.stats``.

``workspace_stats`` is the library call behind ``twotrack stats``; its dict is the stable JSON of
``twotrack stats --json`` (docs/cli.md).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from .workspace import Workspace


def _turn_stats(ws: Workspace, recordings: list[dict[str, Any]], group_by: str | None) -> dict[str, Any] | None:
    try:
        stats = importlib.import_module("twotrack.turns.stats")
    except ImportError:
        return None
    tables = ws.event_tables()
    speech = ws.speech_seconds()
    speakers: dict[str, dict[int, str | None]] = {}
    for row in ws.query("SELECT recording_id, track, speaker_id FROM tracks ORDER BY recording_id, track"):
        speakers.setdefault(row["recording_id"], {})[row["track"]] = row["speaker_id"]
    rows = {r["recording_id"]: r for r in recordings}
    inputs = []
    groups: dict[str, str] = {}
    for rid, table in tables.items():
        row = rows.get(rid)
        if row is None or row["duration_s"] is None:
            continue
        n_tracks = int(row["n_tracks"])
        sp = speech.get(rid)
        spk = speakers.get(rid, {})
        inputs.append(stats.RecordingEvents(
            recording_id=rid, duration_s=float(row["duration_s"]), events=table, n_tracks=n_tracks,
            speech_s=sp if sp is not None and len(sp) == n_tracks else None,
            speakers=tuple(spk.get(t) for t in range(n_tracks)),
        ))
        if group_by:
            tags = json.loads(row["tags"] or "{}")
            if group_by in tags:
                groups[rid] = tags[group_by]
    return stats.corpus_stats(inputs, groups=groups if groups else None, by_speaker=True)


def workspace_stats(ws: Workspace, group_by: str | None = "register") -> dict[str, Any]:
    """Hours, recordings, speakers, isolation verdicts, errors, and the turn-taking statistics.

    ``group_by``: a tag key (``register``, ``topic``, ...) whose values make the ``by_group`` breakdown
    of the turn statistics (only recordings that carry the tag are grouped).
    """
    recordings = ws.query(
        "SELECT recording_id, status, duration_s, n_tracks, tags, layout, source_type FROM recordings "
        "ORDER BY recording_id")
    status = {"ok": 0, "partial": 0, "failed": 0}
    for r in recordings:
        status[r["status"]] = status.get(r["status"], 0) + 1
    hours = sum(float(r["duration_s"] or 0.0) for r in recordings) / 3600.0
    isolation = {r["isolation"]: int(r["n"]) for r in ws.query(
        "SELECT isolation, count(*) AS n FROM checks GROUP BY isolation ORDER BY isolation")}
    n_checked = sum(isolation.values())
    speakers = ws.query("SELECT count(DISTINCT speaker_id) AS n FROM tracks WHERE speaker_id IS NOT NULL")[0]["n"]
    errors = ws.query("SELECT count(*) AS n FROM errors")[0]["n"]
    layouts = {r["layout"]: int(r["n"]) for r in ws.query(
        "SELECT layout, count(*) AS n FROM recordings GROUP BY layout ORDER BY layout")}
    return {
        "workspace": str(ws.path),
        "recordings": {"total": len(recordings), **status},
        "hours": round(hours, 6),
        "layouts": layouts,
        "speakers": int(speakers),
        "isolation": isolation,
        "recordings_without_checks": len(recordings) - n_checked,
        "errors": int(errors),
        "group_by": group_by,
        "turns": _turn_stats(ws, recordings, group_by),
    }
