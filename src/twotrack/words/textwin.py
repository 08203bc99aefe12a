"""Recogniser windows decoded as text only and timed by forced alignment (``words.windows = "text"``).

With timestamp tokens Whisper often ends a window early (the rest is read again: encoder frames twice),
and its word times need a cross-attention pass (``add_word_timestamps``) that the re-timing then mostly
replaces. Here each window (whole chunks, as ``recognise.window_end`` lays them) is encoded once and decoded
without timestamp tokens; the window's whole text is force-aligned (pocketsphinx) to the window's packed
audio, where the chunks and the silent separators between them are contiguous, and the aligned words are
mapped to their chunks and the recording's clock.

Fallbacks, paid only where needed:
- text too repetitive or improbable (faster-whisper's thresholds): the timestamped path for that window
  (``recognise.Windows.timestamped``, with its temperature fallback and re-seek), on the same encoder pass;
- alignment failed, or implausible (a word across a separator or away from the track's activity, or an
  activity segment of ``EMPTY_SPEECH_S`` that no word touches: the text left it out or the alignment drifted):
  Whisper's cross-attention times of the same text say which chunk each word belongs to, the caller aligns
  chunk by chunk as on the timestamped path, and where speech follows the text's last word the next window
  starts there (re-seek at a chunk's start).
docs/words.md, phase 5, has the measurements (not the default: it loses IPU onsets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunks import Packed
from .recognise import WINDOW_FRAMES, RawWord, Tok, Windows, raw_words
from .retime import align_or_widen, near_segments, tokens

#: A window fails when one of its activity segments at least this long (seconds) gets no word.
EMPTY_SPEECH_S = 0.5
#: Whisper's cross-attention word ends run this early or late: speech later than this after the last
#: word of a window's text is speech the text left out.
RAN_OUT_MARGIN_S = 0.5
#: Share of an aligned word's length that must lie inside its own chunk (not in a separator).
INSIDE_SHARE = 0.5


@dataclass(frozen=True)
class TextWords:
    """Words of one packed stream from text windows, and how many windows fell back to timestamps."""

    words: list[RawWord]
    windows: int
    fallbacks: int


def recognise_text(model, packed: Packed, *, language: str, speech: np.ndarray, beam_size: int = 1,
                   min_frames: int = WINDOW_FRAMES, max_frames: int = WINDOW_FRAMES,
                   padding_s: float = 0.2) -> TextWords:
    """Words of a packed stream with aligned times (``RawWord.aligned``), window by window (module doc).

    ``speech`` float (m, 2): the tracks' activity segments in *packed* seconds (``packed_speech``), for the
    plausibility of an alignment (a word must lie within ``padding_s`` of it). Words of a window that fell
    back carry Whisper's times (``aligned`` False) and are aligned per chunk by the caller, as on the
    timestamped path. Window sizes as in ``recognise.recognise_windows``."""
    if packed.audio.size == 0:
        return TextWords([], 0, 0)
    win = Windows(model, packed, language, beam_size, min_frames, max_frames)
    prompt = model.get_prompt(win.tokenizer, [], without_timestamps=True)
    out: list[RawWord] = []
    pos = n = fallbacks = 0
    while pos < win.total:  # per window (up to 30 s)
        f0, f1 = pos, win.end(pos)
        n += 1
        encoded = win.encode(f0, f1)
        decoded = _decode_text(win, encoded, prompt)
        if decoded is None:  # repetitive or improbable: the timestamped path, with its temperature fallback
            fallbacks += 1
            toks, pos = win.timestamped(encoded, f0, f1)
            out += raw_words(packed, toks)
            continue
        text, ids = decoded
        pos = f1
        if not text:
            continue  # silence
        got = _aligned(packed, f0, f1, text, speech, padding_s)
        if got is not None:
            out += got
            continue
        # the alignment failed or is implausible: Whisper's own word times (cross-attention) say which
        # chunk each word belongs to, and the caller aligns chunk by chunk, as on the timestamped path
        fallbacks += 1
        toks = _attention_times(win, encoded, ids, f0, f1)
        pos = _ran_out(packed, f0, f1, toks, speech)
        out += raw_words(packed, [t for t in toks if (t.start + t.end) / 2 < pos / 100])
    return TextWords(out, n, fallbacks)


def _attention_times(win: Windows, encoded, ids: list[int], f0: int, f1: int) -> list:
    """Words of the window's text with Whisper's cross-attention times (packed seconds)."""
    tokenizer, o = win.tokenizer, win.options
    seg = [{"seek": f0, "start": f0 / 100, "end": f1 / 100, "tokens": [t for t in ids if t < tokenizer.eot]}]
    win.last_speech = win.model.add_word_timestamps(
        [seg], tokenizer, encoded, f1 - f0, o.prepend_punctuations, o.append_punctuations,
        last_speech_timestamp=win.last_speech) or win.last_speech
    return [Tok(w["word"], w["start"], w["end"], w["probability"]) for w in seg[0].get("words", ())]


def _ran_out(packed: Packed, f0: int, f1: int, toks: list, speech: np.ndarray) -> int:
    """Where the next window starts: ``f1``, or where the window's speech goes on without words (a
    segment with ``EMPTY_SPEECH_S`` of activity later than ``RAN_OUT_MARGIN_S`` after the text's last
    word): Whisper left the end of the window out, and that part is read again, from the start of the
    chunk it lies in, or from the last word's end when it lies in that word's own chunk (faster-whisper's
    re-seek)."""
    last = max((t.end for t in toks), default=f0 / 100)
    seg = np.asarray(speech, np.float64).reshape(-1, 2)
    a = np.maximum(seg[:, 0], last + RAN_OUT_MARGIN_S)
    left = np.minimum(seg[:, 1], f1 / 100) - a
    missing = a[left >= EMPTY_SPEECH_S]
    if not len(missing):
        return f1
    k = int(packed.chunk_of(np.array([missing.min()]))[0])
    pos = int(round(packed.offsets[k] * 100))
    if packed.offsets[k] <= last:  # the words stop inside this chunk
        pos = int(round(last * 100))
    return pos if f0 < pos < f1 else f1


def packed_speech(packed: Packed, segments_per_chunk: list[np.ndarray]) -> np.ndarray:
    """Activity segments (recording seconds) of each packed chunk's track, cut to the chunk and moved to
    packed seconds: (m, 2)."""
    out = []
    for k, (c0, c1) in enumerate(packed.chunks):  # per chunk
        seg = np.asarray(segments_per_chunk[k], np.float64).reshape(-1, 2)
        seg = seg[(seg[:, 1] > c0) & (seg[:, 0] < c1)]
        out.append(np.clip(seg, c0, c1) - c0 + packed.offsets[k])
    return np.concatenate(out).reshape(-1, 2) if out else np.zeros((0, 2))


def _decode_text(win: Windows, encoded, prompt: list[int]) -> tuple[list[tuple[str, float]], list[int]] | None:
    """The window's words with their probabilities (mean over their tokens, as faster-whisper gives them),
    and its tokens, decoded without timestamp tokens at temperature 0; no words for silence; None when the
    text is too repetitive or improbable by faster-whisper's thresholds (the timestamped path then decodes
    it with its temperature fallback)."""
    from faster_whisper.transcribe import get_compression_ratio

    model, tokenizer, o = win.model, win.tokenizer, win.options
    r = model.model.generate(
        encoded, [prompt], beam_size=o.beam_size, patience=o.patience, length_penalty=o.length_penalty,
        repetition_penalty=o.repetition_penalty, no_repeat_ngram_size=o.no_repeat_ngram_size,
        max_length=model.max_length, return_scores=True, return_logits_vocab=True, return_no_speech_prob=True,
        suppress_blank=o.suppress_blank, suppress_tokens=o.suppress_tokens)[0]
    ids = r.sequences_ids[0]
    avg_logprob = r.scores[0] * (len(ids) ** o.length_penalty) / (len(ids) + 1)
    if win.silent(r, avg_logprob):
        return [], ids
    if (o.compression_ratio_threshold is not None
            and get_compression_ratio(tokenizer.decode(ids).strip()) > o.compression_ratio_threshold):
        return None
    if o.log_prob_threshold is not None and avg_logprob < o.log_prob_threshold:
        return None
    logits = r.logits[0] if r.logits else []
    probs = np.array([_token_prob(np.asarray(lg), t) for lg, t in zip(logits, ids)]) if len(logits) else \
        np.full(len(ids), np.nan)
    words, word_toks = tokenizer.split_to_word_tokens(ids + [tokenizer.eot])
    out, i = [], 0
    for w, toks in zip(words, word_toks):  # per word
        k = sum(t < tokenizer.eot for t in toks)
        if k:
            out.append((w, float(np.mean(probs[i:i + k]))))
        i += k
    return _merge_punctuation(out), ids


def _token_prob(logits: np.ndarray, token: int) -> float:
    z = logits.astype(np.float64)
    m = z.max()
    return float(np.exp(z[token] - m) / np.exp(z - m).sum())


_PREPEND = set("\"'“¿([{-")


def _merge_punctuation(words: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Punctuation the tokenizer splits off joins its word ("Hello" "," -> "Hello,"; "(" "so" -> "(so"),
    as faster-whisper's word timestamps give them."""
    out: list[list] = []
    carry = ""
    for w, p in words:
        if tokens(w):
            out.append([(carry + w.strip()) if carry else w.strip(), p])
            carry = ""
        elif w.strip() and set(w.strip()) <= _PREPEND and w.startswith(" "):
            carry += w.strip()
        elif out:
            out[-1][0] += w.strip()
    return [(w, p) for w, p in out]


def _aligned(packed: Packed, f0: int, f1: int, text: list[tuple[str, float]], speech: np.ndarray,
             padding_s: float) -> list[RawWord] | None:
    """The window's words aligned to its audio and mapped to chunks, or None when the alignment fails or
    is implausible."""
    rate = packed.rate
    a0 = f0 * rate // 100
    audio, words = packed.audio[a0: f1 * rate // 100], [w for w, _ in text]
    got = align_or_widen(audio, words)  # a window is long: one hard stretch can prune the default beams' path
    if got is None:
        return None
    ok = np.isfinite(got[:, 0])
    if not ok.any():
        return None
    start = got[ok, 0] + f0 / 100
    end = got[ok, 1] + f0 / 100
    k = packed.chunk_of((start + end) / 2)
    c0 = packed.offsets[k]
    c1 = c0 + (packed.chunks[k, 1] - packed.chunks[k, 0])
    inside = np.minimum(end, c1) - np.maximum(start, c0)
    if np.any(inside < INSIDE_SHARE * (end - start)):
        return None  # a word across a separator: the text does not fit the chunks
    seg = np.asarray(speech, np.float64).reshape(-1, 2)
    if not near_segments(start, end, seg, padding_s).all():
        return None  # a word placed in a pause, away from any activity
    if _wordless_speech(f0, f1, start, end, seg):
        return None
    s = packed.to_recording(start, k)
    e = np.maximum(packed.to_recording(end, k), s)
    kept = [t for t, good in zip(text, ok) if good]
    return [RawWord(float(a), float(b), w, p, int(c), aligned=True)
            for a, b, (w, p), c in zip(s, e, kept, k)]


def _wordless_speech(f0: int, f1: int, start: np.ndarray, end: np.ndarray, speech: np.ndarray) -> bool:
    """An activity segment of the window (at least ``EMPTY_SPEECH_S`` long) that no aligned word touches:
    the text left it out (Whisper skipped part of the window, often its end) or the alignment drifted
    away from it, taking other words with it."""
    seg = speech[(speech[:, 0] >= f0 / 100 - 1e-9) & (speech[:, 1] <= f1 / 100 + 1e-9)]
    seg = seg[seg[:, 1] - seg[:, 0] >= EMPTY_SPEECH_S]
    if not len(seg):
        return False
    touched = ((start[None, :] < seg[:, 1:2]) & (end[None, :] > seg[:, 0:1])).any(axis=1)
    return not touched.all()
