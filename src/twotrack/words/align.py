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
from dataclasses import dataclass

import numpy as np

from ..model import Record, Word
from .recognise import WHISPER_RATE
from .retime import align_chunk, tokens
from .transcribe import to_whisper_rate

_TAG = re.compile(r"\[[^\]]*\]|<[^>]*>")


def transcript_words(text: str) -> list[str]:
    """The words of a transcript line: tags out, parentheses stripped, words with no letter or digit out."""
    return [w for w in _TAG.sub(" ", text).replace("((", " ").replace("))", " ").split() if tokens(w)]


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
    x = to_whisper_rate(x[track if x.shape[0] > 1 else 0], sample_rate)[0]
    duration = len(x) / WHISPER_RATE
    out: list[Word] = []
    failed: list[tuple[float, float, str]] = []
    for start, end, text in spans:  # per span (an utterance)
        words = transcript_words(text)
        if not words:
            continue
        a, b = max(0.0, float(start) - padding_s), min(duration, float(end) + padding_s)
        audio = x[int(round(a * WHISPER_RATE)): int(round(b * WHISPER_RATE))]
        got = align_chunk(audio, words) if b > a else None
        if got is None and b > a:  # given text is right: search again with wide beams before giving up
            got = align_chunk(audio, words, wide=True)
        if got is None:
            failed.append((float(start), float(end), text))
            continue
        out += [Word(recording_id, track, float(s + a), float(e + a), w)
                for w, (s, e) in zip(words, got) if np.isfinite(s)]
    out.sort(key=lambda w: w.start)
    return AlignResult(tuple(out), tuple(failed))
