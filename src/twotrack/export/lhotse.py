"""Lhotse manifests: ``recordings.jsonl.gz`` and ``supervisions.jsonl.gz`` over FLAC copies of the audio.

- a recording per exported piece (a whole recording unless ``max_duration_s`` splits it): one FLAC with a
  channel per track, ``channel_ids`` ``[0, 1]``; sources are paths relative to the export folder (load with
  ``RecordingSet.with_path_prefix(export_dir)`` or from inside the folder);
- a supervision per IPU: ``channel`` = the track, ``speaker`` = the manifest's speaker id (or
  ``<recording>#A`` when unknown), ``text`` and ``alignment["word"]`` from the words when they exist (gold,
  else the words stage's: ``context.GoldWords.text_words``);
  ``custom`` holds the track name, the turn it belongs to, whether it is a backchannel, and the
  turn-taking events that end in it (a gap or floor transfer ends where the IPU taking the floor starts, a
  pause where the next IPU of the same speaker starts, an overlap inside the IPU that overlaps), times in
  the recording's timeline like the supervision's own.

Each recording's supervisions are also kept as a gzip member in ``parts/<stem>.supervisions.jsonl.gz``;
``supervisions.jsonl.gz`` is their concatenation (a valid multi-member gzip), so a rerun rewrites only the
recordings that changed.

``metadata.jsonl`` (a row per FLAC: ``file_name``, ids, times, rates, speakers and each track's text) makes
``audio/*.flac`` + ``metadata.jsonl`` a Hugging Face audio folder (``datasets`` builds every config of a
folder with one loader, so the manifests are read with the ``json`` loader by name, see ``LOADING``).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.tracks import source_infos
from ..model import EventKind, track_name
from .audio import file_sink, stream_to_files
from .base import ExportItem, Exporter, named_speakers, track_speakers
from .croissant import EVENT_PARTS, audio_objects, cr_field, file_object, nested, record_set
from .state import Output, State, atomic_write, file_entry

RECORDINGS, SUPERVISIONS = "recordings.jsonl.gz", "supervisions.jsonl.gz"
METADATA = "metadata.jsonl"

#: What docs/export.md and the card show, and the tests run (``folder`` is the export folder).
LOADING = """\
import datasets
audio = datasets.load_dataset(folder, split="train")      # audio/*.flac + metadata.jsonl, a row per FLAC
sups = datasets.load_dataset("json", data_files=f"{folder}/supervisions.jsonl.gz", split="train")  # per IPU
row = audio[0]
samples = row["audio"].get_all_samples()                                  # torchcodec: (channels, n) float
print(row["id"], samples.sample_rate, tuple(samples.data.shape), row["text_a"][:60])
"""
#: Events attach to an IPU they end in, with this tolerance (one 10 ms frame).
EPS = 0.0105
#: A gold word goes to the nearest IPU of its track when its midpoint is at most this far from it.
WORD_REACH_S = 0.5
_SKIP_KINDS = (EventKind.IPU, EventKind.TURN)


def _gzip_lines(lines) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        for line in lines:
            gz.write(line.encode("utf-8"))
    return buf.getvalue()


def _containing(starts: np.ndarray, ends: np.ndarray, t: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Index of the interval (sorted, disjoint) containing each time in ``t`` (edges +- eps), -1 for none."""
    if len(starts) == 0:
        return np.full(len(t), -1, np.int64)
    idx = np.searchsorted(starts, t + eps, side="right") - 1
    ok = (idx >= 0) & (t <= ends[np.clip(idx, 0, None)] + eps)
    return np.where(ok, idx, -1)


def nearest(starts: np.ndarray, ends: np.ndarray, t: np.ndarray, reach: float) -> np.ndarray:
    """Index of the interval (sorted, disjoint) nearest to each time (0 inside), -1 when further than ``reach``."""
    if len(starts) == 0:
        return np.full(len(t), -1, np.int64)
    k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
    d_here = np.where(t < starts[k], starts[k] - t, np.maximum(t - ends[k], 0.0))
    k2 = np.clip(k + 1, 0, len(starts) - 1)
    d_next = np.where(k2 > k, np.maximum(starts[k2] - t, 0.0), np.inf)
    best = np.where(d_next < d_here, k2, k)
    dist = np.minimum(d_here, d_next)
    return np.where(dist <= reach, best, -1)


def supervisions(item: ExportItem, piece_id: str, start_s: float, end_s: float, duration_s: float
                 ) -> list[dict[str, Any]]:
    """Lhotse supervision dicts of the IPUs in ``[start_s, end_s)``, in the piece's timeline. A gold word goes
    to the nearest IPU of its track within ``WORD_REACH_S`` and the supervision stretches to cover it; words
    further from any IPU are left out (counted in the recording's notes)."""
    rec = item.recording
    ipus = item.ipus()
    out = []
    for track in range(rec.n_tracks):
        iv = ipus.get(track, np.zeros((0, 2)))
        iv = iv[(iv[:, 0] >= start_s - 1e-6) & (iv[:, 0] < end_s)] if len(iv) else iv
        if not len(iv):
            continue
        iv = iv[np.argsort(iv[:, 0], kind="stable")]
        starts, ends = iv[:, 0], iv[:, 1]
        n = len(iv)
        attached: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        turn_of = np.full(n, -1, np.int64)
        backchannel = np.zeros(n, bool)
        turns = sorted((e.start, e.end) for e in item.events if e.kind is EventKind.TURN and e.track == track)
        if turns:
            t_arr = np.asarray(turns)
            mids = (starts + ends) / 2
            k = np.searchsorted(t_arr[:, 0], mids, side="right") - 1
            ok = (k >= 0) & (mids <= t_arr[np.clip(k, 0, None), 1])
            turn_of = np.where(ok, k, -1)
        evs = [e for e in item.events if e.kind not in _SKIP_KINDS and (e.track is None or e.track == track)]
        if evs:
            where = _containing(starts, ends, np.array([e.end for e in evs]))
            for e, j in zip(evs, where.tolist()):
                if j < 0:
                    continue
                if e.kind is EventKind.BACKCHANNEL:
                    backchannel[j] = True
                attached[j].append({
                    "kind": e.kind.value, "start": round(max(e.start - start_s, 0.0), 4), "end": round(e.end - start_s, 4),
                    "value": e.value, "track": None if e.track is None else track_name(e.track),
                    "from_track": None if e.from_track is None else track_name(e.from_track),
                })
        words = None
        if item.words is not None:
            words = [w for w in item.words.get(track, []) if start_s <= w.start < end_s]
        word_idx = None
        lo, hi = starts.copy(), ends.copy()
        if words:
            w = np.array([(x.start, x.end) for x in words])
            word_idx = nearest(starts, ends, (w[:, 0] + w[:, 1]) / 2, WORD_REACH_S)
            # a supervision covers its IPU and the words given to it (a detector may clip a word's edge)
            got = word_idx >= 0
            np.minimum.at(lo, word_idx[got], w[got, 0])
            np.maximum.at(hi, word_idx[got], w[got, 1])
        speaker = track_speakers(rec)[track] or f"{item.recording_id}#{track_name(track)}"
        for j in range(n):
            a = max(0.0, float(lo[j]) - start_s)
            b = min(float(hi[j]) - start_s, duration_s)
            if b <= a:
                continue
            sup: dict[str, Any] = {
                "id": f"{piece_id}-{track_name(track)}-{j:05d}", "recording_id": piece_id,
                "start": round(a, 4), "duration": round(b - a, 4), "channel": track, "speaker": speaker,
            }
            if words is not None and word_idx is not None:
                mine = [w for w, k in zip(words, word_idx.tolist()) if k == j]
                sup["text"] = " ".join(w.text.strip() for w in mine)
                # a word's end is clipped to the piece's audio, as its supervision is (a transcript may
                # run past the file's end)
                sup["alignment"] = {"word": [[w.text.strip(), round(w.start - start_s, 4),
                                              round(min(w.end - start_s, duration_s) - (w.start - start_s), 4)]
                                             for w in mine]}
            elif item.words is not None:
                sup["text"] = ""
            sup["custom"] = {
                "track": track_name(track),
                "turn": int(turn_of[j]) if turn_of[j] >= 0 else None,
                "backchannel": bool(backchannel[j]),
                "events": attached[j],
                "source_recording_id": item.recording_id,
            }
            out.append(sup)
        if word_idx is not None and (word_idx < 0).any():
            lost = int((word_idx < 0).sum())
            item.notes.append(f"track {track_name(track)}: {lost} gold word(s) further than {WORD_REACH_S} s from "
                              f"any IPU are in no supervision")
    out.sort(key=lambda s: (s["start"], s["channel"]))
    return out


class LhotseExporter(Exporter):
    name = "lhotse"
    version = 3  # 2: metadata.csv, source rates and text per piece; 3: word ends clipped to the piece,
    # a mono track's speakers named
    defaults = {"sample_rate": None, "max_duration_s": 0.0}
    managed_dirs = ("audio", "parts")
    manifest_names = (RECORDINGS, SUPERVISIONS, METADATA)

    def add(self, item: ExportItem) -> list[Output]:
        rec = item.recording
        rate = self.resolved["sample_rate"] or max(i.sample_rate for i in source_infos(rec).values())
        rate = int(rate)
        plan = item.plan(self.resolved["max_duration_s"], self.resolved["min_cut_silence_s"])
        cuts = [a for a, _ in plan.pieces] + [plan.pieces[-1][1]]
        n = len(plan.pieces)
        ids = [item.stem + (f"_p{i:03d}" if n > 1 else "") for i in range(n)]
        paths = [self.out / "audio" / f"{pid}.flac" for pid in ids]
        rows = tuple(range(rec.n_tracks))
        streamed = stream_to_files(rec, rate, cuts, [file_sink(paths, rate, rows, "FLAC")], paths, item.clock)
        counts = streamed.counts
        item.notes.extend(streamed.note())
        resampled = item.resample_note(rate)
        if resampled:
            item.notes.append(resampled)
        rid = item.recording_id
        pieces, files, sup_lines = [], [], []
        for i, pid in enumerate(ids):
            a, b = plan.pieces[i]
            duration = counts[i] / rate
            rel = f"audio/{pid}.flac"
            files.append(file_entry(self.out, rel, [rid], [pid]))
            lhotse_rec = {
                "id": pid,
                "sources": [{"type": "file", "channels": list(rows), "source": rel}],
                "sampling_rate": rate, "num_samples": counts[i], "duration": duration,
                "channel_ids": list(rows),
            }
            sups = supervisions(item, pid, a, b, duration)
            sup_lines += [json.dumps(s, ensure_ascii=False) + "\n" for s in sups]
            pieces.append({"id": pid, "path": rel, "duration": duration, "start_s": a, "end_s": b,
                           "sample_rate": rate, "supervisions": len(sups),
                           "words": None if item.words is None else sum(len(s.get("alignment", {}).get("word", []))
                                                                         for s in sups),
                           "words_source": item.words_source,
                           "lhotse": lhotse_rec, "source_rates": item.source_rates(), "text": item.text(a, b),
                           "speakers": named_speakers(rec) if rec.is_mono else track_speakers(rec)})
        if item.words is None:
            item.notes.append("no word timings: supervisions carry no text or alignment")
        part = f"parts/{item.stem}.supervisions.jsonl.gz"
        (self.out / "parts").mkdir(exist_ok=True)
        atomic_write(self.out / part, _gzip_lines(sup_lines))
        files.append(file_entry(self.out, part, [rid], ids))
        return [Output(rid, pieces, files, list(item.notes))]

    def manifests(self, state: State) -> list[dict[str, Any]]:
        rids = sorted(state.recordings)
        lines = [json.dumps(p["lhotse"], ensure_ascii=False) + "\n"
                 for rid in rids for p in state.recordings[rid].get("pieces", [])]
        atomic_write(self.out / RECORDINGS, _gzip_lines(lines))
        # supervisions: the per-recording gzip members, concatenated in recording order (streamed)
        parts = [rel for rid in rids for rel in state.recordings[rid].get("files", []) if rel.startswith("parts/")]
        fd, tmp = tempfile.mkstemp(dir=self.out, prefix=f".{SUPERVISIONS}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as dst:
                if not parts:
                    dst.write(_gzip_lines([]))
                for rel in parts:
                    with open(self.out / rel, "rb") as src:
                        while block := src.read(1 << 20):
                            dst.write(block)
            os.replace(tmp, self.out / SUPERVISIONS)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        rows = []
        for rid in rids:
            for p in state.recordings[rid].get("pieces", []):
                text, spk = p.get("text") or {}, list(p.get("speakers") or []) + [None, None]
                rows.append(json.dumps({
                    "file_name": p["path"], "id": p["id"], "recording_id": rid, "start_s": p.get("start_s"),
                    "end_s": p.get("end_s"), "duration": p["duration"], "sample_rate": p.get("sample_rate"),
                    "source_sample_rate": max(p.get("source_rates") or [0]) or None,
                    "channels": len(p["lhotse"]["channel_ids"]), "speaker_a": spk[0], "speaker_b": spk[1],
                    "text_a": text.get("A", ""), "text_b": text.get("B", ""), "words_source": p.get("words_source"),
                }, ensure_ascii=False) + "\n")
        atomic_write(self.out / METADATA, "".join(rows).encode("utf-8"))
        return [file_entry(self.out, RECORDINGS, rids), file_entry(self.out, SUPERVISIONS, rids),
                file_entry(self.out, METADATA, rids)]

    def hf_configs(self, state: State) -> list[dict[str, Any]]:
        return [{"config_name": "default", "default": True,
                 "data_files": [{"split": "train", "path": ["audio/*.flac", METADATA]}]}]

    def loading(self, state: State) -> str:
        return LOADING

    def describe(self, state: State) -> dict[str, Any]:
        rec_sha = state.files.get(RECORDINGS, {}).get("sha256", "")
        sup_sha = state.files.get(SUPERVISIONS, {}).get("sha256", "")
        meta_sha = state.files.get(METADATA, {}).get("sha256", "")
        sups, meta = ("fileObject", "supervisions-manifest"), ("fileObject", "metadata")
        with_words = any(p.get("words") for r in state.recordings.values() for p in r.get("pieces", []))
        sup_fields = [cr_field("supervisions", name, dtype, desc, sups, column=name) for name, dtype, desc in (
            ("id", "sc:Text", "Supervision id."), ("recording_id", "sc:Text", "The recording (FLAC) it belongs to."),
            ("start", "sc:Float", "Start in seconds."), ("duration", "sc:Float", "Seconds."),
            ("channel", "sc:Integer", "Channel (0 = track A, 1 = track B)."), ("speaker", "sc:Text", "Speaker id."))]
        if with_words:
            sup_fields += [
                cr_field("supervisions", "text", "sc:Text", "The IPU's words (case and punctuation as the source "
                         "wrote them).", sups, column="text"),
                nested("supervisions", "words", "Word alignment of the IPU (Lhotse alignment['word']).", sups,
                       "alignment", ("word",),
                       [("word", "sc:Text", "The word.", "[0]"),
                        ("start", "sc:Float", "Start, seconds in the recording.", "[1]"),
                        ("duration", "sc:Float", "Seconds.", "[2]")]),
            ]
        sup_fields.append(nested("supervisions", "events", "Turn-taking events that end in this IPU.", sups,
                                 "custom", ("events",), EVENT_PARTS))
        return {
            "summary": ("Lhotse manifests: recordings.jsonl.gz (one multi-channel FLAC per recording, a channel "
                        "per speaker) and supervisions.jsonl.gz (one supervision per inter-pausal unit with "
                        "channel, speaker, word alignment where words exist, and the turn-taking events in "
                        "custom); metadata.jsonl (one row per FLAC with each track's text) makes the folder a "
                        "Hugging Face audio folder. Load with lhotse.load_manifest; audio paths are relative to "
                        "this folder."),
            "distribution": [
                file_object("recordings-manifest", RECORDINGS, "application/jsonlines", rec_sha,
                            "Lhotse RecordingSet, gzipped JSON lines."),
                file_object("supervisions-manifest", SUPERVISIONS, "application/jsonlines", sup_sha,
                            "Lhotse SupervisionSet, gzipped JSON lines."),
                file_object("metadata", METADATA, "application/jsonlines", meta_sha,
                            "One line per FLAC: file_name, ids, times, rates, speakers, each track's text."),
                *audio_objects(state, ".flac", "audio/flac"),
            ],
            "record_sets": [
                record_set("recordings", "Lhotse recordings.", ("fileObject", "recordings-manifest"),
                           [("id", "sc:Text", "Recording id (file stem)."),
                            ("sampling_rate", "sc:Integer", "Samples per second."),
                            ("num_samples", "sc:Integer", "Samples per channel."),
                            ("duration", "sc:Float", "Seconds.")]),
                {"@type": "cr:RecordSet", "@id": "supervisions", "name": "supervisions",
                 "description": "One supervision per inter-pausal unit (IPU).", "field": sup_fields},
                {"@type": "cr:RecordSet", "@id": "audio", "name": "audio",
                 "description": "One record per FLAC (metadata.jsonl): its audio file and each track's text.",
                 "field": [
                     cr_field("audio", "id", "sc:Text", "Recording id (the FLAC's stem).", meta, column="id"),
                     cr_field("audio", "audio", "sc:URL", "The FLAC (contentUrl of its FileObject in this card, "
                              "relative to the folder), a channel per track.", meta, column="file_name"),
                     cr_field("audio", "sample_rate", "sc:Integer", "Samples per second.", meta, column="sample_rate"),
                     cr_field("audio", "duration", "sc:Float", "Seconds.", meta, column="duration"),
                     cr_field("audio", "text_a", "sc:Text", "Track A's words.", meta, column="text_a"),
                     cr_field("audio", "text_b", "sc:Text", "Track B's words.", meta, column="text_b"),
                 ]},
            ],
        }
