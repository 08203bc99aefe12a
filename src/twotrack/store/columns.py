"""The shared vocabulary as the workspace tables' columns: ``Columns`` collects the rows of many
``ResultWrite`` records and turns them into one pyarrow table per workspace table (one ``INSERT ... SELECT`` per
table and batch, because DuckDB's row-by-row ``executemany`` costs about a millisecond per row).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..model import CheckResult, ErrorRecord, Event, Recording, TrackActivity, track_index, track_name
from .rows import ResultWrite, SourceRecord, dumps


def _none_if_nan(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


# Arrow arrays are built here from numpy buffers, not with ``pa.array``: wherever pandas is installed,
# ``pa.array`` imports it on first use (0.5 CPU s, in every command that writes the workspace) to ask
# whether its input is a pandas object. The values and nulls are the ones ``pa.array`` makes.
_NUMERIC = {pa.float64(): np.float64, pa.float32(): np.float32, pa.int32(): np.int32, pa.int64(): np.int64,
            pa.uint8(): np.uint8}


def _validity(values: Sequence) -> tuple[pa.Buffer | None, int]:
    valid = np.fromiter((v is not None for v in values), bool, len(values))
    nulls = len(values) - int(valid.sum())
    return (pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None), nulls


def _strings(values: Sequence, typ: pa.DataType) -> pa.Array:
    encoded = [b"" if v is None else str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
    if typ == pa.string() and offsets[-1] >= 2**31:  # 32-bit offsets: a batch this large goes as large_string
        typ = pa.large_string()
    offsets = offsets.astype(np.int32 if typ == pa.string() else np.int64)
    bitmap, nulls = _validity(values)
    return pa.Array.from_buffers(typ, len(encoded), [bitmap, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                 null_count=nulls)


def arrow_array(values: Sequence | np.ndarray, typ: pa.DataType) -> pa.Array:
    """``values`` (None for null) as an arrow array of ``typ``: string, list of strings, bool or a number."""
    if isinstance(values, np.ndarray) and typ in _NUMERIC and values.dtype != object:
        data = np.ascontiguousarray(values, _NUMERIC[typ])
        return pa.Array.from_buffers(typ, len(data), [None, pa.py_buffer(data)])
    n = len(values)
    if typ in (pa.string(), pa.large_string()):
        return _strings(values, typ)
    bitmap, nulls = _validity(values)
    if typ in _NUMERIC:
        exact = operator.index if pa.types.is_integer(typ) else float  # a float in an integer column is an error
        data = np.fromiter((0 if v is None else exact(v) for v in values), _NUMERIC[typ], n)
        return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(data)], null_count=nulls)
    if typ == pa.bool_():
        bits = np.packbits(np.fromiter((bool(v) for v in values), bool, n), bitorder="little")
        return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(bits)], null_count=nulls)
    if pa.types.is_list(typ) and typ.value_type == pa.string():
        items = [[] if v is None else list(v) for v in values]
        offsets = np.zeros(n + 1, np.int32)
        np.cumsum(np.fromiter(map(len, items), np.int32, n), out=offsets[1:])
        child = _strings([x for row in items for x in row], pa.string())
        return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(offsets)], null_count=nulls, children=[child])
    raise TypeError(f"no arrow builder for {typ}")


def arrow_table(columns: dict[str, tuple[Sequence | np.ndarray, pa.DataType]]) -> pa.Table:
    """name -> (values, type) as one arrow table (see ``arrow_array``)."""
    return pa.Table.from_arrays([arrow_array(v, t) for v, t in columns.values()], names=list(columns))


def table(columns: dict[str, list], schema: dict[str, pa.DataType]) -> pa.Table:
    return arrow_table({name: (columns[name], schema[name]) for name in schema})


# ---------------------------------------------------------------------------------------------
# model -> columns
# ---------------------------------------------------------------------------------------------

S, F, I, B = pa.string(), pa.float64(), pa.int32(), pa.bool_()
L = pa.list_(pa.string())

SCHEMAS: dict[str, dict[str, pa.DataType]] = {
    "recordings": {"recording_id": S, "source_key": S, "layout": S, "source_type": S, "n_tracks": I,
                   "license": S, "tags": S, "metadata": S, "transcript": S, "duration_s": F,
                   "sample_rate": I, "status": S, "recording": S, "run_id": I},
    "tracks": {"recording_id": S, "track": I, "name": S, "path": S, "channel": I, "sha256": S, "speaker_id": S},
    "checks": {"recording_id": S, "isolation": S, "bleed_db": F, "bleed_lag_ms": F, "bleed_direction": S,
               "offset_ms": F, "drift_ppm": F, "duplicate_channels": B, "codec": S, "sample_rate": I,
               "reasons": L, "result": S},
    "track_quality": {"recording_id": S, "track": I, "clipping_share": F, "dc_offset": F,
                      "effective_bandwidth_hz": F, "snr_db": F, "speech_share": F, "digital_silence": B},
    "track_activity": {"recording_id": S, "track": I, "detector": S, "n_segments": I, "speech_s": F},
    "activity": {"recording_id": S, "track": I, "start_s": F, "end_s": F, "detector": S},
    "events": {"recording_id": S, "kind": S, "start_s": F, "end_s": F, "track": I, "from_track": I, "value": F},
    "stage_results": {"recording_id": S, "stage": S, "source_key": S, "stage_key": S, "status": S, "note": S,
                      "seconds": F, "run_id": I},
    "errors": {"recording_id": S, "path": S, "stage": S, "problem": S, "origin": S, "run_id": I},
    "sources": {"path": S, "sha256": S, "size_bytes": pa.int64(), "mtime_ns": pa.int64(), "format": S,
                "codec": S, "channels": I, "sample_rate": I, "n_samples": pa.int64(), "duration_s": F,
                "repairs": L, "probe": S, "run_id": I},
    "words": {"recording_id": S, "track": I, "start_s": F, "end_s": F, "word": S, "probability": F, "source": S},
    "track_languages": {"recording_id": S, "track": I, "language": S, "probability": F, "model": S, "source": S},
    "line_fits": {"recording_id": S, "track": I, "start_s": F, "end_s": F, "text": S, "fit": F, "coverage": F, "kept": B,
                  "reason": S},
    "frame_files": {"recording_id": S, "kind": S, "stage_key": S, "path": S, "n_frames": pa.int64(), "hop_s": F},
}


class Columns:
    """Column lists for every table, filled from many ResultWrites, turned into arrow tables once."""

    def __init__(self) -> None:
        self.cols = {name: {c: [] for c in schema} for name, schema in SCHEMAS.items()}
        self.n = {name: 0 for name in SCHEMAS}

    def add(self, table_name: str, /, **values: Any) -> None:
        cols = self.cols[table_name]
        for c in cols:
            cols[c].append(values.get(c))
        self.n[table_name] += 1

    def extend(self, name: str, values: dict[str, Sequence]) -> None:
        lengths = {len(v) for v in values.values() if isinstance(v, (list, tuple, np.ndarray))}
        n = max(lengths) if lengths else 0
        cols = self.cols[name]
        for c in cols:
            v = values.get(c)
            if isinstance(v, (list, tuple, np.ndarray)):
                cols[c].extend(list(v))
            else:
                cols[c].extend([v] * n)
        self.n[name] += n

    def tables(self) -> dict[str, pa.Table]:
        return {name: table(self.cols[name], SCHEMAS[name]) for name in SCHEMAS if self.n[name]}


def add_recording(cols: Columns, item: ResultWrite, run_id: int) -> None:
    res = item.result
    rec = res.recording
    cols.add("recordings", recording_id=rec.recording_id, source_key=item.source_key, layout=rec.layout.value,
             source_type=rec.source_type.value, n_tracks=rec.n_tracks, license=rec.license,
             tags=dumps(rec.tags), metadata=dumps(rec.metadata), transcript=rec.transcript,
             duration_s=_none_if_nan(res.duration_s), sample_rate=res.sample_rate or None, status=item.status,
             recording=dumps(rec.to_dict()), run_id=run_id)
    add_tracks(cols, rec)


def add_tracks(cols: Columns, rec: Recording) -> None:
    for i, src in enumerate(rec.tracks):
        speaker = rec.speakers[i] if i < len(rec.speakers) else None
        cols.add("tracks", recording_id=rec.recording_id, track=i, name=track_name(i), path=src.path,
                 channel=src.channel, sha256=src.sha256, speaker_id=speaker)


def add_checks(cols: Columns, rid: str, checks: CheckResult) -> None:
    cols.add("checks", recording_id=rid, isolation=checks.isolation.value, bleed_db=_none_if_nan(checks.bleed_db),
             bleed_lag_ms=_none_if_nan(checks.bleed_lag_ms), bleed_direction=checks.bleed_direction,
             offset_ms=_none_if_nan(checks.offset_ms), drift_ppm=_none_if_nan(checks.drift_ppm),
             duplicate_channels=bool(checks.duplicate_channels), codec=checks.codec,
             sample_rate=checks.sample_rate, reasons=list(checks.reasons), result=dumps(checks.to_dict()))
    for q in checks.tracks:
        cols.add("track_quality", recording_id=rid, track=q.track, clipping_share=_none_if_nan(q.clipping_share),
                 dc_offset=_none_if_nan(q.dc_offset), effective_bandwidth_hz=_none_if_nan(q.effective_bandwidth_hz),
                 snr_db=_none_if_nan(q.snr_db), speech_share=_none_if_nan(q.speech_share),
                 digital_silence=bool(q.digital_silence))


def add_activity(cols: Columns, rid: str, activity: Iterable[TrackActivity]) -> None:
    for ta in activity:
        starts = [s.start for s in ta.segments]
        cols.add("track_activity", recording_id=rid, track=ta.track, detector=ta.detector,
                 n_segments=len(starts), speech_s=float(ta.speech_s))
        cols.extend("activity", {"recording_id": rid, "track": ta.track, "start_s": starts,
                                 "end_s": [s.end for s in ta.segments], "detector": ta.detector})


def add_events(cols: Columns, rid: str, events: Sequence[Event]) -> None:
    cols.extend("events", {
        "recording_id": rid,
        "kind": [e.kind.value for e in events],
        "start_s": [e.start for e in events],
        "end_s": [e.end for e in events],
        "track": [e.track for e in events],
        "from_track": [e.from_track for e in events],
        "value": [_none_if_nan(e.value) for e in events],
    })


def add_words(cols: Columns, rid: str, words) -> None:
    """Rows of a ``words.WordsResult`` (duck-typed: ``words``, ``languages``, ``models``, ``source``)."""
    cols.extend("words", {
        "recording_id": rid,
        "track": [w.track for w in words.words],
        "start_s": [float(w.start) for w in words.words],
        "end_s": [float(w.end) for w in words.words],
        "word": [w.text for w in words.words],
        "probability": [_none_if_nan(w.probability) for w in words.words],
        "source": words.source,
    })
    for name, (language, prob) in sorted(words.languages.items()):
        cols.add("track_languages", recording_id=rid, track=track_index(name), language=language,
                 probability=_none_if_nan(prob), model=words.models.get(name), source=words.source)
    for ln in getattr(words, "lines", ()):  # aligned transcript lines: their text fit, kept or why not
        cols.add("line_fits", recording_id=rid, track=ln.track, start_s=float(ln.start), end_s=float(ln.end),
                 text=ln.text, fit=_none_if_nan(ln.fit), coverage=_none_if_nan(ln.coverage),
                 kept=bool(ln.kept), reason=ln.reason)


def add_errors(cols: Columns, errors: Iterable[ErrorRecord], origin: str, run_id: int | None) -> None:
    for e in errors:
        cols.add("errors", recording_id=e.recording_id, path=e.path, stage=e.stage, problem=e.problem,
                 origin=origin, run_id=run_id)


def add_source(cols: Columns, src: SourceRecord, run_id: int) -> None:
    info = src.info
    cols.add("sources", path=src.path, sha256=src.sha256, size_bytes=src.size_bytes, mtime_ns=src.mtime_ns,
             format=info.format if info else None, codec=info.codec if info else None,
             channels=info.channels if info else None, sample_rate=info.sample_rate if info else None,
             n_samples=info.n_samples if info else None, duration_s=_none_if_nan(info.duration_s) if info else None,
             repairs=list(info.repairs) if info else [], probe=dumps(info.to_dict()) if info else None,
             run_id=run_id)
