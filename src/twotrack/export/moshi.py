"""The Moshi fine-tuning layout, as kyutai-labs/moshi-finetune reads it.

What its loader does (finetune/data/dataset.py, interleaver.py; sphn's ``dataset_jsonl``):
- every ``*jsonl`` file under the data folder is a manifest; each line ``{"path": ..., "duration": ...}``,
  a relative path being relative to the manifest's folder;
- the WAV is read as stereo; channel 0 is the voice the model learns to produce (Moshi), channel 1 the
  user; audio is resampled to Mimi's 24 kHz if it is not already;
- for each WAV it opens ``splitext(path)[0] + ".json"`` and reads ``alignments``: a list of
  ``[word, [start, end], speaker]`` sorted by start (it bisects on start); training keeps only the words
  whose speaker is ``"SPEAKER_MAIN"`` (``keep_main_only=True``) and drops those with start >= end.

So this export writes ``audio/<stem>.wav`` (16-bit PCM, channel 0 = main speaker), ``audio/<stem>.json``
with the main speaker's gold words as ``SPEAKER_MAIN`` (the other speaker's as ``SPEAKER_OTHER`` only
with ``other_words``: the trainer ignores them), and ``train.jsonl`` at the top (the only ``*jsonl`` in the
folder). The words are the gold ones (a transcript with word times), else the words stage's (the
manifest's text aligned, or recognised with ``scan --words``); export.json records which
(``words_source``). A recording with no words at all is left out unless ``--allow-no-text``; then it gets
audio and a manifest line but no ``.json`` (moshi-finetune's ``annotate.py train.jsonl``, run inside the
folder, makes them).

For everyone else the folder also holds ``metadata.csv`` (a row per WAV: ``file_name``, ids, times, rates,
each channel's text), which makes ``audio/*.wav`` + ``metadata.csv`` a Hugging Face audio folder
(``datasets.load_dataset(folder)``), and ``events/<id>.json`` (the turn-taking events of each example) for
the Croissant record sets; moshi-finetune reads neither (it opens ``*jsonl`` files and the WAVs' ``.json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..model import TRACK_NAMES, Recording, track_name
from .audio import file_sink, stream_to_files
from .base import ExportItem, Exporter
from .croissant import EVENT_PARTS, audio_objects, cr_field, file_object, file_set
from .state import Output, State, atomic_write, csv_bytes, file_entry

MAIN, OTHER = "SPEAKER_MAIN", "SPEAKER_OTHER"
MANIFEST = "train.jsonl"
METADATA = "metadata.csv"
METADATA_COLUMNS = ("file_name", "id", "recording_id", "start_s", "end_s", "duration", "sample_rate",
                    "source_sample_rate", "main_track", "main_speaker", "other_speaker", "text_main",
                    "text_other", "alignments", "events")

#: The card's ``examples`` record set: (field, dataType, description, metadata.csv column).
EXAMPLE_FIELDS = (
    ("id", "sc:Text", "Example id (the WAV's stem).", "id"),
    ("audio", "sc:URL", "The WAV (contentUrl of its FileObject in this card, relative to the folder): stereo "
     "16-bit PCM, channel 0 = main speaker.", "file_name"),
    ("recording_id", "sc:Text", "Recording id in the source workspace.", "recording_id"),
    ("duration", "sc:Float", "Seconds.", "duration"),
    ("sample_rate", "sc:Integer", "Samples per second of the WAV.", "sample_rate"),
    ("source_sample_rate", "sc:Integer", "The source's rate (resampled from it when different).",
     "source_sample_rate"),
    ("main_track", "sc:Text", "The source track on channel 0: its letter in the recording (A or B; C or D on a "
     "4-channel file whose talkers are on C and D).", "main_track"),
    ("text_main", "sc:Text", "Channel 0's words (case and punctuation as the source wrote them).", "text_main"),
    ("text_other", "sc:Text", "Channel 1's words.", "text_other"),
)
#: The card's ``words`` record set: (field, dataType, description, JSON path in ``audio/<id>.json``).
WORD_FIELDS = (
    ("word", "sc:Text", "The word as its source wrote it.", "$.alignments[*][0]"),
    ("start", "sc:Float", "Start, seconds from the start of the WAV.", "$.alignments[*][1][0]"),
    ("end", "sc:Float", "End, seconds.", "$.alignments[*][1][1]"),
    ("speaker", "sc:Text", "SPEAKER_MAIN (channel 0) or SPEAKER_OTHER.", "$.alignments[*][2]"),
)


def _per_example_json(rs: str, description: str, source: tuple[str, str],
                      parts: Sequence[tuple[str, str, str, str]]) -> dict[str, Any]:
    """A card record set read from one JSON file per example (``<id>.json``): the example id from the file
    name, then one field per ``(name, dataType, description, JSON path)``."""
    return {
        "@type": "cr:RecordSet", "@id": rs, "name": rs, "description": description,
        "field": [
            cr_field(rs, "example", "sc:Text", "Example id.", source, file_property="filename",
                     transforms=({"regex": "^(.*)\\.json$"},)),
            *[cr_field(rs, name, dtype, desc, source, json_path=path) for name, dtype, desc, path in parts],
        ],
    }


#: What docs/export.md and the card show, and the tests run (``folder`` is the export folder).
LOADING = """\
import datasets
ds = datasets.load_dataset(folder, split="train")   # audio/*.wav + metadata.csv, one row per WAV
row = ds[0]
audio = row["audio"].get_all_samples()              # torchcodec: (2, n) float, channel 0 = main speaker
print(row["id"], audio.sample_rate, tuple(audio.data.shape), row["text_main"][:60])
"""


def alignments(words_by_track: dict[int, list], main: int, start_s: float, end_s: float,
               other_words: bool = False) -> list[list[Any]]:
    """``[[word, [start, end], label], ...]`` for the piece ``[start_s, end_s)``: times relative to the
    piece, sorted by start; a word belongs to the piece its start falls in (its end is clipped to the
    piece); words with start >= end (after rounding to the millisecond) are dropped."""
    out = []
    length = end_s - start_s
    for track, words in words_by_track.items():
        if track != main and not other_words:
            continue
        label = MAIN if track == main else OTHER
        for w in words:
            if not (start_s <= w.start < end_s):
                continue
            a = round(w.start - start_s, 3)
            b = round(min(w.end, end_s) - start_s, 3)
            b = min(b, round(length, 3))
            if a < b and w.text.strip():
                out.append([w.text.strip(), [a, b], label])
    out.sort(key=lambda x: (x[1][0], x[1][1], x[2] != MAIN))
    return out


def source_letters(events: list[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """``events`` with their tracks named as in the source recording (``names``: each exported track's
    letter there), the letters ``main_track`` uses: a view of C and D writes C and D, not A and B."""
    letters = {track_name(i): n for i, n in enumerate(names)}
    return [{**e, "track": letters.get(e["track"], e["track"]),
             "from_track": letters.get(e["from_track"], e["from_track"])} for e in events]


class MoshiExporter(Exporter):
    name = "moshi"
    version = 2  # 2: metadata.csv, events/, source rates and text per piece
    defaults = {"sample_rate": 24000, "max_duration_s": 300.0}
    managed_dirs = ("audio", "events")
    manifest_names = (MANIFEST, METADATA)

    def resolve(self, options) -> dict[str, Any]:
        # no --main-speaker: channel 0 is the first track of the talking pair (A on a two-track file, C on a
        # 4-channel file whose talkers are on C and D); recorded as "A", as before there was a choice
        self.first_of_pair = options.main_speaker is None
        return super().resolve(options)

    def recorded(self) -> dict[str, Any]:
        # "A" is what the keys hold for the default (as before there was a choice); say what it chose, so the
        # record is not read as --main-speaker A (which skips a file whose talkers are on C and D)
        d = {**super().recorded(), "main_speaker_given": not self.first_of_pair}
        if self.first_of_pair:
            d["main_speaker_means"] = ("--main-speaker left out: channel 0 is the first track of the talking pair "
                                       "(A on a two-track file, C on a file whose talkers are on C and D)")
        return d

    def choose(self, rec: Recording, channels: dict[str, Any] | None = None) -> tuple[list[int], str | None]:
        """The tracks of ``rec`` that go to channel 0, once per example written, or why none can. ``rec`` may
        be a view of the used tracks (``channels.keep_tracks``); ``channels``, export.json's entry of such a
        view, gives the source track of each (its letter in the recording: the letter --main-speaker takes)."""
        choice = str(self.resolved["main_speaker"]).strip()
        if choice.lower() == "both":
            return [0, 1], None
        if self.first_of_pair:
            return [0], None
        names = list(channels["source_tracks"]) if channels else [track_name(i) for i in range(rec.n_tracks)]
        by_speaker = [i for i, s in enumerate(rec.speakers[:2]) if s == choice]
        letter = choice.upper()
        if letter not in TRACK_NAMES or len(letter) != 1:
            return by_speaker, None if by_speaker else f"speaker {choice} is not on this recording"
        if letter in names[:2]:
            return [names.index(letter)], None
        if by_speaker:  # a speaker whose id is a track letter the recording does not use
            return by_speaker, None
        left_out = dict(channels["left_out"]) if channels else {}
        if letter in left_out:
            return [], (f"track {letter} is an unused channel of this recording; its talkers "
                        f"are on track {' and '.join(names)}: --main-speaker {names[0]} or {names[-1]}")
        n = len(names) + len(left_out)
        have = f"{n} track, A" if n == 1 else f"{n} tracks, A and B" if n == 2 else f"{n} tracks, A-{track_name(n - 1)}"
        return [], f"track {letter} is not on this recording (it has {have})"

    def mains(self, rec: Recording, channels: dict[str, Any] | None = None) -> list[int]:
        """The track that goes to channel 0, once per example written for this recording."""
        return self.choose(rec, channels)[0]

    def skip_reason(self, rec: Recording, channels: dict[str, Any] | None = None) -> str | None:
        if rec.is_mono or rec.n_tracks != 2:
            return (f"moshi needs one speaker per channel; this recording has {rec.n_tracks} track(s) "
                    f"({rec.layout.value})")
        return self.choose(rec, channels)[1]

    def key_extra(self, rec: Recording, channels: dict[str, Any] | None = None) -> Any:
        # a view of some tracks: which source track lands on channel 0 is part of what is written
        if not channels:
            return None
        return {"main_tracks": [channels["source_tracks"][m] for m in self.mains(rec, channels)],
                "events_tracks": "source"}

    def add(self, item: ExportItem) -> list[Output]:
        rate = int(self.resolved["sample_rate"])
        plan = item.plan(self.resolved["max_duration_s"], self.resolved["min_cut_silence_s"])
        cuts = [a for a, _ in plan.pieces] + [plan.pieces[-1][1]]
        n = len(plan.pieces)
        rec = item.recording
        layouts = []  # per orientation: (main track, [piece ids], [paths])
        names = item.track_names()  # each track's letter in the source recording
        for main in self.mains(rec, item.channels):
            suffix = "" if main == 0 else f"_main{names[main]}"
            ids = [item.stem + (f"_p{i:03d}" if n > 1 else "") + suffix for i in range(n)]
            layouts.append((main, ids, [self.out / "audio" / f"{pid}.wav" for pid in ids]))
        all_paths = [p for _, _, paths in layouts for p in paths]
        sinks = [file_sink(paths, rate, (main, 1 - main), "WAV") for main, _, paths in layouts]
        streamed = stream_to_files(rec, rate, cuts, sinks, all_paths, item.clock)
        counts = streamed.counts
        item.notes.extend(streamed.note())
        resampled = item.resample_note(rate)
        if resampled:
            item.notes.append(resampled)
        src_rates = item.source_rates()

        pieces, files = [], []
        rid = item.recording_id
        if item.words is None:
            item.notes.append("no word timings: audio and manifest only (run moshi-finetune's annotate.py "
                              "on train.jsonl from inside the export folder, which it needs as its working "
                              "directory, to make the .json alignments the trainer opens)")
        for main, ids, paths in layouts:
            speaker = rec.speakers[main] if main < len(rec.speakers) else None
            for i, (pid, path) in enumerate(zip(ids, paths)):
                a, b = plan.pieces[i]
                rel = f"audio/{pid}.wav"
                files.append(file_entry(self.out, rel, [rid], [pid]))
                n_words = None
                if item.words is not None:
                    ali = alignments(item.words, main, a, b, bool(self.resolved["other_words"]))
                    jrel = f"audio/{pid}.json"
                    atomic_write(self.out / jrel, json.dumps({"alignments": ali}, ensure_ascii=False).encode())
                    files.append(file_entry(self.out, jrel, [rid], [pid]))
                    n_words = sum(1 for x in ali if x[2] == MAIN)
                erel = f"events/{pid}.json"
                atomic_write(self.out / erel, json.dumps({"events": source_letters(item.piece_events(a, b), names)},
                                                         ensure_ascii=False).encode())
                files.append(file_entry(self.out, erel, [rid], [pid]))
                text = item.text(a, b)
                other = 1 - main
                pieces.append({
                    "id": pid, "path": rel, "duration": counts[i] / rate, "start_s": a, "end_s": b,
                    "main_track": names[main], "main_speaker": speaker, "sample_rate": rate,
                    "main_words": n_words, "source_rates": src_rates, "words_source": item.words_source,
                    "other_speaker": rec.speakers[other] if other < len(rec.speakers) else None,
                    "text": {"main": text.get(track_name(main), ""), "other": text.get(track_name(other), "")},
                    "alignments": None if n_words is None else f"audio/{pid}.json", "events": erel,
                })
        return [Output(rid, pieces, files, list(item.notes))]

    # moshi-finetune's annotate.py writes <stem>.json (and <stem>.json.err) beside a WAV that has none: keep
    # those, list them with the WAV's recording (an audit or a withdrawal then removes them too).
    _ANNOTATION_SUFFIXES = (".json", ".json.err")

    def _sibling_wav(self, rel: str) -> str | None:
        for suffix in self._ANNOTATION_SUFFIXES:
            if rel.endswith(suffix):
                return rel[: -len(suffix)] + ".wav"
        return None

    def keep_unlisted(self, rel: str, state: State) -> bool:
        wav = self._sibling_wav(rel)
        return wav is not None and wav in state.files and not Path(rel).name.startswith(".")

    def adopt(self, state: State) -> None:
        for rid, rec in state.recordings.items():
            for piece in rec.get("pieces", []):
                for suffix in self._ANNOTATION_SUFFIXES:
                    rel = piece["path"][: -len(".wav")] + suffix
                    if rel not in state.files and (self.out / rel).is_file():
                        state.files[rel] = file_entry(self.out, rel, [rid], [piece["id"]])
                        rec["files"] = sorted(set(rec.get("files", [])) | {rel})
                        note = "alignments added beside the WAVs by another tool are listed with them"
                        if note not in rec.setdefault("notes", []):
                            rec["notes"].append(note)

    def drop(self, state: State, recording_ids) -> None:
        recording_ids = list(recording_ids)
        for rid in recording_ids:
            for piece in state.recordings.get(rid, {}).get("pieces", []):
                for suffix in self._ANNOTATION_SUFFIXES:
                    (self.out / (piece["path"][: -len(".wav")] + suffix)).unlink(missing_ok=True)
        super().drop(state, recording_ids)

    def manifests(self, state: State) -> list[dict[str, Any]]:
        lines = []
        for rid in sorted(state.recordings):
            for p in state.recordings[rid].get("pieces", []):
                lines.append(json.dumps({"path": p["path"], "duration": p["duration"]}) + "\n")
        atomic_write(self.out / MANIFEST, "".join(lines).encode("utf-8"))
        rows = []
        for rid in sorted(state.recordings):
            for p in state.recordings[rid].get("pieces", []):
                text = p.get("text") or {}
                rows.append([p["path"], p["id"], rid, p.get("start_s"), p.get("end_s"), p["duration"],
                             p.get("sample_rate"), max(p.get("source_rates") or [0]) or None, p.get("main_track"),
                             p.get("main_speaker"), p.get("other_speaker"), text.get("main", ""),
                             text.get("other", ""), p.get("alignments"), p.get("events")])
        atomic_write(self.out / METADATA, csv_bytes(METADATA_COLUMNS, rows))
        # examples whose recording has words but whose main speaker says none in them: the trainer's text
        # stream is padding only there (a listening stretch, a silent or untranscribed main track)
        wordless = [p["id"] for rid in sorted(state.recordings) for p in state.recordings[rid].get("pieces", [])
                    if p.get("main_words") == 0]
        if wordless:
            self.ctx.notes.append(
                f"{len(wordless)} example(s) hold no word of their main speaker (channel 0), e.g. "
                f"{', '.join(wordless[:3])}: moshi-finetune trains their text stream on padding only "
                "(metadata.csv: empty text_main)")
        return [file_entry(self.out, MANIFEST, state.recordings), file_entry(self.out, METADATA, state.recordings)]

    def hf_configs(self, state: State) -> list[dict[str, Any]]:
        return [{"config_name": "default", "default": True,
                 "data_files": [{"split": "train", "path": ["audio/*.wav", METADATA]}]}]

    def loading(self, state: State) -> str:
        return LOADING

    def describe(self, state: State) -> dict[str, Any]:
        man = state.files.get(MANIFEST, {})
        meta = state.files.get(METADATA, {})
        rate = self.resolved["sample_rate"]
        examples = ("fileObject", "metadata")
        with_words = any(p.get("alignments") for r in state.recordings.values() for p in r.get("pieces", []))
        words = ("fileSet", "alignment-files")
        events = ("fileSet", "event-files")
        record_sets = [{
            "@type": "cr:RecordSet", "@id": "examples", "name": "examples",
            "description": "One training example per WAV (metadata.csv): its audio file and each channel's text.",
            "field": [cr_field("examples", name, dtype, desc, examples, column=column)
                      for name, dtype, desc, column in EXAMPLE_FIELDS],
        }, _per_example_json("events", "Turn-taking events of each example (events/<id>.json), one record per event.",
                             events, [(name, dtype, desc, f"$.events[*].{key}")
                                      for name, dtype, desc, key in EVENT_PARTS])]
        if with_words:
            record_sets.append(_per_example_json(
                "words", "Word alignments as moshi-finetune reads them (audio/<id>.json), one record per word.",
                words, WORD_FIELDS))
        return {
            "summary": ("Moshi fine-tuning layout (kyutai-labs/moshi-finetune): stereo 16-bit WAV at "
                        f"{rate} Hz, channel 0 = the main speaker (the voice the model learns to produce), "
                        "channel 1 = the other party; train.jsonl lists each WAV's path and duration; each WAV "
                        "has a .json of word alignments [word, [start, end], \"SPEAKER_MAIN\"] where words exist "
                        "(gold transcripts, else the words stage's; export.json says which per recording); "
                        "metadata.csv (one row per WAV with each channel's text) makes the folder "
                        "a Hugging Face audio folder; events/<id>.json holds each example's turn-taking events."),
            "distribution": [
                file_object("train-manifest", MANIFEST, "application/jsonlines", man.get("sha256", ""),
                            "One line per example: {\"path\": WAV path relative to this folder, "
                            "\"duration\": seconds}."),
                file_object("metadata", METADATA, "text/csv", meta.get("sha256", ""),
                            "One row per WAV: file_name, ids, times, rates, each channel's text."),
                file_set("alignment-files", "audio/*.json", "application/json",
                         "Per WAV: {\"alignments\": [[word, [start_s, end_s], \"SPEAKER_MAIN\"], ...]} sorted "
                         "by start."),
                file_set("event-files", "events/*.json", "application/json",
                         "Per WAV: {\"events\": [{kind, start, end, track, from_track, value}, ...]}."),
                *audio_objects(state, ".wav", "audio/wav"),
            ],
            "record_sets": record_sets,
        }
