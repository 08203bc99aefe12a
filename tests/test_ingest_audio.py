"""Header probe and block reader on real files written here: every soundfile format, and every bad input."""

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import ingest_files as files
from twotrack.errors import InputError
from twotrack.ingest.audio import probe, read_all, read_blocks
from twotrack.ingest.extensions import is_audio_path

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "name, kw, fmt, codec, exact",
    [
        ("a.wav", {"subtype": "PCM_16"}, "WAV", "PCM_16", 1 / 32768),
        ("a.flac", {}, "FLAC", "PCM_16", 1 / 32768),
        ("u.wav", {"subtype": "ULAW"}, "WAV", "ULAW", 0.02),
        ("f.wav", {"subtype": "FLOAT"}, "WAV", "FLOAT", 0.0),
        ("a.ogg", {"format": "OGG", "subtype": "VORBIS"}, "OGG", "VORBIS", None),
        ("a.mp3", {"format": "MP3", "subtype": "MPEG_LAYER_III"}, "MP3", "MPEG_LAYER_III", None),
    ],
)
def test_probe_and_read_soundfile_formats(tmp_path, name, kw, fmt, codec, exact):
    path = files.write(tmp_path / name, seconds=1.0, rate=16000, channels=2, **kw)
    info = probe(path)
    assert (info.format, info.codec, info.channels, info.sample_rate) == (fmt, codec, 2, 16000)
    assert info.n_samples == 16000 and info.duration_s == pytest.approx(1.0)
    assert info.path == str(path) and info.repairs == ()
    audio, rate = read_all(path)
    assert rate == 16000 and audio.dtype == np.float32 and audio.shape == (16000, 2)
    if exact is not None:  # lossless (or mu-law) formats give back what was written
        assert np.abs(audio - files.tone(1.0, 16000, 2)).max() <= exact + 1e-7
    else:  # lossy: the two channels keep their own content
        ref = files.tone(1.0, 16000, 2)
        assert np.corrcoef(audio[:, 0], ref[:, 0])[0, 1] > np.corrcoef(audio[:, 0], ref[:, 1])[0, 1]


def test_opus_probe_reports_48k(tmp_path):
    path = files.write(tmp_path / "a.opus", seconds=0.5, rate=48000, channels=1, format="OGG", subtype="OPUS")
    info = probe(path)
    assert (info.format, info.codec, info.channels, info.sample_rate) == ("OGG", "OPUS", 1, 48000)
    assert sum(len(b) for b in read_blocks(path)) == info.n_samples


def test_read_blocks_streams_fixed_blocks(tmp_path):
    path = files.write(tmp_path / "long.flac", seconds=3.0, rate=8000, channels=2)
    blocks = list(read_blocks(path, block_samples=5000))
    assert [len(b) for b in blocks] == [5000] * 4 + [4000]
    assert all(b.dtype == np.float32 and b.shape[1] == 2 for b in blocks)
    whole, _ = read_all(path)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_probe_does_not_decode_the_payload(tmp_path):
    # A WAV whose payload is garbage bytes still probes: the probe reads the header only.
    path = files.write(tmp_path / "g.wav", seconds=1.0, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[44:] = os.urandom(len(data) - 44)
    path.write_bytes(bytes(data))
    assert probe(path).n_samples == 16000


def test_audio_extensions():
    assert is_audio_path("x.WAV") and is_audio_path("a/b.sph") and is_audio_path("c.Opus")
    assert not is_audio_path("x.ctm") and not is_audio_path("x.wav.txt")


# ---------------------------------------------------------------------------------------------
# Bad input: each is one InputError that names the file and says what is wrong
# ---------------------------------------------------------------------------------------------

BAD = {
    "empty.wav": (files.empty, "empty file"),
    "truncated.wav": (lambda p: files.truncated(p, subtype="PCM_16"), "truncated"),
    "truncated.flac": (files.truncated, "truncated"),
    "truncated.ogg": (lambda p: files.truncated(p, format="OGG", subtype="VORBIS"), "truncated"),
    "notes.wav": (files.text_as_wav, "text"),
    "codec.wav": (lambda p: files.wav_with_fields(p, format_tag=0x1234), "unknown codec"),
    "nochannels.wav": (lambda p: files.wav_with_fields(p, channels=0), "impossible header"),
    "norate.wav": (lambda p: files.wav_with_fields(p, rate=0), "impossible header"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_is_one_clear_input_error(tmp_path, name):
    make, words = BAD[name]
    path = make(tmp_path / name)
    with pytest.raises(InputError) as err:
        probe(path)
        for _ in read_blocks(path):  # some damage only shows while decoding
            pass
    assert err.value.path == str(path)
    assert words in err.value.problem.lower(), err.value.problem


def test_truncated_flac_fails_while_reading_with_position(tmp_path):
    path = files.truncated(tmp_path / "t.flac", keep=0.6, seconds=4.0, rate=16000)
    blocks = read_blocks(path, block_samples=4000)  # the header is fine
    got = 0
    with pytest.raises(InputError) as err:
        for b in blocks:
            got += len(b)
    assert err.value.path == str(path) and "truncated" in err.value.problem
    assert 0 < got < 4 * 16000


def test_missing_and_directory(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        probe(tmp_path / "nope.wav")
    with pytest.raises(InputError, match="directory"):
        probe(tmp_path)


def test_permission_denied_names_the_file():
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        path = files.write(Path(folder) / "locked.wav", subtype="PCM_16")
        os.chmod(path, 0o000)

        def attempt():
            try:
                probe(path)
            except InputError as exc:
                return exc.path, exc.problem
            return None

        assert files.run_unprivileged(attempt) == (str(path), "permission denied (the file is not readable by this user)")


def test_sphere_is_recognised_by_magic_not_extension(tmp_path):
    pytest.importorskip("twotrack.ingest.sphere")
    src = REPO / "tests/data/sphere/ex5.sph"
    disguised = tmp_path / "ex5.wav"  # NIST shipped these as .wav
    disguised.write_bytes(src.read_bytes())
    info = probe(disguised)
    assert info.format == "SPHERE" and info.channels == 2 and info.sample_rate == 8000


def test_sphere_with_impossible_header_values(tmp_path):
    pytest.importorskip("twotrack.ingest.sphere")
    path = files.impossible_sphere(tmp_path / "bad.sph")
    with pytest.raises(InputError) as err:
        probe(path)
    assert err.value.path == str(path) and "rate" in err.value.problem.lower()


def test_read_all_matches_soundfile(tmp_path):
    path = files.write(tmp_path / "m.wav", seconds=0.7, rate=22050, channels=1, subtype="PCM_24")
    audio, rate = read_all(path)
    ref, ref_rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == ref_rate == 22050
    np.testing.assert_array_equal(audio, ref)


def _set_wav_data_size(path, value):
    import struct

    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = struct.pack("<I", value)
    path.write_bytes(bytes(data))


def test_streamed_wav_without_data_size_is_repaired_or_explained(tmp_path):
    streamed = files.write(tmp_path / "streamed.wav", subtype="PCM_16")
    _set_wav_data_size(streamed, 0xFFFFFFFF)  # what streaming writers leave
    info = probe(streamed)
    assert info.n_samples == 16000 and "data size unset" in info.repairs[0]
    assert read_all(streamed)[0].shape == (16000, 2)
    unfinished = files.write(tmp_path / "unfinished.wav", subtype="PCM_16")
    _set_wav_data_size(unfinished, 0)
    with pytest.raises(InputError, match="unfinished WAV"):
        probe(unfinished)
