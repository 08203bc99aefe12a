"""Collapse reads a recording as a stream: the mix and the diarizer's inputs are made block by block, so a
long recording is never held whole (docs/memory.md), and the answer is the whole-array pipeline's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.collapse import diarize as dz
from twotrack.collapse.diarize import DiarizeConfig, diarize_mono, diarize_stream, mel_normalised
from twotrack.collapse.mix import mix_blocks, mix_gain, mix_tracks
from twotrack.collapse.run import collapse_recording
from twotrack.ingest import tracks as ingest_tracks
from twotrack.ingest.discover import discover
from twotrack.voice import encoder as enc

ROOT = Path(__file__).resolve().parents[1]
TELEPHONE = ROOT / "data" / "sample" / "telephone" / "demo02_3080_2033.sph"
BLOCK = 8 * 8000


@pytest.fixture(scope="module")
def telephone():
    """The first 40 s of a sample telephone dialogue (8 kHz, two tracks), as a file and as an array."""
    rec = discover([TELEPHONE])[0][0]
    x = ingest_tracks.load_tracks(rec).samples[:, : 40 * 8000]
    return x


def blocks_of(x: np.ndarray, step: int = BLOCK):
    return (x[:, i: i + step] for i in range(0, x.shape[1], step))


def test_the_mix_in_blocks_is_the_whole_mix_sample_for_sample():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, 50_000)) * 0.6).astype(np.float32)  # the sum clips: the gain is below 1
    gain, n = mix_gain(blocks_of(x, 7000))
    assert n == x.shape[1] and gain < 1.0
    streamed = np.concatenate(list(mix_blocks(blocks_of(x, 7000), gain)), axis=1)
    assert streamed.shape == (1, x.shape[1])
    np.testing.assert_array_equal(streamed[0], mix_tracks(x))


def test_mel_frames_of_the_stream_are_the_whole_arrays(telephone):
    mono = mix_tracks(telephone) * np.float32(0.05)  # quiet: the volume normalisation raises it
    n_frames = telephone.shape[1] // 80
    whole = enc.mel_spectrogram(enc.normalise_volume(dz._to_16k(mono, 8000)))[:n_frames]
    streamed = mel_normalised(blocks_of(mono[None], 5000), 8000, n_frames)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, rtol=2e-3, atol=1e-6 * float(whole.max()))
    # only the rows asked for are kept (the diarizer asks for the speech frames)
    rows = np.flatnonzero(np.arange(n_frames) % 3 == 1)
    picked = mel_normalised(blocks_of(mono[None], 5000), 8000, n_frames, rows)
    assert picked.shape == (rows.size, enc.N_MELS)
    np.testing.assert_array_equal(picked, streamed[rows])


def test_diarizing_the_stream_gives_the_whole_arrays_labels(telephone):
    mono = mix_tracks(telephone)
    cfg = DiarizeConfig()
    whole = diarize_mono(mono, 8000, 2, cfg)
    reads = []

    def blocks():
        reads.append(0)
        return blocks_of(mono[None])

    streamed = diarize_stream(blocks, 8000, 2, cfg)
    assert len(reads) >= 2  # the activity pass, then the mel pass: the audio is read again, not kept
    assert streamed.n_windows == whole.n_windows
    assert np.mean(streamed.labels == whole.labels) > 0.999


def test_collapse_reads_the_recording_in_blocks_never_whole(tmp_path, telephone, monkeypatch):
    path = tmp_path / "call.wav"
    sf.write(path, telephone.T, 8000, subtype="PCM_16")
    rec = discover([path])[0][0]
    widths = []
    real = ingest_tracks.iter_track_blocks

    def counted(*args, **kwargs):
        for block in real(*args, **kwargs):
            widths.append(block.shape[1])
            yield block

    def whole(*args, **kwargs):
        raise AssertionError("collapse loaded the whole recording")

    monkeypatch.setattr(ingest_tracks, "iter_track_blocks", counted)
    monkeypatch.setattr(ingest_tracks, "load_tracks", whole)
    from twotrack.activity import detect_tracks, to_activity

    activity = to_activity(detect_tracks(telephone, 8000))
    res = collapse_recording(rec, activity)
    assert res.error is None and res.der is not None
    assert max(widths) <= BLOCK and sum(widths) >= 2 * telephone.shape[1]


def test_windows_are_embedded_a_chunk_at_a_time_with_the_same_numbers(monkeypatch):
    rng = np.random.default_rng(5)
    speech_mel = rng.random((3000, enc.N_MELS), dtype=np.float32)
    starts = np.arange(0, 3000 - 150 + 1, 2, dtype=np.int64)  # 1426 windows: two chunks
    whole = enc.load_encoder().embed(dz.windows_at(speech_mel, starts, 150))
    gathered = []
    real = dz.windows_at

    def counted(x, s, length):
        gathered.append(len(s))
        return real(x, s, length)

    monkeypatch.setattr(dz, "windows_at", counted)
    chunked = dz.embed_windows(speech_mel, starts, 150)
    assert max(gathered) <= dz.EMBED_CHUNK and sum(gathered) == len(starts)
    np.testing.assert_array_equal(chunked, whole)
