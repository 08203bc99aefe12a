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

from ..config import TEXT_FIT_MAX, TEXT_FIT_MIN_COVERAGE
from ..model import TEXT_NOT_ALIGNED, TEXT_UNFIT, Record, Word
from .retime import align_detail, tokens
from .textfit import misfit, phone_loop_log_score, speech_coverage
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
class LineFit(Record):
    """One aligned transcript line and how well its text fits its audio (``textfit.misfit``: 1 = as well as
    a free phone loop, larger = worse; None when not measured). ``kept``: its words are stored; ``reason``:
    why not (or why they are kept though the line does not fit)."""

    track: int
    start: float
    end: float
    text: str
    fit: float | None
    kept: bool
    reason: str | None = None
    coverage: float | None = None  # share of the span's speech (activity) its words cover; None: not measured

    @property
    def unfit(self) -> bool:
        """Aligned, but its text judged not to be what was said."""
        return self.reason is not None and self.reason.startswith(UNFIT)


#: How a line judged not to fit is named (stage note, ``show``, export record).
UNFIT = TEXT_UNFIT
NOT_ALIGNED = TEXT_NOT_ALIGNED


@dataclass(frozen=True)
class AlignResult(Record):
    words: tuple[Word, ...]
    unaligned: tuple[tuple[float, float, str], ...] = ()  # spans whose text could not be aligned at all
    lines: tuple[LineFit, ...] = ()  # every line with words, in the transcript's order


def align_text(samples: np.ndarray, sample_rate: int, spans: Iterable[tuple[float, float, str]], *,
               track: int = 0, recording_id: str = "", padding_s: float = 0.15, text_fit: str = "drop",
               text_fit_max: float = TEXT_FIT_MAX, activity: np.ndarray | None = None,
               text_fit_min_coverage: float = TEXT_FIT_MIN_COVERAGE) -> AlignResult:
    """Word times for text given per span: ``spans`` = (start_s, end_s, text) on ``track`` (``samples``
    float32 mono, or (n_tracks, n) with ``track`` picking the row). A span whose text cannot be aligned
    is listed in ``unaligned`` and gets no invented times; one whose text aligns but does not fit its audio
    (``text_fit_max``; or, given the track's ``activity`` (n, 2) seconds, whose words cover less than
    ``text_fit_min_coverage`` of the speech in its span) keeps no words unless ``text_fit`` is "keep" ("off":
    not measured)."""
    x = np.atleast_2d(np.asarray(samples, np.float32))
    x = x[track if x.shape[0] > 1 else 0][None, :]
    got = align_text_blocks([x], sample_rate, x.shape[1] / sample_rate, {0: list(spans)},
                            recording_id=recording_id, padding_s=padding_s, text_fit=text_fit,
                            text_fit_max=text_fit_max, activity=None if activity is None else {0: activity},
                            text_fit_min_coverage=text_fit_min_coverage)
    return AlignResult(tuple(replace(w, track=track) for w in got[0].words), got[0].unaligned,
                       tuple(replace(ln, track=track) for ln in got[0].lines))


def align_text_blocks(blocks: Iterable[np.ndarray], sample_rate: int, duration_s: float,
                      spans: dict[int, list[tuple[float, float, str]]], *, recording_id: str = "",
                      padding_s: float = 0.15, text_fit: str = "drop",
                      text_fit_max: float = TEXT_FIT_MAX, activity: dict[int, np.ndarray] | None = None,
                      text_fit_min_coverage: float = TEXT_FIT_MIN_COVERAGE) -> dict[int, AlignResult]:
    """``align_text`` for every track named in ``spans`` over a stream of (n_tracks, m) blocks: each span's
    audio is cut from the stream (``stream.SpanReader``) and aligned as soon as the stream passes it, so
    memory does not grow with the recording. ``activity``: {track: (n, 2) speech seconds} for the coverage
    check (a track without an entry is not checked for coverage). -> {track: AlignResult}."""
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
    fits: dict[int, dict[int, float | None]] = {t: {} for t in range(n_tracks)}

    def take():
        for t, pieces in enumerate(reader.ready()):
            for k, audio in pieces:  # per span (an utterance) as the stream passes it
                start, end, text, words, a, b = items[t][k]
                if not words:
                    continue
                got = align_detail(audio, words) if b > a else None
                if got is None and b > a:  # real speech can fall out of the default beams: search again wide
                    got = align_detail(audio, words, wide=True)
                done[t][k] = None if got is None else [
                    Word(recording_id, t, float(s + a), float(e + a), w)
                    for w, (s, e) in zip(words, got.times) if np.isfinite(s)]
                if got is not None and text_fit != "off":  # the wide retry fits almost any text: measure it
                    fits[t][k] = misfit(got, *phone_loop_log_score(audio))

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
        lines: list[LineFit] = []
        for k, (start, end, text, ws, _, _) in enumerate(items[t]):  # in the transcript's order
            if not ws:
                continue
            got = done[t].get(k)
            fit = fits[t].get(k)
            cover = None
            if got is not None and text_fit != "off" and activity is not None and t in activity:
                cover = speech_coverage(np.array([(w.start, w.end) for w in got], np.float64).reshape(-1, 2),
                                        activity[t], start, end)
            why = []
            if fit is not None and fit > text_fit_max:
                why.append(f"fit {fit:.2f} > {text_fit_max:g}")
            if cover is not None and text_fit_min_coverage > 0 and cover < text_fit_min_coverage:
                why.append(f"its words cover {100 * cover:.0f}% of the speech in its span < "
                           f"{100 * text_fit_min_coverage:.0f}%")
            if got is None:
                failed.append((start, end, text))
                lines.append(LineFit(t, start, end, text, None, False, NOT_ALIGNED))
            elif why:
                keep = text_fit == "keep"
                lines.append(LineFit(t, start, end, text, fit, keep, f"{UNFIT} ({'; '.join(why)})"
                                     + ("; words kept (words.text_fit = keep)" if keep else "; no word times"),
                                     cover))
                if keep:
                    words += got
            else:
                lines.append(LineFit(t, start, end, text, fit, True, None, cover))
                words += got
        words.sort(key=lambda w: w.start)
        out[t] = AlignResult(tuple(words), tuple(failed), tuple(lines))
    return out
