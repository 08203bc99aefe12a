"""Headers that lie about their audio: refused on the file, the rest of the corpus scanned."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.errors import InputError
from twotrack.ingest.audio import probe


def _wav(path: Path, rate: int, frames: int = 32000) -> Path:
    data = (np.random.default_rng(0).standard_normal((frames, 2)) * 3000).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 2, rate, rate * 4, 4, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _sphere(path: Path, rate: int) -> Path:
    fields = ("sample_count -i 16000\nchannel_count -i 2\nsample_n_bytes -i 2\n"
              f"sample_rate -i {rate}\nsample_byte_format -s2 01\nsample_coding -s3 pcm\n")
    head = ("NIST_1A\n   1024\n" + fields + "end_head\n").encode().ljust(1024, b" ")
    path.write_bytes(head + b"\0" * 64000)
    return path


@pytest.mark.parametrize("rate", [1, 999])
def test_wav_of_a_few_hertz_is_refused(tmp_path, rate):
    # before: 32000 frames at 1 Hz were a 8.9 h recording, resampled to 16 kHz by the stages (4.4 GB, 74 s)
    path = _wav(tmp_path / "slow.wav", rate)
    with pytest.raises(InputError, match=f"slow.wav: impossible header values: sample rate {rate} Hz"):
        probe(path)


def test_sphere_and_flac_of_one_hertz_are_refused(tmp_path):
    with pytest.raises(InputError, match="sample rate 1 Hz"):
        probe(_sphere(tmp_path / "slow.sph", 1))
    flac = tmp_path / "slow.flac"
    sf.write(flac, np.zeros((1600, 2), dtype="int16"), 16000, subtype="PCM_16")
    raw = bytearray(flac.read_bytes())
    # STREAMINFO's 20-bit sample rate starts 18 bytes into the file: set it to 1 Hz
    word = int.from_bytes(raw[18:26], "big")
    raw[18:26] = ((word & ((1 << 44) - 1)) | (1 << 44)).to_bytes(8, "big")
    flac.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="slow.flac: impossible header values: sample rate 1 Hz"):
        probe(flac)


def test_lowest_rate_still_read(tmp_path):
    assert probe(_wav(tmp_path / "ok.wav", 1000)).sample_rate == 1000


def test_random_bytes_named_mp3_are_not_called_a_pipe(tmp_path):
    # before: "... File does not exist or is not a regular file (possibly a pipe?)" for a regular file
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError) as err:
        probe(path)
    assert "noise.mp3: not a recognised audio format" in str(err.value)
    assert "pipe" not in str(err.value) and "does not exist" not in str(err.value)
