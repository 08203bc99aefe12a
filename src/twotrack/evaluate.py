"""Detected voice activity against gold timings.

Gold IPUs are the gold words of a track merged across silences shorter than the pause threshold
(``TurnsConfig.pause_threshold_s``); detected IPUs are the detected segments merged the same way, so both
sides are compared as the same kind of unit. Per recording and overall (pooled over all gold IPUs):

- ``ipu_onset_hit_rate``: share of gold IPU onsets with a detected IPU onset within +-``tolerance_s``
  (50 ms) on the same track; ``ipu_offset_hit_rate`` the same for offsets;
- ``frame_precision`` / ``frame_recall`` / ``frame_f1``: speech frames of the IPU masks on the 10 ms grid;
- ``fto_mae_s``: mean absolute error of the floor-transfer offset over gold transfers matched one-to-one
  to a detected transfer between the same two tracks (the new speaker's start within 0.5 s); transfers
  are those of the turn-taking stage (``twotrack.turns``) run on the gold and on the detected IPU masks
  (two-track recordings only: the turn-taking analysis is defined for two tracks);
- ``ipu_recall``: share of gold IPUs at least half covered by detected speech; ``short_ipu_recall`` the
  same over gold IPUs shorter than 0.3 s (backchannels);
- counts: ``n_gold_ipus``, ``n_short_gold_ipus``, ``n_detected_ipus``, ``n_gold_transfers``, ``n_matched_transfers``.

A recording whose gold covers only part of it (CALLHOME transcribes 10 of up to 30 minutes per call) is
scored inside its scored span only (``scored``; from a workspace, the recording's metadata
``transcribed_span_s`` = ``"start-end"``, read by ``ingest.annotations.transcribed_span``): detected speech
outside the span has no gold to be judged by, and would otherwise count as false alarms.

Channel ``A``/``1`` of the gold is track 0. Gold files are matched to recordings by recording id; an id
that is a path (``clean/demo01``) also matches gold ``demo01`` by its last component.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, TurnsConfig
from .model import FRAMES, TIME_PRECISION_S, EventKind, Segment, TrackActivity, Word, track_name
from .timeline import Timeline

TOLERANCE_S = 0.050
TRANSFER_MATCH_S = 0.5
IPU_FOUND_COVER = 0.5  # a gold IPU is found when detected speech covers this share of its frames
SHORT_IPU_S = 0.3  # gold IPUs shorter than this are backchannel-sized
METRICS = ("ipu_onset_hit_rate", "ipu_offset_hit_rate", "frame_precision", "frame_recall", "frame_f1", "fto_mae_s")


# ------------------------------------------------------------------------------------------------
# Pure metric pieces
# ------------------------------------------------------------------------------------------------


def ipus(segments: Iterable[Segment], pause_threshold_s: float) -> Timeline:
    """Segments (words or detected speech) merged across silences shorter than the pause threshold
    (empty segments dropped; touching or overlapping ones are one stretch of speech)."""
    return Timeline(segments).support(pause_threshold_s)


def _segments_by_track(words: Iterable[Word]) -> dict[int, list[Segment]]:
    by_track: dict[int, list[Segment]] = {}
    for w in words:
        by_track.setdefault(int(w.track), []).append(Segment(w.start, w.end))
    return dict(sorted(by_track.items()))


def gold_ipus_by_track(words: Iterable[Word], pause_threshold_s: float) -> dict[int, list[Segment]]:
    return {t: ipus(segs, pause_threshold_s).segments() for t, segs in _segments_by_track(words).items()}


def edge_hits(gold_times: np.ndarray, detected_times: np.ndarray, tolerance_s: float = TOLERANCE_S) -> int:
    """How many gold times have a detected time within +-tolerance (vectorised nearest neighbour)."""
    g = np.sort(np.asarray(gold_times, np.float64))
    d = np.sort(np.asarray(detected_times, np.float64))
    if g.size == 0 or d.size == 0:
        return 0
    pos = np.searchsorted(d, g)
    left = d[np.clip(pos - 1, 0, d.size - 1)]
    right = d[np.clip(pos, 0, d.size - 1)]
    nearest = np.minimum(np.abs(g - left), np.abs(g - right))
    return int(np.count_nonzero(nearest <= tolerance_s + 1e-9))


def ipus_found(gold: Timeline, detected_mask: np.ndarray, min_cover: float = IPU_FOUND_COVER,
               max_s: float | None = None) -> tuple[int, int]:
    """(gold IPUs, of which found): an IPU is found when detected speech covers at least ``min_cover``
    of its frames; ``max_s`` counts only IPUs shorter than that (backchannels)."""
    d = np.asarray(detected_mask, bool)
    n = found = 0
    for seg in gold.segments():
        # a microsecond of slack: 1.4 - 1.1 < 0.3 in floats, yet that IPU lasts 0.3 s
        if max_s is not None and seg.end - seg.start >= max_s - TIME_PRECISION_S / 2:
            continue
        a = FRAMES.boundary(seg.start)
        b = max(a + 1, FRAMES.boundary(seg.end))
        cover = np.count_nonzero(d[a:b]) / (b - a)
        n += 1
        found += int(cover >= min_cover)
    return n, found


def frame_counts(gold_mask: np.ndarray, detected_mask: np.ndarray) -> tuple[int, int, int]:
    """(true positive, false positive, false negative) speech frames."""
    g, d = np.asarray(gold_mask, bool), np.asarray(detected_mask, bool)
    return int(np.count_nonzero(g & d)), int(np.count_nonzero(~g & d)), int(np.count_nonzero(g & ~d))


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else math.nan
    r = tp / (tp + fn) if tp + fn else math.nan
    # F1 = 2tp / (2tp + fp + fn): 0 when speech was missed entirely or only false alarms were found
    # (precision or recall undefined there, but the F-score is not); NaN only with no speech on either side
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
    return p, r, f


def floor_transfers(masks: np.ndarray, turns_cfg: TurnsConfig) -> list[tuple[int, int, float, float]]:
    """Floor transfers of activity masks bool (n_tracks, n_frames), as found by the turn-taking stage:
    (from_track, to_track, previous turn end s, next turn start s)."""
    from .turns import extract_events, transfer_times

    out = []
    for e in extract_events(np.asarray(masks, bool), turns_cfg):
        if e.kind == EventKind.FLOOR_TRANSFER and e.track is not None and e.from_track is not None:
            prev_end, next_start = transfer_times(e)
            out.append((int(e.from_track), int(e.track), float(prev_end), float(next_start)))
    return out


def match_transfers(gold: list[tuple[int, int, float, float]], detected: list[tuple[int, int, float, float]],
                    match_s: float = TRANSFER_MATCH_S) -> list[float]:
    """Absolute FTO errors (s) of gold transfers matched one-to-one, greedily by the new speaker's start,
    to detected transfers between the same tracks."""
    pairs = []
    for gi, (gf, gt, gs, ge) in enumerate(gold):
        for di, (df, dt, ds, de) in enumerate(detected):
            if (gf, gt) == (df, dt) and abs(de - ge) <= match_s:
                pairs.append((abs(de - ge) + abs(ds - gs), gi, di))
    pairs.sort()
    used_g, used_d, errors = set(), set(), []
    for _, gi, di in pairs:
        if gi in used_g or di in used_d:
            continue
        used_g.add(gi)
        used_d.add(di)
        g, d = gold[gi], detected[di]
        errors.append(abs((d[3] - d[2]) - (g[3] - g[2])))
    return errors


# ------------------------------------------------------------------------------------------------
# Per recording and overall
# ------------------------------------------------------------------------------------------------


def _counts(activity: list[TrackActivity], words: list[Word], duration_s: float, turns_cfg: TurnsConfig,
            tolerance_s: float, span: Segment | None = None, unscored: Collection[int] = ()) -> dict[str, Any]:
    pause = turns_cfg.pause_threshold_s
    gold = {t: ipus(segs, pause) for t, segs in _segments_by_track(words).items()}
    detected = {a.track: ipus(a.segments, pause) for a in activity}
    n_tracks = len(detected)
    # a track whose gold file is missing (a recipe's per-track transcripts) has no gold, not silent gold: its
    # detected speech would all count as false alarms
    detected = {t: d for t, d in detected.items() if t not in unscored}
    if span is not None:  # only where the gold speaks for the recording
        gold = {t: g.crop(span) for t, g in gold.items()}
        detected = {t: d.crop(span) for t, d in detected.items()}
    ends = [tl.extent().end for tl in [*gold.values(), *detected.values()] if tl]
    n_frames = FRAMES.n_frames(max([duration_s, *ends]) if ends else duration_s)
    c = dict(n_gold_ipus=0, n_detected_ipus=0, onset_hits=0, offset_hits=0, tp=0, fp=0, fn=0, ipus_found=0,
             n_short_ipus=0, short_ipus_found=0)
    tracks = sorted(detected)
    masks_gold, masks_det = [], []
    for t in tracks:
        g, d = gold.get(t, Timeline()), detected[t]
        c["n_gold_ipus"] += len(g)
        c["n_detected_ipus"] += len(d)
        c["onset_hits"] += edge_hits(g.starts, d.starts, tolerance_s)
        c["offset_hits"] += edge_hits(g.ends, d.ends, tolerance_s)
        mg, md = g.to_mask(n_frames), d.to_mask(n_frames)
        c["ipus_found"] += ipus_found(g, md)[1]
        n_short, short_found = ipus_found(g, md, max_s=SHORT_IPU_S)
        c["n_short_ipus"] += n_short
        c["short_ipus_found"] += short_found
        tp, fp, fn = frame_counts(mg, md)
        c["tp"] += tp
        c["fp"] += fp
        c["fn"] += fn
        masks_gold.append(mg)
        masks_det.append(md)
    c["gold_tracks_not_detected"] = sorted(set(gold) - set(detected))
    c["fto_errors"] = []
    c["n_gold_transfers"] = 0
    if n_tracks == 2 and len(tracks) == 2:  # a floor transfer is between two tracks: a meeting's headsets have none
        gt = floor_transfers(np.stack(masks_gold), turns_cfg)
        dt = floor_transfers(np.stack(masks_det), turns_cfg)
        c["n_gold_transfers"] = len(gt)
        c["fto_errors"] = match_transfers(gt, dt)
    return c


def _metrics(c: dict[str, Any]) -> dict[str, Any]:
    n = c["n_gold_ipus"]
    p, r, f = _prf(c["tp"], c["fp"], c["fn"])
    errors = c["fto_errors"]
    return {
        "ipu_onset_hit_rate": c["onset_hits"] / n if n else math.nan,
        "ipu_offset_hit_rate": c["offset_hits"] / n if n else math.nan,
        "frame_precision": p,
        "frame_recall": r,
        "frame_f1": f,
        "fto_mae_s": float(np.mean(errors)) if errors else math.nan,
        "ipu_recall": c["ipus_found"] / n if n else math.nan,
        "short_ipu_recall": c["short_ipus_found"] / c["n_short_ipus"] if c["n_short_ipus"] else math.nan,
        "n_gold_ipus": n,
        "n_short_gold_ipus": c["n_short_ipus"],
        "n_detected_ipus": c["n_detected_ipus"],
        "n_gold_transfers": c["n_gold_transfers"],
        "n_matched_transfers": len(errors),
    }


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """NaN (not measurable) -> None, so the result is valid JSON."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def evaluate_recording(activity: list[TrackActivity], words: list[Word], duration_s: float,
                       turns_cfg: TurnsConfig = TurnsConfig(), tolerance_s: float = TOLERANCE_S,
                       span: Segment | None = None) -> dict[str, Any]:
    """Metrics of one recording (see module doc), inside ``span`` when given."""
    return _clean(_metrics(_counts(activity, words, duration_s, turns_cfg, tolerance_s, span)))


def gold_key(recording_id: str, gold_ids: Iterable[str]) -> str | None:
    """The gold id that belongs to a recording id: exact, else by last path component on either side."""
    ids = list(gold_ids)
    if recording_id in ids:
        return recording_id
    last = recording_id.replace("\\", "/").rstrip("/").split("/")[-1]
    if last in ids:
        return last
    by_last = {g.replace("\\", "/").rstrip("/").split("/")[-1]: g for g in ids}
    return by_last.get(last)


def evaluate_activity(activity_by_recording: Mapping[str, list[TrackActivity]], gold: Mapping[str, list[Word]],
                      durations: Mapping[str, float], turns_cfg: TurnsConfig = TurnsConfig(),
                      tolerance_s: float = TOLERANCE_S, scored: Mapping[str, Segment] | None = None,
                      unscored: Mapping[str, Collection[int]] | None = None) -> dict[str, Any]:
    """Overall metrics (pooled over every gold IPU, frame and transfer) plus one entry per recording;
    a recording in ``scored`` is scored inside that span only (its entry says ``scored_span_s``); the tracks
    ``unscored`` names for a recording (no gold file) are left out of it (its entry says ``tracks_without_gold``).

    Recordings without gold are listed under ``unmatched_recordings``; gold without a recording under
    ``unmatched_gold``.
    """
    per: dict[str, Any] = {}
    total = dict(n_gold_ipus=0, n_detected_ipus=0, onset_hits=0, offset_hits=0, tp=0, fp=0, fn=0,
                 fto_errors=[], n_gold_transfers=0, ipus_found=0, n_short_ipus=0, short_ipus_found=0)
    unmatched, used = [], set()
    for rec_id in sorted(activity_by_recording):
        key = gold_key(rec_id, gold)
        if key is None:
            unmatched.append(rec_id)
            continue
        used.add(key)
        span = (scored or {}).get(rec_id)
        skip = sorted((unscored or {}).get(rec_id, ()))
        c = _counts(list(activity_by_recording[rec_id]), list(gold[key]), float(durations.get(rec_id, 0.0)),
                    turns_cfg, tolerance_s, span, skip)
        entry = _clean(_metrics(c))
        entry["gold_id"] = key
        if skip:
            entry["tracks_without_gold"] = [track_name(t) for t in skip]
        if span is not None:
            entry["scored_span_s"] = [span.start, span.end]
        if c["gold_tracks_not_detected"]:
            entry["gold_tracks_not_detected"] = c["gold_tracks_not_detected"]
        per[rec_id] = entry
        for k in ("n_gold_ipus", "n_detected_ipus", "onset_hits", "offset_hits", "tp", "fp", "fn", "n_gold_transfers",
                  "ipus_found", "n_short_ipus", "short_ipus_found"):
            total[k] += c[k]
        total["fto_errors"] += c["fto_errors"]
    out = _clean(_metrics(total))
    out.update(
        tolerance_s=tolerance_s,
        pause_threshold_s=turns_cfg.pause_threshold_s,
        n_recordings=len(per),
        recordings=per,
        unmatched_recordings=unmatched,
        unmatched_gold=sorted(set(gold) - used),
    )
    return out


# ------------------------------------------------------------------------------------------------
# Edges: gold files and audio
# ------------------------------------------------------------------------------------------------

def read_gold(path: str | Path) -> dict[str, list[Word]]:
    """Gold words per recording id from a gold file or a folder of gold files (the ingest readers:
    CTM, RTTM, TextGrid, ...)."""
    from .ingest.annotations import read_gold as _read

    return _read(path)


def scored_spans_from_workspace(workspace: str | Path) -> dict[str, Segment]:
    """Recording id -> the span its gold covers, for the scanned recordings whose metadata names one."""
    from .ingest.annotations import transcribed_span
    from .store import Workspace, queries

    spans = {rec.recording_id: transcribed_span(rec.metadata) for rec in queries.recordings(Workspace(workspace))}
    return {rid: span for rid, span in spans.items() if span is not None}


def gold_from_workspace(workspace: str | Path) -> tuple[dict[str, list[Word]], list[Any]]:
    """The gold each scanned recording names (a manifest's ``transcript``, a corpus recipe's per-track
    transcripts), keyed by recording id, and one error per gold file that cannot be read."""
    from .errors import InputError
    from .ingest.annotations import has_gold, recording_gold
    from .model import ErrorRecord
    from .store import Workspace, queries

    gold, errors = {}, []
    for rec in queries.recordings(Workspace(workspace)):
        if not has_gold(rec):
            continue
        try:
            gold[rec.recording_id] = recording_gold(rec)
        except InputError as exc:
            errors.append(ErrorRecord(path=exc.path, problem=exc.problem, stage="eval", recording_id=rec.recording_id))
    return gold, errors


def unscored_tracks_from_workspace(workspace: str | Path) -> dict[str, list[int]]:
    """Recording id -> its tracks without gold, for the scanned recordings whose gold comes per track (a recipe's
    ``track_transcripts``: Switchboard's side files, AMI's words.xml per participant) with a track's file missing."""
    from .store import Workspace, queries

    out = {}
    for rec in queries.recordings(Workspace(workspace)):
        per_track = tuple(getattr(rec, "track_transcripts", ()) or ())
        if any(per_track):
            missing = [t for t in range(rec.n_tracks) if t >= len(per_track) or not per_track[t]]
            if missing:
                out[rec.recording_id] = missing
    return out


def activity_from_workspace(workspace: str | Path) -> tuple[dict[str, list[TrackActivity]], dict[str, float]]:
    """Stored activity and durations of every scanned recording of a workspace."""
    from .store import Workspace, queries

    ws = Workspace(workspace)
    activity = {rid: list(acts) for rid, acts in queries.activity_by_recording(ws).items()}
    return activity, queries.durations(ws)


def detect_recordings(paths: Iterable[str | Path], config: Config = Config()) -> tuple[
        dict[str, list[TrackActivity]], dict[str, float], list[Any]]:
    """Run voice activity over every recording found under ``paths`` (files or folders).
    Returns (activity per recording id, duration per recording id, errors)."""
    from .activity import detect_stream, to_activity
    from .errors import InputError
    from .ingest.discover import discover
    from .ingest.clock import recording_clock
    from .ingest.tracks import choose_analysis_rate, iter_track_blocks, source_infos
    from .model import ErrorRecord

    recordings, errors = discover([str(p) for p in paths], config, hash_files=False)
    activity, durations = {}, {}
    for rec in recordings:
        try:
            infos = source_infos(rec)
            rate = choose_analysis_rate([i.sample_rate for i in infos.values()], config.ingest.analysis_rates)
            # no checks here (nothing measured): a paired recording's declared clock still applies
            fix = recording_clock(rec, None, rate).fix
            frames = detect_stream(iter_track_blocks(rec, rate, infos=infos, clock=fix), rate, config.activity,
                                   reread=lambda: iter_track_blocks(rec, rate, infos=infos, clock=fix))
        except InputError as exc:
            errors.append(ErrorRecord(path=exc.path, problem=exc.problem, stage="activity",
                                      recording_id=rec.recording_id))
            continue
        except Exception as exc:  # one bad recording never stops the others
            path = rec.tracks[0].path if rec.tracks else rec.recording_id
            errors.append(ErrorRecord(path=str(path), problem=f"{type(exc).__name__}: {exc}", stage="activity",
                                      recording_id=rec.recording_id))
            continue
        activity[rec.recording_id] = to_activity(frames, config.activity.detector)
        durations[rec.recording_id] = frames[0].n_frames * FRAMES.hop_s if frames else 0.0
    return activity, durations, errors
