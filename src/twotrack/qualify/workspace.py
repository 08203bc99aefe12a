"""Fill ``CorpusInputs`` from a workspace: recordings, checks, turn-taking events, speakers, rights.

Everything is read in a few bulk queries (no per-recording round trips), so a corpus of thousands of
recordings qualifies in seconds. Rights come from the rights stage: requirement 6 is the consent of
every speaker for ``QualifyConfig.consent_scope``; requirement 7 is the verdict for the purpose with
that scope left out (it is judged, and reported, once: under requirement 6).
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np

from ..config import QualifyConfig
from ..ingest.clock import recording_clock
from ..model import EventKind, Layout
from ..store import Workspace, queries
from ..timeline import Timeline
from ..usage import track_uses, used_tracks
from .inputs import CorpusInputs, RecordingInputs, RecordingStats, Verdict

_KINDS = (EventKind.IPU, EventKind.PAUSE, EventKind.GAP, EventKind.FLOOR_TRANSFER,
          EventKind.OVERLAP_BETWEEN, EventKind.OVERLAP_WITHIN)


def _event_stats(ws) -> dict[str, dict[str, Any]]:
    rows = queries.event_lists(ws, [k.value for k in _KINDS])
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "ipu_s": defaultdict(list), "ipu_iv": [], "pauses": [], "gaps": [], "ftos": [], "overlap_s": 0.0})
    for row in rows:
        rec = out[row["recording_id"]]
        durs = [round(float(d), 6) for d in row["durations"] if d is not None]  # 10 ms grid, no float noise
        kind = row["kind"]
        if kind == EventKind.IPU.value:
            rec["ipu_s"][int(row["track"]) if row["track"] is not None else -1].extend(durs)
            rec["ipu_iv"].extend((float(s), float(s) + float(d)) for s, d in zip(row["starts"], row["durations"])
                                 if s is not None and d is not None)
        elif kind == EventKind.PAUSE.value:
            rec["pauses"].extend(durs)
        elif kind == EventKind.GAP.value:
            rec["gaps"].extend(durs)
        elif kind == EventKind.FLOOR_TRANSFER.value:
            rec["ftos"].extend(float(v) for v in row["vals"] if v is not None)
        else:
            rec["overlap_s"] += sum(durs)
    return out


def _union_s(intervals: list[tuple[float, float]]) -> float:
    """Seconds in which at least one interval runs (each instant once)."""
    iv = np.asarray(intervals, np.float64).reshape(-1, 2)
    return Timeline.from_bounds(iv[:, 0], iv[:, 1]).duration()


def _stats(tracks: list[int], ev: dict[str, Any] | None, activity: dict[int, float]) -> RecordingStats | None:
    """Per-recording numbers over ``tracks`` (the used ones: ``usage``). Speech per track is IPU time when
    events exist (the same measure ``twotrack stats`` uses for the overlap share of speech), else the
    activity stage's speech time."""
    if len(tracks) < 2 or ev is None:
        return None
    ipu = ev["ipu_s"]
    speech = tuple(float(sum(ipu.get(t, ()))) if ipu else activity.get(t, 0.0) for t in tracks)
    return RecordingStats(
        speech_s=speech,
        overlap_s=float(ev["overlap_s"]),
        n_ipus=tuple(len(ipu.get(t, ())) for t in tracks),
        ftos_s=tuple(ev["ftos"]),
        gaps_s=tuple(ev["gaps"]),
        pauses_s=tuple(ev["pauses"]),
        ipus_s=tuple(d for t in tracks for d in ipu.get(t, ())),
        spoken_s=_union_s(ev["ipu_iv"]) if ipu else None,
    )


def _speaker_metadata(ws) -> dict[str, dict[str, str]]:
    out = {}
    for speaker, text in queries.speaker_metadata(ws).items():
        try:
            meta = json.loads(text or "{}")
        except json.JSONDecodeError:
            meta = {}
        out[speaker] = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return out


def _rights(ws, recordings, purpose: str, cfg: QualifyConfig, at: str | datetime | None,
            speech: dict[str, dict[int, float]], permissions=None):
    """(consent verdicts, purpose verdicts) by recording id, from the workspace's consent ledger."""
    from ..rights.consent import replay_all
    from ..rights.ledger import Ledger
    from ..rights.verdicts import check_consent, decide_one, get_purpose, speakers_by_track

    p = get_purpose(purpose)
    rest = dataclasses.replace(p, consent_scopes=tuple(s for s in p.consent_scopes if s != cfg.consent_scope))
    ledger = Ledger(ws.ledger_path)
    speakers = sorted({s for r in recordings for _, s in speakers_by_track(r) if s is not None})
    consents = replay_all(ledger.events(), speakers, at)
    consent, rights = {}, {}
    for rec in recordings:
        heard = speech.get(rec.recording_id)  # unused channels (no speaker, no speech) need no consent
        reasons = check_consent(rec, consents, (cfg.consent_scope,), (), f"{cfg.consent_scope} use", heard,
                                known=True)
        consent[rec.recording_id] = Verdict(not reasons, tuple(dict.fromkeys(r.message for r in reasons)))
        v = decide_one(rec, rest, consents, permissions, heard, known=True)
        note = (f"{cfg.consent_scope} consent is judged by requirement 6",) if cfg.consent_scope in p.consent_scopes else ()
        rights[rec.recording_id] = Verdict(v.allowed, tuple(r.message for r in v.reasons) + (note if not v.allowed else ()))
    return consent, rights, ledger.head


def inputs_from_workspace(ws, purpose: str | None = None, cfg: QualifyConfig | None = None,
                          *, at: str | datetime | None = None, permissions=None) -> CorpusInputs:
    """Everything the eight requirements read, from a workspace (path or ``store.Workspace``).
    ``permissions``: the permissions table requirement 7's license verdicts read (None: the packaged one).

    Recordings that failed to decode are kept with zero duration and no checks: they show in the
    matrix as not checked and weigh nothing in the hour-based verdicts."""
    if not isinstance(ws, Workspace):
        ws = Workspace(ws)
    cfg = cfg or QualifyConfig()
    purpose = purpose or cfg.purpose
    recordings = queries.recordings(ws)
    durations = queries.durations(ws)
    rates = {r["recording_id"]: int(r.get("sample_rate") or 0) for r in queries.recording_table(ws)}
    checks = queries.check_results(ws)
    events = _event_stats(ws)
    speech = queries.speech_by_track(ws)
    consent, rights, _head = _rights(ws, recordings, purpose, cfg, at, speech, permissions)
    out = []
    for rec in recordings:
        rid = rec.recording_id
        layout = rec.layout if isinstance(rec.layout, Layout) else Layout(rec.layout)
        # a multichannel file is judged by its used tracks: its unused channels (no speaker, no speech) are no one
        used = list(range(rec.n_tracks)) if rec.is_mono else used_tracks(track_uses(rec, speech.get(rid)))
        out.append(RecordingInputs(
            recording_id=rid,
            duration_s=float(durations.get(rid, 0.0)),
            source_type=rec.source_type,
            layout=layout,
            n_tracks=len(used),
            speakers=tuple(rec.speakers[t] if t < len(rec.speakers) else None for t in used)
            if not rec.is_mono else tuple(rec.speakers),
            tags=dict(rec.tags),
            license=rec.license,
            checks=checks.get(rid),
            stats=_stats(used, events.get(rid), speech.get(rid, {})),
            consent=consent[rid],
            rights=rights[rid],
            clock=dict(recording_clock(rec, checks.get(rid), rates.get(rid, 0), durations.get(rid)).entry),
        ))
    return CorpusInputs(recordings=tuple(out), speakers=_speaker_metadata(ws), name=ws.path.name, purpose=purpose)
