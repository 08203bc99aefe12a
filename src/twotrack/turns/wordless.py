"""Speech without words: how much of a track's detected speech lies in IPUs that no word touches.

Activity is vocal activity (docs/activity.md): laughter, audible breath and non-lexical sounds are speech
to the detector, and a full-duplex model must hear them. Word timings do not cover them, so a data team
wants to know how much of a recording's speech carries no word. This is measured at read time from the
stored activity (and IPUs) and the recording's words; nothing is stored.

An IPU is *wordless* when no word touches it: no word overlaps ``[start - tol, end + tol)``. The
tolerance (``WORD_TOLERANCE_S``, 0.1 s) absorbs word-time error, so a breath just before a word's
slightly late start is not counted. The seconds counted are the detected speech inside the IPU (its
bridged pauses are not speech).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..model import FRAMES, EventKind, RecordingResult, Segment, track_name

#: Seconds a word may lie beyond an IPU's edge and still touch it (word-time error of aligners and CTMs).
WORD_TOLERANCE_S = 0.1
_DECIMALS = 3


def _spans(items: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) float arrays of segments or words (anything with ``start``/``end``), by start."""
    pairs = sorted((float(s.start), float(s.end)) for s in items)
    if not pairs:
        return np.zeros(0), np.zeros(0)
    a = np.asarray(pairs, dtype=np.float64)
    return a[:, 0], a[:, 1]


def _speech_before(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Seconds of speech before each time in ``t``; ``starts``/``ends``: disjoint segments in time order."""
    if len(starts) == 0:
        return np.zeros(len(t))
    dur = np.maximum(ends - starts, 0.0)
    before = np.concatenate(([0.0], np.cumsum(dur)))
    i = np.searchsorted(starts, t, side="right") - 1  # the last segment starting at or before t
    inside = np.clip(t - starts[np.maximum(i, 0)], 0.0, dur[np.maximum(i, 0)])
    return np.where(i < 0, 0.0, before[np.maximum(i, 0)] + inside)


def touched(ipu_start: np.ndarray, ipu_end: np.ndarray, word_start: np.ndarray, word_end: np.ndarray,
            tolerance_s: float = WORD_TOLERANCE_S) -> np.ndarray:
    """Whether some word overlaps each IPU widened by ``tolerance_s`` on both sides (words in start order).

    >>> touched(np.array([0.0, 2.0]), np.array([1.0, 3.0]), np.array([1.05]), np.array([1.5]))
    array([ True, False])
    """
    if len(word_start) == 0:
        return np.zeros(len(ipu_start), bool)
    latest_end = np.maximum.accumulate(word_end)  # the latest end among the words starting so far
    n = np.searchsorted(word_start, ipu_end + tolerance_s, side="left")  # words starting before the widened end
    return (n > 0) & (latest_end[np.maximum(n - 1, 0)] > ipu_start - tolerance_s)


def wordless_track(speech: Sequence[Any], ipus: Sequence[Any], words: Sequence[Any],
                   tolerance_s: float = WORD_TOLERANCE_S) -> dict[str, Any]:
    """One track's measure: ``speech_s`` (detected speech), ``wordless_s`` (speech inside IPUs no word
    touches), ``share`` (their ratio; None without speech), ``wordless_ipus`` [{start, end, duration,
    speech_s}]. ``speech``: the track's activity segments; ``ipus``: its IPUs; ``words``: its words (or
    transcript lines): anything with ``start`` and ``end`` in seconds."""
    s_start, s_end = _spans(speech)
    i_start, i_end = _spans(ipus)
    w_start, w_end = _spans(words)
    total = float(np.maximum(s_end - s_start, 0.0).sum())
    inside = _speech_before(i_end, s_start, s_end) - _speech_before(i_start, s_start, s_end)
    lone = ~touched(i_start, i_end, w_start, w_end, tolerance_s) & (inside > 0)
    wordless = float(inside[lone].sum())
    return {
        "speech_s": round(total, _DECIMALS),
        "wordless_s": round(wordless, _DECIMALS),
        "share": round(wordless / total, 4) if total > 0 else None,
        "wordless_ipus": [{"start": round(float(a), _DECIMALS), "end": round(float(b), _DECIMALS),
                           "duration": round(float(b - a), _DECIMALS), "speech_s": round(float(sp), _DECIMALS)}
                          for a, b, sp in zip(i_start[lone], i_end[lone], inside[lone])],
    }


def recording_ipus(result: RecordingResult, pause_threshold_s: float | None = None) -> dict[int, list[Segment]]:
    """Each track's IPUs: the stored IPU events when the events stage stored some (they were built with the
    scan's ``turns.pause_threshold_s``), else built from the activity with ``pause_threshold_s`` (default:
    ``TurnsConfig``'s)."""
    stored = [e for e in result.events if e.kind is EventKind.IPU and e.track is not None]
    if stored:
        out: dict[int, list[Segment]] = {}
        for e in stored:
            out.setdefault(int(e.track), []).append(Segment(e.start, e.end))
        return out
    from ..config import TurnsConfig
    from .events import ipus

    pause = FRAMES.boundary(TurnsConfig().pause_threshold_s if pause_threshold_s is None else pause_threshold_s)
    n = FRAMES.n_frames(max([result.duration_s] + [s.end for a in result.activity for s in a.segments]))
    out = {}
    for a in result.activity:
        mask = np.zeros(n + 1, bool)
        for seg in a.segments:
            lo, hi = seg.to_frames()
            mask[max(lo, 0):max(hi, 0)] = True
        starts, stops = ipus(mask, pause)
        out[a.track] = [Segment(FRAMES.to_seconds(int(x)), FRAMES.to_seconds(int(y))) for x, y in zip(starts, stops)]
    return out


def _clip(segments: Iterable[Any], span: Segment | None) -> list[Segment]:
    """``segments`` cut to ``span`` (those outside it left out); all of them when ``span`` is None."""
    out = [Segment(float(s.start), float(s.end)) for s in segments]
    if span is None:
        return out
    return [Segment(max(s.start, span.start), min(s.end, span.end)) for s in out
            if s.end > span.start and s.start < span.end]


def wordless_recording(result: RecordingResult, words: Mapping[int, Sequence[Any]] | None, source: str | None,
                       tolerance_s: float = WORD_TOLERANCE_S, span: Segment | None = None) -> dict[str, Any] | None:
    """``show --json``'s ``wordless``: {source, tolerance_s, span_s, tracks: [{track, name, speech_s, wordless_s,
    share, wordless_ipus}], note} over every track with activity; None when the recording has no words at all (not
    measured: 0 would claim every sound carries a word). ``span``: the only stretch the words cover (a
    transcript's ``transcribed_span_s``): speech and IPUs outside it are left out (untranscribed, not wordless)."""
    if not words or not any(words.values()):
        return None
    ipus = recording_ipus(result)
    tracks = []
    for a in sorted(result.activity, key=lambda a: a.track):
        m = wordless_track(_clip(a.segments, span), _clip(ipus.get(a.track, []), span), words.get(a.track, []),
                           tolerance_s)
        tracks.append({"track": a.track, "name": track_name(a.track), **m})
    return {"source": source, "tolerance_s": tolerance_s,
            "span_s": None if span is None else [round(span.start, _DECIMALS), round(span.end, _DECIMALS)],
            "tracks": tracks, "note": None}


def pooled(measures: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """The corpus figure over recordings' ``wordless_recording`` (None ones are left out): per track name
    and over all tracks, speech seconds, wordless seconds and the pooled share; ``recordings`` counted, and
    per words source (gold, aligned, stage, ...) how many of them."""
    per: dict[str, list[float]] = {}
    sources: dict[str, int] = {}
    n = 0
    for m in measures:
        if m is None:
            continue
        n += 1
        sources[str(m["source"])] = sources.get(str(m["source"]), 0) + 1
        for t in m["tracks"]:
            acc = per.setdefault(t["name"], [0.0, 0.0])
            acc[0] += t["speech_s"]
            acc[1] += t["wordless_s"]

    def fig(speech: float, wordless: float) -> dict[str, Any]:
        return {"speech_s": round(speech, _DECIMALS), "wordless_s": round(wordless, _DECIMALS),
                "share": round(wordless / speech, 4) if speech > 0 else None}

    all_speech = sum(v[0] for v in per.values())
    all_wordless = sum(v[1] for v in per.values())
    return {"recordings": n, "sources": dict(sorted(sources.items())), "tolerance_s": WORD_TOLERANCE_S,
            "tracks": {k: fig(*per[k]) for k in sorted(per)}, "all": fig(all_speech, all_wordless)}


def read_wordless(result: RecordingResult, gold) -> dict[str, Any] | None:
    """``wordless_recording`` with the words the exports write (``export.context.GoldWords.text_words``: gold
    words with word times, else the words stage's stored words, else an utterance-level transcript's lines);
    ``gold``: a ``GoldWords`` over the workspace (one per command, so transcript files are parsed once).
    Words read from a transcript that covers part of the recording (metadata ``transcribed_span_s``, CALLHOME)
    are measured inside that part only; the words stage's words cover the rest too (``aligned+stage``)."""
    from ..ingest.annotations import transcribed_span

    text = gold.text_words(result.recording)
    span = transcribed_span(result.recording.metadata) if text.source == "gold" else None
    out = wordless_recording(result, text.words, text.source, span=span)
    if out is not None:
        out["note"] = _clock_note(result) if text.source == "gold" else None
    return out


def _clock_note(result: RecordingResult) -> str | None:
    """Why a transcript's times may miss the later tracks' speech: their clock is unknown (paired files neither
    declared nor measured keep their own clocks), so the unmeasured offset reads as speech without words.
    The words stage's words are found in each track's own audio and follow it."""
    from ..ingest.clock import recording_clock

    if len(result.activity) < 2:
        return None
    clock = recording_clock(result.recording, result.checks, int(result.sample_rate or 0),
                            float(result.duration_s or 0.0))
    if clock.entry.get("status") != "unknown":
        return None
    return ("clock unknown: the transcript's times may miss the later tracks' speech by their unmeasured offset, "
            "which counts here as speech without words")
