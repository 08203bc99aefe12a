"""Audio sweep 2026-12-05: a folder of AIFF recordings (or CAF, Wave64, Sun AU, `.oga`), all of which
libsndfile reads and `twotrack info` shows when the file is named, scanned as `0 recording(s) found`, exit 0:
the folder walk took only .wav .flac .sph .ogg .opus .mp3. It takes every extension of a format libsndfile
reads, so an archive in those formats is found; a paired AIFF recording pairs like any other."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from twotrack.ingest.discover import discover
from twotrack.model import Layout

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def two_seconds():
    x, sr = sf.read(SAMPLE / "clean" / "demo01_367_1688.flac", dtype="float32", frames=2 * 16000)
    return x, sr


@pytest.mark.parametrize("name, fmt", [("call.aiff", "AIFF"), ("call.AIF", "AIFF"), ("call.aifc", "AIFF"),
                                       ("call.caf", "CAF"), ("call.w64", "W64"), ("call.au", "AU"),
                                       ("call.oga", "OGG")])
def test_a_folder_of_other_libsndfile_formats_is_found(tmp_path, two_seconds, name, fmt):
    x, sr = two_seconds
    sf.write(tmp_path / name, x, sr, format=fmt, subtype="VORBIS" if fmt == "OGG" else "PCM_16")
    recordings, errors = discover([tmp_path])
    assert errors == []
    assert [r.recording_id for r in recordings] == ["call"]
    assert recordings[0].layout is Layout.MULTICHANNEL


def test_paired_aiff_files_pair(tmp_path, two_seconds):
    x, sr = two_seconds
    sf.write(tmp_path / "c7.A.aiff", x[:, 0], sr, format="AIFF", subtype="PCM_16")
    sf.write(tmp_path / "c7.B.aiff", x[:, 1], sr, format="AIFF", subtype="PCM_16")
    recordings, errors = discover([tmp_path])
    assert errors == [] and len(recordings) == 1
    assert recordings[0].recording_id == "c7" and recordings[0].layout is Layout.PAIRED
