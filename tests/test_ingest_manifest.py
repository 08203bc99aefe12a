"""Manifests (CSV and JSONL): columns, path resolution, hostile paths, and bad rows next to good ones."""

import json
import os

import pytest

import ingest_files as files
from twotrack.ingest.discover import discover
from twotrack.ingest.manifest import parse_tags, read_manifest
from twotrack.model import Layout, SourceType

HEADER = "recording_id,path,path_a,path_b,speaker_a,speaker_b,license,tags,source_type,transcript,channels,room\n"


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "audio").mkdir(parents=True)
    files.write(root / "audio" / "s1.flac")
    files.write(root / "audio" / "m1.wav", channels=1, subtype="PCM_16")
    files.write(root / "audio" / "p1.A.wav", channels=1, subtype="PCM_16")
    files.write(root / "audio" / "p1.B.wav", channels=1, subtype="PCM_16")
    files.write(root / "audio" / "three.wav", channels=3, subtype="PCM_16")
    (root / "gold.ctm").write_text("s1 A 0.1 0.2 hi\n")
    return root


def test_csv_manifest_columns(corpus):
    (corpus / "m.csv").write_text(
        HEADER
        + "s1,audio/s1.flac,,,spk1,spk2,CC-BY-4.0,register:casual; topic:travel ;,commercial-two-track,gold.ctm,2,studio\n"
        + "p1,,audio/p1.A.wav,audio/p1.B.wav,ann,bob,MIT,,,,,\n"
        + ",audio/m1.wav,,,x,y,,emotion:neutral,mono,,,kitchen\n"
    )
    found = read_manifest(corpus / "m.csv")
    assert found.errors == []
    s1, p1, m1 = found.recordings
    assert s1.recording_id == "s1" and s1.layout is Layout.MULTICHANNEL
    assert s1.source_type is SourceType.COMMERCIAL_TWO_TRACK and s1.speakers == ("spk1", "spk2")
    assert s1.license == "CC-BY-4.0" and s1.tags == {"register": "casual", "topic": "travel"}
    assert s1.transcript == str(corpus / "gold.ctm") and s1.tracks[0].path == str(corpus / "audio" / "s1.flac")
    assert s1.metadata == {"room": "studio", "channels": "2"}
    assert len(s1.tracks[0].sha256) == 64
    assert p1.layout is Layout.PAIRED and p1.source_type is SourceType.TWO_TRACK and p1.speakers == ("ann", "bob")
    assert m1.recording_id == "m1" and m1.layout is Layout.MONO and m1.speakers == ()
    assert m1.metadata == {"room": "kitchen", "speaker_a": "x", "speaker_b": "y"}
    assert set(found.infos) == {t.path for r in found.recordings for t in r.tracks}


def test_jsonl_manifest_and_discover_dispatch(corpus):
    rows = [
        {"recording_id": "s1", "path": "audio/s1.flac", "tags": {"topic": "food"}, "source_type": "synthetic",
         "duration_hint": 1.0},
        {"recording_id": "p1", "path_a": "audio/p1.A.wav", "path_b": "audio/p1.B.wav", "license": "CC0-1.0"},
    ]
    (corpus / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    recs, errors = discover([corpus / "m.jsonl"])
    assert errors == [] and [r.recording_id for r in recs] == ["s1", "p1"]
    assert recs[0].source_type is SourceType.SYNTHETIC and recs[0].tags == {"topic": "food"}
    assert recs[0].metadata == {"duration_hint": "1.0"}


def test_bad_rows_each_give_one_error_and_the_others_are_read(corpus, tmp_path):
    """Issue 3 item 7, manifest half."""
    outside = files.write(tmp_path / "outside.flac")
    os.symlink(outside, corpus / "audio" / "link.flac")
    (corpus / "m.csv").write_text(
        HEADER
        + "ok1,audio/s1.flac,,,,,,,,,,\n"                      # line 2
        + "gone,audio/missing.flac,,,,,,,,,,\n"                # line 3
        + "up,../outside.flac,,,,,,,,,,\n"                      # line 4
        + f"abs,{outside},,,,,,,,,,\n"                          # line 5
        + "sym,audio/link.flac,,,,,,,,,,\n"                     # line 6
        + "ok1,audio/m1.wav,,,,,,,mono,,,\n"                    # line 7: duplicate id
        + "odd,audio/s1.flac,,,,,,,studio,,,\n"                 # line 8
        + "tags,audio/s1.flac,,,,,,register casual,,,,\n"       # line 9
        + "three,audio/three.wav,,,,,,,,,2,\n"                  # line 10
        + "three2,audio/three.wav,,,,,,,two-track,,,\n"         # line 11
        + "ok2,,audio/p1.A.wav,audio/p1.B.wav,,,,,,,,\n"        # line 12
        + f"abs_in,{corpus / 'audio' / 'm1.wav'},,,,,,,,,,\n"   # line 13: absolute but inside: fine
    )
    found = read_manifest(corpus / "m.csv")
    assert [r.recording_id for r in found.recordings] == ["ok1", "ok2", "abs_in"]
    manifest = str(corpus / "m.csv")
    problems = {e.problem.split(":")[0]: e for e in found.errors}
    assert all(e.path == manifest for e in found.errors)
    assert len(found.errors) == 9
    expect = {
        "line 3": "missing file", "line 4": "outside the manifest's folder", "line 5": "outside the manifest's folder",
        "line 6": "outside the manifest's folder", "line 7": "duplicate recording_id 'ok1' (first on line 2)",
        "line 8": "unknown source_type 'studio'", "line 9": "malformed tag", "line 10": "2 declared channel(s), but the file has 3",
        "line 11": "source_type two-track means 2 channel(s), but the file has 3",
    }
    for line, words in expect.items():
        assert words in problems[line].problem, problems[line].problem


def test_bad_audio_in_a_manifest_names_the_file(corpus):
    files.text_as_wav(corpus / "audio" / "fake.wav")
    (corpus / "m.csv").write_text(HEADER + "f,audio/fake.wav,,,,,,,,,,\nok,audio/s1.flac,,,,,,,,,,\n")
    found = read_manifest(corpus / "m.csv")
    assert [r.recording_id for r in found.recordings] == ["ok"]
    (err,) = found.errors
    assert err.path == str(corpus / "audio" / "fake.wav") and "text" in err.problem and "m.csv line 2" in err.problem


def test_unreadable_manifests(tmp_path):
    for name, content, words in [("e.csv", "", "no header"), ("x.jsonl", "[1, 2]\n", "must be an object"),
                                 ("y.jsonl", "{oops\n", "not valid JSON")]:
        (tmp_path / name).write_text(content)
        found = read_manifest(tmp_path / name)
        assert found.recordings == [] and len(found.errors) == 1 and words in found.errors[0].problem


def test_parse_tags():
    assert parse_tags("register:casual;topic:travel;emotion:neutral") == {
        "register": "casual", "topic": "travel", "emotion": "neutral"}
    assert parse_tags("") == {} and parse_tags("a:b;") == {"a": "b"} and parse_tags("url:http://x") == {"url": "http://x"}
    for bad in ("nocolon", ":value", "a:1;a:2"):
        with pytest.raises(ValueError):
            parse_tags(bad)
