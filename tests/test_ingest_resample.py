"""soxr resampling: the streaming path gives what the one-shot path gives."""

import numpy as np
import pytest

from twotrack.ingest.resample import StreamResampler, resample, resample_blocks


def _signal(n, channels=2, rate=16000):
    t = np.arange(n) / rate
    return np.stack([np.sin(2 * np.pi * (300 + 200 * c) * t) for c in range(channels)], axis=1).astype(np.float32) * 0.5


@pytest.mark.parametrize("in_rate, out_rate", [(16000, 8000), (8000, 16000), (44100, 16000), (16000, 16000)])
def test_stream_matches_one_shot(in_rate, out_rate):
    x = _signal(3 * in_rate + 123, rate=in_rate)
    whole = resample(x, in_rate, out_rate)
    sizes = [1000, 4096, 7, 30000]
    blocks, pos, i = [], 0, 0
    while pos < len(x):
        blocks.append(x[pos : pos + sizes[i % len(sizes)]])
        pos += sizes[i % len(sizes)]
        i += 1
    streamed = np.concatenate(list(resample_blocks(blocks, in_rate, out_rate, channels=2)))
    assert streamed.dtype == np.float32 and streamed.shape == whole.shape
    assert abs(len(whole) - len(x) * out_rate / in_rate) <= 1
    np.testing.assert_allclose(streamed, whole, atol=1e-4)


def test_downsampling_keeps_a_tone_below_nyquist():
    x = _signal(16000, channels=1)
    y = resample(x, 16000, 8000)[:, 0]
    spectrum = np.abs(np.fft.rfft(y[1000:-1000] * np.hanning(len(y) - 2000)))
    freqs = np.fft.rfftfreq(len(y) - 2000, 1 / 8000)
    assert abs(freqs[np.argmax(spectrum)] - 300) < 5


def test_same_rate_is_passthrough_and_flush_after_use_fails():
    r = StreamResampler(8000, 8000, channels=1)
    block = np.ones(10, np.float32)
    assert r.process(block).shape == (10, 1)
    assert len(r.flush()) == 0
    with pytest.raises(RuntimeError):
        r.process(block)
    assert len(resample(np.zeros((0, 2), np.float32), 16000, 8000)) == 0
