"""Text without word times (a manifest transcript that is plain text or utterance-level, like Fisher's
``start end A: text`` lines) aligned to its track, so gold text gets word times.

Each span's audio (padded a little) is force-aligned with pocketsphinx's English model (a span that fails
is searched again with wide beams: the text is known to be right, and real spontaneous speech can fall out
of the default beams); words keep their spelling from the transcript. Annotation marks are not words:
``[laughter]``-style tags are dropped and ``((uncertain))`` parentheses removed before alignment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from ..model import Record, Word
from .retime import align_chunk, tokens
from .stream import SpanReader

_TAG = re.compile(r"\[[^\]]*\]|<[^>]*>")


def transcript_words(text: str) -> list[str]:
    """The words of a transcript line: tags out, parentheses stripped, words with no letter or digit out."""
    return [w for w in _TAG.sub(" ", text).replace("((", " ").replace("))", " ").split() if tokens(w)]


def dictionary_share(texts: Iterable[str]) -> float | None:
    """The share of the tokens of ``texts`` (transcript lines) that the English pronouncing dictionary knows;
    None without tokens. English transcripts score about 0.9 and more (names and fillers miss); text in
    another language or script far less: its words are aligned as generic speech."""
    from .retime import _decoder

    d = _decoder()
    toks = [t for text in texts for w in transcript_words(text) for t in tokens(w)]
    return sum(1 for t in toks if d.lookup_word(t)) / len(toks) if toks else None


@dataclass(frozen=True)
class AlignResult(Record):
    words: tuple[Word, ...]
    unaligned: tuple[tuple[float, float, str], ...] = ()  # spans whose text did not fit their audio


def align_text(samples: np.ndarray, sample_rate: int, spans: Iterable[tuple[float, float, str]], *,
               track: int = 0, recording_id: str = "", padding_s: float = 0.15) -> AlignResult:
    """Word times for text given per span: ``spans`` = (start_s, end_s, text) on ``track`` (``samples``
    float32 mono, or (n_tracks, n) with ``track`` picking the row). A span whose text cannot be aligned
    is listed in ``unaligned`` and gets no invented times."""
    x = np.atleast_2d(np.asarray(samples, np.float32))
    x = x[track if x.shape[0] > 1 else 0][None, :]
    got = align_text_blocks([x], sample_rate, x.shape[1] / sample_rate, {0: list(spans)},
                            recording_id=recording_id, padding_s=padding_s)
    return AlignResult(tuple(replace(w, track=track) for w in got[0].words), got[0].unaligned)


def align_text_blocks(blocks: Iterable[np.ndarray], sample_rate: int, duration_s: float,
                      spans: dict[int, list[tuple[float, float, str]]], *, recording_id: str = "",
                      padding_s: float = 0.15) -> dict[int, AlignResult]:
    """``align_text`` for every track named in ``spans`` over a stream of (n_tracks, m) blocks: each span's
    audio is cut from the stream (``stream.SpanReader``) and aligned as soon as the stream passes it, so
    memory does not grow with the recording. -> {track: AlignResult}."""
    n_tracks = max(spans, default=-1) + 1
    items: dict[int, list] = {t: [] for t in range(n_tracks)}  # per track: (start, end, text, words, a, b)
    for t, lines in spans.items():
        for start, end, text in lines:
            words = transcript_words(text)
            a, b = max(0.0, float(start) - padding_s), min(duration_s, float(end) + padding_s)
            items[t].append((float(start), float(end), text, words, a, b))
    windows = [np.array([(it[4], it[5]) for it in items[t]], np.float64).reshape(-1, 2) for t in range(n_tracks)]
    reader = SpanReader(windows, sample_rate, frames=False) if n_tracks else None
    done: dict[int, dict[int, list[Word] | None]] = {t: {} for t in range(n_tracks)}

    def take():
        for t, pieces in enumerate(reader.ready()):
            for k, audio in pieces:  # per span (an utterance) as the stream passes it
                start, end, text, words, a, b = items[t][k]
                if not words:
                    continue
                got = align_chunk(audio, words) if b > a else None
                if got is None and b > a:  # given text is right: search again with wide beams before giving up
                    got = align_chunk(audio, words, wide=True)
                done[t][k] = None if got is None else [
                    Word(recording_id, t, float(s + a), float(e + a), w) for w, (s, e) in zip(words, got) if np.isfinite(s)]

    if reader is not None:
        for block in blocks:
            reader.push(np.atleast_2d(block)[:n_tracks])
            take()
        reader.finish()
        take()
    out = {}
    for t in range(n_tracks):
        words: list[Word] = []
        failed: list[tuple[float, float, str]] = []
        for k, (start, end, text, ws, _, _) in enumerate(items[t]):  # in the transcript's order
            if not ws:
                continue
            got = done[t].get(k)
            if got is None:
                failed.append((start, end, text))
            else:
                words += got
        words.sort(key=lambda w: w.start)
        out[t] = AlignResult(tuple(words), tuple(failed))
    return out
