"""The words stage read as a stream of blocks (issue 19, memory): same spans, same frame powers, same words
as the whole-array path; small batches still give every track its words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from twotrack.ingest.sphere import read_sphere
from twotrack.words.stream import SpanAudio, frame_powers, read_spans, to_whisper_rate

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DIALOGUE = "demo01_367_1688"


def _blocks(x: np.ndarray, width: int):
    return (x[:, i: i + width] for i in range(0, x.shape[1], width))


@pytest.fixture(scope="module")
def telephone():
    pcm, rate = read_sphere(SAMPLE / "telephone" / f"{DIALOGUE}.sph")
    return np.ascontiguousarray(pcm.T.astype(np.float32) / 32768.0)[:, : rate * 30], rate


def test_span_reader_cuts_what_the_whole_resampled_track_gives(telephone):
    x, rate = telephone  # 8 kHz: the reader resamples to 16 kHz as it streams
    x16 = to_whisper_rate(x, rate)
    dur = x.shape[1] / rate
    rng = np.random.default_rng(1)
    # overlapping, unordered, before the start and past the end
    spans = [np.sort(rng.uniform(-1.0, dur + 2.0, (25, 2)), axis=1) for _ in range(2)]
    reader, got = read_spans(_blocks(x, 12345), spans, rate)
    for t in range(2):
        for k, (a, b) in enumerate(spans[t]):
            want = x16[t, max(int(round(a * 16000)), 0): int(round(b * 16000))]
            assert np.array_equal(got[t][k], want), (t, k, a, b)
    assert reader.n16 == x16.shape[1]
    assert np.array_equal(reader.frames(), frame_powers(x16))
    audio = SpanAudio(sorted(got[0].items(), key=lambda kv: spans[0][kv[0], 0]), spans[0], reader.n16)
    k = int(np.argmax(spans[0][:, 1] - spans[0][:, 0]))
    a = max(int(round(spans[0][k, 0] * 16000)), 0)
    assert np.array_equal(audio[a + 10: a + 500], x16[0, a + 10: a + 500]) or spans[0][k, 1] * 16000 < a + 500


def test_reader_memory_is_the_pending_spans_not_the_stream():
    rate = 16000
    reader_spans = [np.array([[1.0, 2.0], [50.0, 51.0]]), np.zeros((0, 2))]
    from twotrack.words.stream import SpanReader

    reader = SpanReader(reader_spans, rate, frames=False)
    block = np.ones((2, 8 * rate), np.float32)
    for _ in range(5):  # 40 s: the first span is cut, nothing of the next is due yet
        reader.push(block)
    assert sum(b.size for b in reader._buf) == 0
    got = reader.ready()
    assert [k for k, _ in got[0]] == [0] and got[0][0][1].size == rate and got[1] == []


def test_recogniser_windows_end_where_a_chunk_ends():
    from twotrack.words.chunks import Packed
    from twotrack.words.recognise import window_end

    rate = 16000  # chunks of 12, 10, 9 and 40 s packed with 0.3 s separators
    lengths = [12.0, 10.0, 9.0, 40.0]
    offsets = np.cumsum([0.0] + [n + 0.3 for n in lengths[:-1]])
    chunks = np.stack([offsets, offsets + np.array(lengths)], axis=1) + 100.0
    packed = Packed(np.zeros(int((sum(lengths) + 0.3 * 4) * rate), np.float32), rate, chunks, offsets)
    assert window_end(packed, 0) == round(offsets[2] * 100)  # 12 + 10 s fit in 30 s, 9 more do not
    assert window_end(packed, round(offsets[2] * 100)) == round(offsets[3] * 100)
    start = round(offsets[3] * 100)  # a chunk longer than a window: cut at 30 s, the recogniser seeks on
    assert window_end(packed, start) == start + 3000


faster_whisper = pytest.importorskip("faster_whisper")
pytest.importorskip("pocketsphinx")


def test_streamed_words_equal_the_whole_array_words(telephone):
    from twotrack.activity import detect_tracks, to_activity
    from twotrack.words import WordsConfig, align_text, align_text_blocks, transcribe_blocks, transcribe_tracks

    x, rate = telephone
    act = [[(s.start, s.end) for s in a.segments] for a in to_activity(detect_tracks(x, rate, bleed=(-28.0, 3.0)))]
    cfg = WordsConfig(model="tiny.en", multilingual_model=None)
    whole = transcribe_tracks(x, rate, act, -28.0, cfg)
    streamed = transcribe_blocks(_blocks(x, 8 * rate), rate, x.shape[1] / rate, act, -28.0, cfg)
    assert streamed == whole and len(whole.words) > 40
    # faster-whisper's own windows (words.windows = "whisper") read the same speech: about the same words
    seek = transcribe_tracks(x, rate, act, -28.0, dataclasses.replace(cfg, windows="whisper"))
    assert abs(len(seek.words) - len(whole.words)) <= 0.1 * len(whole.words)
    # batches of a few seconds of speech: every track still gets its words, in order, inside its speech
    small = transcribe_blocks(_blocks(x, 8 * rate), rate, x.shape[1] / rate, act, -28.0, cfg, batch_s=8.0)
    assert small.words == tuple(sorted(small.words, key=lambda w: (w.start, w.track, w.end)))
    assert {w.track for w in small.words} == {0, 1} and abs(len(small.words) - len(whole.words)) <= 0.2 * len(whole.words)
    # given text aligned from the stream: the same as from the array
    lines = [(a, b, " ".join(w.text for w in whole.words if w.track == 1 and a <= (w.start + w.end) / 2 < b))
             for a, b in act[1]]
    one = align_text(x, rate, lines, track=1)
    many = align_text_blocks(_blocks(x, 5000), rate, x.shape[1] / rate, {1: lines})
    assert many[1].words == one.words and many[1].unaligned == one.unaligned and len(one.words) > 10


def test_a_stream_end_left_with_only_trailing_padding_needs_no_window():
    from twotrack.words.chunks import Packed
    from twotrack.words.recognise import tail_only

    rate = 16000  # chunks of 5 and 3 s packed with 0.3 s separators: the stream is 8.6 s, 860 frames
    offsets = np.array([0.0, 5.3])
    chunks = np.array([[10.0, 15.0], [20.0, 23.0]])
    packed = Packed(np.zeros(int(8.6 * rate), np.float32), rate, chunks, offsets)
    assert tail_only(packed, 790, 50)  # 0.4 s of the last chunk left (its end is frame 830), then the separator
    assert not tail_only(packed, 770, 50)  # 0.6 s left: a short word could be in it
    assert not tail_only(packed, 520, 50)  # the rest of the first chunk and all of the last one
    assert not tail_only(packed, 790, 0)  # off


def _has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


# MKL_CBWR=AUTO,STRICT was measured reproducible on AVX-512 CPUs only (docs/words.md, phase 6); on a CPU where
# MKL picks its AVX2 path the strict mode did not give the same words in every process.
@pytest.mark.skipif(not _has_avx512(), reason="CTranslate2's MKL is bitwise reproducible (strict mode) on AVX-512 only")
def test_recognised_words_are_the_same_in_every_call_at_any_window_length(telephone):
    """CTranslate2's MKL is run in its reproducible mode (words.models.reproducible_mkl): at 20 s windows
    this excerpt sits on a near-tie ("Okay." / "Thank you.") that came out either way from call to call."""
    from twotrack.activity import detect_tracks, to_activity
    from twotrack.words import WordsConfig, transcribe_tracks

    x, rate = telephone
    act = [[(s.start, s.end) for s in a.segments] for a in to_activity(detect_tracks(x, rate, bleed=(-28.0, 3.0)))]
    cfg = WordsConfig(model="tiny.en", multilingual_model=None, max_window_s=20.0)
    first = transcribe_tracks(x, rate, act, -28.0, cfg)
    again = [transcribe_tracks(x, rate, act, -28.0, cfg) for _ in range(2)]
    assert all(a == first for a in again) and len(first.words) > 40
