"""Corpus tables over a workspace: counts and turn-taking statistics, from what ``store.queries`` reads.

``recording_events`` is the one builder of the statistics' input (``stats.RecordingEvents`` per
recording with stored events); the report, the explorer and ``twotrack stats`` all use it.
``workspace_stats`` is the library call behind ``twotrack stats``; its dict is the stable JSON of
``twotrack stats --json`` (docs/cli.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..store import Workspace, queries
from ..usage import speaking_pair
from . import stats


def recording_events(ws: Workspace, recordings: Sequence[dict[str, Any]] | None = None
                     ) -> list[stats.RecordingEvents]:
    """``stats.RecordingEvents`` of every decoded recording with stored events, in id order.

    ``recordings``: the rows of ``queries.recording_table`` when the caller has read them already.
    """
    rows = {r["recording_id"]: r for r in (recordings if recordings is not None else queries.recording_table(ws))}
    tables = queries.event_tables(ws)
    speech = queries.speech_seconds(ws)
    speakers = queries.track_speakers(ws)
    out = []
    for rid, table in tables.items():
        row = rows.get(rid)
        if row is None or row["duration_s"] is None:
            continue
        n_tracks = int(row["n_tracks"])
        sp = speech.get(rid)
        spk = speakers.get(rid, {})
        pair = speaking_pair(sp, n_tracks) if sp is not None and len(sp) == n_tracks else None
        if pair is not None:  # a multichannel file's two talkers (its other channels unused): read as that dyad
            table = _renumbered(table, pair)
            n_tracks, sp, spk = 2, tuple(sp[t] for t in pair), {i: spk.get(t) for i, t in enumerate(pair)}
        out.append(stats.RecordingEvents(
            recording_id=rid, duration_s=float(row["duration_s"]), events=table, n_tracks=n_tracks,
            speech_s=sp if sp is not None and len(sp) == n_tracks else None,
            speakers=tuple(spk.get(t) for t in range(n_tracks)),
        ))
    return out


def _renumbered(table: dict[str, np.ndarray], tracks: Sequence[int]) -> dict[str, np.ndarray]:
    """An event table with ``tracks[i]`` renamed ``i`` (-1, no track, stays)."""
    lookup = np.full(max(tracks) + 2, -1, np.int64)
    lookup[np.asarray(tracks)] = np.arange(len(tracks))
    out = dict(table)
    for col in ("track", "from_track"):
        out[col] = np.where(table[col] >= 0, lookup[np.clip(table[col], -1, len(lookup) - 2)], -1)
    return out


def _turn_stats(ws: Workspace, recordings: list[dict[str, Any]], group_by: str | None) -> dict[str, Any] | None:
    inputs = recording_events(ws, recordings)
    if not inputs:  # no recording has events (none decoded, or events never ran): null, as documented
        return None
    groups: dict[str, str] = {}
    if group_by:
        tags = {r["recording_id"]: r["tags"] for r in recordings}
        for rec in inputs:
            values = json.loads(tags[rec.recording_id] or "{}")
            if group_by in values:
                groups[rec.recording_id] = values[group_by]
    return stats.corpus_stats(inputs, groups=groups if groups else None, by_speaker=True)


def workspace_stats(ws: Workspace, group_by: str | None = "register") -> dict[str, Any]:
    """Hours, recordings, speakers, isolation verdicts, errors, and the turn-taking statistics.

    ``group_by``: a tag key (``register``, ``topic``, ...) whose values make the ``by_group`` breakdown
    of the turn statistics (only recordings that carry the tag are grouped).
    """
    recordings = queries.recording_table(ws)
    status = {"ok": 0, "partial": 0, "failed": 0}
    for r in recordings:
        status[r["status"]] = status.get(r["status"], 0) + 1
    hours = sum(float(r["duration_s"] or 0.0) for r in recordings) / 3600.0
    counted = queries.corpus_counts(ws)
    isolation = counted["isolation"]
    n_checked = sum(isolation.values())
    return {
        "workspace": str(ws.path),
        "recordings": {"total": len(recordings), **status},
        "hours": round(hours, 6),
        "layouts": counted["layouts"],
        "speakers": counted["speakers"],
        "isolation": isolation,
        "recordings_without_checks": len(recordings) - n_checked,
        "errors": counted["errors"],
        "group_by": group_by,
        "events_keys": events_keys(ws),
        "turns": _turn_stats(ws, recordings, group_by),
    }


def events_keys(ws: Workspace) -> dict[str, Any]:
    """How many recordings' events were computed under each events key (stage version and the config it and
    its upstream stages read). More than one: the turn statistics pool events made under different rules."""
    counts: dict[str, int] = {}
    for key in queries.run_keys_of_stage(ws, "events").values():
        counts[key or "unknown"] = counts.get(key or "unknown", 0) + 1
    return {"recordings_by_key": dict(sorted(counts.items(), key=lambda kv: -kv[1])), "mixed": len(counts) > 1}


__all__ = ["events_keys", "recording_events", "workspace_stats"]
