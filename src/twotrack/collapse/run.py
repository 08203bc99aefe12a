"""Collapse recordings of a workspace: mix, diarize (or read an external RTTM), score, store.

``collapse_recording`` is the per-recording function (audio + stored activity in, scores out);
``collapse_workspace`` runs it over a workspace and writes ``WORKSPACE/collapse/``:
``results.json`` (the corpus summary and every recording's scores) and ``<id>.rttm`` per recording
(the hypothesis that was scored, so it can be looked at or shown beside the truth). A run on some
recordings merges into the stored results: the others' entries stay, and the summary is pooled again
over all of them from the seconds and counts stored per recording (``parts``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ChecksConfig, Config, TurnsConfig
from ..errors import ConfigError, InputError, TwotrackError
from ..ingest.clock import recording_clock
from ..model import FRAMES, Layout, Record, Recording, Segment, TrackActivity, track_name
from ..store import queries
from ..store.locks import SessionLock
from ..export.channels import keep_activity, keep_tracks
from ..timeline import mask_to_segments
from ..usage import speaking_pair, speech_per_track
from .diarize import DiarizeConfig, diarize_stream
from .mix import mix_blocks, mix_gain
from .score import (DerParts, Labelled, TurnDamage, activity_masks, der, label_masks, mapped_lanes,
                    optimal_mapping, reference_segments, turn_damage)
from .summary import summarise

DIARIZER_NAME = "twotrack-ge2e"  # silero VAD + GE2E (Resemblyzer weights) + AHC + 10 ms resegmentation


@dataclass(frozen=True)
class CollapseConfig:
    diarize: DiarizeConfig = field(default_factory=DiarizeConfig)
    turns: TurnsConfig = field(default_factory=TurnsConfig)
    n_speakers: int | None = 0  # 0: the recording's tracks with speech (2 for a dialogue); None: estimate
    onset_tol_s: float = 0.05  # an IPU onset within this of the true one is a hit
    transfer_tol_s: float = 0.5  # a diarized floor transfer this close to a true one is "the same" transfer


@dataclass(frozen=True)
class RecordingCollapse(Record):
    """What going mono did to one recording."""

    recording_id: str
    duration_s: float = 0.0
    diarizer: str = DIARIZER_NAME
    n_speakers: int = 0  # speakers in the hypothesis
    der: DerParts = DerParts(0.0, 0.0, 0.0, 0.0)
    der_no_overlap: DerParts = DerParts(0.0, 0.0, 0.0, 0.0)
    damage: TurnDamage = TurnDamage()
    mapping: dict[str, str] = field(default_factory=dict)  # hypothesis label -> track name
    tracks: tuple[str, ...] = ()  # the recording's tracks that were mixed and scored (C, D of a 4-channel file)
    lanes: tuple[TrackActivity, ...] = ()  # the diarized speech on the tracks it maps to
    hypothesis: tuple[tuple[str, float, float], ...] = ()  # (label, start, end)
    seconds: float = 0.0  # processing time
    error: str | None = None

    def scores(self) -> dict[str, Any]:
        """The flat figures (no segments) for tables and JSON."""
        return {"recording_id": self.recording_id, "duration_s": self.duration_s, "diarizer": self.diarizer,
                "n_speakers": self.n_speakers, "tracks": list(self.tracks), "der": self.der.shares(), "der_without_overlap":
                self.der_no_overlap.shares(), "turn_taking": self.damage.rates(), "mapping": self.mapping,
                "seconds": self.seconds, "error": self.error}

    def parts(self) -> dict[str, Any]:
        """What the corpus summary pools (seconds of error, event counts, FTOs), stored so that a later
        run on other recordings can pool this one again without re-running it."""
        return {"der": self.der.to_dict(), "der_without_overlap": self.der_no_overlap.to_dict(),
                "damage": self.damage.to_dict()}

    @classmethod
    def from_stored(cls, scores: dict[str, Any], parts: dict[str, Any] | None) -> RecordingCollapse:
        """A stored entry (``scores()`` and ``parts()``) back as a result the summary can pool (no lanes)."""
        kw: dict[str, Any] = {"recording_id": scores["recording_id"], "error": scores.get("error"),
                              "duration_s": float(scores.get("duration_s") or 0.0),
                              "seconds": float(scores.get("seconds") or 0.0),
                              "diarizer": scores.get("diarizer") or DIARIZER_NAME,
                              "n_speakers": int(scores.get("n_speakers") or 0)}
        if parts:
            kw.update(der=DerParts.from_dict(parts["der"]), der_no_overlap=DerParts.from_dict(parts["der_without_overlap"]),
                      damage=TurnDamage.from_dict(parts["damage"]))
        return cls(**kw)


def score_hypothesis(recording_id: str, activity: Sequence[TrackActivity], hypothesis: Sequence[Labelled],
                     duration_s: float, cfg: CollapseConfig = CollapseConfig(), diarizer: str = DIARIZER_NAME,
                     seconds: float = 0.0) -> RecordingCollapse:
    """Score labelled hypothesis segments against a recording's per-track activity."""
    n_frames = FRAMES.n_frames(duration_s)
    reference = reference_segments(activity)
    truth = activity_masks(activity, n_frames)
    labels, hyp = label_masks(hypothesis, n_frames)
    mapping = optimal_mapping(truth, hyp)
    lanes = mapped_lanes(hyp, mapping, truth.shape[0])
    damage = turn_damage(truth, lanes, cfg.turns, cfg.onset_tol_s, cfg.transfer_tol_s) if truth.shape[0] == 2 \
        else TurnDamage()
    return RecordingCollapse(
        recording_id=recording_id, duration_s=duration_s, diarizer=diarizer, n_speakers=len(labels),
        der=der(reference, hypothesis, duration_s), der_no_overlap=der(reference, hypothesis, duration_s, True),
        damage=damage, mapping={labels[h]: track_name(t) for h, t in sorted(mapping.items())},
        tracks=tuple(track_name(t) for t in range(truth.shape[0])),
        lanes=tuple(TrackActivity(t, tuple(mask_to_segments(lanes[t])), diarizer) for t in range(lanes.shape[0])),
        hypothesis=tuple((lab, s.start, s.end) for lab, s in hypothesis), seconds=seconds,
    )


def collapse_recording(recording: Recording, activity: Sequence[TrackActivity], cfg: CollapseConfig = CollapseConfig(),
                       hypothesis: Sequence[Labelled] | None = None, clock=None) -> RecordingCollapse:
    """Mix the recording's tracks, diarize the mix (unless an external ``hypothesis`` is given) and
    score it against ``activity``, the per-track truth. ``clock`` (an ``ingest.clock.ClockFix``): paired
    files' later tracks re-timed onto A's clock before mixing, as their activity was."""
    from ..ingest.tracks import iter_track_blocks, source_infos

    t0 = time.perf_counter()
    infos = source_infos(recording)
    rate = max(i.sample_rate for i in infos.values())

    def tracks(verify: bool = False):  # the recording in blocks, from the start (never held whole)
        return iter_track_blocks(recording, rate, infos=infos, clock=clock, verify=verify)

    # one read for the mix's gain and the length, then the diarizer reads the mix as often as it needs
    gain, n = mix_gain(tracks(verify=True))
    duration_s = n / rate
    if hypothesis is not None:
        return score_hypothesis(recording.recording_id, activity, hypothesis, duration_s, cfg, "external",
                                time.perf_counter() - t0)
    n_spk = speaking_tracks(activity) if cfg.n_speakers == 0 else cfg.n_speakers
    result = diarize_stream(lambda: mix_blocks(tracks(), gain), rate, n_spk, cfg.diarize)
    return score_hypothesis(recording.recording_id, activity, result.segments(), duration_s, cfg,
                            diarizer_name(cfg), time.perf_counter() - t0)


def diarizer_name(cfg: CollapseConfig) -> str:
    """Our diarizer's name with the options that change what it finds (--speakers, --overlap-margin) when they
    are not the defaults: a merge of runs with different options then counts as a mix of diarizers in
    ``summary.diarizers`` instead of being pooled silently as one."""
    opts = []
    if cfg.n_speakers != 0:
        opts.append("speakers=estimated" if cfg.n_speakers is None else f"speakers={cfg.n_speakers}")
    if cfg.diarize.overlap_margin > 0:
        opts.append(f"overlap-margin={cfg.diarize.overlap_margin:g}")
    return DIARIZER_NAME + (f" ({', '.join(opts)})" if opts else "")


def speaking_tracks(activity: Sequence[TrackActivity]) -> int:
    """The speakers the mono diarizer is told to find: the tracks on which the scan found speech (at least
    one). A track that stays silent (a participant who never spoke, a dead channel) is nobody in the mix;
    counting it made the diarizer split the one voice in two, a confusion the mix did not cause."""
    return max(1, sum(1 for a in activity if a.segments))


def on_source_tracks(res: RecordingCollapse, pair: Sequence[int]) -> RecordingCollapse:
    """A result scored on a view of two of a recording's tracks (its lanes A, B), put back on the recording's
    own tracks: the mapping names them, the lanes carry their indices, ``tracks`` lists them."""
    names = {track_name(i): track_name(t) for i, t in enumerate(pair)}
    return dataclasses.replace(
        res, mapping={h: names.get(t, t) for h, t in res.mapping.items()},
        lanes=tuple(dataclasses.replace(a, track=pair[a.track]) for a in res.lanes),
        tracks=tuple(track_name(t) for t in pair))


def talking_pair(rec: Recording, activity: Sequence[TrackActivity]) -> tuple[tuple[int, int] | None, str | None]:
    """The two tracks to mix of a recording with more than two (exactly two carry speech, the others none:
    the unused channels of a field recorder), or why there is no such pair."""
    speech = speech_per_track(activity)
    pair = speaking_pair(speech, rec.n_tracks)
    if pair is not None:
        return pair, None
    talking = [track_name(t) for t, sec in sorted(speech.items()) if sec > 0]
    return None, (f"{rec.n_tracks} tracks, {len(talking)} of them with speech (track {', '.join(talking) or 'none'}): "
                  "collapse compares the two talking tracks of a dialogue with their mix")


def copied_pair(check, pair: Sequence[int], threshold: float | None = None) -> bool:
    """Whether the checks found the two tracks of ``pair`` to be copies of one channel (their whole-recording
    correlation at the checks' duplicate threshold ``threshold``, and the checks calling some pair duplicate)."""
    if check is None or not check.duplicate_channels:
        return False
    rho = (check.metrics or {}).get(f"correlation.{track_name(pair[0])}{track_name(pair[1])}")
    if threshold is None:
        threshold = ChecksConfig().duplicate_correlation
    return rho is not None and abs(float(rho)) >= threshold


# --------------------------------------------------------------------------------------------
# RTTM
# --------------------------------------------------------------------------------------------


def read_hypotheses(path: str | Path) -> dict[str, list[Labelled]]:
    """External diarizer output: one RTTM file, or a folder of ``*.rttm`` files -> file id -> segments."""
    from ..ingest.annotations import read_rttm

    p = Path(path)
    files = sorted(p.glob("*.rttm")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise InputError(p, "no RTTM file here (expected a .rttm file or a folder of them)")
    out: dict[str, list[Labelled]] = defaultdict(list)
    for f in files:
        for w in read_rttm(f):
            out[w.recording_id].append((w.speaker or f"T{w.track}", Segment(w.start, w.end)))
    return dict(out)


def rttm_lines(recording_id: str, hypothesis: Sequence[tuple[str, float, float]]) -> list[str]:
    """``SPEAKER <file> 1 <start> <dur> <NA> <NA> <label> <NA> <NA>`` lines."""
    file_id = re.sub(r"\s+", "_", recording_id)
    return [f"SPEAKER {file_id} 1 {a:.3f} {b - a:.3f} <NA> <NA> {lab} <NA> <NA>" for lab, a, b in hypothesis]


# --------------------------------------------------------------------------------------------
# The workspace
# --------------------------------------------------------------------------------------------


def resolve_ids(ids: Sequence[str], queries: Sequence[str]) -> list[str]:
    """Recording ids named by ``queries`` (exact, or the only id ending in ``/query``)."""
    out = []
    for q in queries:
        hits = [q] if q in ids else [i for i in ids if i.endswith("/" + q)]
        if len(hits) != 1:
            raise ConfigError(f"{q!r} names {'no' if not hits else 'more than one'} recording in the workspace")
        out.append(hits[0])
    return out


def scan_config(ws) -> Config:
    """The configuration of the workspace's latest scan (its activity and turn settings are the truth's)."""
    for run in reversed(queries.runs(ws)):
        raw = run.get("config")
        if raw:
            try:
                return Config.from_dict(json.loads(raw) if isinstance(raw, str) else raw)
            except (TypeError, ValueError, KeyError):
                continue
    return Config()


def _match(hyps: dict[str, list[Labelled]], rid: str) -> list[Labelled] | None:
    for key in (rid, re.sub(r"\s+", "_", rid), rid.rsplit("/", 1)[-1]):
        if key in hyps:
            return hyps[key]
    return None


def collapse_workspace(ws, recordings: Sequence[str] = (), hypothesis: str | Path | None = None,
                       cfg: CollapseConfig | None = None,
                       progress: Callable[[RecordingCollapse], None] | None = None) -> dict[str, Any]:
    """Collapse every two-track recording of the workspace (or those named) and store the results. A
    recording with more than two tracks of which exactly two carry speech is collapsed as that pair.

    Returns ``{"summary": ..., "recordings": [scores...], "skipped": [...], "path": results.json}``."""
    if cfg is None:
        scan = scan_config(ws)
        cfg = CollapseConfig(diarize=DiarizeConfig(activity=scan.activity), turns=scan.turns)
    stored = {r.recording_id: r for r in queries.recordings(ws)}
    activity = queries.activity_by_recording(ws)
    table = {r["recording_id"]: r for r in queries.recording_table(ws)}
    checks = queries.check_results(ws)  # the paired clock, and channels that are copies of each other
    copy_corr = scan_config(ws).checks.duplicate_correlation  # the checks' threshold for a copy
    # an id named twice (-r demo02 -r clean/demo02) is run once
    chosen = list(dict.fromkeys(resolve_ids(sorted(stored), recordings))) if recordings else sorted(stored)
    hyps = read_hypotheses(hypothesis) if hypothesis is not None else None
    out_dir = ws.folder("collapse")
    path = out_dir / "results.json"
    stored_results(path)  # a stored file that cannot be merged stops the run before it starts, naming the file
    truth_keys = truth_basis(ws)

    results: list[RecordingCollapse] = []
    skipped: list[dict[str, str]] = []
    no_hyp: set[str] = set()  # skipped only for want of a hypothesis: what is stored of them stays
    for rid in chosen:
        rec = stored[rid]
        reason = None
        pair = None  # a recording with more than two tracks: the two that talk
        if rec.layout is Layout.MONO or rec.n_tracks < 2:
            reason = f"{rec.n_tracks} track(s): collapse compares two tracks with their mix"
        elif rec.n_tracks > 2 and rid not in activity:
            reason = (f"{rec.n_tracks} tracks and no stored activity to tell which two talk (the scan failed or "
                      "has not run on it)")
        elif rec.n_tracks > 2:
            pair, reason = talking_pair(rec, activity[rid])
            if pair is not None and copied_pair(checks.get(rid), pair, copy_corr):
                # as a two-track file holding one mix twice (below): no two-track truth to lose
                reason = (f"its talking tracks {track_name(pair[0])} and {track_name(pair[1])} are copies of one "
                          f"channel ({checks[rid].channel_relation or 'duplicate'}, checks): there is no "
                          "two-track truth to lose")
                pair = None
        elif checks.get(rid) is not None and checks[rid].duplicate_channels:
            # one mix on two channels: its 'two-track truth' is the same speech twice, all of it overlap, so
            # mono seemed to lose half of it (DER 50 %) and that went into the corpus figure
            reason = (f"its two tracks are copies of one channel ({checks[rid].channel_relation or 'duplicate'}, "
                      "checks): there is no two-track truth to lose")
        elif rid not in activity:
            reason = "no stored activity (the scan failed or has not run on it)"
        hyp = None
        if reason is None and hyps is not None:
            hyp = _match(hyps, rid)
            if hyp is None:
                reason = f"no hypothesis for it in {hypothesis}"
                no_hyp.add(rid)
        if reason:
            skipped.append({"recording_id": rid, "reason": reason})
            continue
        try:
            row = table.get(rid, {})
            fix = recording_clock(rec, checks.get(rid), int(row.get("sample_rate") or 0),
                                  float(row.get("duration_s") or 0.0)).fix
            if pair is None:
                res = collapse_recording(rec, activity[rid], cfg, hyp, clock=fix)
            else:  # the pair alone, as a two-track file (the re-timing is of B onto A: kept only for A, B)
                res = collapse_recording(keep_tracks(rec, pair), keep_activity(activity[rid], pair), cfg, hyp,
                                         clock=fix if tuple(pair) == (0, 1) else None)
                res = on_source_tracks(res, pair)
        except (TwotrackError, OSError, ValueError) as exc:
            res = RecordingCollapse(recording_id=rid, error=str(exc))
        results.append(res)
        if progress:
            progress(res)

    for res in results:
        if res.error is None:
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", res.recording_id)
            (out_dir / f"{name}.rttm").write_text("\n".join(rttm_lines(res.recording_id, res.hypothesis)) + "\n")
    this_run = {"recordings": [r.recording_id for r in results], "skipped": [s["recording_id"] for s in skipped],
                "failed": sum(1 for r in results if r.error is not None)}
    entries = {r.recording_id: r.scores() for r in results}
    lanes = {r.recording_id: [a.to_dict() for a in r.lanes] for r in results}
    # the truth each result was scored against (the activity's audio and settings): a later rescan that
    # changes it makes the stored result stale
    parts = {r.recording_id: {**r.parts(), "truth": truth_keys.get(r.recording_id)} for r in results
             if r.error is None}
    skips = {s["recording_id"]: s for s in skipped}
    pooled = {r.recording_id: r for r in results}
    not_pooled = []
    stale = []
    kept: list[dict[str, str]] = []  # failed this run, the stored result stands
    # the stored results of the workspace's recordings this run did not touch stay, and are pooled again
    # (read again now, not at the start: another run may have stored results since)
    # merged and written under a lock on the collapse folder: two runs at once (-r one, -r another) each read
    # the stored results and wrote them back; without it the later write could drop the other's recordings
    with SessionLock(out_dir).exclusive(getattr(ws, "timeout_s", 300.0)):
        old = stored_results(path)
        untouched = (set(stored) - set(chosen)) | no_hyp
        # a recording that fails this run (its file moved away, unreadable now) keeps the result stored of it,
        # if that is a good one scored against the truth as it stands: a failed rerun does not wipe it out
        failed_now = {r.recording_id: r.error for r in results if r.error is not None}
        for e in old.get("recordings") or ():
            rid = e.get("recording_id")
            got = (old.get("parts") or {}).get(rid)
            if rid in failed_now:
                if e.get("error") or got is None or got.get("truth") != truth_keys.get(rid):
                    continue
                kept.append({"recording_id": rid, "error": failed_now[rid]})
            elif rid not in untouched or rid in entries:
                continue
            entries[rid] = e
            skips.pop(rid, None)  # no hypothesis this time: its stored result stands
            if rid in (old.get("lanes") or {}):
                lanes[rid] = old["lanes"][rid]
            if got is not None and got.get("truth") is not None and got["truth"] != truth_keys.get(rid):
                # rescanned since (changed audio, or activity recomputed): its figures are of a truth that is gone
                stale.append(rid)
                parts[rid] = got
            elif got is not None or e.get("error"):
                parts.update({rid: got} if got is not None else {})
                pooled[rid] = RecordingCollapse.from_stored(e, got)
            else:  # written before the parts were stored: shown, not pooled, until it is run again
                not_pooled.append(rid)
        for s in old.get("skipped") or ():
            rid = s.get("recording_id")
            if rid in untouched and rid not in entries and rid not in skips:
                skips[rid] = s
        summary = summarise([pooled[k] for k in sorted(pooled)])
        if not_pooled:
            summary["not_pooled"] = sorted(not_pooled)
        if stale:
            summary["stale"] = sorted(stale)
        # a merge can pool results of different diarizers (ours for some, an external RTTM for others): say so
        summary["diarizers"] = dict(sorted(Counter(pooled[k].diarizer for k in pooled if pooled[k].error is None).items()))
        report = {"summary": summary, "recordings": [entries[k] for k in sorted(entries)],
                  "skipped": [skips[k] for k in sorted(skips)]}
        tmp = path.with_name(f".results.{os.getpid()}.tmp")  # two runs never share one
        tmp.write_text(json.dumps(jsonable({**report, "lanes": lanes, "parts": parts}), indent=1))
        tmp.replace(path)
    this_run["kept"] = kept
    return {**report, "this_run": this_run, "path": str(path), "results": results}


def stored_results(path: Path) -> dict[str, Any]:
    """The results a previous run stored, checked as far as a merge reads them (empty when there are none).
    A file that cannot be read, is not JSON or does not hold what a merge needs (a truncated copy, a hand
    edit) raises ConfigError naming it: merging around it would drop every recording it holds."""
    if not path.exists():
        return {}

    def bad(problem: str) -> ConfigError:
        return ConfigError(f"{path}: {problem}; nothing was run or written (fix the file, or move it aside to "
                           "collapse every recording afresh)")

    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise bad(f"is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise bad("holds no collapse results (not a JSON object)")
    for key, kind in (("recordings", list), ("skipped", list), ("lanes", dict), ("parts", dict)):
        if raw.get(key) is not None and not isinstance(raw[key], kind):
            raise bad(f"'{key}' is not a {'list' if kind is list else 'JSON object'}")
    for i, e in enumerate(raw.get("recordings") or ()):
        if not isinstance(e, dict) or not isinstance(e.get("recording_id"), str):
            raise bad(f"recordings[{i}] has no recording_id")
        got = (raw.get("parts") or {}).get(e["recording_id"])
        try:
            if got is not None and not isinstance(got, dict):
                raise TypeError("not a JSON object")
            RecordingCollapse.from_stored(e, got)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise bad(f"the stored result of {e['recording_id']} cannot be read ({type(exc).__name__}: {exc})") \
                from None
    for i, s in enumerate(raw.get("skipped") or ()):
        if not isinstance(s, dict) or not isinstance(s.get("recording_id"), str):
            raise bad(f"skipped[{i}] has no recording_id")
    return raw


def truth_basis(ws) -> dict[str, str]:
    """recording_id -> what its collapse truth was computed from: the activity stage's source key (the
    audio) and stage key (its settings and version)."""
    return {r["recording_id"]: f"{r['source_key']}/{r['stage_key']}" for r in queries.stage_table(ws)
            if r["stage"] == "activity" and r["status"] == "ok"}


def jsonable(value: Any) -> Any:
    """JSON has no NaN: figures that could not be measured become null."""
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
