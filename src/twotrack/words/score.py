"""Scoring recognised words against a reference: onset hits per IPU, crosstalk share, word error rate.

Used by the benchmark and the tests (and available to ``eval``). Words here are anything with
``track``, ``start``, ``end`` and ``text`` (``model.Word``)."""

from __future__ import annotations

import re

import numpy as np


def ipus(words, track: int, pause_s: float = 0.2) -> np.ndarray:
    """float64 (n, 2): the reference words of ``track`` joined across pauses shorter than ``pause_s``."""
    w = sorted(((x.start, x.end) for x in words if x.track == track), key=lambda t: t[0])
    out: list[list[float]] = []
    for s, e in w:
        if out and s - out[-1][1] < pause_s:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return np.asarray(out, np.float64).reshape(-1, 2)


def first_word_starts(words, track: int, spans: np.ndarray, lead_s: float = 0.25) -> np.ndarray:
    """Start of the first recognised word of ``track`` in each span: the earliest word starting inside
    it or up to ``lead_s`` before it, or running well into it from earlier; NaN where there is none."""
    w = np.asarray(sorted((x.start, x.end) for x in words if x.track == track), np.float64).reshape(-1, 2)
    out = np.full(len(spans), np.nan)
    for i, (s, e) in enumerate(spans):  # per IPU
        sel = ((w[:, 0] >= s - lead_s) | (w[:, 1] > s + 0.05)) & (w[:, 0] < e)
        if np.any(sel):
            out[i] = w[sel][0, 0]
    return out


def onset_share(words, reference, tracks=(0, 1), tolerance_s: float = 0.05, pause_s: float = 0.2):
    """(hits, n): reference IPUs whose first recognised word on the same track starts within
    ``tolerance_s`` of the reference onset."""
    hits = n = 0
    for t in tracks:
        spans = ipus(reference, t, pause_s)
        starts = first_word_starts(words, t, spans)
        hits += int(np.sum(np.abs(starts - spans[:, 0]) <= tolerance_s + 1e-9))
        n += len(spans)
    return hits, n


def crosstalk_share(words, reference, tracks=(0, 1), pause_s: float = 0.2) -> tuple[int, int]:
    """(words lying where only the other speaker talks, all words): a recognised word whose middle is
    inside another track's reference IPU and outside its own track's reference IPUs (padded 0.1 s)."""
    own = {t: ipus(reference, t, pause_s) for t in tracks}
    bad = total = 0
    for w in words:
        mid = (w.start + w.end) / 2
        total += 1
        mine = own.get(w.track, np.zeros((0, 2)))
        if np.any((mine[:, 0] - 0.1 <= mid) & (mid < mine[:, 1] + 0.1)):
            continue
        if any(np.any((own[t][:, 0] <= mid) & (mid < own[t][:, 1])) for t in tracks if t != w.track):
            bad += 1
    return bad, total


_NORM = re.compile(r"[^a-z0-9' ]+")


def normalise(text: str) -> list[str]:
    """Lower case, punctuation out (apostrophes kept), hyphens split: the tokens WER counts."""
    return _NORM.sub(" ", text.lower().replace("-", " ")).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    prev = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):  # O(len(ref) * len(hyp)) with a vectorised inner step
        cost = np.array([r != h for h in hyp], np.int64)
        cur = np.empty_like(prev)
        cur[0] = i
        sub = prev[:-1] + cost
        dele = prev[1:] + 1
        best = np.minimum(sub, dele)
        for j in range(1, len(hyp) + 1):  # insertions chain left to right
            cur[j] = min(best[j - 1], cur[j - 1] + 1)
        prev = cur
    return int(prev[-1])


def wer(ref_text: str, hyp_text: str) -> tuple[int, int]:
    """(errors, reference words)."""
    ref, hyp = normalise(ref_text), normalise(hyp_text)
    return edit_distance(ref, hyp), len(ref)


# Spontaneous speech (benchmarks/bench_words.py, docs/words.md "WER on real speech"). The reference and the
# recogniser spell some things differently: these are rewritten on both sides before counting.
#: Hesitation fillers: kept as words in WER "with fillers", removed from both sides "without fillers".
FILLERS = frozenset({"um", "umm", "uh", "uhm", "er", "erm", "ah", "hmm", "mm"})
#: Spellings taken as the same words (a transcriber's "yknow" is the recogniser's "you know"): a discourse
#: marker of two real words, counted as two words in both variants, not as a filler.
SPELLINGS = {"yknow": "you know", "y'know": "you know", "alright": "all right", "okay": "ok"}


def spoken_tokens(text: str, *, fillers: bool = True) -> list[str]:
    """``normalise`` with typographic apostrophes made plain, ``SPELLINGS`` applied, and the ``FILLERS``
    dropped unless ``fillers``."""
    toks = normalise(text.replace("\u2019", "'").replace("\u2018", "'"))
    out = [t for tok in toks for t in SPELLINGS.get(tok, tok).split()]
    return out if fillers else [t for t in out if t not in FILLERS]


def wer_spoken(ref_text: str, hyp_text: str, *, fillers: bool = True) -> tuple[int, int]:
    """(errors, reference words) over ``spoken_tokens`` of both sides."""
    ref, hyp = spoken_tokens(ref_text, fillers=fillers), spoken_tokens(hyp_text, fillers=fillers)
    return edit_distance(ref, hyp), len(ref)


def cer(ref_text: str, hyp_text: str) -> tuple[int, int]:
    """(errors, reference characters) over letters and digits only (spaces and punctuation out): the error
    rate for languages written without spaces between words (Japanese, Chinese), where Whisper's "words"
    are its tokens, often one character each."""
    ref = [c for c in ref_text.lower() if c.isalnum()]
    hyp = [c for c in hyp_text.lower() if c.isalnum()]
    return edit_distance(ref, hyp), len(ref)
