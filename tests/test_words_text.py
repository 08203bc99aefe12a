"""Text windows (``words.windows = "text"``, docs/words.md phase 5): each window decoded without timestamp
tokens and its whole text aligned to its packed audio; windows whose alignment is implausible fall back to
Whisper's cross-attention times and per-chunk alignment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from twotrack.words.chunks import Packed
from twotrack.words.recognise import Tok, window_end
from twotrack.words.textwin import _merge_punctuation, _ran_out, _wordless_speech, packed_speech

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DIALOGUE = "demo01_367_1688"


def _packed(lengths, sep=0.3, rate=16000, at=100.0):
    offsets = np.cumsum([0.0] + [n + sep for n in lengths[:-1]])
    chunks = np.stack([offsets, offsets + np.array(lengths)], axis=1) + at
    return Packed(np.zeros(int((sum(lengths) + sep * len(lengths)) * rate), np.float32), rate, chunks, offsets)


def test_punctuation_joins_its_word():
    words = [(" Hello", 0.9), (",", 0.8), (" \"", 0.7), ("so", 0.6), ("...", 0.5), (" well", 0.4), ("?", 0.3)]
    assert _merge_punctuation(words) == [("Hello,", 0.9), ("\"so...", 0.6), ("well?", 0.4)]
    assert _merge_punctuation([(" -", 0.5)]) == []  # nothing speakable, nothing to attach to


def test_activity_moves_to_packed_time_chunk_by_chunk():
    packed = _packed([4.0, 3.0])  # recording [100, 104) and [104.3 - 100 + 100 ...): chunk 1 starts at 104.3
    segs = np.array([[100.2, 101.0], [101.5, 103.8], [104.5, 106.0], [200.0, 201.0]])
    got = packed_speech(packed, [segs, segs])
    want = np.array([[0.2, 1.0], [1.5, 3.8], [4.3 + 0.2, 4.3 + 1.7]])
    assert np.allclose(got, want)


def test_wordless_speech_is_an_activity_segment_no_word_touches():
    speech = np.array([[0.2, 1.5], [2.0, 2.3], [4.5, 6.0]])
    start, end = np.array([0.3, 0.8, 2.05]), np.array([0.7, 1.4, 2.25])
    assert _wordless_speech(0, 700, start, end, speech)  # 4.5-6.0 s has speech and no word
    assert not _wordless_speech(0, 700, np.append(start, 5.0), np.append(end, 5.4), speech)
    # a short segment (a breath, a click) without a word is no sign of missing text
    assert not _wordless_speech(0, 400, start[:2], end[:2], speech)


def test_text_that_ran_out_is_read_again_from_the_next_chunk():
    packed = _packed([6.0, 5.0, 4.0])  # chunks start at 0, 6.3 and 11.6 s (packed)
    speech = np.array([[0.2, 5.8], [6.5, 11.0], [11.8, 15.4]])
    said = [Tok("a", 0.3, 2.0, 0.9), Tok("b", 6.6, 10.8, 0.9)]
    assert _ran_out(packed, 0, 1560, said, speech) == 1160  # speech after "b" in chunk 3: start there
    assert _ran_out(packed, 0, 1560, said + [Tok("c", 12.0, 15.0, 0.9)], speech) == 1560
    # the rest of the speech is in the last word's own chunk: from that word's end
    assert _ran_out(packed, 0, 1560, [Tok("a", 0.3, 2.0, 0.9)], speech) == 200
    # speech ending less than the margin after the last word is that word's decay, not missing text
    assert _ran_out(packed, 0, 1560, [Tok("a", 0.3, 5.5, 0.9)], speech[:1]) == 1560


def test_shorter_windows_still_end_where_a_chunk_ends():
    packed = _packed([8.0, 6.0, 9.0, 12.0])
    ends = np.round(np.append(packed.offsets[1:], packed.audio.size / packed.rate) * 100).astype(int)
    assert window_end(packed, 0, 2000) == ends[1]  # 8 + 0.3 + 6 s fit in 20 s, the next 9 s do not
    assert window_end(packed, ends[1], 2000) == ends[2]
    assert window_end(packed, 0) == ends[2]  # 30 s windows take three chunks


faster_whisper = pytest.importorskip("faster_whisper")
pytest.importorskip("pocketsphinx")


@pytest.fixture(scope="module")
def clean():
    from twotrack.activity import detect_tracks, to_activity
    from twotrack.ingest.annotations import read_ctm

    x, rate = sf.read(SAMPLE / "clean" / f"{DIALOGUE}.flac", dtype="float32", always_2d=True)
    x = np.ascontiguousarray(x.T)
    act = [[(s.start, s.end) for s in a.segments] for a in to_activity(detect_tracks(x, rate))]
    return x, rate, act, read_ctm(SAMPLE / "gold" / f"{DIALOGUE}.ctm")


def _cfg(**kw):
    from twotrack.words import WordsConfig

    return WordsConfig(model="tiny.en", multilingual_model=None, **kw)


def _inside_share(words, gold) -> float:
    """Share of words whose middle lies in a gold IPU of their own track (+-0.1 s)."""
    from twotrack.words import score

    inside = 0
    for w in words:
        spans = score.ipus(gold, w.track)
        mid = (w.start + w.end) / 2
        inside += bool(np.any((spans[:, 0] - 0.1 <= mid) & (mid < spans[:, 1] + 0.1)))
    return inside / max(len(words), 1)


def test_text_windows_give_the_words_and_times_of_the_dialogue(clean):
    from twotrack.words import score, transcribe_tracks
    from twotrack.words.score import edit_distance, normalise

    x, rate, act, gold = clean
    text = transcribe_tracks(x, rate, act, None, _cfg(windows="text"))
    chunks = transcribe_tracks(x, rate, act, None, _cfg(windows="chunks"))
    # the text path ran, and (on this dialogue) its windows aligned whole
    assert text.text_windows >= 2 and text.text_fallbacks < text.text_windows
    assert chunks.text_windows == 0
    assert text.words == tuple(sorted(text.words, key=lambda w: (w.start, w.track, w.end)))
    for t in (0, 1):  # the same speech read: the word sequences of each track nearly agree
        a = normalise(" ".join(w.text for w in chunks.words if w.track == t))
        b = normalise(" ".join(w.text for w in text.words if w.track == t))
        assert edit_distance(a, b) <= 0.1 * len(a)
    # times: words lie in their track's gold IPUs, and IPU onsets are hit as on the timestamped path
    assert _inside_share(text.words, gold) >= 0.95
    hits, n = score.onset_share(text.words, gold)
    assert hits / n >= 0.8  # measured 22-23 of 26 on this dialogue (chunks: 23)
    assert all(w.end > w.start and 0.0 <= w.probability <= 1.0 for w in text.words)


def test_a_window_whose_alignment_is_implausible_falls_back(clean):
    """Activity claimed over 2 s of silence inside A's turn-free stretch: no word of the window's text can
    lie there, so its alignment is implausible; the window falls back to Whisper's times and per-chunk
    alignment, and its words still land where the speech is."""
    from twotrack.words import score, transcribe_tracks

    x, rate, act, gold = clean
    spans = score.ipus(gold, 0)
    gaps = np.stack([spans[:-1, 1], spans[1:, 0]], axis=1)
    a, b = gaps[np.argmax(gaps[:, 1] - gaps[:, 0])]
    assert b - a > 3.0
    quiet = (a + b) / 2 - 1.0, (a + b) / 2 + 1.0
    y = x.copy()
    y[0, int(quiet[0] * rate): int(quiet[1] * rate)] = 0.0
    claimed = [sorted(act[0] + [quiet]), act[1]]
    base = transcribe_tracks(y, rate, act, None, _cfg(windows="text"))
    got = transcribe_tracks(y, rate, claimed, None, _cfg(windows="text"))
    assert got.text_fallbacks > base.text_fallbacks
    assert not any(quiet[0] < (w.start + w.end) / 2 < quiet[1] for w in got.words if w.track == 0)
    assert _inside_share(got.words, gold) >= 0.95
    assert abs(len(got.words) - len(base.words)) <= 0.1 * len(base.words)
    assert score.onset_share(got.words, gold)[0] >= score.onset_share(base.words, gold)[0] - 2


def test_wide_beam_retry_aligns_chunks_the_default_beams_cannot():
    """Real spontaneous speech (the MFA stereo recording, second take hoarse): pocketsphinx's default beams
    find no path through several chunks' recognised words, which then keep Whisper's loose times; the
    wide-beam retry (``align_wide_retry``, default) aligns most of them."""
    from twotrack.activity import detect_tracks, to_activity
    from twotrack.words import transcribe_tracks

    x, rate = sf.read(Path(__file__).parent / "data" / "annotations" / "michaelandsickmichael.flac",
                      dtype="float32", always_2d=True)
    x = np.ascontiguousarray(x.T)
    act = [[(s.start, s.end) for s in a.segments] for a in to_activity(detect_tracks(x, rate))]
    narrow = transcribe_tracks(x, rate, act, None, _cfg(align_wide_retry=False))
    wide = transcribe_tracks(x, rate, act, None, _cfg())
    assert narrow.alignment_failures >= 3  # measured 6 (bench input), 1-2 with the retry
    assert wide.alignment_failures <= narrow.alignment_failures - 2
    assert len(wide.words) >= len(narrow.words)  # the retry moves times; it drops no word
    inside = [np.any((np.asarray(act[w.track])[:, 0] - 0.2 < w.end) & (np.asarray(act[w.track])[:, 1] + 0.2 > w.start))
              for w in wide.words]
    assert np.mean(inside) >= 0.95  # words lie on their track's (padded) activity
