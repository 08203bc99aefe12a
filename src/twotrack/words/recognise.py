"""Run the recogniser over one track's packed speech; words come back on the recording's clock."""

from __future__ import annotations

import dataclasses
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
    return _raw_words(packed, toks), info.language or language or "unknown", float(info.language_probability or 0.0)


#: Feature frames (10 ms) Whisper's encoder reads per window: 30 s.
WINDOW_FRAMES = 3000


def window_end(packed: Packed, start: int, max_frames: int = WINDOW_FRAMES) -> int:
    """End (feature frame, exclusive) of the recogniser window starting at frame ``start``: the last chunk
    end (a chunk with the separator after it) within ``max_frames``, so no chunk is cut at a window's end;
    ``start + max_frames`` when the chunk under ``start`` runs past that."""
    total = int(np.ceil(packed.audio.size / packed.rate * 100))
    ends = np.append(np.round(packed.offsets[1:] * 100).astype(np.int64), total)
    fit = ends[(ends > start) & (ends <= start + max_frames)]
    return int(fit.max()) if len(fit) else min(start + max_frames, total)


def _options(model, tokenizer, beam_size: int, word_timestamps: bool):
    """faster-whisper's TranscriptionOptions with ``transcribe``'s own defaults and ours on top."""
    import inspect

    from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

    defaults = {k: p.default for k, p in inspect.signature(type(model).transcribe).parameters.items()}
    fields = {f.name for f in dataclasses.fields(TranscriptionOptions)}
    opts = {k: v for k, v in defaults.items() if k in fields}
    temps = defaults["temperature"]
    opts.update(beam_size=beam_size, best_of=beam_size, condition_on_previous_text=False, without_timestamps=False,
                word_timestamps=word_timestamps, temperatures=list(temps) if isinstance(temps, (list, tuple)) else [temps],
                suppress_tokens=get_suppressed_tokens(tokenizer, list(defaults["suppress_tokens"])),
                multilingual=False, clip_timestamps=[0.0])
    return TranscriptionOptions(**opts)


def recognise_windows(model, packed: Packed, *, language: str, beam_size: int = 1,
                      min_frames: int = WINDOW_FRAMES) -> tuple[list[RawWord], str, float]:
    """``recognise`` (``words.windows = "chunks"``) with windows that end where a chunk ends (``window_end``)
    and an encoder that reads each window's own length (rounded up to 1 s, at least ``min_frames``) instead of
    30 s padded with silence: a window of 12 s of speech costs about 12/30 of an encoder pass. Where the
    recogniser stops early inside a window, the next window starts at its last word, as faster-whisper's
    own seeking does. Same decoding settings as ``recognise`` (transcribe's defaults, greedy, no
    conditioning on earlier text). docs/words.md, phase 4, has the measurements."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import pad_or_trim

    if packed.audio.size == 0:
        return [], language, 1.0
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    options = _options(model, tokenizer, beam_size, True)
    features = model.feature_extractor(packed.audio)
    total = features.shape[-1] - 1
    prompt = model.get_prompt(tokenizer, [], without_timestamps=False)
    toks = []
    last_speech = 0.0
    pos = 0
    while pos < total:  # per window (about 30 s)
        f0, f1 = pos, window_end(packed, pos)
        f1 = min(f1, total)
        size = f1 - f0
        width = WINDOW_FRAMES if min_frames >= WINDOW_FRAMES else max(min_frames, -(-size // 100) * 100)
        segment = pad_or_trim(features[:, f0:f1], min(width, WINDOW_FRAMES))
        encoded = model.encode(segment)
        result, avg_logprob, _, _ = model.generate_with_fallback(encoded, prompt, tokenizer, options)
        pos = f1
        if (options.no_speech_threshold is not None and result.no_speech_prob > options.no_speech_threshold
                and not (options.log_prob_threshold is not None and avg_logprob > options.log_prob_threshold)):
            continue  # silence, as faster-whisper skips it
        segs, seek, single_end = model._split_segments_by_timestamps(
            tokenizer=tokenizer, tokens=result.sequences_ids[0], time_offset=f0 / 100, segment_size=size,
            segment_duration=size / 100, seek=f0)
        segs = [s for s in segs if s["start"] != s["end"] and any(t < tokenizer.eot for t in s["tokens"])]
        if segs:
            last_speech = model.add_word_timestamps(
                [segs], tokenizer, encoded, size, options.prepend_punctuations, options.append_punctuations,
                last_speech_timestamp=last_speech) or last_speech
        words = [w for s in segs for w in s.get("words", ())]
        if not single_end:  # the recogniser stopped before the window's end: go on from its last word
            seek = round(words[-1]["end"] * 100) if words and words[-1]["end"] > f0 / 100 else seek
            if f0 < seek < f1:
                pos = seek
        toks += [_Tok(w["word"], w["start"], w["end"], w["probability"]) for w in words]
    return _raw_words(packed, toks), language, 1.0


@dataclass(frozen=True)
class _Tok:
    word: str
    start: float
    end: float
    probability: float


def _raw_words(packed: Packed, toks) -> list[RawWord]:
    if not toks:
        return []
    starts = np.array([w.start for w in toks], np.float64)
    ends = np.array([w.end for w in toks], np.float64)
    k = packed.chunk_of((starts + ends) / 2)  # a word belongs to the chunk holding its middle
    s = packed.to_recording(starts, k)
    e = np.maximum(packed.to_recording(ends, k), s)
    return [RawWord(float(a), float(b), w.word.strip(), float(w.probability), int(c))
            for a, b, w, c in zip(s, e, toks, k) if w.word.strip()]
