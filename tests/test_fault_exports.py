"""Export sweep 2026-12-05: exports of realistic variants, read by their consumers' own code.

The corpus is tiny on purpose (a few seconds of the sample dialogue, scanned by the real scan):
``v/trimmed`` is 2.3 s of ``demo01`` whose gold CTM runs past the audio (a transcript made on the
longer original): its word "officers" starts at 1.625 s and ends at 2.375 s, after the file's end;
``v/mono`` is 4.5 s of the dialogue mixed down to one channel, its manifest row naming both speakers
(``speaker_a``, ``speaker_b``), its CTM both speakers' words to 3.9 s (A: "it locks is an officers",
B: "design they"), and its language tagged ``English``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

import export_corpus as C
from twotrack.export import export

lhotse = pytest.importorskip("lhotse")

PURPOSE = "research-training"
TRIM_S = 2.3
MONO_S = 4.5


def _ctm(dst: Path, rid: str, until_s: float) -> Path:
    """The sample CTM's words that start before ``until_s`` (their ends as they are)."""
    lines = []
    for line in (C.SAMPLE / "gold" / "demo01_367_1688.ctm").read_text().splitlines():
        p = line.split()
        if not line.startswith(";;") and len(p) >= 5 and float(p[2]) < until_s:
            lines.append(" ".join([rid, *p[1:]]))
    dst.write_text("\n".join(lines) + "\n")
    return dst


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep-exports")
    corpus = root / "corpus"
    corpus.mkdir()
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="int16", frames=int(TRIM_S * 16000))
    sf.write(corpus / "trimmed.wav", x, sr, subtype="PCM_16")
    y, _ = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", frames=int(MONO_S * 16000))
    sf.write(corpus / "mono.wav", y.mean(axis=1), sr, subtype="PCM_16")  # both speakers in one channel
    rows = [{"recording_id": "v/trimmed", "path": str(corpus / "trimmed.wav"), "speaker_a": "libri-367",
             "speaker_b": "libri-1688", "license": "CC-BY-4.0", "tags": "register:read;language:en",
             "source_type": "two-track", "transcript": str(_ctm(corpus / "trimmed.ctm", "trimmed", TRIM_S))},
            {"recording_id": "v/mono", "path": str(corpus / "mono.wav"), "speaker_a": "libri-367",
             "speaker_b": "libri-1688", "license": "CC-BY-4.0", "tags": "register:read;language:English",
             "source_type": "mono", "transcript": str(_ctm(corpus / "mono.ctm", "mono", 3.9))}]
    return C.scan_rows(rows, corpus / "manifest.csv", root / "ws")


def test_lhotse_word_alignments_end_within_the_audio_when_the_transcript_runs_past_it(ws, tmp_path):
    """Before: the alignment kept the CTM's end (2.375 s) past the recording (2.3 s) and its supervision."""
    out = tmp_path / "lhotse"
    export(ws, out, "lhotse", PURPOSE)
    recs = lhotse.load_manifest(out / "recordings.jsonl.gz").with_path_prefix(out)
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    cuts = lhotse.CutSet.from_manifests(recordings=recs, supervisions=sups)
    words = 0
    for cut in cuts:
        for sup in cut.supervisions:
            for w in sup.alignment["word"]:
                words += 1
                assert sup.start - 1e-6 <= w.start and w.end <= sup.end + 1e-6 <= cut.duration + 1e-6, (w, sup)
    assert words and any(w.symbol == "officers" for s in sups for w in s.alignment["word"])


def test_a_mono_recordings_speakers_reach_every_export(ws, tmp_path):
    """Before: a mono file's speakers (``speaker_a``/``speaker_b`` of its row, which rights checked) were lost
    in the exports: Lhotse speaker ``v/mono#A``, ``speaker_a``/``speaker_b`` null in metadata.jsonl, Parquet
    ``speakers`` null, and the cards counted 2 speakers for 2 recordings with the same two people."""
    import pyarrow.parquet as pq

    mix = "libri-367+libri-1688"
    lh = tmp_path / "lhotse"
    export(ws, lh, "lhotse", PURPOSE)
    sups = [s for s in lhotse.load_manifest(lh / "supervisions.jsonl.gz") if s.recording_id == "v__mono"]
    assert sups and {s.speaker for s in sups} == {mix}
    meta = [json.loads(x) for x in (lh / "metadata.jsonl").read_text().splitlines()]
    assert [(m["speaker_a"], m["speaker_b"]) for m in meta if m["recording_id"] == "v/mono"] == \
        [("libri-367", "libri-1688")]
    pqo = tmp_path / "parquet"
    export(ws, pqo, "parquet", PURPOSE)
    rows = {r["recording_id"]: r for f in pqo.rglob("*.parquet") for r in pq.read_table(f).to_pylist()}
    assert rows["v/mono"]["speakers"] == [mix] and rows["v/mono"]["channels"] == 1
    assert {a["speaker"] for a in rows["v/mono"]["activity"]} == {mix}
    assert rows["v/trimmed"]["speakers"] == ["libri-367", "libri-1688"]
    for out in (lh, pqo):  # the two recordings hold the same two people
        assert "**2 speaker(s)**" in (out / "README.md").read_text()
        assert "from 2 speaker(s)" in json.loads((out / "croissant.json").read_text())["rai:dataCollection"]


def test_an_export_inside_another_export_folder_is_refused(ws, tmp_path):
    """Before: ``export lhotse OUT/lhotse`` inside a Moshi export OUT was written, and moshi-finetune, which
    reads every ``*jsonl`` under its data folder, then took ``lhotse/metadata.jsonl`` for a manifest."""
    from click.testing import CliRunner

    from twotrack.cli import main
    from twotrack.errors import ConfigError

    outer = tmp_path / "moshi"
    export(ws, outer, "moshi", PURPOSE)
    with pytest.raises(ConfigError, match="inside the export folder"):
        export(ws, outer / "lhotse", "lhotse", PURPOSE)
    assert not (outer / "lhotse").exists() and list(outer.rglob("*jsonl")) == [outer / "train.jsonl"]
    res = CliRunner().invoke(main, ["export", "parquet", "-w", str(ws), str(outer / "audio" / "pq"),
                                    "--purpose", PURPOSE])
    assert res.exit_code == 2 and "inside the export folder" in res.output
    export(ws, tmp_path / "lhotse", "lhotse", PURPOSE)  # a sibling is fine


def test_a_source_changed_since_the_scan_is_skipped_until_rescanned(tmp_path):
    """Before: a file rewritten (here cut from 2.3 s to 1.5 s) after the scan was exported with the scan's
    words, IPUs and events of the old content: Parquet's row held 1.5 s of audio with words, events and
    activity up to 2.3 s."""
    import os

    import pyarrow.parquet as pq

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="int16", frames=int(TRIM_S * 16000))
    wav = corpus / "c.wav"
    sf.write(wav, x, sr, subtype="PCM_16")
    rows = [{"recording_id": "v/c", "path": str(wav), "speaker_a": "libri-367", "speaker_b": "libri-1688",
             "license": "CC-BY-4.0", "tags": "register:read", "source_type": "two-track",
             "transcript": str(_ctm(corpus / "c.ctm", "c", 2.0))}]
    ws = C.scan_rows(rows, corpus / "manifest.csv", tmp_path / "ws")
    out = tmp_path / "pq"
    assert export(ws, out, "parquet", PURPOSE).exported == 1
    st = os.stat(wav)
    os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same content: still exported
    assert export(ws, tmp_path / "pq-touched", "parquet", PURPOSE).exported == 1

    sf.write(wav, x[: int(1.5 * sr)], sr, subtype="PCM_16")
    fresh = export(ws, tmp_path / "pq-new", "parquet", PURPOSE)
    assert fresh.exported == 0 and "source file changed since the scan" in fresh.skipped["v/c"]
    summary = export(ws, out, "parquet", PURPOSE)  # a rerun drops it, as it drops a missing file's
    assert summary.exported == 0 and "source file changed since the scan" in summary.skipped["v/c"]
    assert not any(pq.read_table(f).num_rows for f in out.rglob("*.parquet"))

    from twotrack.run import scan
    scan([corpus / "manifest.csv"], ws, jobs=0)
    assert export(ws, out, "parquet", PURPOSE).exported == 1
    row = next(r for f in out.rglob("*.parquet") for r in pq.read_table(f).to_pylist())
    assert row["duration_s"] == pytest.approx(1.5)
    assert all(w["end"] <= 1.5 + 1e-6 for w in row["words"]) and all(e["end"] <= 1.5 + 1e-6 for e in row["events"])


@pytest.mark.parametrize("args, said", [(["--rate", "16"], "--rate 16000 is 16 kHz"),
                                        (["--rate", "7"], "between 4000 and 384000"),
                                        (["--max-duration", "nan"], "--max-duration nan"),
                                        (["--shard-mb", "inf"], "--shard-mb inf")])
def test_a_rate_in_khz_or_a_nonfinite_option_is_refused_before_anything_is_written(ws, tmp_path, args, said):
    """Before: ``--rate 16`` (16 kHz meant) wrote every FLAC at 16 Hz and said nothing; ``--max-duration nan``
    and ``--shard-mb inf`` were taken."""
    from click.testing import CliRunner

    from twotrack.cli import main

    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["export", "lhotse" if "--shard-mb" not in args else "parquet", "-w", str(ws),
                                    str(out), "--purpose", PURPOSE, *args])
    assert res.exit_code == 2 and said in res.output, res.output
    assert not out.exists() or not any(out.iterdir())


def test_language_tags_in_capitals_reach_the_card_and_others_are_named(ws, tmp_path):
    """Before: ``language:EN`` was left out of the front matter and the body said "not recorded", as it did
    for ``language:English``, which the manifest did record."""
    from twotrack.export.card import languages
    from twotrack.model import Layout, Recording, SourceType, TrackSource

    def rec(tag):
        return Recording(recording_id=tag, tracks=(TrackSource(path="x.wav"),), layout=Layout.MONO,
                         source_type=SourceType.MONO, tags={"language": tag})

    recs = [rec("EN"), rec("en-US"), rec("English"), rec("FR,de")]
    assert languages(recs) == ["de", "en", "en-US", "fr"]
    assert languages(recs, unrecognised=True) == ["English"]
    export(ws, tmp_path / "lh", "lhotse", PURPOSE)
    card = (tmp_path / "lh" / "README.md").read_text()
    assert 'language:\n  - "en"\n' in card and "not ISO 639 codes (left out of the front matter): English" in card


def test_moshi_examples_without_a_word_of_their_main_speaker_are_told(ws, tmp_path):
    """Before: ``--main-speaker B`` on a recording whose B says nothing in it wrote an example with
    ``{"alignments": []}`` and said nothing (the trainer's text stream is padding only there)."""
    summary = export(ws, tmp_path / "m", "moshi", PURPOSE, main_speaker="B")
    assert json.loads((tmp_path / "m" / "audio" / "v__trimmed_mainB.json").read_text()) == {"alignments": []}
    assert any(n.startswith("1 example(s) hold no word of their main speaker") and "v__trimmed_mainB" in n
               for n in summary.notes), summary.notes
    assert not any("no word of their main speaker" in n for n in export(ws, tmp_path / "a", "moshi", PURPOSE).notes)


def test_a_mono_mixs_transcript_keeps_every_speakers_words(ws, tmp_path):
    """Before: the CTM's B words of a mono mix ("design", "they") were dropped from the Lhotse
    supervisions and the Parquet row without a note: a mono file has one track, and they named track B."""
    import pyarrow.parquet as pq

    lh = tmp_path / "lhotse"
    export(ws, lh, "lhotse", PURPOSE)
    sups = [s for s in lhotse.load_manifest(lh / "supervisions.jsonl.gz") if s.recording_id == "v__mono"]
    words = [w.symbol for s in sorted(sups, key=lambda s: s.start) for w in s.alignment["word"]]
    assert words == ["it", "locks", "is", "an", "officers", "design", "they"]
    pqo = tmp_path / "parquet"
    export(ws, pqo, "parquet", PURPOSE)
    row = next(r for f in pqo.rglob("*.parquet") for r in pq.read_table(f).to_pylist() if r["recording_id"] == "v/mono")
    assert [w["text"] for w in row["words"]] == words and {w["track"] for w in row["words"]} == {"A"}
    assert row["text"] == [{"track": "A", "text": " ".join(words)}]


def test_transcript_words_on_a_track_the_recording_lacks_are_counted():
    from twotrack.export.context import per_track
    from twotrack.model import Layout, Recording, SourceType, TrackSource, Word

    rec = Recording(recording_id="r", tracks=(TrackSource(path="x.wav", channel=0), TrackSource(path="x.wav", channel=1)),
                    layout=Layout.MULTICHANNEL, source_type=SourceType.TWO_TRACK)
    words = [Word("r", 0, 0.1, 0.3, "a"), Word("r", 2, 0.5, 0.7, "c"), Word("r", 1, 0.2, 0.4, "b")]
    out, note = per_track(rec, words)
    assert [[w.text for w in out[t]] for t in (0, 1)] == [["a"], ["b"]]
    assert note == "1 transcript word(s) on a track the recording does not have (2 track(s)) left out"


def test_the_card_says_which_moshi_examples_lack_alignments_and_that_mono_files_are_mixes(tmp_path):
    """Before: a Moshi card of an --allow-no-text export said "no words (1)" only, though moshi-finetune's
    trainer stops at the WAV without a .json; a Lhotse card with a mono file said every speaker was on their
    own channel."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="int16", frames=int(TRIM_S * 16000))
    sf.write(corpus / "n.wav", x, sr, subtype="PCM_16")
    sf.write(corpus / "m.wav", x[:, 0], sr, subtype="PCM_16")
    common = {"license": "CC-BY-4.0", "tags": "register:read", "transcript": ""}
    rows = [{"recording_id": "v/n", "path": str(corpus / "n.wav"), "speaker_a": "libri-367",
             "speaker_b": "libri-1688", "source_type": "two-track", **common},
            {"recording_id": "v/m", "path": str(corpus / "m.wav"), "speaker_a": "libri-367", "speaker_b": "",
             "source_type": "mono", **common}]
    ws = C.scan_rows(rows, corpus / "manifest.csv", tmp_path / "ws")
    export(ws, tmp_path / "moshi", "moshi", PURPOSE, allow_no_text=True)
    card = (tmp_path / "moshi" / "README.md").read_text()
    assert "**1 example(s) have no `.json` alignments** (exported with `--allow-no-text`: v__n)" in card
    assert "annotate.py train.jsonl` inside this folder" in card and "mono files" not in card
    export(ws, tmp_path / "lhotse", "lhotse", PURPOSE, allow_no_text=True)
    card = (tmp_path / "lhotse" / "README.md").read_text()
    assert "mono files hold the whole conversation on one channel" in card and "`.json` alignments" not in card
    rai = json.loads((tmp_path / "lhotse" / "croissant.json").read_text())["rai:dataCollection"]
    assert "mono files hold the whole conversation on one track; the tracks were scanned by twotrack" in rai


def test_a_folder_path_with_glob_characters_is_told_that_datasets_cannot_load_it(ws, tmp_path):
    """Before: an export to ``out[1]`` was written without a word, and ``datasets.load_dataset`` of it found
    no data files (it globs the folder's own path)."""
    summary = export(ws, tmp_path / "out[1]", "parquet", PURPOSE)
    assert summary.exported and any("glob character" in n and "datasets.load_dataset" in n for n in summary.notes)
    assert not any("glob character" in n for n in export(ws, tmp_path / "plain", "parquet", PURPOSE).notes)


def test_a_recording_named_like_another_ones_piece_gets_files_of_its_own(tmp_path):
    """Before: ``c/talk`` cut in two pieces (``c__talk_p000``, ``c__talk_p001``) beside a recording ``c/talk_p001``
    wrote both to ``audio/c__talk_p001.wav``: train.jsonl listed the file twice with two durations, one
    recording's audio was lost, and Lhotse's reader failed on the declared sample count."""
    from twotrack.export.run import make_stems

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="int16", frames=int(MONO_S * 16000))
    sf.write(corpus / "talk.wav", x, sr, subtype="PCM_16")
    sf.write(corpus / "part.wav", x[: int(TRIM_S * sr)], sr, subtype="PCM_16")
    common = {"speaker_a": "libri-367", "speaker_b": "libri-1688", "license": "CC-BY-4.0", "tags": "register:read",
              "source_type": "two-track"}
    rows = [{"recording_id": "c/talk", "path": str(corpus / "talk.wav"), **common,
             "transcript": str(_ctm(corpus / "talk.ctm", "talk", 3.9))},
            {"recording_id": "c/talk_p001", "path": str(corpus / "part.wav"), **common,
             "transcript": str(_ctm(corpus / "part.ctm", "part", 2.0))}]
    ws = C.scan_rows(rows, corpus / "manifest.csv", tmp_path / "ws")
    out = tmp_path / "moshi"
    summary = export(ws, out, "moshi", PURPOSE, max_duration_s=2.5)
    lines = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert summary.pieces == len(lines) == 3 and len({x["path"] for x in lines}) == 3
    for line in lines:
        assert sf.info(out / line["path"]).duration == pytest.approx(line["duration"], abs=1e-3)
    stems = make_stems(["c/talk", "c/talk_p001", "x_mainB", "x"])
    assert stems["c/talk"] == "c__talk" and stems["c/talk_p001"].startswith("c__talk_p001-")
    assert stems["x_mainB"].startswith("x_mainB-") and stems["x"] == "x"
    assert make_stems(["solo_p001"]) == {"solo_p001": "solo_p001"}  # nothing to clash with: the name stays
    # ids that differ in case only would share a file on a case-insensitive file system (a clone on macOS)
    case = make_stems(["Talk", "talk", "TALK_p000"])
    assert len({v.lower() for v in case.values()}) == 3 and all("-" in v for v in case.values())
