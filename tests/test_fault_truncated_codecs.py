"""Compressed files cut short (an interrupted download or copy): an Ogg (Vorbis or Opus) stream without its
end-of-stream page is a truncation error naming the file, and an MP3 whose audio ends well before the length
its header gives is scanned with what decodes and told as an error on the file. Before, both were scanned as
shorter recordings with no word (libsndfile 1.2 logs "Last page lacks an end-of-stream bit", which the probe
did not look for; MP3 lengths were never compared)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from twotrack.errors import InputError
from twotrack.ingest.audio import probe, read_blocks
from twotrack.run import scan
from twotrack.store import Workspace, queries

RATE = 16000


def _write_and_cut(folder, name, fmt, subtype):
    x = (np.random.default_rng(0).standard_normal((RATE * 6, 2)) * 0.1).astype(np.float32)
    whole = folder / f"{name}_whole.{name}"
    sf.write(whole, x, RATE, format=fmt, subtype=subtype)
    data = whole.read_bytes()
    cut = folder / f"{name}_cut.{name}"
    cut.write_bytes(data[: len(data) // 2])
    return whole, cut


@pytest.mark.parametrize("ext,subtype", [("ogg", "VORBIS"), ("opus", "OPUS")])
def test_an_ogg_stream_cut_before_its_end_is_a_truncation_error(tmp_path, ext, subtype):
    whole, cut = _write_and_cut(tmp_path, ext, "OGG", subtype)
    assert probe(whole).n_samples == RATE * 6
    with pytest.raises(InputError) as err:
        probe(cut)
    assert err.value.path == str(cut)
    assert err.value.problem == "truncated file: the OGG stream ends without its end-of-stream page"


def test_an_mp3_cut_short_is_scanned_and_told(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    whole, cut = _write_and_cut(corpus, "mp3", "MP3", "MPEG_LAYER_III")
    repairs: list = []
    n = sum(len(b) for b in read_blocks(whole, repairs=repairs))
    assert n == probe(whole).n_samples and repairs == []  # a whole file: its header's length, nothing said
    summary = scan([corpus], tmp_path / "ws", jobs=0)
    assert summary.exit_code == 0 and summary.failed == 0
    ws = Workspace(tmp_path / "ws")
    (err,) = queries.errors(ws)
    assert err.path == str(cut) and err.stage == "decode"
    assert err.problem.startswith("probably truncated: the audio ends at 2.9") and "MP3 header says 6.000 s" in err.problem
    assert 2.8 < queries.durations(ws)[err.recording_id] < 3.0  # the audio that decoded is kept


def _mp3_with_and_without_length_frame(folder, bitrate_mode: str, level: float, tag: bytes):
    """20 s of noise with a quiet start (the first frames' bitrate is below the rest's at a variable bitrate)
    as an MP3, and a copy whose first frame no longer states the frame count (its ``tag`` blanked)."""
    x = (np.random.default_rng(0).standard_normal((RATE * 20, 2)) * 0.1).astype(np.float32)
    x[: RATE * 2] *= 0.01
    whole = folder / f"{bitrate_mode.lower()}.mp3"
    with sf.SoundFile(whole, "w", RATE, 2, format="MP3", subtype="MPEG_LAYER_III", bitrate_mode=bitrate_mode,
                      compression_level=level) as f:
        f.write(x)
    data = whole.read_bytes()
    assert data.find(tag) >= 0
    bare = folder / f"bare_{bitrate_mode.lower()}.mp3"
    bare.write_bytes(data.replace(tag, b"\0\0\0\0", 1))
    return whole, bare


def test_a_vbr_mp3_without_a_length_frame_is_told_where_libsndfile_stops(tmp_path):
    """Without a Xing/Info frame libsndfile guesses a VBR MP3's length from its first frame and stops decoding
    there: here at about half the audio (ffmpeg decodes all of it). That is told; the same file with its
    Xing frame decodes whole and says nothing, and a short read of a file without one is not called truncated
    (its length was only ever a guess)."""
    whole, bare = _mp3_with_and_without_length_frame(tmp_path, "VARIABLE", 0.9, b"Xing")
    repairs: list = []
    assert sum(len(b) for b in read_blocks(whole, repairs=repairs)) == RATE * 20 and repairs == []
    n = sum(len(b) for b in read_blocks(bare, repairs=repairs))
    assert n < RATE * 19  # libsndfile stopped at its guess
    ((path, problem),) = repairs
    assert path == str(bare) and "the MP3 states no length (no Xing/Info frame; VBR) and may hold more" in problem


def test_a_cbr_mp3_without_a_length_frame_is_not_told(tmp_path):
    """A constant-bitrate MP3 without its Info frame (older encoders write none): libsndfile's guess of its
    length from the first frame is right, so decoding up to it is the whole file and nothing is said (every
    frame has one bitrate; the VBR file above has several)."""
    _, bare = _mp3_with_and_without_length_frame(tmp_path, "CONSTANT", 0.5, b"Info")
    repairs: list = []
    n = sum(len(b) for b in read_blocks(bare, repairs=repairs))
    assert n == probe(bare).n_samples >= RATE * 20 and repairs == []
