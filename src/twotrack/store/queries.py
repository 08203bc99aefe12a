"""Typed reads of a workspace: the only SELECTs over its tables (docs/workspace.md).

Every function takes a ``Workspace`` and opens one short read-only session (``Workspace.read``): any
number of readers run side by side, and a running scan's writer gives the database up to them between
its commits. They return the shared vocabulary (``model`` types), plain dicts, or numpy columns; no
caller outside ``store/`` writes SQL or knows a table name.

>>> from twotrack.store import Workspace, queries    # doctest: +SKIP
>>> ws = Workspace("workspace/demo")                 # doctest: +SKIP
>>> [r.recording_id for r in queries.recordings(ws)] # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.parquet as pq

from ..model import TEXT_NOT_ALIGNED, TEXT_UNFIT, CheckResult, ErrorRecord, Event, Recording, RecordingResult, TrackActivity
from .rows import (
    SourceRecord, activity_from_rows, checks_from_json, events_from_rows, recording_from_json, words_from_rows,
)

if TYPE_CHECKING:
    from .workspace import Workspace

#: Every table of the schema, in the order ``counts`` lists them.
TABLES = ("recordings", "tracks", "speakers", "sources", "checks", "track_quality", "track_activity",
          "activity", "events", "words", "track_languages", "line_fits", "errors", "stage_results", "runs", "frame_files")


# ---------------------------------------------------------------------------------------------
# the workspace as a whole
# ---------------------------------------------------------------------------------------------


def schema_version(ws: Workspace) -> int:
    from .schema import current_version

    with ws.read() as con:
        return current_version(con)


def counts(ws: Workspace) -> dict[str, int]:
    """Row count of every result table."""
    with ws.read() as con:
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in TABLES}


def runs(ws: Workspace) -> list[dict[str, Any]]:
    """Every scan run (``runs`` table), oldest first."""
    with ws.read() as con:
        return _dicts(con.execute("SELECT * FROM runs ORDER BY run_id"))


def recorded_stage_keys(text: str | None) -> dict[str, Any] | None:
    """A run's ``stage_keys`` column as the dict the scan wrote (stage -> key, and ``"versions"`` since
    2026-12-05), or None when the run recorded none or its text is not a JSON object."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def stage_versions_recorded(ws: Workspace) -> dict[str, int]:
    """stage -> the highest stage version any scan of the workspace recorded (``runs.stage_keys`` holds
    ``"versions"`` since 2026-12-05; a workspace scanned only before records none: ``{}``)."""
    out: dict[str, int] = {}
    with ws.read() as con:
        rows = con.execute("SELECT stage_keys FROM runs WHERE stage_keys IS NOT NULL").fetchall()
    for (text,) in rows:
        versions = (recorded_stage_keys(text) or {}).get("versions") or {}
        for stage, v in versions.items() if isinstance(versions, dict) else ():
            if isinstance(v, int) and not isinstance(v, bool):
                out[stage] = max(out.get(stage, v), v)
    return out


def result_runs(ws: Workspace) -> dict[str, dict[str, int | None]]:
    """stage -> {recording_id: the run that computed its stored ``ok`` result (None: not recorded)}."""
    with ws.read() as con:
        rows = con.execute("SELECT stage, recording_id, run_id FROM stage_results WHERE status = 'ok' "
                           "ORDER BY stage, recording_id").fetchall()
    out: dict[str, dict[str, int | None]] = {}
    for stage, rid, run_id in rows:
        out.setdefault(stage, {})[rid] = None if run_id is None else int(run_id)
    return out


def corpus_counts(ws: Workspace) -> dict[str, Any]:
    """What ``twotrack stats`` counts in SQL: isolation verdicts and recording layouts (value -> count,
    sorted by value), distinct speakers, and errors."""
    with ws.read() as con:
        isolation = {v: int(n) for v, n in con.execute(
            "SELECT isolation, count(*) AS n FROM checks GROUP BY isolation ORDER BY isolation").fetchall()}
        speakers = con.execute(
            "SELECT count(DISTINCT speaker_id) AS n FROM tracks WHERE speaker_id IS NOT NULL").fetchone()[0]
        errors = con.execute("SELECT count(*) AS n FROM errors").fetchone()[0]
        layouts = {v: int(n) for v, n in con.execute(
            "SELECT layout, count(*) AS n FROM recordings GROUP BY layout ORDER BY layout").fetchall()}
    return {"isolation": isolation, "speakers": int(speakers), "errors": int(errors), "layouts": layouts}


# ---------------------------------------------------------------------------------------------
# recordings
# ---------------------------------------------------------------------------------------------


def recordings(ws: Workspace, status: str | None = None) -> list[Recording]:
    """Every recording the workspace knows, in id order (``status``: ok, partial or failed)."""
    sql = "SELECT recording FROM recordings"
    params: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    with ws.read() as con:
        return [recording_from_json(r[0]) for r in con.execute(sql + " ORDER BY recording_id", params).fetchall()]


def recording(ws: Workspace, recording_id: str) -> Recording | None:
    with ws.read() as con:
        row = con.execute("SELECT recording FROM recordings WHERE recording_id = ?", [recording_id]).fetchone()
    return recording_from_json(row[0]) if row else None


def recording_ids(ws: Workspace) -> frozenset[str]:
    """The id of every recording the workspace knows."""
    with ws.read() as con:
        return frozenset(r[0] for r in con.execute("SELECT recording_id FROM recordings").fetchall())


def recording_table(ws: Workspace) -> list[dict[str, Any]]:
    """One dict per recording: id, status, duration, analysis rate, layout, tracks, license, tags, when."""
    with ws.read() as con:
        return _dicts(con.execute(
            "SELECT recording_id, status, duration_s, sample_rate, layout, source_type, n_tracks, license, "
            "tags, run_id, scanned_at FROM recordings ORDER BY recording_id"))


def durations(ws: Workspace) -> dict[str, float]:
    """Duration in seconds of every recording that decoded."""
    with ws.read() as con:
        rows = con.execute("SELECT recording_id, duration_s FROM recordings WHERE duration_s IS NOT NULL")
        return {rid: float(d) for rid, d in rows.fetchall()}


def track_speakers(ws: Workspace) -> dict[str, dict[int, str | None]]:
    """recording_id -> track -> speaker id (None when the manifest named none)."""
    out: dict[str, dict[int, str | None]] = {}
    with ws.read() as con:
        for rid, track, speaker in con.execute(
                "SELECT recording_id, track, speaker_id FROM tracks ORDER BY recording_id, track").fetchall():
            out.setdefault(rid, {})[int(track)] = speaker
    return out


def speaker_metadata(ws: Workspace) -> dict[str, str | None]:
    """speaker_id -> the speaker's metadata as stored (a JSON object as text, or None)."""
    with ws.read() as con:
        return {str(s): m for s, m in con.execute("SELECT speaker_id, metadata FROM speakers").fetchall()}


@dataclass(frozen=True)
class RecordingArrays:
    """One recording read for drawing: its record, and its events and activity as numpy columns."""

    recording: Recording
    duration_s: float
    sample_rate: int | None
    source_key: str
    events: dict[str, np.ndarray]  # kind, start_s, end_s, track and from_track (-1: none), value (NaN: none)
    activity: dict[str, np.ndarray]  # track, start_s, end_s, by track then start


def recording_arrays(ws: Workspace, recording_id: str) -> RecordingArrays | None:
    """Everything the explorer draws of one recording, read in one session (None when there is no such id)."""
    with ws.read() as con:
        row = con.execute("SELECT recording, duration_s, sample_rate, source_key FROM recordings "
                          "WHERE recording_id = ?", [recording_id]).fetchone()
        ev = con.execute(
            "SELECT kind, start_s, end_s, coalesce(track, -1) AS track, coalesce(from_track, -1) AS from_track, "
            "coalesce(value, 'NaN'::DOUBLE) AS value FROM events WHERE recording_id = ? "
            "ORDER BY start_s, kind, track", [recording_id]).fetchnumpy()
        act = con.execute("SELECT track, start_s, end_s FROM activity WHERE recording_id = ? "
                          "ORDER BY track, start_s", [recording_id]).fetchnumpy()
    if row is None:
        return None
    return RecordingArrays(recording=recording_from_json(row[0]), duration_s=float(row[1] or 0.0),
                           sample_rate=row[2], source_key=row[3] or "", events=ev, activity=act)


# ---------------------------------------------------------------------------------------------
# stage results
# ---------------------------------------------------------------------------------------------


def checks(ws: Workspace, recording_id: str) -> CheckResult | None:
    with ws.read() as con:
        return _checks(con, recording_id)


def check_results(ws: Workspace) -> dict[str, CheckResult]:
    """recording_id -> the stored CheckResult, for every recording that has one."""
    with ws.read() as con:
        rows = con.execute("SELECT recording_id, result FROM checks").fetchall()
    return {rid: checks_from_json(text) for rid, text in rows if text}


def check_table(ws: Workspace) -> list[dict[str, Any]]:
    """One dict per checked recording: isolation, bleed level and direction, offset, drift, duplicates."""
    with ws.read() as con:
        return _dicts(con.execute(
            "SELECT recording_id, isolation, bleed_db, bleed_direction, offset_ms, drift_ppm, duplicate_channels "
            "FROM checks"))


def activity(ws: Workspace, recording_id: str) -> tuple[TrackActivity, ...]:
    with ws.read() as con:
        return _activity(con, recording_id)


def activity_by_recording(ws: Workspace) -> dict[str, tuple[TrackActivity, ...]]:
    """Activity of every recording that has it (the input of ``twotrack.evaluate``)."""
    with ws.read() as con:
        summary = con.execute(
            "SELECT recording_id, track, detector FROM track_activity ORDER BY recording_id, track").fetchall()
        segments = con.execute(
            "SELECT recording_id, track, start_s, end_s FROM activity ORDER BY recording_id, track, start_s"
        ).fetchall()
    by_sum: dict[str, list[tuple]] = defaultdict(list)
    by_seg: dict[str, list[tuple]] = defaultdict(list)
    for rid, t, d in summary:
        by_sum[rid].append((t, d))
    for rid, t, a, b in segments:
        by_seg[rid].append((t, a, b))
    return {rid: activity_from_rows(s, by_seg.get(rid, [])) for rid, s in by_sum.items()}


def speech_seconds(ws: Workspace) -> dict[str, tuple[float, ...]]:
    """recording_id -> speech seconds per track (from the activity stage)."""
    out: dict[str, list[float]] = defaultdict(list)
    with ws.read() as con:
        for rid, _, s in con.execute(
                "SELECT recording_id, track, speech_s FROM track_activity ORDER BY recording_id, track").fetchall():
            out[rid].append(float(s))
    return {k: tuple(v) for k, v in out.items()}


def speech_by_track(ws: Workspace) -> dict[str, dict[int, float]]:
    """recording_id -> track -> speech seconds, for the tracks whose speech time is known."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    with ws.read() as con:
        for rid, track, speech in con.execute("SELECT recording_id, track, speech_s FROM track_activity").fetchall():
            if speech is not None:
                out[rid][int(track)] = float(speech)
    return out


def events(ws: Workspace, recording_id: str) -> tuple[Event, ...]:
    with ws.read() as con:
        return _events(con, recording_id)


def event_tables(ws: Workspace) -> dict[str, dict[str, np.ndarray]]:
    """Every recording's events as numpy columns (the ``turns.table`` form: kind, start, end,
    track and from_track with -1 for none, value with NaN for none), read in one query."""
    with ws.read() as con:
        ids = [r[0] for r in con.execute(
            "SELECT recording_id FROM stage_results WHERE stage = 'events' AND status = 'ok' "
            "ORDER BY recording_id").fetchall()]
        cols = con.execute(
            "SELECT recording_id, kind, start_s, end_s, coalesce(track, -1) AS track, "
            "coalesce(from_track, -1) AS from_track, coalesce(value, 'NaN'::DOUBLE) AS value FROM events "
            "ORDER BY recording_id, start_s, kind, track").fetchnumpy()
    out: dict[str, dict[str, np.ndarray]] = {}
    rid = np.asarray(cols["recording_id"], dtype=object)
    bounds = np.flatnonzero(rid[1:] != rid[:-1]) + 1 if len(rid) else np.zeros(0, np.int64)
    starts = np.concatenate(([0], bounds)) if len(rid) else np.zeros(0, np.int64)
    stops = np.concatenate((bounds, [len(rid)])) if len(rid) else np.zeros(0, np.int64)
    for a, b in zip(starts.tolist(), stops.tolist()):
        out[rid[a]] = {
            "kind": np.asarray(cols["kind"][a:b], dtype=str),
            "start": np.asarray(cols["start_s"][a:b], np.float64),
            "end": np.asarray(cols["end_s"][a:b], np.float64),
            "track": np.asarray(cols["track"][a:b], np.int64),
            "from_track": np.asarray(cols["from_track"][a:b], np.int64),
            "value": np.asarray(cols["value"][a:b], np.float64),
        }
    empty = {"kind": np.zeros(0, "<U16"), "start": np.zeros(0), "end": np.zeros(0),
             "track": np.zeros(0, np.int64), "from_track": np.zeros(0, np.int64), "value": np.zeros(0)}
    return {r: out.get(r, {k: v.copy() for k, v in empty.items()}) for r in ids}


def event_lists(ws: Workspace, kinds: Sequence[str]) -> list[dict[str, Any]]:
    """Per (recording_id, kind, track) of the given event kinds: ``starts``, ``durations`` (end - start, to
    the microsecond as the times are: without it 0.3 read 0.3000000000000007) and
    ``vals`` (the events' values), each a list in time order."""
    if not kinds:
        return []
    marks = ", ".join("?" for _ in kinds)
    with ws.read() as con:
        return _dicts(con.execute(
            "SELECT recording_id, kind, track, list(start_s ORDER BY start_s) AS starts, "
            "list(round(end_s - start_s, 6) ORDER BY start_s) AS durations, "
            f"list(value ORDER BY start_s) AS vals FROM events WHERE kind IN ({marks}) "
            "GROUP BY recording_id, kind, track", list(kinds)))


@dataclass(frozen=True)
class StoredWords:
    """The words stage's result for one recording: words in time order, where they came from
    (``stage`` or ``aligned``), and each track's language (track -> (code or "unknown", probability, model))."""

    words: tuple  # model.Word, sorted by (start, track)
    source: str | None
    languages: dict[int, tuple[str, float | None, str | None]]
    #: aligned transcript lines, by start: {track, start, end, text, fit, kept, reason} (empty for recognised words)
    lines: tuple = ()

    @property
    def unfit(self) -> tuple:
        """The lines whose text was judged not to fit their audio (``words.align.UNFIT``)."""
        return tuple(ln for ln in self.lines if (ln["reason"] or "").startswith(TEXT_UNFIT))

    @property
    def not_aligned(self) -> tuple:
        """The lines the forced alignment found no path through (``words.align.NOT_ALIGNED``)."""
        return tuple(ln for ln in self.lines if (ln["reason"] or "").startswith(TEXT_NOT_ALIGNED))

    @property
    def dropped(self) -> tuple:
        """The lines that kept no words: judged not to fit, or not aligned at all (no path through the text)."""
        return tuple(ln for ln in self.lines if not ln["kept"])


def words(ws: Workspace, recording_id: str) -> StoredWords:
    """One recording's stored words and languages (empty when the words stage did not run)."""
    with ws.read() as con:
        return _words(con, recording_id)


def word_counts(ws: Workspace) -> dict[str, dict[str, Any]]:
    """recording_id -> {"source": str, "tracks": {track: words}, "languages": {track: code}} for every
    recording with stored words or languages (one query each table, for corpus views and the export planner);
    with aligned transcript lines also "lines" (how many), "unfit_lines" (judged not to fit their audio) and
    "dropped_lines" (kept no words: unfit, or not aligned at all; "not_aligned_lines" the latter,
    "unfit_dropped_lines" the former: with ``words.text_fit = keep`` an unfit line keeps its words)."""
    out: dict[str, dict[str, Any]] = {}
    with ws.read() as con:
        for rid, track, n, source in con.execute(
                "SELECT recording_id, track, count(*) AS n, min(source) AS source FROM words "
                "GROUP BY recording_id, track ORDER BY recording_id, track").fetchall():
            d = out.setdefault(rid, {"source": source, "tracks": {}, "languages": {}})
            d["tracks"][int(track)] = int(n)
        for rid, track, lang, source in con.execute(
                "SELECT recording_id, track, language, source FROM track_languages ORDER BY recording_id, track"
        ).fetchall():
            d = out.setdefault(rid, {"source": source, "tracks": {}, "languages": {}})
            d["languages"][int(track)] = lang
        for rid, n, unfit, dropped, lost, unfit_dropped in con.execute(
                "SELECT recording_id, count(*), count(*) FILTER (WHERE starts_with(reason, ?)), "
                "count(*) FILTER (WHERE NOT kept), count(*) FILTER (WHERE starts_with(reason, ?)), "
                "count(*) FILTER (WHERE starts_with(reason, ?) AND NOT kept) FROM line_fits "
                "GROUP BY recording_id", [TEXT_UNFIT, TEXT_NOT_ALIGNED, TEXT_UNFIT]).fetchall():
            d = out.setdefault(rid, {"source": "aligned", "tracks": {}, "languages": {}})
            d["lines"], d["unfit_lines"], d["dropped_lines"] = int(n), int(unfit), int(dropped)
            d["not_aligned_lines"], d["unfit_dropped_lines"] = int(lost), int(unfit_dropped)
    return out


def frames(ws: Workspace, recording_id: str, kind: str = "speech_prob") -> np.ndarray | None:
    """A stored per-frame array (n_tracks, n_frames), or None when none was kept."""
    with ws.read() as con:
        row = con.execute("SELECT path FROM frame_files WHERE recording_id = ? AND kind = ?",
                          [recording_id, kind]).fetchone()
    if not row:
        return None
    tbl = pq.read_table(ws.path / row[0])
    return np.stack([tbl.column(name).to_numpy() for name in tbl.column_names])


def stage_table(ws: Workspace, recording_id: str | None = None) -> list[dict[str, Any]]:
    """Which stage of which recording was computed under which key, with what status."""
    sql = ("SELECT recording_id, stage, status, note, stage_key, source_key, seconds, run_id, computed_at "
           "FROM stage_results")
    params = []
    if recording_id is not None:
        sql += " WHERE recording_id = ?"
        params.append(recording_id)
    with ws.read() as con:
        return _dicts(con.execute(sql + " ORDER BY recording_id, stage", params))


def run_keys_of_stage(ws: Workspace, stage: str) -> dict[str, str | None]:
    """recording_id -> the corpus-level key of ``stage`` in the run that computed its stored ``ok`` result
    (``runs.stage_keys``; None when that run is not recorded). Recordings computed under different keys
    hold results of different stage versions or configs (a per-recording clock declaration does not change
    this key, so paired recordings compare equal)."""
    with ws.read() as con:
        rows = con.execute(
            "SELECT s.recording_id, r.stage_keys FROM stage_results s LEFT JOIN runs r ON s.run_id = r.run_id "
            "WHERE s.stage = ? AND s.status = 'ok' ORDER BY s.recording_id", [stage]).fetchall()
    return {rid: (recorded_stage_keys(keys) or {}).get(stage) for rid, keys in rows}


def stage_status_counts(ws: Workspace) -> list[dict[str, Any]]:
    """Per (stage, status), sorted: ``n`` recordings and the distinct ``notes`` they carry."""
    with ws.read() as con:
        return _dicts(con.execute(
            "SELECT stage, status, count(*) AS n, list(DISTINCT note) AS notes FROM stage_results "
            "GROUP BY stage, status ORDER BY stage, status"))


# ---------------------------------------------------------------------------------------------
# errors and whole results
# ---------------------------------------------------------------------------------------------


def errors(ws: Workspace) -> list[ErrorRecord]:
    """What failed and why: current errors (a fixed file's old errors are gone after its rescan)."""
    return [
        ErrorRecord(path=r["path"], problem=r["problem"], stage=r["stage"], recording_id=r["recording_id"])
        for r in error_table(ws)
    ]


def error_table(ws: Workspace) -> list[dict[str, Any]]:
    with ws.read() as con:
        return _dicts(con.execute(
            "SELECT recording_id, path, stage, problem, origin, run_id, created_at FROM errors "
            "ORDER BY path, stage, recording_id"))


def result(ws: Workspace, recording_id: str) -> RecordingResult | None:
    """Everything stored for one recording, as the pipeline's result type."""
    with ws.read() as con:
        row = con.execute(
            "SELECT recording, duration_s, sample_rate FROM recordings WHERE recording_id = ?", [recording_id]
        ).fetchone()
        if not row:
            return None
        errs = con.execute(
            "SELECT path, problem, stage, recording_id FROM errors WHERE recording_id = ? ORDER BY stage",
            [recording_id]).fetchall()
        return RecordingResult(
            recording=recording_from_json(row[0]), duration_s=float(row[1] or 0.0), sample_rate=int(row[2] or 0),
            checks=_checks(con, recording_id), activity=_activity(con, recording_id),
            events=_events(con, recording_id),
            errors=tuple(ErrorRecord(path=p, problem=q, stage=s, recording_id=r) for p, q, s, r in errs),
        )


def results(ws: Workspace, batch: int = 200) -> Iterator[RecordingResult]:
    """Every stored recording's result, in id order, reading ``batch`` recordings per session."""
    with ws.read() as con:
        ids = [r[0] for r in con.execute("SELECT recording_id FROM recordings ORDER BY recording_id").fetchall()]
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        with ws.read() as con:
            out = [_result_in(con, rid) for rid in chunk]
        yield from (r for r in out if r is not None)


# ---------------------------------------------------------------------------------------------
# what the scan's planner compares against
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanView:
    """The stored state of a batch of recordings, as the planner compares against it."""

    cache: dict[str, SourceRecord]  # source path -> what the last scan saw there
    state: dict[str, dict[str, tuple[str, str, str]]]  # recording_id -> stage -> (source key, stage key, status)
    stored: dict[str, tuple[str, float | None, int | None]]  # recording_id -> (JSON, duration_s, sample_rate)


def stage_state(ws: Workspace, recording_ids: Sequence[str] | None = None
                ) -> dict[str, dict[str, tuple[str, str, str]]]:
    """recording_id -> stage -> (source_key, stage_key, status): what the planner compares against
    (all recordings, or only ``recording_ids``)."""
    with ws.read() as con:
        return _stage_state(con, recording_ids)


def stored_recordings(ws: Workspace, recording_ids: Sequence[str] | None = None
                      ) -> dict[str, tuple[str, float | None, int | None]]:
    """recording_id -> (recording JSON, duration_s, sample_rate) for the planner."""
    with ws.read() as con:
        return _stored_recordings(con, recording_ids)


def stored_inputs(ws: Workspace, recording_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored results a partial rerun builds on: checks and activity of each recording."""
    ids = list(recording_ids)
    if not ids:
        return {}
    with ws.read() as con:
        return {rid: {"checks": _checks(con, rid), "activity": _activity(con, rid)} for rid in ids}


def source_cache(ws: Workspace, paths: Sequence[str] | None = None) -> dict[str, SourceRecord]:
    """path -> what the last scan saw there (sha256 is reused while size and mtime are unchanged)."""
    with ws.read() as con:
        return _source_cache(con, paths)


def plan_view(ws: Workspace, recording_ids: Sequence[str], paths: Sequence[str]) -> PlanView:
    """What the planner needs about some recordings and source files, read in one session."""
    with ws.read() as con:
        return PlanView(cache=_source_cache(con, paths), state=_stage_state(con, recording_ids),
                        stored=_stored_recordings(con, recording_ids))


# ---------------------------------------------------------------------------------------------
# helpers inside one session
# ---------------------------------------------------------------------------------------------


# The planner's reads: everything, or only the given keys (a semi-join on an unnested list, so a
# batch of a huge workspace costs one scan of the table, not one query per key).
def _only(column: str, values: Sequence[str] | None) -> tuple[str, list[Any]]:
    if values is None:
        return "", []
    return f" WHERE {column} IN (SELECT unnest(?::VARCHAR[]))", [list(values)]


def _stage_state(con, recording_ids: Sequence[str] | None) -> dict[str, dict[str, tuple[str, str, str]]]:
    where, params = _only("recording_id", recording_ids)
    out: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for rid, stage, sk, key, status in con.execute(
            "SELECT recording_id, stage, source_key, stage_key, status FROM stage_results" + where, params).fetchall():
        out[rid][stage] = (sk, key, status)
    return dict(out)


def _stored_recordings(con, recording_ids: Sequence[str] | None) -> dict[str, tuple[str, float | None, int | None]]:
    where, params = _only("recording_id", recording_ids)
    return {rid: (js, d, sr) for rid, js, d, sr in con.execute(
        "SELECT recording_id, recording, duration_s, sample_rate FROM recordings" + where, params).fetchall()}


def _source_cache(con, paths: Sequence[str] | None) -> dict[str, SourceRecord]:
    from ..model import AudioInfo

    where, params = _only("path", paths)
    rows = con.execute("SELECT path, sha256, size_bytes, mtime_ns, probe FROM sources" + where, params).fetchall()
    return {
        p: SourceRecord(path=p, sha256=h, size_bytes=int(sz), mtime_ns=int(mt),
                          info=AudioInfo.from_dict(json.loads(probe)) if probe else None)
        for p, h, sz, mt, probe in rows
    }


def _result_in(con, rid: str) -> RecordingResult | None:
    row = con.execute("SELECT recording, duration_s, sample_rate FROM recordings WHERE recording_id = ?",
                      [rid]).fetchone()
    if not row:
        return None
    errs = con.execute("SELECT path, problem, stage, recording_id FROM errors WHERE recording_id = ?",
                       [rid]).fetchall()
    return RecordingResult(
        recording=recording_from_json(row[0]), duration_s=float(row[1] or 0.0), sample_rate=int(row[2] or 0),
        checks=_checks(con, rid), activity=_activity(con, rid), events=_events(con, rid),
        errors=tuple(ErrorRecord(path=p, problem=q, stage=s, recording_id=r) for p, q, s, r in errs),
    )


def _checks(con, rid: str) -> CheckResult | None:
    row = con.execute("SELECT result FROM checks WHERE recording_id = ?", [rid]).fetchone()
    return checks_from_json(row[0]) if row else None


def _activity(con, rid: str) -> tuple[TrackActivity, ...]:
    summary = con.execute("SELECT track, detector FROM track_activity WHERE recording_id = ? ORDER BY track",
                          [rid]).fetchall()
    segments = con.execute("SELECT track, start_s, end_s FROM activity WHERE recording_id = ? ORDER BY track, start_s",
                           [rid]).fetchall()
    return activity_from_rows(summary, segments)


def _events(con, rid: str) -> tuple[Event, ...]:
    rows = con.execute("SELECT kind, start_s, end_s, track, from_track, value FROM events WHERE recording_id = ? "
                       "ORDER BY start_s, kind, track", [rid]).fetchall()
    return events_from_rows(rows, rid)


def _words(con, rid: str) -> StoredWords:
    rows = con.execute("SELECT track, start_s, end_s, word, probability FROM words WHERE recording_id = ? "
                       "ORDER BY start_s, track, end_s", [rid]).fetchall()
    langs = con.execute("SELECT track, language, probability, model, source FROM track_languages "
                        "WHERE recording_id = ? ORDER BY track", [rid]).fetchall()
    src = con.execute("SELECT min(source) FROM words WHERE recording_id = ?", [rid]).fetchone()[0]
    lines = _dicts(con.execute("SELECT track, start_s AS start, end_s AS \"end\", text, fit, coverage, kept, reason FROM line_fits "
                               "WHERE recording_id = ? ORDER BY start_s, track", [rid]))
    return StoredWords(words=words_from_rows(rid, rows), source=src or (langs[0][4] if langs else None),
                       languages={int(t): (lang, p, m) for t, lang, p, m, _ in langs}, lines=tuple(lines))


def _dicts(cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def track_paths_under(ws, roots: Sequence[str]) -> list[tuple[str, str]]:
    """(recording_id, path) of every stored track whose source path is one of ``roots`` or lies under one,
    in id order (only the matching pairs are read: no Recording objects)."""
    roots = [str(r).rstrip("/") for r in roots if str(r).strip("/")]
    if not roots:
        return []
    where = " OR ".join(["(path = ? OR starts_with(path, ?))"] * len(roots))
    params = [x for r in roots for x in (r, r + "/")]
    with ws.read() as con:
        rows = con.execute(f"SELECT DISTINCT recording_id, path FROM tracks WHERE {where} "
                           "ORDER BY recording_id, path", params).fetchall()
    return [(str(rid), str(path)) for rid, path in rows]
