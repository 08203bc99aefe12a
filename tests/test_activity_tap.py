"""The activity stage's second consumers of its one pass (activity/tap.py): the resampler the model, the
noisy tracks' levels and the own-voice mel frames share, and the tap that feeds them."""

import numpy as np
import pytest

from twotrack.activity.tap import Resampler, Tap


def _resampled(x: np.ndarray, step: int, in_rate: int, out_rate: int) -> np.ndarray:
    r = Resampler(x.shape[0], in_rate, out_rate)
    parts = [r.feed(x[:, i : i + step]) for i in range(0, x.shape[1], step)]
    return np.concatenate([*parts, r.feed(np.zeros((x.shape[0], 0), np.float32), last=True)], axis=1)


@pytest.mark.parametrize("in_rate,out_rate", [(44100, 16000), (22050, 16000), (11025, 8000)])
def test_block_sizes_do_not_change_the_resampled_samples(in_rate, out_rate):
    x = (np.random.default_rng(0).standard_normal((2, 2 * in_rate + 13)) * 0.1).astype(np.float32)
    whole = _resampled(x, x.shape[1], in_rate, out_rate)
    assert whole.dtype == np.float32 and whole.flags.c_contiguous
    assert abs(whole.shape[1] - x.shape[1] * out_rate / in_rate) <= 1
    for step in (7, 333, 12345):
        assert np.array_equal(_resampled(x, step, in_rate, out_rate), whole)


def test_equal_rates_pass_the_block_itself():
    x = np.ones((2, 100), np.float32)
    assert Resampler(2, 16000, 16000).feed(x) is x


class _Rows:
    def __init__(self, n_tracks):
        self.n_tracks, self.seen = n_tracks, []

    def push(self, block):
        self.seen.append(block.copy())

    def finish(self, n_frames):
        return np.concatenate(self.seen, axis=1)[:, :n_frames]


def test_the_tap_passes_blocks_through_and_feeds_the_chosen_rows():
    x = np.arange(3 * 50, dtype=np.float32).reshape(3, 50)
    tap = Tap(_Rows, np.array([2, 0]))
    passed = list(tap.tap([x[:, :20], x[0], x[:, 20:]]))  # a 1-D block is the reader's to reject: not fed
    assert np.array_equal(passed[0], x[:, :20]) and np.array_equal(passed[1], x[0]) and len(passed) == 3
    assert tap.stream.n_tracks == 2
    assert np.array_equal(tap.finish(40), x[[2, 0], :40])
    assert Tap(_Rows).finish(10) is None  # no block went through
