"""Run the recogniser over one track's packed speech; words come back on the recording's clock."""

from __future__ import annotations

import dataclasses
import threading
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
    aligned: bool = False  # times already from forced alignment (``windows = "text"``): not re-aligned


def detect_language(model, packed: Packed) -> tuple[str, float]:
    """Language of the first 30 s of a track's speech, with its probability."""
    if packed.audio.size == 0:
        return "unknown", 0.0
    lang, prob, _ = model.detect_language(audio=packed.audio[: 30 * packed.rate])
    return str(lang), float(prob)


def _thread_lock_for_tqdm() -> None:
    """faster-whisper's ``transcribe`` makes a progress bar (disabled), and tqdm's first bar creates a
    multiprocessing lock: in a scan's worker process that semaphore outlived the worker, and Python's resource
    tracker printed "There appear to be 1 leaked semaphore objects" on the scan's stderr at every scan that
    read a track of unknown language or used ``windows = "whisper"``. A thread lock does for a bar never shown."""
    from tqdm import tqdm

    if not hasattr(tqdm, "_lock"):
        tqdm.set_lock(threading.RLock())


def recognise(model, packed: Packed, *, language: str | None, beam_size: int = 1) -> tuple[list[RawWord], str, float]:
    """Words of a packed track, and the language the recogniser used (detected when ``language`` is None).

    Each window is decoded on its own (no conditioning on the previous text): a hallucination cannot
    then run from one chunk into the next."""
    if packed.audio.size == 0:
        return [], language or "unknown", 0.0
    _thread_lock_for_tqdm()
    segments, info = model.transcribe(
        packed.audio, language=language, beam_size=beam_size, best_of=beam_size, word_timestamps=True,
        condition_on_previous_text=False, vad_filter=False, without_timestamps=False)
    toks = [w for seg in segments for w in (seg.words or ())]
    return raw_words(packed, toks), info.language or language or "unknown", float(info.language_probability or 0.0)


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


def tail_only(packed: Packed, seek: int, tail_frames: int) -> bool:
    """Whether the packed stream from frame ``seek`` on holds at most ``tail_frames`` frames of chunk audio
    (separators not counted): what is left after the recogniser's last word end is then only the last
    chunk's trailing padding and the few frames Whisper's word end falls short of the speech by."""
    if tail_frames <= 0:
        return False
    ends = packed.offsets + (packed.chunks[:, 1] - packed.chunks[:, 0])
    left = np.clip(ends * 100 - np.maximum(packed.offsets * 100, seek), 0, None).sum()
    return bool(left <= tail_frames)


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
                      min_frames: int = WINDOW_FRAMES, max_frames: int = WINDOW_FRAMES, tail_frames: int = 0
                      ) -> tuple[list[RawWord], str, float]:
    """``recognise`` (``words.windows = "chunks"``) with windows that end where a chunk ends (``window_end``)
    and an encoder that reads each window's own length (rounded up to 1 s, at least ``min_frames``) instead of
    30 s padded with silence: a window of 12 s of speech costs about 12/30 of an encoder pass. Where the
    recogniser stops early inside a window, the next window starts at its last word, as faster-whisper's
    own seeking does. Same decoding settings as ``recognise`` (transcribe's defaults, greedy, no
    conditioning on earlier text); windows at most ``max_frames`` long. docs/words.md, phase 4, has the
    measurements. ``tail_frames``: at the stream's end, a re-seek that leaves at most this much chunk audio
    is not followed (``tail_only``)."""
    if packed.audio.size == 0:
        return [], language, 1.0
    win = Windows(model, packed, language, beam_size, min_frames, max_frames, tail_frames)
    toks = []
    pos = 0
    while pos < win.total:  # per window (about 30 s)
        f0, f1 = pos, win.end(pos)
        words, pos = win.timestamped(win.encode(f0, f1), f0, f1)
        toks += words
    return raw_words(packed, toks), language, 1.0


class Windows:
    """One packed stream's recogniser windows over faster-whisper's model: the mel features of the whole
    stream, each window's encoder pass, and the timestamped decoding of one window."""

    def __init__(self, model, packed: Packed, language: str, beam_size: int, min_frames: int,
                 max_frames: int = WINDOW_FRAMES, tail_frames: int = 0):
        from faster_whisper.tokenizer import Tokenizer

        self.model, self.packed, self.min_frames = model, packed, min_frames
        self.max_frames = min(int(max_frames), WINDOW_FRAMES)
        self.tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                   language=language)
        self.options = _options(model, self.tokenizer, beam_size, True)
        self.features = model.feature_extractor(packed.audio)
        self.total = self.features.shape[-1] - 1
        self.prompt = model.get_prompt(self.tokenizer, [], without_timestamps=False)
        self.last_speech = 0.0
        self.tail_frames = int(tail_frames)

    def end(self, pos: int) -> int:
        return min(window_end(self.packed, pos, self.max_frames), self.total)

    def encode(self, f0: int, f1: int):
        """The encoder's output for frames [f0, f1), read at the window's own length (>= ``min_frames``)."""
        from faster_whisper.transcribe import pad_or_trim

        size = f1 - f0
        width = WINDOW_FRAMES if self.min_frames >= WINDOW_FRAMES else max(self.min_frames, -(-size // 100) * 100)
        return self.model.encode(pad_or_trim(self.features[:, f0:f1], min(width, WINDOW_FRAMES)))

    def silent(self, result, avg_logprob: float) -> bool:
        """faster-whisper's rule for a window with no speech."""
        o = self.options
        return (o.no_speech_threshold is not None and result.no_speech_prob > o.no_speech_threshold
                and not (o.log_prob_threshold is not None and avg_logprob > o.log_prob_threshold))

    def timestamped(self, encoded, f0: int, f1: int) -> tuple[list, int]:
        """Words (packed seconds) of the window [f0, f1) decoded with timestamp tokens and given times by
        Whisper's cross-attention, and where the next window starts: ``f1``, or the window's last word
        when the recogniser stopped early inside it (faster-whisper's seeking)."""
        model, tokenizer, options = self.model, self.tokenizer, self.options
        size = f1 - f0
        result, avg_logprob, _, _ = model.generate_with_fallback(encoded, self.prompt, tokenizer, options)
        if self.silent(result, avg_logprob):
            return [], f1  # silence, as faster-whisper skips it
        segs, seek, single_end = model._split_segments_by_timestamps(
            tokenizer=tokenizer, tokens=result.sequences_ids[0], time_offset=f0 / 100, segment_size=size,
            segment_duration=size / 100, seek=f0)
        segs = [s for s in segs if s["start"] != s["end"] and any(t < tokenizer.eot for t in s["tokens"])]
        if segs:
            self.last_speech = model.add_word_timestamps(
                [segs], tokenizer, encoded, size, options.prepend_punctuations, options.append_punctuations,
                last_speech_timestamp=self.last_speech) or self.last_speech
        words = [w for s in segs for w in s.get("words", ())]
        pos = f1
        if not single_end:  # the recogniser stopped before the window's end: go on from its last word
            seek = round(words[-1]["end"] * 100) if words and words[-1]["end"] > f0 / 100 else seek
            # at the stream's end, a few frames of trailing padding are not worth a window of their own
            if f0 < seek < f1 and not (f1 >= self.total and tail_only(self.packed, seek, self.tail_frames)):
                pos = seek
        return [Tok(w["word"], w["start"], w["end"], w["probability"]) for w in words], pos


@dataclass(frozen=True)
class Tok:
    """A word as faster-whisper gives it (packed seconds)."""

    word: str
    start: float
    end: float
    probability: float


def raw_words(packed: Packed, toks) -> list[RawWord]:
    """Recognised words (packed seconds) on the recording's clock, each in the chunk holding its middle."""
    if not toks:
        return []
    starts = np.array([w.start for w in toks], np.float64)
    ends = np.array([w.end for w in toks], np.float64)
    k = packed.chunk_of((starts + ends) / 2)  # a word belongs to the chunk holding its middle
    s = packed.to_recording(starts, k)
    e = np.maximum(packed.to_recording(ends, k), s)
    return [RawWord(float(a), float(b), w.word.strip(), float(w.probability), int(c))
            for a, b, w, c in zip(s, e, toks, k) if w.word.strip()]
