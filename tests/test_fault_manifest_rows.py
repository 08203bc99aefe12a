"""Issue 18, fault 5: a manifest row with fewer cells than the header is an error naming its line (like one
with more); a recording id listed by two manifests names both manifests and both lines."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from twotrack.ingest.discover import discover
from twotrack.ingest.manifest import read_manifest


def _wav(path):
    sf.write(path, np.zeros((1600, 2), np.float32), 16000)


def test_short_and_long_rows_are_errors_naming_the_line(tmp_path):
    _wav(tmp_path / "a.wav")
    m = tmp_path / "m.csv"
    m.write_text("recording_id,path,license\n"
                 "ok,a.wav,CC0-1.0\n"
                 "short,a.wav\n"           # line 3: one cell missing
                 "long,a.wav,CC0-1.0,x\n")  # line 4: one cell too many
    found = read_manifest(m, hash_files=False)
    assert [r.recording_id for r in found.recordings] == ["ok"]
    problems = sorted(e.problem for e in found.errors)
    assert len(problems) == 2, problems
    assert problems[0].startswith("line 3:") and "fewer" in problems[0] and "2 of 3" in problems[0]
    assert problems[1].startswith("line 4:") and "more" in problems[1]
    assert all(e.path == str(m) for e in found.errors)


def test_an_id_in_two_manifests_names_both_manifests_and_lines(tmp_path):
    for d in ("one", "two"):
        (tmp_path / d).mkdir()
        _wav(tmp_path / d / "a.wav")
    m1, m2 = tmp_path / "one" / "m1.csv", tmp_path / "two" / "m2.csv"
    m1.write_text("recording_id,path\nx1,a.wav\nsame,a.wav\n")
    m2.write_text("recording_id,path\nsame,a.wav\n")
    recs, errors = discover([m1, m2], hash_files=False)
    assert sorted(r.recording_id for r in recs) == ["same", "x1"]
    assert len(errors) == 1
    e = errors[0]
    assert e.recording_id == "same"
    text = f"{e.path}: {e.problem}"
    assert str(m2) in text and "line 2" in text  # the refused row
    assert str(m1) in text and "line 3" in text  # the row that owns the id


def test_a_column_given_twice_in_two_spellings_is_an_error_not_the_last_value(tmp_path):
    """Columns are read without case or spaces, so `license` and `License` are one column: given both,
    the row was scanned under the last (here CC0-1.0, where the first said non-commercial). The JSON
    loader refuses a key given twice; its spellings got through. So did a tag given as `topic` and `topic `."""
    import json

    _wav(tmp_path / "a.wav")
    row = {"recording_id": "r1", "path": "a.wav", "speaker_a": "s1", "speaker_b": "s2"}
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({**row, "license": "CC-BY-NC-4.0", "License": "CC0-1.0"}) + "\n"
                 + json.dumps({**row, "recording_id": "r2", "license": "CC0-1.0", "tags": {"topic": "a", "topic ": "b"}})
                 + "\n" + json.dumps({**row, "recording_id": "ok", "license": "CC0-1.0", "tags": {"topic": "a"}}) + "\n")
    found = read_manifest(m, hash_files=False)
    assert [r.recording_id for r in found.recordings] == ["ok"]
    problems = sorted(e.problem for e in found.errors)
    assert problems[0].startswith("line 1:") and "column 'license' given twice" in problems[0], problems
    assert problems[1].startswith("line 2:") and "tag 'topic' given twice" in problems[1], problems

    c = tmp_path / "m.csv"
    c.write_text("recording_id,path,license,speaker_a,speaker_b, LICENSE,,\nr1,a.wav,CC-BY-NC-4.0,s1,s2,CC0-1.0,,\n")
    found = read_manifest(c, hash_files=False)
    assert not found.recordings and len(found.errors) == 1, (found.recordings, found.errors)
    assert "column 'license' given twice" in found.errors[0].problem and found.errors[0].path == str(c)
    c.write_text("recording_id,path,license,speaker_a,speaker_b,,\nr1,a.wav,CC0-1.0,s1,s2,,\n")  # empty columns
    assert [r.recording_id for r in read_manifest(c, hash_files=False).recordings] == ["r1"]
