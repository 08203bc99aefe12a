"""Re-timing recognised words: Whisper's word times are loose (its starts land +-0.1-0.5 s off the
speech, early after silence), so each chunk's words are forced-aligned to the chunk's audio with
pocketsphinx's English acoustic model, and/or the first and last word of each chunk are snapped to
the activity stage's edges. docs/words.md has the measurements that chose the default.

Alignment works on the words' normalised spelling; a token the pronouncing dictionary lacks (names,
numerals) is aligned as generic speech (``[SPEECH]``), so its neighbours keep their places.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np

ALIGN_RATE = 16000
_HOP_S = 0.01  # pocketsphinx frames
_TOKEN = re.compile(r"(?:[^\W_]|')+")  # letters and digits of any script, with inner apostrophes
#: typographic apostrophes a hand-made transcript uses for "'" (don\u2019t)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})
_decoders: dict[tuple[int, bool], object] = {}
_lock = threading.Lock()
#: Search beams of the ``wide`` decoder (pocketsphinx's defaults: 1e-48, 1e-48, 7e-29). On real spontaneous
#: speech (a hoarse voice, long utterances with fillers) the default beams prune the only path through the
#: forced text and the alignment fails outright; these reach the end (tests/test_words_languages.py).
WIDE_BEAMS = {"beam": 1e-120, "pbeam": 1e-120, "wbeam": 1e-100}


def _decoder(wide: bool = False):
    """One pocketsphinx decoder per thread (they are not thread-safe) and beam width, loaded without a
    language model, its feature front end made new: the front end carries its cepstral mean and noise
    estimate from one utterance to the next, which made an alignment depend on what was aligned before it
    (the same audio and text aligned twice: word edges 10 ms apart; a given span aligned 20 ms apart
    in a stream and in one array). Made new, every alignment is the one a fresh decoder gives."""
    from pocketsphinx import Decoder

    key = (threading.get_ident(), wide)
    with _lock:
        d = _decoders.get(key)
    if d is None:
        d = Decoder(samprate=ALIGN_RATE, lm=None, bestpath=False, loglevel="FATAL", **(WIDE_BEAMS if wide else {}))
        with _lock:
            _decoders[key] = d
    d.reinit_feat()
    return d


def _discard(wide: bool) -> None:
    """Forget this thread's decoder of that beam width after an alignment it could not finish: its search
    keeps state from the failed utterance that the front end's reset does not clear, and the next alignment
    then differed from a fresh decoder's (a line that finds no path alone was squeezed into 60 ms after two
    failed lines of another recording, in the same process). A new decoder costs about 0.1 s; failures are few."""
    with _lock:
        _decoders.pop((threading.get_ident(), wide), None)


def tokens(word: str) -> list[str]:
    """A word as dictionary tokens: lower case, punctuation out, hyphens split, typographic apostrophes
    made plain, compatibility forms folded (\ufb01 -> fi, full-width Latin -> ASCII) and a Latin token's
    accents dropped (caf\u00e9 -> cafe, Z\u00fcrich -> zurich), so the pronouncing dictionary finds them. A
    token in another script is kept as it is (the dictionary lacks it: aligned as generic speech); before,
    tokens were ASCII only and a line of Japanese or Russian text had none, so it vanished unaligned."""
    text = unicodedata.normalize("NFKC", word).translate(_APOSTROPHES).lower().replace("-", " ")
    return [_ascii(t) for t in _TOKEN.findall(text)]


def _ascii(token: str) -> str:
    """``token`` without its accents when that leaves plain ASCII (naïve -> naive), else as it is (です)."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", token) if not unicodedata.combining(c))
    return bare if bare.isascii() else token


def _spell(decoder, tok: str) -> str:
    return tok if decoder.lookup_word(tok) else "[SPEECH]"


def align_chunk(audio: np.ndarray, words: list[str], rate: int = ALIGN_RATE, *,
                wide: bool = False) -> np.ndarray | None:
    """Forced alignment of ``words`` (in order) to ``audio`` (float32 mono at ``rate`` = 16 kHz).

    -> float64 (len(words), 2) start/end seconds from the start of ``audio``, NaN for a word with no
    speakable token; None when the alignment fails (the text does not fit the audio). ``wide``: search
    with ``WIDE_BEAMS`` (slower; for given text, which is known to be right)."""
    got = align_detail(audio, words, rate, wide=wide)
    return None if got is None else got.times


@dataclass(frozen=True)
class Alignment:
    """A forced alignment and what it says about how well the text fits (``textfit``)."""

    times: np.ndarray  # float64 (len(words), 2) seconds from the audio's start, NaN for unspeakable words
    frames: int  # 10 ms frames of the audio
    log_score: float  # natural log of the path's acoustic score (pocketsphinx's scaled units), all frames
    word_frames: int  # frames aligned to the text's tokens (not to silence or noise between them)
    squeezed: int  # tokens aligned at their shortest possible length (3 frames per phone)
    n_tokens: int


def align_detail(audio: np.ndarray, words: list[str], rate: int = ALIGN_RATE, *,
                 wide: bool = False) -> Alignment | None:
    """``align_chunk`` with its scores (``Alignment``); None when the alignment fails."""
    if rate != ALIGN_RATE:
        raise ValueError(f"alignment runs at {ALIGN_RATE} Hz, got {rate}")
    d = _decoder(wide)
    toks = [tokens(w) for w in words]
    flat = [_spell(d, t) for ts in toks for t in ts]
    out = np.full((len(words), 2), np.nan)
    if not flat:
        return Alignment(out, 0, 0.0, 0, 0, 0)
    if len(audio) < int(0.05 * rate) * len(flat):  # too short to hold the words (>= 5 frames each)
        return None
    pcm = (np.clip(np.asarray(audio, np.float32), -1.0, 1.0) * 32767.0).astype(np.int16).tobytes()
    try:
        d.set_align_text(" ".join(flat))
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        segs = [(s.word, s.start_frame, s.end_frame, s.ascore) for s in (d.seg() or ())]
        n_frames = int(d.n_frames())
    except RuntimeError:  # pocketsphinx refuses an alignment it cannot finish
        _discard(wide)
        return None
    got = [(s, e) for (w, s, e, _) in segs if not w.startswith("<") and w != "[NOISE]"]
    if len(got) != len(flat):
        _discard(wide)
        return None
    k = 0
    for i, ts in enumerate(toks):  # words -> their first and last token
        if ts:
            out[i] = (got[k][0] * _HOP_S, (got[k + len(ts) - 1][1] + 1) * _HOP_S)
            k += len(ts)
    log_score = float(sum(math.log(a) if a > 0 else _LOG_FLOOR for (_, _, _, a) in segs))
    squeezed = sum(1 for t, (s, e) in zip(flat, got) if e - s + 1 <= 3 * _phones(d, t))
    return Alignment(out, n_frames, log_score, sum(e - s + 1 for s, e in got), squeezed, len(flat))


#: log score counted for a segment pocketsphinx scores as 0 (underflow): far below any real score
_LOG_FLOOR = -50.0


def _phones(decoder, tok: str) -> int:
    """Phones of a dictionary token (1 for generic speech)."""
    pron = decoder.lookup_word(tok) if tok != "[SPEECH]" else None
    return max(1, len(pron.split())) if pron else 1


def align_or_widen(audio: np.ndarray, words: list[str], widen: bool = True) -> np.ndarray | None:
    """``align_chunk``, searched again with ``WIDE_BEAMS`` when the default beams find no path (``widen``):
    on real, hoarse or noisy speech they can prune the only path through a long text."""
    got = align_chunk(audio, words)
    if got is None and widen:
        got = align_chunk(audio, words, wide=True)
    return got


def near_segments(starts: np.ndarray, ends: np.ndarray, segments: np.ndarray, padding_s: float) -> np.ndarray:
    """bool per word [starts, ends): whether it overlaps some segment of ``segments`` (n, 2) padded by
    ``padding_s`` on both sides (an aligned word placed in a pause, away from all activity, is implausible)."""
    seg = np.asarray(segments, np.float64).reshape(-1, 2)
    return ((seg[None, :, 0] - padding_s < np.asarray(ends)[:, None])
            & (seg[None, :, 1] + padding_s > np.asarray(starts)[:, None])).any(axis=1)


def snap_edges(starts: np.ndarray, ends: np.ndarray, segments: np.ndarray,
               tolerance_s: float, *, early_tolerance_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """At each activity onset of the track, the first word that runs past it starts there, when its
    start lies within ``tolerance_s`` of it; at each offset, the last word that starts before it ends
    there, likewise. ``segments`` float (n, 2) is the track's activity. -> new (starts, ends).
    ``early_tolerance_s`` (default ``tolerance_s``): how far *before* an onset a first word may start and
    still move to it (recognised and aligned starts run early into the silence before speech)."""
    s, e = np.array(starts, np.float64), np.array(ends, np.float64)
    seg = np.asarray(segments, np.float64).reshape(-1, 2)
    if len(s) == 0 or len(seg) == 0:
        return s, e
    by_start = np.argsort(s, kind="stable")
    by_end = np.argsort(e, kind="stable")
    for on, off in seg:  # per activity segment (a few per turn)
        after = by_start[e[by_start] > on + _HOP_S]
        early = tolerance_s if early_tolerance_s is None else early_tolerance_s
        if len(after) and -early <= s[after[0]] - on <= tolerance_s:
            s[after[0]] = min(on, e[after[0]] - _HOP_S)
        before = by_end[s[by_end] < off - _HOP_S]
        if len(before) and abs(e[before[-1]] - off) <= tolerance_s:
            e[before[-1]] = max(off, s[before[-1]] + _HOP_S)
    return s, e
