"""timeline.Timeline: its set algebra agrees with the same operations on frame masks, and it reproduces
the segment helpers it stands beside (merge_segments, mask_to_segments, segments_to_mask) exactly."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import twotrack.timeline as timeline_module
from twotrack.model import FRAMES, Segment
from twotrack.timeline import Timeline, mask_to_segments, merge_segments, runs, segments_to_mask

N = 400


def _random_mask(rng: np.random.Generator, p: float) -> np.ndarray:
    # runs of a few frames: switch state with probability p per frame
    flips = rng.random(N) < p
    return (np.cumsum(flips) % 2).astype(bool)


def test_docstring_examples_run():
    assert doctest.testmod(timeline_module).failed == 0


@pytest.mark.parametrize("seed", range(20))
def test_algebra_equals_mask_algebra(seed):
    rng = np.random.default_rng(seed)
    masks = [_random_mask(rng, p) for p in (0.1, 0.2, 0.05)]
    tls = [Timeline.from_mask(m) for m in masks]
    a, b, c = tls
    assert np.array_equal((a | b).to_mask(N), masks[0] | masks[1])
    assert np.array_equal((a & b).to_mask(N), masks[0] & masks[1])
    count = np.sum(masks, axis=0)
    for k in (1, 2, 3):
        assert np.array_equal(Timeline.covered(tls, k).to_mask(N), count >= k)
    # gaps inside the extent: the silent runs that touch neither end of the extent
    s, e = runs(masks[0])
    inner = np.zeros(N, bool)
    if len(s):
        inner[s[0]:e[-1]] = ~masks[0][s[0]:e[-1]]
    assert np.array_equal(a.gaps().to_mask(N), inner)
    window = Segment(1.0, 2.5)
    cropped = masks[0].copy()
    cropped[:100], cropped[250:] = False, False
    assert np.array_equal(a.crop(window).to_mask(N), cropped)
    assert a.crop(c) == a & c
    assert a.duration() == pytest.approx(masks[0].sum() * FRAMES.hop_s)
    # frames round-trip exactly
    fs, fe = a.to_frames()
    assert np.array_equal(fs, s) and np.array_equal(fe, e)
    assert a == Timeline.from_frames(s, e)
    assert a.segments() == mask_to_segments(masks[0])


@pytest.mark.parametrize("seed", range(10))
def test_support_is_merge_segments_and_to_mask_is_segments_to_mask(seed):
    rng = np.random.default_rng(seed)
    starts = np.round(rng.uniform(0, 30, 60), 3)
    segs = [Segment(a, a + d) for a, d in zip(starts, np.round(rng.uniform(0, 0.8, 60), 3))]
    for gap in (0.05, 0.2, 1.0):
        assert Timeline(segs).support(gap).segments() == merge_segments([s for s in segs if s.end > s.start], gap)
    n = FRAMES.n_frames(31.0)
    assert np.array_equal(Timeline(segs).to_mask(n), segments_to_mask(segs, n))


def test_normalises_and_is_immutable():
    tl = Timeline([Segment(2, 3), (0, 1), (1, 2), (5, 5)])  # touching joins, empty drops
    assert tl == Timeline([(0, 3)]) and len(tl) == 1
    assert 2.5 in tl and 3.0 not in tl
    with pytest.raises(AttributeError):
        tl.foo = 1
    with pytest.raises(ValueError):
        tl.starts[0] = 1.0
    assert not Timeline() and Timeline().gaps() == Timeline() and Timeline().extent() == Segment(0, 0)
    assert tl.gaps(Segment(-1, 4)) == Timeline([(-1, 0), (3, 4)])
    with pytest.raises(ValueError):
        Timeline.from_bounds([0.0], [float("inf")])


@pytest.mark.parametrize("end, start", [(0.3, 0.5), (0.5, 0.7), (1.1, 1.3), (3600.3, 3600.5), (10799.5, 10799.7)])
def test_a_silence_of_exactly_the_threshold_separates_wherever_it_lies(end, start):
    # 0.7 - 0.5 is 0.19999999999999996 in floats: a 0.2 s silence must still separate two IPUs at a
    # 0.2 s threshold, as it does on the frame grid (turns.ipus: 20 silent frames separate).
    segs = [Segment(0.0, end), Segment(start, start + 1.0)]
    assert len(Timeline(segs).support(0.2)) == 2
    assert len(merge_segments(segs, 0.2)) == 2
    # ... and a silence one 10 ms frame shorter is bridged
    shorter = [Segment(0.0, end), Segment(round(start - 0.01, 6), start + 1.0)]
    assert len(Timeline(shorter).support(0.2)) == 1
    assert len(merge_segments(shorter, 0.2)) == 1
