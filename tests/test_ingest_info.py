"""`twotrack info`: JSON rows per file, folders through discovery, exit 1 when a file failed."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import ingest_files as files
from twotrack.cli import main

REPO = Path(__file__).resolve().parents[1]
KEYS = {"path", "format", "codec", "channels", "sample_rate", "duration_s", "tracks", "repairs", "error"}


def _run(*args):
    result = CliRunner().invoke(main, ["info", *map(str, args)])
    return result.exit_code, result.output


def test_json_rows_and_exit_1_when_a_file_failed(tmp_path):
    good = files.write(tmp_path / "good.flac", seconds=2.0, rate=8000)
    bad = files.text_as_wav(tmp_path / "bad.wav")
    code, out = _run("--json", good, bad)
    assert code == 1
    rows = json.loads(out)
    assert [Path(r["path"]).name for r in rows] == ["good.flac", "bad.wav"]
    assert all(KEYS <= set(r) for r in rows)
    assert rows[0] | {"path": None} == rows[0] | {
        "path": None, "format": "FLAC", "codec": "PCM_16", "channels": 2, "sample_rate": 8000, "duration_s": 2.0,
        "tracks": ["A", "B"], "repairs": [], "error": None}
    assert rows[1]["format"] is None and "text" in rows[1]["error"]


def test_folder_expands_through_discovery(tmp_path):
    files.write(tmp_path / "c.A.wav", channels=1, subtype="PCM_16")
    files.write(tmp_path / "c.B.wav", channels=1, subtype="PCM_16")
    files.write(tmp_path / "lone_ch1.wav", channels=1, subtype="PCM_16")
    code, out = _run("--json", tmp_path)
    rows = json.loads(out)
    assert code == 1
    assert [(Path(r["path"]).name, r["recording_id"], r["tracks"], r["error"] is None) for r in rows] == [
        ("c.A.wav", "c", ["A"], True), ("c.B.wav", "c", ["B"], True), ("lone_ch1.wav", "lone", [], False)]


def test_table_on_success(tmp_path):
    files.write(tmp_path / "x.flac")
    code, out = _run(tmp_path)
    assert code == 0 and "x.flac" in out and "FLAC" in out and "1 file(s), 0 with errors" in out


def test_sample_corpus_info():
    code, out = _run("--json", REPO / "data/sample")
    rows = json.loads(out)
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["demo01_367_1688.flac"]["tracks"] == ["A", "B"]
    assert by_name["demo01_367_1688.B.wav"]["codec"] == "ULAW"
    try:
        import twotrack.ingest.sphere  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("SPHERE reader not there yet")
    assert code == 0
    tel = by_name["demo01_367_1688.sph"]
    assert (tel["format"], tel["channels"], tel["sample_rate"], tel["error"]) == ("SPHERE", 2, 8000, None)


def test_sphere_fixtures_info():
    pytest.importorskip("twotrack.ingest.sphere")
    code, out = _run("--json", *sorted((REPO / "tests/data/sphere").glob("*.sph")))
    rows = json.loads(out)
    assert code == 0, [r for r in rows if r["error"]]
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["ex5_sh.sph"]["codec"] == "shorten-ulaw" and by_name["ex6.sph"]["channels"] == 4
    assert by_name["swb.sph"]["repairs"], "swb.sph's sample_count quirk should be reported as a repair"
