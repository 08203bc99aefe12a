"""Run the recogniser over one track's packed speech; words come back on the recording's clock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunks import Packed

WHISPER_RATE = 16000


@dataclass(frozen=True)
class RawWord:
    """A recognised word before re-timing and filtering (recording seconds)."""

    start: float
    end: float
    word: str  # as the recogniser wrote it (leading space and punctuation stripped)
    probability: float
    chunk: int


def detect_language(model, packed: Packed) -> tuple[str, float]:
    """Language of the first 30 s of a track's speech, with its probability."""
    if packed.audio.size == 0:
        return "unknown", 0.0
    lang, prob, _ = model.detect_language(audio=packed.audio[: 30 * packed.rate])
    return str(lang), float(prob)


def recognise(model, packed: Packed, *, language: str | None, beam_size: int = 1) -> tuple[list[RawWord], str, float]:
    """Words of a packed track, and the language the recogniser used (detected when ``language`` is None).

    Each window is decoded on its own (no conditioning on the previous text): a hallucination cannot
    then run from one chunk into the next."""
    if packed.audio.size == 0:
        return [], language or "unknown", 0.0
    segments, info = model.transcribe(
        packed.audio, language=language, beam_size=beam_size, best_of=beam_size, word_timestamps=True,
        condition_on_previous_text=False, vad_filter=False, without_timestamps=False)
    toks = [w for seg in segments for w in (seg.words or ())]
    if not toks:
        return [], info.language or language or "unknown", float(info.language_probability or 0.0)
    starts = np.array([w.start for w in toks], np.float64)
    ends = np.array([w.end for w in toks], np.float64)
    k = packed.chunk_of((starts + ends) / 2)  # a word belongs to the chunk holding its middle
    s = packed.to_recording(starts, k)
    e = np.maximum(packed.to_recording(ends, k), s)
    words = [RawWord(float(a), float(b), w.word.strip(), float(w.probability), int(c))
             for a, b, w, c in zip(s, e, toks, k) if w.word.strip()]
    return words, info.language or language or "unknown", float(info.language_probability or 0.0)
