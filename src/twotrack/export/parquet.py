"""Parquet / Hugging Face: ``data/<rate>hz/part-NNNNN.parquet`` shards, one row per exported piece.

Shards hold one sample rate each (a folder per rate, a ``configs`` entry per rate in the README card), so
every shard's ``audio`` column is declared in its schema metadata as a Hugging Face ``Audio`` feature *with
its rate*: ``datasets.load_dataset(folder, "16000hz")`` gives ``Audio(sampling_rate=16000)`` and no cast is
needed. Each row holds the audio as encoded FLAC bytes (a channel per track) in an ``audio`` struct
``{bytes, path}`` (the ``Audio`` storage), and beside it
the per-track activity segments, the turn-taking events, the words (gold, else the words stage's) and their source, the checks, the recording's own
qualification and the rights verdict for every purpose, as nested columns (DuckDB reads them with
``unnest``). Times in a row are in the row's own timeline (0 = start of the piece).

Shards are filled up to ``shard_mb`` and never appended to once closed. A rerun writes new and changed
recordings to new shards and rewrites a shard without the rows of recordings that are no longer allowed
(or changed); a shard left empty is removed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..ingest.tracks import source_infos
from ..model import track_name
from .audio import BytesSink, stream_pieces
from .base import ExportItem, Exporter, track_speakers
from .croissant import EVENT_PARTS, audio_objects, cr_field, file_set, nested
from .state import Output, State, file_entry

_SEG = pa.struct([("start", pa.float64()), ("end", pa.float64())])
_STR_LIST = pa.list_(pa.string())

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("recording_id", pa.string()),
    ("piece", pa.int32()),
    ("start_s", pa.float64()),  # where the piece starts in the source recording
    ("end_s", pa.float64()),
    ("duration_s", pa.float64()),
    ("sample_rate", pa.int32()),
    ("channels", pa.int32()),
    ("audio", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("speakers", _STR_LIST),  # speaker id per channel (null when unknown)
    ("license", pa.string()),
    ("source_type", pa.string()),
    ("layout", pa.string()),
    ("tags", pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))),
    ("activity", pa.list_(pa.struct([("track", pa.string()), ("channel", pa.int32()), ("speaker", pa.string()),
                                     ("detector", pa.string()), ("segments", pa.list_(_SEG))]))),
    ("events", pa.list_(pa.struct([("kind", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
                                   ("track", pa.string()), ("from_track", pa.string()), ("value", pa.float64())]))),
    ("words", pa.list_(pa.struct([("track", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
                                  ("text", pa.string())]))),  # null when the recording has no words
    ("words_source", pa.string()),  # gold (transcript), aligned (its text aligned), stage (recognised); null: none
    ("checks", pa.struct([("isolation", pa.string()), ("bleed_db", pa.float64()), ("bleed_lag_ms", pa.float64()),
                          ("bleed_direction", pa.string()), ("offset_ms", pa.float64()), ("drift_ppm", pa.float64()),
                          ("duplicate_channels", pa.bool_()), ("codec", pa.string()), ("reasons", _STR_LIST)])),
    ("qualification", pa.struct([
        ("data_type", pa.string()), ("type_confirmed", pa.bool_()), ("passed_own_checks", pa.bool_()),
        ("failed", pa.list_(pa.int32())),
        ("phase_fit", pa.struct([("pre", pa.string()), ("mid", pa.string()), ("post", pa.string())])),
        ("requirements", pa.list_(pa.struct([("id", pa.int32()), ("name", pa.string()), ("passed", pa.bool_()),
                                             ("reasons", _STR_LIST)]))),
    ])),
    ("rights", pa.list_(pa.struct([("purpose", pa.string()), ("allowed", pa.bool_()), ("reasons", _STR_LIST),
                                   ("duties", _STR_LIST)]))),
    ("source_sample_rates", pa.list_(pa.int32())),  # the tracks' rates at the source (resampled when != sample_rate)
    ("text", pa.list_(pa.struct([("track", pa.string()), ("text", pa.string())]))),  # per track, from the words
])


def schema_for(rate: int) -> pa.Schema:
    """The shard schema for audio at ``rate``: the Hugging Face metadata declares the ``audio`` column an
    ``Audio`` feature with that rate (the other columns are read from their Arrow types)."""
    meta = {"huggingface": json.dumps({"info": {"features": {"audio": {"_type": "Audio", "sampling_rate": int(rate)}}}})}
    return SCHEMA.with_metadata(meta)


def rate_dir(rate: int) -> str:
    return f"data/{int(rate)}hz"


#: What docs/export.md and the card show, and the tests run (``folder`` is the export folder).
LOADING = """\
import datasets
names = datasets.get_dataset_config_names(folder)     # one config per sample rate, e.g. ["16000hz", "8000hz"]
ds = datasets.load_dataset(folder, names[0], split="train")
print(names, ds.features["audio"].sampling_rate, ds.num_rows)
row = ds[0]
audio = row["audio"].get_all_samples()                # torchcodec: (channels, n) float at the config's rate
print(row["id"], audio.sample_rate, tuple(audio.data.shape), [w["text"] for w in row["words"] or []][:8])
"""

#: Rows are buffered up to this many bytes of audio before a row group is written.
ROW_GROUP_BYTES = 8 << 20


def _clip_shift(pairs: Iterable[tuple[float, float]], a: float, b: float) -> list[dict[str, float]]:
    out = []
    for s, e in pairs:
        s2, e2 = max(s, a), min(e, b)
        if e2 > s2:
            out.append({"start": round(s2 - a, 4), "end": round(e2 - a, 4)})
    return out


def piece_columns(item: ExportItem, ctx, a: float, b: float) -> dict[str, Any]:
    """Every column of a row but the audio and the ids, for the piece ``[a, b)`` of ``item``."""
    rec = item.recording
    speakers = track_speakers(rec)
    activity = []
    for act in item.activity:
        spk = speakers[act.track] if act.track < len(speakers) else None
        activity.append({"track": track_name(act.track), "channel": act.track, "speaker": spk,
                         "detector": act.detector, "segments": _clip_shift(((s.start, s.end) for s in act.segments), a, b)})
    words = None
    if item.words is not None:
        words = [{"track": track_name(t), "start": round(w.start - a, 4), "end": round(min(w.end, b) - a, 4),
                  "text": w.text.strip()}
                 for t, ws in sorted(item.words.items()) for w in ws if a <= w.start < b]
        words.sort(key=lambda w: (w["start"], w["track"]))
    checks = None
    if item.checks is not None:
        c = item.checks
        checks = {"isolation": c.isolation.value, "bleed_db": c.bleed_db, "bleed_lag_ms": c.bleed_lag_ms,
                  "bleed_direction": c.bleed_direction, "offset_ms": c.offset_ms, "drift_ppm": c.drift_ppm,
                  "duplicate_channels": c.duplicate_channels, "codec": c.codec, "reasons": list(c.reasons)}
    rights = []
    for purpose, verdicts in ctx.all_verdicts().items():
        v = verdicts.get(rec.recording_id)
        if v is not None:
            rights.append({"purpose": purpose, "allowed": v.allowed, "reasons": [r.message for r in v.reasons],
                           "duties": list(v.duties)})
    return {
        "speakers": speakers if rec.speakers or any(speakers) else None,
        "license": rec.license,
        "source_type": rec.source_type.value,
        "layout": rec.layout.value,
        "tags": [{"key": k, "value": v} for k, v in sorted(rec.tags.items())],
        "activity": activity,
        "events": item.piece_events(a, b),
        "words": words,
        "words_source": item.words_source,
        "checks": checks,
        "qualification": ctx.qualification().get(rec.recording_id),
        "rights": rights,
    }


@dataclass
class _Shard:
    """An open shard of one sample rate: its rows buffered up to ``ROW_GROUP_BYTES`` of audio."""

    rel: str
    writer: pq.ParquetWriter
    schema: pa.Schema
    pending: list[Output] = field(default_factory=list)  # recordings in the shard
    buffer: list[dict[str, Any]] = field(default_factory=list)
    buffer_bytes: int = 0

    def flush(self) -> None:
        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
        self.buffer, self.buffer_bytes = [], 0


class ParquetExporter(Exporter):
    name = "parquet"
    version = 3  # 2: a folder (and schema) per sample rate, source rates and text per row; 3: a mono
    # track's speakers named
    defaults = {"sample_rate": None, "max_duration_s": 600.0}
    managed_dirs = ("data",)
    manifest_names = ()

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._open: dict[int, _Shard] = {}  # sample rate -> its open shard

    def key_extra(self, rec, channels=None) -> Any:
        rid = rec.recording_id
        return {
            "rights": {p: [v[rid].allowed, [r.message for r in v[rid].reasons], list(v[rid].duties)]
                       for p, v in self.ctx.all_verdicts().items() if rid in v},
            "qualification": self.ctx.qualification().get(rid),
        }

    # ---- shards ----
    def _next_shard(self, state: State, rate: int) -> str:
        seq = int(state.extra.get("next_shard", 0))
        state.extra["next_shard"] = seq + 1
        return f"{rate_dir(rate)}/part-{seq:05d}.parquet"

    def _tmp(self, rel: str) -> Path:
        p = self.out / rel
        return p.with_name(f".{p.name}.tmp{os.getpid()}")

    def _close_shard(self, rate: int) -> list[Output]:
        shard = self._open.pop(rate, None)
        if shard is None:
            return []
        shard.flush()
        shard.writer.close()
        os.replace(self._tmp(shard.rel), self.out / shard.rel)
        rids = [o.recording_id for o in shard.pending]
        ids = [p["id"] for o in shard.pending for p in o.pieces]
        entry = file_entry(self.out, shard.rel, rids, ids)
        for o in shard.pending:
            o.files = [entry]
        return shard.pending

    def add(self, item: ExportItem) -> list[Output]:
        state = self.state
        rec = item.recording
        rate = int(self.resolved["sample_rate"] or max(i.sample_rate for i in source_infos(rec).values()))
        plan = item.plan(self.resolved["max_duration_s"], self.resolved["min_cut_silence_s"])
        cuts = [a for a, _ in plan.pieces] + [plan.pieces[-1][1]]
        n = len(plan.pieces)
        resampled = item.resample_note(rate)
        src_rates = item.source_rates()
        pieces: list[dict] = []
        shard = self._open.get(rate)
        if shard is None:
            rel = self._next_shard(state, rate)
            tmp = self._tmp(rel)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            shard = self._open[rate] = _Shard(rel, pq.ParquetWriter(tmp, schema_for(rate), compression="zstd"),
                                              schema_for(rate))
        flushed = [False]  # rows of this recording already in the shard file

        def row_of(i: int, data: bytes, frames: int) -> None:
            # each piece becomes a row as soon as it is encoded: one piece's FLAC in memory, not the recording's
            a, b = plan.pieces[i]
            pid = item.stem + (f"_p{i:03d}" if n > 1 else "")
            row = {"id": pid, "recording_id": item.recording_id, "piece": i, "start_s": a, "end_s": b,
                   "duration_s": frames / rate, "sample_rate": rate, "channels": rec.n_tracks,
                   "audio": {"bytes": data, "path": f"{pid}.flac"}}
            row.update(piece_columns(item, self.ctx, a, b))
            row["source_sample_rates"] = src_rates
            text = item.text(a, b) if item.words is not None else None
            row["text"] = None if text is None else [{"track": k, "text": v} for k, v in text.items()]
            shard.buffer.append(row)
            shard.buffer_bytes += len(data)
            pieces.append({"id": pid, "path": shard.rel, "duration": frames / rate, "start_s": a, "end_s": b,
                           "sample_rate": rate, "flac_bytes": len(data), "source_rates": src_rates,
                           "words_source": item.words_source,
                           "words": None if row["words"] is None else len(row["words"])})
            if shard.buffer_bytes >= ROW_GROUP_BYTES:
                shard.flush()
                flushed[0] = True

        encoded = BytesSink(rate, tuple(range(rec.n_tracks)), on_done=row_of)
        try:
            streamed = stream_pieces(rec, rate, cuts, [encoded.sink()], item.clock)
            encoded.finish()
        except BaseException:
            self._forget(rate, item.recording_id, flushed[0])  # a recording is in a shard whole or not at all
            raise
        item.notes.extend(streamed.note())
        if resampled:
            item.notes.append(resampled)
        shard.pending.append(Output(item.recording_id, pieces, [], list(item.notes)))
        if shard.buffer_bytes >= ROW_GROUP_BYTES:
            shard.flush()
        size = self._tmp(shard.rel).stat().st_size + shard.buffer_bytes
        if size >= self.resolved["shard_mb"] * (1 << 20):
            return self._close_shard(rate)
        return []

    def finish(self) -> list[Output]:
        return [o for rate in sorted(self._open) for o in self._close_shard(rate)]

    def _forget(self, rate: int, recording_id: str, flushed: bool) -> None:
        """Take a recording that failed midway out of its open shard: its buffered rows, the rows already
        written (by rewriting the shard's temporary file: only ever on such a failure), and the shard
        itself when nothing else is in it."""
        shard = self._open[rate]
        shard.buffer = [r for r in shard.buffer if r["recording_id"] != recording_id]
        shard.buffer_bytes = sum(len(r["audio"]["bytes"]) for r in shard.buffer)
        tmp = self._tmp(shard.rel)
        if not shard.pending and not shard.buffer:  # the shard was opened for this recording
            shard.writer.close()
            tmp.unlink(missing_ok=True)
            del self._open[rate]
            return
        if flushed:
            shard.writer.close()
            kept = pq.read_table(tmp).filter(pc.field("recording_id") != recording_id)
            shard.writer = pq.ParquetWriter(tmp, shard.schema, compression="zstd")
            if kept.num_rows:
                shard.writer.write_table(kept.cast(shard.schema))

    def drop(self, state: State, recording_ids: Iterable[str]) -> None:
        """Rewrite each shard that holds rows of these recordings without them (remove it if empty)."""
        drop = set(recording_ids)
        shards = {rel for rid in drop for rel in state.recordings.get(rid, {}).get("files", [])}
        for rel in sorted(shards):
            entry = state.files.get(rel)
            path = self.out / rel
            keep = sorted(set(entry.get("recording_ids", [])) - drop) if entry else []
            if not keep or not path.exists():
                path.unlink(missing_ok=True)
                state.files.pop(rel, None)
                continue
            tmp = self._tmp(rel)
            src = pq.ParquetFile(path)
            schema = src.schema_arrow  # the shard's own (its rate's Audio feature in the metadata)
            with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
                for g in range(src.num_row_groups):
                    t = src.read_row_group(g)
                    mask = pc.invert(pc.is_in(t.column("recording_id"), pa.array(sorted(drop))))
                    t = t.filter(mask)
                    if t.num_rows:
                        w.write_table(t.cast(schema))
            os.replace(tmp, path)
            kept_ids = [i for i in entry.get("ids", []) if not any(i == p["id"] for d in drop
                                                                   for p in state.recordings.get(d, {}).get("pieces", []))]
            state.files[rel] = file_entry(self.out, rel, keep, kept_ids)
        for rid in drop:
            state.recordings.pop(rid, None)

    def rates(self, state: State) -> dict[int, float]:
        """Sample rate -> seconds of audio exported at it."""
        out: dict[int, float] = {}
        for r in state.recordings.values():
            for p in r.get("pieces", []):
                out[int(p["sample_rate"])] = out.get(int(p["sample_rate"]), 0.0) + float(p.get("duration") or 0)
        return out

    def hf_configs(self, state: State) -> list[dict[str, Any]]:
        """One config per sample rate (``16000hz``: ``data/16000hz/*.parquet``); the rate with the most audio
        is the default."""
        rates = self.rates(state)
        main = max(rates, key=lambda r: (rates[r], r)) if rates else None
        return [{"config_name": f"{r}hz", **({"default": True} if r == main else {}),
                 "data_files": [{"split": "train", "path": f"{rate_dir(r)}/*.parquet"}]}
                for r in sorted(rates, reverse=True)]

    def loading(self, state: State) -> str:
        return LOADING

    def describe(self, state: State) -> dict[str, Any]:
        shards = ("fileSet", "parquet-shards")
        rates = sorted(self.rates(state), reverse=True)
        fields = [cr_field("pieces", name, dtype, desc, shards, column=name) for name, dtype, desc in (
            ("id", "sc:Text", "Row id (file-name-safe recording id, with _pNNN for pieces)."),
            ("recording_id", "sc:Text", "Recording id in the source workspace."),
            ("start_s", "sc:Float", "Start of the piece in the source recording, seconds."),
            ("duration_s", "sc:Float", "Seconds."),
            ("sample_rate", "sc:Integer", "Samples per second of the FLAC audio."),
            ("channels", "sc:Integer", "Channels (one per speaker track)."),
            ("license", "sc:Text", "SPDX license expression of the recording."),
            ("source_type", "sc:Text", "two-track, mono, synthetic or commercial-two-track."))]
        fields.insert(2, cr_field("pieces", "audio", "sc:AudioObject", "The audio: FLAC bytes, a channel per "
                                  "track, at the row's sample_rate.", shards, column="audio",
                                  transforms=({"jsonPath": "bytes"},)))
        fields += [
            nested("pieces", "text", "Each track's words joined (case and punctuation as the source wrote them).",
                   shards, "text", (), [("track", "sc:Text", "Track (A, B).", "track"),
                                        ("text", "sc:Text", "The track's words.", "text")]),
            nested("pieces", "words", "Word alignments, one per word.", shards, "words", (),
                   [("track", "sc:Text", "Track (A, B).", "track"), ("word", "sc:Text", "The word.", "text"),
                    ("start", "sc:Float", "Start, seconds from the start of the row.", "start"),
                    ("end", "sc:Float", "End, seconds.", "end")]),
            nested("pieces", "events", "Turn-taking events overlapping the row (clipped to it).", shards,
                   "events", (), EVENT_PARTS),
        ]
        return {
            "summary": ("Parquet shards, one folder per sample rate (data/<rate>hz/*.parquet, a Hugging Face config "
                        "per rate), one row per recording (or piece of a long one): the audio as FLAC bytes with a "
                        "channel per speaker in the 'audio' column (a Hugging Face Audio feature with its rate), "
                        "each track's text, word alignments, per-track voice activity, turn-taking events, "
                        "checks, the recording's qualification and its rights verdict for every purpose as nested "
                        f"columns. Rates: {', '.join(f'{r} Hz' for r in rates) or 'none'}. Load with "
                        "datasets.load_dataset(folder, '<rate>hz') or DuckDB."),
            "distribution": [
                file_set("parquet-shards", "data/*/*.parquet", "application/x-parquet",
                         "Shards of rows, a folder per sample rate."),
                *audio_objects(state, ".parquet", "application/x-parquet"),
            ],
            "record_sets": [{"@type": "cr:RecordSet", "@id": "pieces", "name": "pieces",
                             "description": "One row per exported piece of audio. Nested columns (activity, checks, "
                                            "qualification, rights) are described in docs/export.md.",
                             "field": fields}],
        }


__all__ = ["SCHEMA", "ParquetExporter", "piece_columns"]
