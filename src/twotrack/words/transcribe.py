"""The words stage as one pure function: per-track audio + that track's activity -> timed words.

Per track: the activity segments are padded and merged into chunks, the chunks packed end to end
and recognised (faster-whisper, word timestamps), the words mapped back onto the recording's clock,
re-timed (forced alignment per chunk and/or snapping to the activity edges), and words that are only
the other speaker's bleed dropped and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..config import WORDS_RETIME_MODES, WORDS_WINDOW_MODES
from ..errors import ConfigError
from ..model import Record, Word, track_name
from . import retime as rt
from .chunks import Packed, pack_pieces, speech_chunks
from .config import WordsConfig
from .crosstalk import bleed_words_frames, threshold_db
from .models import load_model
from .recognise import WHISPER_RATE, RawWord, detect_language, recognise, recognise_windows
from .stream import SpanAudio, SpanReader
from .textwin import packed_speech, recognise_text

RETIME_MODES = WORDS_RETIME_MODES
#: Detected-language probability below which a track's language is recorded as unknown.
LANGUAGE_MIN_PROB = 0.5
#: Seconds of one track's speech recognised together: memory follows this, not the recording's length.
#: faster-whisper computes the mel features of a whole pass at once (about 1.2 MB per second of packed
#: speech at its peak); 120 s per track keeps the stage near +300 MB over the loaded models (300 s: +550 MB),
#: and a batch boundary costs about one half-filled encoder window in eight.
BATCH_S = 120.0


@dataclass(frozen=True)
class WordsResult(Record):
    """Words of every track, sorted by start, and what the stage found on the way."""

    words: tuple[Word, ...]
    languages: dict[str, tuple[str, float | None]]  # track name -> (language code or "unknown", probability)
    dropped_crosstalk: int = 0  # words removed as the other speaker's bleed
    alignment_failures: int = 0  # chunks whose words kept the recogniser's times (text did not fit the audio)
    models: dict[str, str] = field(default_factory=dict)  # track name -> model that transcribed it
    decoded_s: float = 0.0  # seconds of audio given to the recogniser (all tracks)
    #: "stage" (recognised), "aligned" (the manifest's text aligned to the audio), or "aligned+stage" (a
    #: transcript of part of the recording aligned, the rest recognised: ``recording.with_recognised``)
    source: str = "stage"
    note: str | None = None  # e.g. why a named transcript was not used
    problems: tuple[tuple[str, str], ...] = ()  # (file, problem): named input that could not be used (an error)
    text_windows: int = 0  # recogniser windows decoded as text only (``windows = "text"``) ...
    text_fallbacks: int = 0  # ... and those whose text was not aligned whole (textwin: Whisper's times instead)
    #: aligned transcript lines (``align.LineFit``: each line's text fit, whether its words were kept and why
    #: not); empty for recognised words
    lines: tuple = ()
    text_fit: str = "off"  # ``words.text_fit`` the lines were judged with ...
    text_fit_max: float | None = None  # ... and its threshold
    reread_chunks: int = 0  # chunks of seconds of speech and no word, recognised again alone (``reread_min_speech_s``)

    @property
    def unfit_lines(self) -> int:
        """Aligned lines whose text was judged not to fit their audio (kept or not, per ``text_fit``)."""
        return sum(1 for ln in self.lines if ln.unfit)

    def summary(self) -> str:
        """One line for the stage's note: words per track, what was dropped, languages."""
        per = {}
        for w in self.words:
            per[track_name(w.track)] = per.get(track_name(w.track), 0) + 1
        parts = [f"{len(self.words)} {self.source} words"
                 + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(per.items())) + ")" if per else "")]
        if self.dropped_crosstalk:
            parts.append(f"{self.dropped_crosstalk} dropped as crosstalk")
        if self.alignment_failures:
            parts.append(f"{self.alignment_failures} span(s) not aligned")
        if self.unfit_lines:
            parts.append(f"{self.unfit_lines} of {len(self.lines)} line(s) whose text does not fit their audio: "
                         + ("words kept (words.text_fit = keep)" if self.text_fit == "keep" else "no word times")
                         + " (twotrack show lists them)")
        if self.reread_chunks:
            parts.append(f"{self.reread_chunks} chunk(s) with speech and no word read again alone")
        if self.text_fallbacks:
            parts.append(f"{self.text_fallbacks} of {self.text_windows} text window(s) not aligned whole")
        langs = ", ".join(f"{k} {v[0]}" for k, v in sorted(self.languages.items()))
        if langs:
            parts.append(f"languages {langs}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)

    def to_rows(self) -> list[dict]:
        """The ``words`` list of ``show --json``: {track: "A"|"B", start, end, word, probability}."""
        return [{"track": track_name(w.track), "start": round(w.start, 3), "end": round(w.end, 3),
                 "word": w.text, "probability": None if w.probability is None else round(w.probability, 4)}
                for w in self.words]


#: A recognised word "comes near" speech within this many seconds (Whisper's own word times are loose by up to
#: about half a second: docs/words.md, phase 1).
REREAD_REACH_S = 0.5


def wordless_speech_s(chunk, segments: np.ndarray, words, reach_s: float = REREAD_REACH_S) -> float:
    """Seconds of ``segments`` (activity, (m, 2)) inside ``chunk`` (start, end) that lie further than ``reach_s``
    from every one of ``words`` ((start, end) pairs), on a 10 ms grid."""
    a, b = float(chunk[0]), float(chunk[1])
    n = max(int(round((b - a) * 100)), 0)
    if n == 0:
        return 0.0
    speech = np.zeros(n, bool)
    g = np.asarray(segments, np.float64).reshape(-1, 2)
    for s, e in g[(g[:, 1] > a) & (g[:, 0] < b)]:  # the chunk's own segments (a track has thousands)
        speech[max(int(round((s - a) * 100)), 0):max(int(round((e - a) * 100)), 0)] = True
    for s, e in words:
        speech[max(int(round((s - reach_s - a) * 100)), 0):max(int(round((e + reach_s - a) * 100)), 0)] = False
    return float(speech.sum()) / 100.0


def activity_pairs(activity_track) -> np.ndarray:
    """Accepts a TrackActivity, a sequence of Segment, or of (start, end) pairs."""
    segs = getattr(activity_track, "segments", activity_track)
    pairs = [(s.start, s.end) if hasattr(s, "start") else (s[0], s[1]) for s in segs]
    return np.asarray(pairs, np.float64).reshape(-1, 2)


def retime_words(audio16k: np.ndarray, raw: list[RawWord], chunks: np.ndarray, segments: np.ndarray,
                 mode: str, tolerance_s: float, *, max_shift_s: float | None = None,
                 padding_s: float = 0.2, early_tolerance_s: float | None = None,
                 wide_retry: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """New (starts, ends) of one track's words and the number of chunks whose alignment failed.

    A chunk whose whole text does not align, or aligns implausibly (``max_shift_s``: a word moved further
    than this from the recogniser's start, or placed outside the track's padded activity), is retried one
    activity segment at a time. ``wide_retry``: an alignment that fails outright (pocketsphinx finds no
    path) is searched again with ``retime.WIDE_BEAMS`` before that."""
    if mode not in RETIME_MODES:
        raise ValueError(f"words.retime must be one of {RETIME_MODES}, not {mode!r}")
    s = np.array([w.start for w in raw], np.float64)
    e = np.array([w.end for w in raw], np.float64)
    failures = 0
    if mode.startswith("align") and len(raw):
        k = np.array([w.chunk for w in raw])
        mid = (s + e) / 2
        done = np.array([w.aligned for w in raw])
        for c in np.unique(k):  # per chunk
            idx = np.flatnonzero(k == c)
            if done[idx].all():
                continue  # aligned with its window's text (``windows = "text"``)
            pieces = [(chunks[c], idx)]
            got = _align(audio16k, chunks[c], [raw[i].word for i in idx], wide_retry)
            if got is not None and not _plausible(got, chunks[c][0], idx, s, segments, max_shift_s, padding_s):
                got = None
            if got is None:
                inner = segments[(segments[:, 1] > chunks[c][0]) & (segments[:, 0] < chunks[c][1])]
                pieces = []
                for a, b in inner:  # retry per activity segment, with the chunk's padding around it
                    sub = idx[(mid[idx] >= a - 0.2) & (mid[idx] < b + 0.2)]
                    if len(sub):
                        pieces.append((np.array([max(a - 0.2, chunks[c][0]), min(b + 0.2, chunks[c][1])]), sub))
            else:
                _put(s, e, idx, got, chunks[c][0])
                continue
            for span, sub in pieces:
                got = _align(audio16k, span, [raw[i].word for i in sub], wide_retry)
                if got is not None and not _plausible(got, span[0], sub, s, segments, max_shift_s, padding_s):
                    got = None
                if got is None:
                    failures += 1
                else:
                    _put(s, e, sub, got, span[0])
    if mode in ("align+snap", "snap"):
        s, e = rt.snap_edges(s, e, segments, tolerance_s, early_tolerance_s=early_tolerance_s)
    return s, e, failures


def _plausible(got: np.ndarray, offset: float, idx: np.ndarray, raw_starts: np.ndarray, segments: np.ndarray,
               max_shift_s: float | None, padding_s: float) -> bool:
    """An alignment is kept only when every aligned word stays within ``max_shift_s`` of the recogniser's
    start and overlaps the track's activity (padded): pocketsphinx can 'succeed' by squeezing words into a
    few frames far from where they were spoken."""
    if max_shift_s is None:
        return True
    ok = np.isfinite(got[:, 0])
    a, b = got[ok, 0] + offset, got[ok, 1] + offset
    if np.any(np.abs(a - raw_starts[idx[ok]]) > max_shift_s):
        return False
    return bool(rt.near_segments(a, b, segments, padding_s).all())


def _align(audio16k: np.ndarray, span, words: list[str], wide_retry: bool = False):
    a, b = int(round(span[0] * WHISPER_RATE)), int(round(span[1] * WHISPER_RATE))
    return rt.align_or_widen(audio16k[a:b], words, wide_retry)


def _put(s: np.ndarray, e: np.ndarray, idx: np.ndarray, got: np.ndarray, offset: float) -> None:
    ok = np.isfinite(got[:, 0])
    s[idx[ok]] = got[ok, 0] + offset
    e[idx[ok]] = got[ok, 1] + offset


#: In a joint pack, a track's speech more than this far below the loudest track's is raised to it.
JOINT_LEVEL_SPAN_DB = 6.0


def _pack_joint(packs: list[Packed], separator_s: float) -> tuple[Packed, np.ndarray]:
    """Several tracks' packed speech laid end to end as one stream (one recogniser pass reads them all:
    Whisper's cost is its 30 s windows, and two half-filled last windows become one). -> (joint Packed,
    the index of each joint chunk's first chunk per input).

    A track more than ``JOINT_LEVEL_SPAN_DB`` below the loudest (RMS over its packed speech) is raised to that
    distance first: Whisper reads a window's log-mel relative to its loudest part, and a track 30 dB below the
    other in the same window was read as silence (no word on it, although alone it gives every word). Tracks
    within the span are read as they are (the usual case: their words do not change). Only the recogniser
    reads this audio: alignment and the crosstalk rule use each track's own samples."""
    gap = np.zeros(int(round(separator_s * packs[0].rate)), np.float32)
    levels = [float(np.sqrt(np.mean(np.square(p.audio, dtype=np.float64)))) if p.audio.size else 0.0 for p in packs]
    floor = max(levels, default=0.0) * 10 ** (-JOINT_LEVEL_SPAN_DB / 20)
    audio, chunks, offsets, first, pos = [], [], [], [], 0.0
    for p, level in zip(packs, levels):
        first.append(sum(len(c) for c in chunks))
        gain = floor / level if 0.0 < level < floor else 1.0
        audio += [p.audio if gain == 1.0 else (p.audio * np.float32(gain)), gap]
        chunks.append(p.chunks)
        offsets.append(p.offsets + pos)
        pos += (p.audio.size + gap.size) / p.rate
    joint = Packed(np.concatenate(audio), packs[0].rate, np.concatenate(chunks), np.concatenate(offsets))
    return joint, np.asarray(first, np.int64)


def transcribe_tracks(samples: np.ndarray, sample_rate: int, activity: Sequence, bleed_db: float | None = None,
                      config: WordsConfig | None = None, *, recording_id: str = "") -> WordsResult:
    """Words with times on every track (see module doc).

    ``samples`` float32 (n_tracks, n) on track A's clock; ``activity[i]`` the speech of track i (a
    TrackActivity, Segments, or (start_s, end_s) pairs, same clock); ``bleed_db`` the checks stage's
    bleed level (dB re the source's speech) or None. A track without speech gets no words. The same as
    ``transcribe_blocks`` over one block."""
    x = np.atleast_2d(np.asarray(samples, np.float32))
    return transcribe_blocks([x], sample_rate, x.shape[1] / sample_rate, activity, bleed_db, config,
                             recording_id=recording_id, n_tracks=x.shape[0])


def transcribe_blocks(blocks: Iterable[np.ndarray], sample_rate: int, duration_s: float, activity: Sequence,
                      bleed_db: float | None = None, config: WordsConfig | None = None, *, recording_id: str = "",
                      n_tracks: int | None = None, batch_s: float = BATCH_S) -> WordsResult:
    """``transcribe_tracks`` over a stream of float32 (n_tracks, m) blocks (e.g. ``run.stages.Decoded.blocks``)
    lasting ``duration_s``: only each track's padded speech is kept, and it is recognised and aligned in
    batches of about ``batch_s`` seconds of one track's speech, so memory does not grow with the recording."""
    cfg = config or WordsConfig()
    n_tracks = len(activity) if n_tracks is None else n_tracks
    if len(activity) != n_tracks:
        raise ValueError(f"activity has {len(activity)} tracks, samples {n_tracks}")
    segs = [activity_pairs(a) for a in activity]
    # a chunk fits in one recogniser window with room to spare (window_s 28 of 30 s by default)
    chunk_max = min(cfg.window_s, cfg.max_window_s - 2.0)
    chunks = [speech_chunks(s, duration_s, cfg.padding_s, cfg.merge_gap_s, chunk_max) for s in segs]
    run = _Run(cfg, segs, chunks)
    reader = SpanReader(chunks, sample_rate, frames=cfg.crosstalk_rule and n_tracks > 1)
    for block in blocks:
        if np.shape(block)[0] != n_tracks:
            raise ValueError(f"activity has {n_tracks} tracks, samples {np.shape(block)[0]}")
        reader.push(block)
        if max(reader.pending_s(), default=0.0) >= batch_s:
            run.batch(reader.ready(), reader.n16)
    reader.finish()
    run.batch(reader.ready(), reader.n16)
    return run.result(reader, bleed_db, recording_id)


WINDOW_MODES = WORDS_WINDOW_MODES
#: A re-seek at a stream's end that leaves at most this much chunk audio is not followed: it would encode a
#: whole ``min_window_s`` window for the last chunk's trailing padding (0.2 s) and the few frames Whisper's
#: last word end falls short of the speech by; on the sample such windows gave no word (docs/words.md, phase 6).
TAIL_S = 0.5


def _recognise(model, packed: Packed, language: str | None, cfg: WordsConfig, segments: list[np.ndarray],
               counts: dict[str, int]):
    """The recogniser over one packed stream, with the windows ``cfg.windows`` asks for. ``segments``: the
    activity (recording seconds) of each packed chunk's track; ``counts`` gathers text windows and their
    fallbacks."""
    if cfg.windows not in WINDOW_MODES:
        raise ValueError(f"words.windows must be one of {WINDOW_MODES}, not {cfg.windows!r}")
    if cfg.windows == "text" and language == "en" and cfg.retime.startswith("align"):
        # text windows take their times from the English aligner: other languages, or no alignment, read
        # chunk windows
        got = recognise_text(model, packed, language=language, speech=packed_speech(packed, segments),
                             beam_size=cfg.beam_size, min_frames=int(round(cfg.min_window_s * 100)),
                             max_frames=int(round(cfg.max_window_s * 100)), padding_s=cfg.padding_s)
        counts["text_windows"] = counts.get("text_windows", 0) + got.windows
        counts["text_fallbacks"] = counts.get("text_fallbacks", 0) + got.fallbacks
        return got.words, language, 1.0
    if cfg.windows in ("chunks", "text") and language:
        return recognise_windows(model, packed, language=language, beam_size=cfg.beam_size,
                                 min_frames=int(round(cfg.min_window_s * 100)),
                                 max_frames=int(round(cfg.max_window_s * 100)),
                                 tail_frames=int(round(TAIL_S * 100)))
    return recognise(model, packed, language=language, beam_size=cfg.beam_size)


class _Run:
    """The state of one recording's words stage between batches."""

    def __init__(self, cfg: WordsConfig, segs: list[np.ndarray], chunks: list[np.ndarray]):
        self.cfg, self.segs, self.chunks = cfg, segs, chunks
        self.languages: dict[str, tuple[str, float | None]] = {}
        self.models: dict[str, str] = {}
        self.decided: dict[int, tuple] = {}  # track -> (model, resolved, language, lang_prob), from its first batch
        self.found: dict[int, list[tuple[RawWord, float, float]]] = {t: [] for t in range(len(chunks))}
        self.failures = 0
        self.counts: dict[str, int] = {}  # text windows and their fallbacks (``windows = "text"``)
        self.decoded = 0.0
        self.main = None
        for t, c in enumerate(chunks):
            if len(c) == 0:
                self.languages[track_name(t)] = ("unknown", 0.0)

    def _decide(self, t: int, packed: Packed) -> tuple:
        """Which model reads track ``t`` in which language (on its first batch of speech)."""
        cfg = self.cfg
        if self.main is None:
            self.main = load_model(cfg.model, sha256=cfg.model_sha256, compute_type=cfg.compute_type,
                                   threads=cfg.threads, allow_download=cfg.allow_download)
        model, res = self.main
        language, lang_prob = cfg.language or None, (1.0 if cfg.language else None)
        if language not in (None, "en") and res.english_only:
            # an English-only model cannot read the language asked for: the multilingual one does, as for a
            # track detected as that language
            if not cfg.multilingual_model:
                raise ConfigError(f"words.language is {language!r} but words model {cfg.model!r} reads English "
                                  "only and words.multilingual_model is not set")
            model, res = load_model(cfg.multilingual_model, compute_type=cfg.compute_type, threads=cfg.threads,
                                    allow_download=cfg.allow_download)
        if language is None and res.english_only:
            language, lang_prob = "en", None
            if cfg.multilingual_model:
                multi, multi_res = load_model(cfg.multilingual_model, compute_type=cfg.compute_type,
                                              threads=cfg.threads, allow_download=cfg.allow_download)
                detected, lang_prob = detect_language(multi, packed)
                if lang_prob < LANGUAGE_MIN_PROB:
                    language = None  # unknown: let the multilingual model choose per window
                elif detected != "en":
                    language = detected
                if language != "en":
                    model, res = multi, multi_res
                self.languages[track_name(t)] = (detected if lang_prob >= LANGUAGE_MIN_PROB else "unknown", lang_prob)
        return model, res, language, lang_prob

    def batch(self, ready: list[list[tuple[int, np.ndarray]]], n16: int) -> None:
        """Recognise and align the chunks cut since the last batch (``SpanReader.ready``)."""
        cfg = self.cfg
        # 1. per track: its speech, packed, and which model reads it in which language
        plans: dict[int, tuple] = {}  # track -> (packed, chunk ids, chunk audio)
        for t, got in enumerate(ready):
            if not got:
                continue
            packed, ids = pack_pieces(got, self.chunks[t], n16, WHISPER_RATE, cfg.separator_s)
            self.decoded += packed.audio.size / WHISPER_RATE
            if t not in self.decided:
                self.decided[t] = self._decide(t, packed)
            plans[t] = (packed, ids, SpanAudio(got, self.chunks[t], n16))
        # 2. recognise: tracks read by the same model in the same known language share one pass
        raws: dict[int, tuple[list[RawWord], str, float]] = {}
        groups: dict[tuple, list[int]] = {}
        for t in plans:
            model, _, language, _ = self.decided[t]
            key = (id(model), language) if (cfg.joint_tracks and language) else (id(model), language, t)
            groups.setdefault(key, []).append(t)
        for members in groups.values():  # a group per model and language (usually one)
            model, _, language, _ = self.decided[members[0]]
            if len(members) == 1:
                t = members[0]
                raws[t] = _recognise(model, plans[t][0], language, cfg, [self.segs[t]] * len(plans[t][1]),
                                     self.counts)
                continue
            joint, first = _pack_joint([plans[t][0] for t in members], cfg.separator_s)
            raw, used, prob = _recognise(model, joint, language, cfg,
                                         [self.segs[t] for t in members for _ in plans[t][1]], self.counts)
            bounds = np.append(first, len(joint.chunks))
            for j, t in enumerate(members):
                mine = [dataclasses.replace(w, chunk=w.chunk - int(first[j])) for w in raw
                        if first[j] <= w.chunk < bounds[j + 1]]
                raws[t] = (mine, used, prob)
        # 2b. per track: a chunk of seconds of speech that got no word is read again on its own
        if cfg.reread_min_speech_s > 0:
            for t, (packed, ids, _) in plans.items():
                raws[t] = self._reread(t, ready[t], packed, n16, raws[t])
        # 3. per track: align each chunk's words to its audio (snapping and the crosstalk rule wait for the end)
        for t, (packed, ids, audio) in plans.items():
            name = track_name(t)
            raw, used, prob = raws[t]
            _, res, language, lang_prob = self.decided[t]
            if name not in self.languages:
                if cfg.language:
                    self.languages[name] = (cfg.language, None)
                elif language == "en" and lang_prob is None:
                    self.languages[name] = ("en", None)  # English-only model, no detection asked for
                else:
                    self.languages[name] = (used if prob >= LANGUAGE_MIN_PROB else "unknown", prob)
            self.models[name] = res.name
            if not raw:
                continue
            raw = [dataclasses.replace(w, chunk=int(ids[w.chunk])) for w in raw]  # chunk ids of the whole track
            # pocketsphinx's model is English: other languages keep the recogniser's (per token) times
            mode = cfg.retime if (language or used) == "en" else ("snap" if "snap" in cfg.retime else "none")
            align_mode = "align" if mode.startswith("align") else "none"
            s, e, fails = retime_words(audio, raw, self.chunks[t], self.segs[t], align_mode, cfg.snap_tolerance_s,
                                       max_shift_s=cfg.align_max_shift_s, padding_s=cfg.padding_s,
                                       wide_retry=cfg.align_wide_retry)
            self.failures += fails
            self.found[t] += [(w, a, b, "snap" in mode) for w, a, b in zip(raw, s, e)]

    def _reread(self, t: int, pieces, packed: Packed, n16: int, recognised: tuple) -> tuple:
        """``recognised`` (the words of track ``t``'s packed chunks), where a chunk holds at least
        ``reread_min_speech_s`` of the track's speech that no word comes near (``REREAD_REACH_S``), with that
        chunk recognised again in a window of its own; its new words replace its old ones when they leave less
        of its speech without a word. Whisper can jump its timestamps over a window's last seconds and end
        there: telephone demo02's track B lost its last 7 s (4 IPUs, one squeezed word at the chunk's end)."""
        raw, used, prob = recognised
        spans = [[(w.start, w.end) for w in raw if w.chunk == j] for j in range(len(pieces))]
        bare = [wordless_speech_s(packed.chunks[j], self.segs[t], spans[j]) for j in range(len(pieces))]
        missed = [j for j in range(len(pieces)) if bare[j] >= self.cfg.reread_min_speech_s]
        if not missed:
            return recognised
        model, _, language, _ = self.decided[t]
        again, _ = pack_pieces([pieces[j] for j in missed], self.chunks[t], n16, WHISPER_RATE, self.cfg.separator_s)
        self.decoded += again.audio.size / WHISPER_RATE
        self.counts["reread_chunks"] = self.counts.get("reread_chunks", 0) + len(missed)
        more, _, _ = _recognise(model, again, language, self.cfg, [self.segs[t]] * len(missed), self.counts)
        more = [dataclasses.replace(w, chunk=missed[w.chunk]) for w in more]
        better = {j for j in missed if wordless_speech_s(packed.chunks[j], self.segs[t], [
            (w.start, w.end) for w in more if w.chunk == j]) < bare[j]}
        words = [w for w in raw if w.chunk not in better] + [w for w in more if w.chunk in better]
        return sorted(words, key=lambda w: w.chunk), used, prob

    def result(self, reader: SpanReader, bleed_db: float | None, recording_id: str) -> WordsResult:
        """Snap every track's words to its activity edges, drop bleed, and sort."""
        cfg = self.cfg
        thr = threshold_db(bleed_db, cfg.crosstalk_margin_db, cfg.crosstalk_ratio_db, cfg.crosstalk_cap_db)
        frames = reader.frames() if reader.keeps_frames else None
        words: list[Word] = []
        dropped = 0
        for t, found in self.found.items():
            if not found:
                continue
            raw = [f[0] for f in found]
            s = np.array([f[1] for f in found], np.float64)
            e = np.array([f[2] for f in found], np.float64)
            if found[0][3]:
                s, e = rt.snap_edges(s, e, self.segs[t], cfg.snap_tolerance_s,
                                     early_tolerance_s=cfg.snap_early_tolerance_s)
            keep = np.ones(len(raw), bool)
            if frames is not None:
                keep = ~bleed_words_frames(frames, t, s, e, thr)
                dropped += int((~keep).sum())
            # a word squeezed to no length (clamped at a chunk's or the recording's end: the recogniser ran on
            # past the audio) has no place in it
            keep &= e > s + 1e-6
            words += [Word(recording_id, t, float(a), float(b), w.word, probability=w.probability)
                      for a, b, w, k in zip(s, e, raw, keep) if k]
        words.sort(key=lambda w: (w.start, w.track, w.end))
        return WordsResult(tuple(words), self.languages, dropped, self.failures, self.models, round(self.decoded, 3),
                           text_windows=self.counts.get("text_windows", 0),
                           reread_chunks=self.counts.get("reread_chunks", 0),
                           text_fallbacks=self.counts.get("text_fallbacks", 0))
