"""Streamed discovery: candidates held on disk, ids settled over fixed-size hashes, the same rules as before."""

import os
import tempfile
from pathlib import Path

import numpy as np

import ingest_files as files
from twotrack.ingest.discover import discover, stream
from twotrack.ingest.found import Found, FoundStream, Origin, _unique_levels, hash64
from twotrack.model import Layout, Recording, TrackSource


def _ids(recs):
    return sorted(r.recording_id for r in recs)


def test_a_root_file_and_a_subfolder_file_of_one_stem(tmp_path):
    files.write(tmp_path / "d1.flac")
    (tmp_path / "sub").mkdir()
    files.write(tmp_path / "sub" / "d1.flac")
    recs, errors = discover([tmp_path])
    assert not errors and _ids(recs) == ["d1", "sub/d1"]


def test_ids_climb_only_as_far_as_needed(tmp_path):
    for folder in ("a/x", "b/x", "c"):
        (tmp_path / folder).mkdir(parents=True)
    files.write(tmp_path / "a" / "x" / "d1.flac")
    files.write(tmp_path / "b" / "x" / "d1.flac")
    files.write(tmp_path / "c" / "d1.wav", subtype="PCM_16")
    files.write(tmp_path / "c" / "d1.flac")  # same stem, same folder: only the extension separates them
    files.write(tmp_path / "c" / "solo.flac")
    recs, errors = discover([tmp_path])
    assert not errors
    assert _ids(recs) == ["a/x/d1", "b/x/d1", "c/d1.flac", "c/d1.wav", "solo"]


def test_levels_over_hashes_follow_the_rule():
    words = [("d1", "a/d1", "a/d1", "a/d1.wav"), ("d1", "b/d1", "b/d1", "b/d1.wav"), ("d2", "a/d2", "a/d2", "a/d2.wav"),
             ("m", "m", "m", "m")]
    keys = np.array([[hash64(w) for w in row] for row in words], dtype=np.uint64)
    eligible = np.array([True, True, True, False])
    assert _unique_levels(keys, eligible).tolist() == [1, 1, 0, 0]
    same = np.array([[hash64("x")] * 4] * 2, dtype=np.uint64)  # nothing separates them: stops at the top
    assert _unique_levels(same, np.array([True, True])).tolist() == [3, 3]


def test_a_pair_named_as_two_file_arguments_pairs(tmp_path):
    a = files.write(tmp_path / "call.A.wav", channels=1, subtype="PCM_16")
    b = files.write(tmp_path / "call.B.wav", channels=1, subtype="PCM_16")
    recs, errors = discover([a, b])
    assert not errors and [(r.recording_id, r.layout) for r in recs] == [("call", Layout.PAIRED)]


def test_a_file_argument_inside_a_walked_folder_is_one_recording(tmp_path):
    (tmp_path / "in").mkdir()
    a = files.write(tmp_path / "in" / "call.A.wav", channels=1, subtype="PCM_16")
    files.write(tmp_path / "in" / "call.B.wav", channels=1, subtype="PCM_16")
    recs, errors = discover([a, tmp_path])  # the file first: the walk still pairs it, no lone half
    assert not errors and [(r.recording_id, r.layout) for r in recs] == [("call", Layout.PAIRED)]


def test_a_manifest_id_taken_by_a_walked_recording_is_refused(tmp_path):
    (tmp_path / "walked").mkdir()
    (tmp_path / "listed").mkdir()
    walked = files.write(tmp_path / "walked" / "d1.flac")
    files.write(tmp_path / "listed" / "other.flac")
    manifest = tmp_path / "listed" / "m.csv"
    manifest.write_text("recording_id,path\nd1,other.flac\nd2,other.flac\n")
    recs, errors = discover([manifest, tmp_path / "walked"])  # the walk owns d1 whatever the order
    assert _ids(recs) == ["d1", "d2"]
    assert next(r for r in recs if r.recording_id == "d1").tracks[0].path == str(walked)
    assert [(e.path, e.recording_id) for e in errors] == [(str(tmp_path / "listed" / "other.flac"), "d1")]
    assert f"already used by {walked}" in errors[0].problem


def test_many_candidates_stream_back_in_order_with_unique_ids():
    """More candidates than one in-memory chunk (65,536): ids settle across chunks; repeats drop."""
    n = 70_000
    with FoundStream() as out:
        for i in range(n):
            folder = "x" if i % 2 else "y"
            rec = Recording(recording_id=f"r{i // 2}", tracks=(TrackSource(f"/{folder}/r{i // 2}.wav", 0),),
                            layout=Layout.MONO)
            out.add((f"r{i // 2}", f"{folder}/r{i // 2}", f"{folder}/r{i // 2}", f"{folder}/r{i // 2}.wav"),
                    Found(rec, {}), real=f"/{folder}/r{i // 2}.wav")
        out.add(("again",), Found(rec, {}), Origin(manifest="/m.csv", line=2), real=f"/x/r{(n - 1) // 2}.wav")
        out.finish()
        assert len(out) == n and out.errors == []
        got = [f.recording.recording_id for f in out]
    assert got[:4] == ["y/r0", "x/r0", "y/r1", "x/r1"] and len(set(got)) == n


def test_stream_is_read_from_disk_and_closes(tmp_path):
    files.write(tmp_path / "one.flac")
    with stream([tmp_path]) as found:
        assert len(found) == 1
        first = [f.recording.recording_id for f in found]
        assert first == [f.recording.recording_id for f in found] == ["one"]  # a second pass re-reads
        infos = next(iter(found)).infos
        assert list(infos) == [str(tmp_path / "one.flac")] and infos[str(tmp_path / "one.flac")].channels == 2
    try:
        list(found)
    except ValueError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("a closed discovery must not read")


def test_an_unreadable_folder_is_an_error_and_the_rest_streams():
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.chmod(root, 0o755)
        (root / "ok").mkdir(mode=0o755)
        os.chmod(files.write(root / "ok" / "good.flac"), 0o644)
        (root / "locked").mkdir()
        files.write(root / "locked" / "hidden.flac")
        os.chmod(root / "locked", 0o000)
        recs, errors = files.run_unprivileged(lambda: discover([root]))
        os.chmod(root / "locked", 0o755)
    assert _ids(recs) == ["good"]
    assert [(Path(e.path).name, "permission denied" in e.problem) for e in errors] == [("locked", True)]
