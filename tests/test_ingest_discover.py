"""Corpus discovery: walking, pairing, layouts, stable ids, content hashes, and bad files among good ones."""

import hashlib
import os
import tempfile
from pathlib import Path

import pytest

import ingest_files as files
from twotrack.config import Config
from twotrack.ingest.discover import discover, match_pair, compile_patterns, scan, walk_audio
from twotrack.ingest.hashing import sha256_file
from twotrack.model import Layout, SourceType

REPO = Path(__file__).resolve().parents[1]


def _ids(recs):
    return sorted(r.recording_id for r in recs)


def test_walk_skips_hidden_and_non_audio_and_survives_symlink_loops(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    files.write(tmp_path / "a" / "one.wav", subtype="PCM_16")
    files.write(tmp_path / "a" / "b" / "two.FLAC")
    files.write(tmp_path / ".hidden" / "secret.wav", subtype="PCM_16")
    files.write(tmp_path / "a" / ".dot.wav", subtype="PCM_16")
    (tmp_path / "a" / "notes.txt").write_text("not audio")
    os.symlink(tmp_path, tmp_path / "a" / "b" / "loop")  # a loop back to the root
    found, errors = walk_audio(tmp_path)
    assert [Path(f).relative_to(tmp_path).as_posix() for f in found] == ["a/b/two.FLAC", "a/one.wav"]
    assert errors == []


def test_layout_from_the_probe(tmp_path):
    files.write(tmp_path / "stereo.flac", channels=2)
    files.write(tmp_path / "web.mp3", channels=1, format="MP3", subtype="MPEG_LAYER_III")
    files.write(tmp_path / "meeting.wav", channels=4, subtype="PCM_16")
    recs, errors = discover([tmp_path])
    assert errors == []
    by_id = {r.recording_id: r for r in recs}
    assert by_id["stereo"].layout is Layout.MULTICHANNEL and by_id["stereo"].source_type is SourceType.TWO_TRACK
    assert [t.channel for t in by_id["stereo"].tracks] == [0, 1]
    assert by_id["web"].layout is Layout.MONO and by_id["web"].source_type is SourceType.MONO and by_id["web"].is_mono
    assert by_id["meeting"].n_tracks == 4


def test_pairing_patterns_and_lone_half(tmp_path):
    files.write(tmp_path / "call1.A.wav", channels=1, subtype="PCM_16")
    files.write(tmp_path / "call1.B.flac", channels=1)
    files.write(tmp_path / "call2_ch1.wav", channels=1, subtype="PCM_16")
    files.write(tmp_path / "call2_ch2.wav", channels=1, subtype="PCM_16")
    lone = files.write(tmp_path / "call3.A.wav", channels=1, subtype="PCM_16")
    recs, errors = discover([tmp_path])
    assert _ids(recs) == ["call1", "call2"]
    call1 = next(r for r in recs if r.recording_id == "call1")
    assert call1.layout is Layout.PAIRED
    assert [Path(t.path).name for t in call1.tracks] == ["call1.A.wav", "call1.B.flac"]
    assert len(errors) == 1 and errors[0].path == str(lone) and "lone half" in errors[0].problem
    assert "call3.B" in errors[0].problem and errors[0].recording_id == "call3"


def test_custom_pattern_from_config(tmp_path):
    files.write(tmp_path / "talk-left.wav", channels=1, subtype="PCM_16")
    files.write(tmp_path / "talk-right.wav", channels=1, subtype="PCM_16")
    cfg = Config().with_overrides({"ingest.paired_patterns": [("{id}-left", "{id}-right")]})
    recs, errors = discover([tmp_path], cfg)
    assert not errors and [(r.recording_id, r.layout) for r in recs] == [("talk", Layout.PAIRED)]
    assert match_pair("x.B", compile_patterns(Config().ingest.paired_patterns)) == ("x", 0, 1)


def test_stereo_file_in_a_pair_is_an_error(tmp_path):
    files.write(tmp_path / "p.A.wav", channels=1, subtype="PCM_16")
    bad = files.write(tmp_path / "p.B.wav", channels=2, subtype="PCM_16")
    recs, errors = discover([tmp_path])
    assert recs == [] and len(errors) == 1 and errors[0].path == str(bad) and "one track" in errors[0].problem


def test_ids_are_stems_and_become_relative_paths_on_collision(tmp_path):
    (tmp_path / "clean").mkdir()
    (tmp_path / "telephone").mkdir()
    files.write(tmp_path / "clean" / "d1.flac")
    files.write(tmp_path / "telephone" / "d1.wav", rate=8000, subtype="ULAW")
    files.write(tmp_path / "clean" / "d2.flac")
    recs, errors = discover([tmp_path])
    assert not errors and _ids(recs) == ["clean/d1", "d2", "telephone/d1"]
    again, _ = discover([tmp_path])  # stable across runs
    assert _ids(again) == _ids(recs)


def test_sha256_per_source_file(tmp_path):
    path = files.write(tmp_path / "h.flac")
    recs, _ = discover([tmp_path])
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert {t.sha256 for t in recs[0].tracks} == {expected} == {sha256_file(path, chunk_bytes=1000)}
    unhashed, _ = discover([tmp_path], hash_files=False)
    assert unhashed[0].tracks[0].sha256 is None


def test_same_file_twice_is_one_recording(tmp_path):
    path = files.write(tmp_path / "x.flac")
    recs, errors = discover([tmp_path, path])
    assert not errors and _ids(recs) == ["x"]


def test_missing_argument_is_an_error(tmp_path):
    files.write(tmp_path / "ok.flac")
    recs, errors = discover([tmp_path / "ok.flac", tmp_path / "gone"])
    assert _ids(recs) == ["ok"] and [(e.path, e.problem) for e in errors] == [(str(tmp_path / "gone"), "path not found")]


def test_bad_inputs_each_give_one_error_and_the_rest_is_read():
    """Issue 3 item 7, folder half: every bad file is one error naming it; good recordings are all read."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.chmod(root, 0o755)
        good = [files.write(root / "good1.flac"), files.write(root / "good2.wav", channels=1, subtype="PCM_16"),
                files.write(root / "good3.A.wav", channels=1, subtype="PCM_16"),
                files.write(root / "good3.B.wav", channels=1, subtype="PCM_16")]
        bad = {
            files.empty(root / "empty.wav"): "empty file",
            files.truncated(root / "cut.wav", subtype="PCM_16"): "truncated",
            files.text_as_wav(root / "notes.wav"): "text",
            files.wav_with_fields(root / "codec.wav", format_tag=0x0999): "unknown codec",
            files.wav_with_fields(root / "zero.wav", rate=0): "impossible header",
            files.write(root / "locked.flac"): "permission denied",
        }
        if _has_sphere():
            bad[files.impossible_sphere(root / "impossible.sph")] = "rate"
        os.chmod(root / "locked.flac", 0o000)
        for p in good:
            os.chmod(p, 0o644)
        recs, errors = files.run_unprivileged(lambda: discover([root]))
    assert _ids(recs) == ["good1", "good2", "good3"]
    assert sorted(e.path for e in errors) == sorted(str(p) for p in bad)
    for e in errors:
        assert bad[Path(e.path)] in e.problem.lower(), e


def _has_sphere():
    try:
        import twotrack.ingest.sphere  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def test_sample_corpus():
    found = scan([REPO / "data/sample"], hash_files=False)
    ids = _ids(found.recordings)
    assert {"clean/demo01_367_1688", "paired/demo01_367_1688"} <= set(ids)
    paired = [r for r in found.recordings if r.layout is Layout.PAIRED]
    assert len(paired) == 3
    if _has_sphere():
        assert not found.errors and "telephone/demo01_367_1688" in ids
        tel = found.infos[str(REPO / "data/sample/telephone/demo01_367_1688.sph")]
        assert (tel.format, tel.channels, tel.sample_rate) == ("SPHERE", 2, 8000)
    else:
        pytest.skip("SPHERE reader not there yet")


def test_one_half_named_alone_says_its_partner_was_not_named(tmp_path):
    """`twotrack scan call.A.wav` with call.B.wav beside it: the error said "has no partner (expected call.B.<ext>
    beside it)" while that file was there. It now names the partner and says to name both files or the folder."""
    a = files.write(tmp_path / "call.A.wav", channels=1, subtype="PCM_16")
    files.write(tmp_path / "call.B.flac", channels=1)
    recs, errors = discover([a])
    assert recs == [] and len(errors) == 1 and errors[0].path == str(a)
    problem = errors[0].problem
    assert "lone half" in problem and "call.B.flac" in problem and "not named" in problem
    assert "beside it)" not in problem  # the old, untrue "expected ... beside it"
    lone = files.write(tmp_path / "solo.A.wav", channels=1, subtype="PCM_16")  # truly alone: as before
    recs, errors = discover([lone])
    assert "expected solo.B.<ext> beside it" in errors[0].problem
