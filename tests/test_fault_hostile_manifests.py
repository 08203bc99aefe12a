"""Manifests with a line built to break the parser: that row is an error, the rows after it are scanned."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from twotrack.ingest.discover import scan


def _audio(tmp_path):
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, np.zeros((1600, 2), dtype="float32") + 0.01, 16000)


def test_csv_cell_over_the_field_limit_costs_its_row_only(tmp_path):
    # before: "malformed CSV: field larger than field limit (131072)" and r3 after it was never read
    _audio(tmp_path)
    manifest = tmp_path / "m.csv"
    manifest.write_text("recording_id,path,note\nr1,a.wav,short\nr2,a.wav," + "x" * 200_000 + "\nr3,b.wav,ok\n")
    found = scan([manifest], hash_files=False)
    assert sorted(r.recording_id for r in found.recordings) == ["r1", "r3"]
    (error,) = found.errors
    assert "line 3: malformed CSV line: a cell longer than 131072 characters" in error.problem


def test_jsonl_nested_too_deeply_is_a_row_error(tmp_path):
    # before: RecursionError traceback, the whole scan stopped
    _audio(tmp_path)
    manifest = tmp_path / "m.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    manifest.write_text(json.dumps({"recording_id": "j1", "path": "a.wav"}) + "\n"
                        + '{"recording_id": "j2", "path": "a.wav", "x": ' + deep + "}\n"
                        + '{"recording_id": "j3", "path": "b.wav", "n": ' + "9" * 5000 + "}\n"
                        + json.dumps({"recording_id": "j4", "path": "b.wav"}) + "\n")
    found = scan([manifest], hash_files=False)
    assert sorted(r.recording_id for r in found.recordings) == ["j1", "j4"]
    problems = sorted(e.problem for e in found.errors)
    assert problems[0].startswith("line 2: not usable JSON: nested too deeply")
    assert problems[1].startswith("line 3: not usable JSON")


def test_lhotse_supervisions_nested_too_deeply_name_the_line(tmp_path):
    # before: RecursionError out of read_words (gold for eval, a manifest transcript)
    import pytest

    from twotrack.errors import InputError
    from twotrack.ingest.annotations import read_words

    path = tmp_path / "sup.jsonl"
    path.write_text('{"id": "s", "recording_id": "r", "start": 0, "duration": 1, "custom": '
                    + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(InputError, match=r"sup.jsonl: line 1: not usable JSON: nested too deeply"):
        read_words(path)
