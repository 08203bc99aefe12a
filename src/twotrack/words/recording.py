"""The words stage for one recording: recognise each track's own speech, or, when the manifest names a
transcript that has text but no word times (utterance-level lines, like Fisher's ``start end A: text``),
align that text to its track instead, so gold text gets word times (``source`` "aligned").

A transcript with word times already (CTM, word alignments) is gold: exports read it from the file and
the stage recognises the tracks as for a recording without one (``source`` "stage").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..config import WordsConfig
from ..errors import InputError
from ..ingest.annotations import has_gold, recording_gold, utterance_level
from ..model import Recording, track_name
from .align import align_text
from .transcribe import WordsResult, transcribe_tracks


def transcript_spans(recording: Recording) -> tuple[dict[int, list[tuple[float, float, str]]] | None, str | None]:
    """(per track: (start_s, end_s, text) of each utterance, when the recording's gold (its transcript, or
    a recipe's per-track transcripts) is text without word times; else None) and a note when named gold
    could not be used."""
    if not has_gold(recording):
        return None, None
    try:
        words = recording_gold(recording)
    except (InputError, OSError) as exc:
        return None, f"transcript not used: {getattr(exc, 'problem', None) or exc}"
    by_track: dict[int, list] = {t: [] for t in range(recording.n_tracks)}
    for w in words:
        if 0 <= w.track < recording.n_tracks and w.end > w.start and w.text.strip():
            by_track[w.track].append(w)
    if not any(by_track.values()) or not utterance_level(by_track):
        return None, None
    return {t: [(w.start, w.end, w.text) for w in sorted(ws, key=lambda w: w.start)]
            for t, ws in by_track.items()}, None


def align_transcript(samples: np.ndarray, sample_rate: int, spans: dict[int, list[tuple[float, float, str]]],
                     recording_id: str = "") -> WordsResult:
    """Every track's utterances aligned to that track's audio (English acoustic model); spans whose text
    does not fit their audio get no words and are counted in ``alignment_failures``."""
    x = np.atleast_2d(samples)
    words, failures = [], 0
    languages: dict[str, tuple[str, float | None]] = {}
    for t in range(x.shape[0]):  # per track
        got = align_text(x, sample_rate, spans.get(t, []), track=t, recording_id=recording_id)
        words += got.words
        failures += len(got.unaligned)
        languages[track_name(t)] = ("en", None) if spans.get(t) else ("unknown", 0.0)
    words.sort(key=lambda w: (w.start, w.track, w.end))
    return WordsResult(tuple(words), languages, alignment_failures=failures,
                       models={track_name(t): "pocketsphinx-en" for t in range(x.shape[0])}, source="aligned")


def transcribe_recording(samples: np.ndarray, sample_rate: int, activity: Sequence, recording: Recording,
                         bleed_db: float | None = None, config: WordsConfig | None = None) -> WordsResult:
    """The words of ``recording`` (``samples`` float32 (n_tracks, n) on A's clock, ``activity`` its
    TrackActivity per track): its transcript aligned when it is text without word times, else recognised."""
    cfg = config or WordsConfig()
    x = np.atleast_2d(np.asarray(samples, np.float32))
    spans, note = transcript_spans(recording)
    if spans is not None:
        return align_transcript(x, sample_rate, spans, recording.recording_id)
    by_track = {getattr(a, "track", i): a for i, a in enumerate(activity)}
    per_track = [by_track.get(t, ()) for t in range(x.shape[0])]
    out = transcribe_tracks(x, sample_rate, per_track, bleed_db, cfg, recording_id=recording.recording_id)
    return replace(out, note=note) if note else out
