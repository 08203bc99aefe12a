"""The words stage for one recording: recognise each track's own speech, or, when the manifest names a
transcript that has text but no word times (utterance-level lines, like Fisher's ``start end A: text``),
align that text to its track instead, so gold text gets word times (``source`` "aligned").

A transcript with word times already (CTM, word alignments) is gold: exports read it from the file and
the stage recognises the tracks as for a recording without one (``source`` "stage").

A transcript that covers only part of its recording (metadata ``transcribed_span_s``: CALLHOME transcribes
10 of up to 30 minutes per call) is aligned there, and the speech outside that stretch is recognised, so
the whole recording has words (``source`` "aligned+stage"); an exporter then never cuts audio whose speech
has no text.
"""

from __future__ import annotations


from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np

from ..config import WordsConfig
from ..errors import InputError
from ..ingest.annotations import has_gold, recording_gold, transcribed_span, utterance_level
from ..model import Recording, Segment, track_name
from ..timeline import Timeline
from .align import align_text_blocks, dictionary_share
from .transcribe import WordsResult, activity_pairs, transcribe_blocks

#: A transcript track whose words the English dictionary knows at least this share of is recorded as English.
ENGLISH_MIN_SHARE = 0.5


def transcript_spans(recording: Recording) -> tuple[dict[int, list[tuple[float, float, str]]] | None, str | None]:
    """(per track: (start_s, end_s, text) of each utterance, when the recording's gold (its transcript, or
    a recipe's per-track transcripts) is text without word times; else None) and a note when named gold
    could not be used."""
    spans, note, _ = transcript_spans_checked(recording)
    return spans, note


def transcript_spans_checked(recording: Recording):
    """``transcript_spans`` and, when the named gold cannot be read, (its path, the problem): an error on
    that file for the scan to tell (a note alone left ``twotrack errors`` empty and the exit code 0)."""
    if not has_gold(recording):
        return None, None, None
    try:
        words = recording_gold(recording)
    except (InputError, OSError) as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        path = getattr(exc, "path", None) or getattr(exc, "filename", None) or recording.metadata.get("transcript", "")
        return None, f"transcript not used: {problem}", (str(path), f"transcript not used: {problem}")
    by_track: dict[int, list] = {t: [] for t in range(recording.n_tracks)}
    elsewhere: dict[int, int] = {}  # entries on a track the recording does not have (Fisher "C:" on a pair)
    # a mono recording holds every speaker on its one track: each speaker's lines are aligned there
    speakers_on_mono = sorted({w.track for w in words}) if recording.is_mono else []
    if len(speakers_on_mono) > 1:
        words = [replace(w, track=0) for w in words]
    for w in words:
        if not (w.end > w.start and w.text.strip()):
            continue
        if 0 <= w.track < recording.n_tracks:
            by_track[w.track].append(w)
        else:
            elsewhere[w.track] = elsewhere.get(w.track, 0) + 1
    if not any(by_track.values()) or not utterance_level(by_track):
        return None, None, None
    note = None
    if len(speakers_on_mono) > 1:
        note = (f"transcript: the lines of {', '.join(track_name(t) for t in speakers_on_mono)} are aligned on the "
                "one track of this mono recording")
    if elsewhere:
        note = (f"transcript: {sum(elsewhere.values())} utterance(s) on track(s) "
                f"{', '.join(track_name(t) for t in sorted(elsewhere))}, which this {recording.n_tracks}-track "
                "recording does not have, not aligned")
    # a line given twice (same track, times and text: transcripts merged from two files) is aligned once;
    # before, its words were stored twice, side by side
    out, repeated = {}, 0
    for t, ws in by_track.items():
        seen, out[t] = set(), []
        for w in sorted(ws, key=lambda w: w.start):
            key = (w.start, w.end, " ".join(w.text.split()))
            if key in seen:
                repeated += 1
            else:
                seen.add(key)
                out[t].append((w.start, w.end, w.text))
    if repeated:
        note = "; ".join(n for n in (note, f"transcript: {repeated} repeated line(s) (same track, times and "
                                           "text) aligned once") if n)
    return out, note, None


def align_transcript(samples: np.ndarray, sample_rate: int, spans: dict[int, list[tuple[float, float, str]]],
                     recording_id: str = "", config: WordsConfig | None = None) -> WordsResult:
    """Every track's utterances aligned to that track's audio (English acoustic model); spans that cannot be
    aligned get no words and are counted in ``alignment_failures``, spans whose text does not fit their audio
    (``words.text_fit``) get none either and are counted in ``unfit_lines``."""
    x = np.atleast_2d(np.asarray(samples, np.float32))
    return align_transcript_blocks([x], sample_rate, x.shape[1] / sample_rate, x.shape[0], spans, recording_id,
                                   config=config)


def align_transcript_blocks(blocks: Iterable[np.ndarray], sample_rate: int, duration_s: float, n_tracks: int,
                            spans: dict[int, list[tuple[float, float, str]]], recording_id: str = "",
                            language: str | None = None, config: WordsConfig | None = None,
                            activity: Sequence | None = None) -> WordsResult:
    """``align_transcript`` over a stream of (n_tracks, m) blocks (memory flat in the recording's length).
    ``language`` (``words.language``): the transcript's language when the user says it; else a track is
    recorded English when the English dictionary knows most of its words, ``unknown`` otherwise. ``activity``
    (per track: TrackActivity, Segments or (n, 2) seconds): the speech a line's words must cover
    (``words.text_fit_min_coverage``); None: coverage not checked."""
    cfg = config or WordsConfig()
    speech = None if activity is None else {t: activity_pairs(a) for t, a in enumerate(activity)}
    got = align_text_blocks(blocks, sample_rate, duration_s, {t: spans.get(t, []) for t in range(n_tracks)},
                            recording_id=recording_id, text_fit=cfg.text_fit, text_fit_max=float(cfg.text_fit_max),
                            activity=speech, text_fit_min_coverage=float(cfg.text_fit_min_coverage))
    words, failures, lines = [], 0, []
    languages: dict[str, tuple[str, float | None]] = {}
    foreign = []
    for t in range(n_tracks):  # per track
        words += got[t].words
        failures += len(got[t].unaligned)
        lines += got[t].lines
        share = dictionary_share(text for _, _, text in spans.get(t, ()))
        # the transcript's language, unless the config says it: English when the English dictionary knows most
        # of its words (before: "en" for any text, a Japanese or Russian transcript too)
        if share is None:
            languages[track_name(t)] = ("unknown", 0.0)
        elif language:
            languages[track_name(t)] = (language, None)
        else:
            languages[track_name(t)] = ("en", None) if share >= ENGLISH_MIN_SHARE else ("unknown", None)
            if share < ENGLISH_MIN_SHARE:
                foreign.append(f"{track_name(t)} {100 * share:.0f}%")
    words.sort(key=lambda w: (w.start, w.track, w.end))
    note = (f"transcript words in the English dictionary: {', '.join(foreign)} (below "
            f"{100 * ENGLISH_MIN_SHARE:.0f}%): language unknown, its words aligned as generic speech (coarse times)"
            if foreign else None)
    return WordsResult(tuple(words), languages, alignment_failures=failures,
                       models={track_name(t): "pocketsphinx-en" for t in range(n_tracks)}, source="aligned",
                       note=note, lines=tuple(sorted(lines, key=lambda ln: (ln.start, ln.track))),
                       text_fit=cfg.text_fit, text_fit_max=float(cfg.text_fit_max))


def transcribe_recording(samples: np.ndarray, sample_rate: int, activity: Sequence, recording: Recording,
                         bleed_db: float | None = None, config: WordsConfig | None = None) -> WordsResult:
    """The words of ``recording`` (``samples`` float32 (n_tracks, n) on A's clock, ``activity`` its
    TrackActivity per track): its transcript aligned when it is text without word times, else recognised."""
    x = np.atleast_2d(np.asarray(samples, np.float32))
    return transcribe_recording_blocks([x], sample_rate, x.shape[1] / sample_rate, x.shape[0], activity, recording,
                                       bleed_db, config, reread=lambda: [x])


def transcribe_recording_blocks(blocks: Iterable[np.ndarray], sample_rate: int, duration_s: float, n_tracks: int,
                                activity: Sequence, recording: Recording, bleed_db: float | None = None,
                                config: WordsConfig | None = None,
                                reread: Callable[[], Iterable[np.ndarray]] | None = None) -> WordsResult:
    """``transcribe_recording`` over a stream of float32 (n_tracks, m) blocks on A's clock lasting
    ``duration_s`` (``run.stages.Decoded.blocks``): only the spans the stage reads are kept, so memory does
    not grow with the recording. ``reread`` opens the same blocks again from the start: with it, the speech
    outside a transcript's ``transcribed_span_s`` is recognised after the transcript is aligned (a second
    read, not a buffer)."""
    cfg = config or WordsConfig()
    spans, note, problem = transcript_spans_checked(recording)
    problems = (problem,) if problem else ()
    if spans is not None:
        spans, past = within_audio(spans, duration_s)
        if past:
            note = "; ".join(n for n in (note, past) if n)
    by_track = {getattr(a, "track", i): a for i, a in enumerate(activity)}
    per_track = [by_track.get(t, ()) for t in range(n_tracks)]
    if spans is not None:
        out = align_transcript_blocks(blocks, sample_rate, duration_s, n_tracks, spans, recording.recording_id,
                                      language=cfg.language or None, config=cfg, activity=per_track)
        rest = untranscribed(transcribed_span(recording.metadata), duration_s)
        if rest and reread is not None:
            outside = [_segments_in(a, rest) for a in per_track]
            if any(outside):
                got = transcribe_blocks(reread(), sample_rate, duration_s, outside, bleed_db, cfg,
                                        recording_id=recording.recording_id, n_tracks=n_tracks)
                out = with_recognised(out, got, rest)
        note = "; ".join(n for n in (note, out.note) if n) or None
        return replace(out, note=note) if note else out
    out = transcribe_blocks(blocks, sample_rate, duration_s, per_track, bleed_db, cfg,
                            recording_id=recording.recording_id, n_tracks=n_tracks)
    return replace(out, note=note, problems=problems) if note else out


def within_audio(spans: dict[int, list[tuple[float, float, str]]], duration_s: float
                 ) -> tuple[dict[int, list[tuple[float, float, str]]] | None, str | None]:
    """The transcript lines that start inside the recording, and a note on those that do not. A transcript none
    of whose lines starts inside the recording is not this recording's (or its times are in another unit, or
    it belongs to a longer original the file was cut from): it is not used (None), so the tracks are recognised,
    and the note says why. Before, every line was counted as "not aligned" and the recording got no words."""
    kept = {t: [x for x in lines if x[0] < duration_s] for t, lines in spans.items()}
    n_past = sum(len(lines) for lines in spans.values()) - sum(len(lines) for lines in kept.values())
    if not n_past:
        return spans, None
    first = min(x[0] for lines in spans.values() for x in lines if x[0] >= duration_s)
    if not any(kept.values()):
        return None, (f"transcript not used: all {n_past} of its lines start after the recording's end "
                      f"({duration_s:.2f} s; the first at {first:.2f} s), so it is not this recording's "
                      "transcript or its times are offset; the tracks are recognised instead")
    return kept, (f"transcript: {n_past} line(s) start after the recording's end ({duration_s:.2f} s; the first "
                  f"at {first:.2f} s), not aligned")


def untranscribed(span: Segment | None, duration_s: float) -> Timeline:
    """The part of a recording of ``duration_s`` outside its transcript's ``span`` (empty without a span)."""
    if span is None:
        return Timeline()
    return Timeline([(0.0, span.start), (span.end, duration_s)]).crop(Segment(0.0, max(duration_s, 0.0)))


def _segments_in(activity_track, where: Timeline) -> list[tuple[float, float]]:
    """A track's activity segments (TrackActivity, Segments or pairs) cut to ``where``."""
    pairs = activity_pairs(activity_track)
    return [(s.start, s.end) for s in Timeline(pairs.tolist()).intersection(where)] if len(pairs) else []


def with_recognised(aligned: WordsResult, recognised: WordsResult, where: Timeline) -> WordsResult:
    """The transcript's aligned words joined by the words recognised in ``where`` (the untranscribed part):
    a recognised word whose middle lies in the transcribed stretch (read there through a chunk's padding)
    is the transcript's to give, so it is left out."""
    words = sorted(list(aligned.words) + [w for w in recognised.words if (w.start + w.end) / 2 in where],
                   key=lambda w: (w.start, w.track, w.end))
    models = {t: " + ".join(dict.fromkeys(m for m in (aligned.models.get(t), recognised.models.get(t)) if m))
              for t in {*aligned.models, *recognised.models}}
    languages = {**recognised.languages, **{t: v for t, v in aligned.languages.items() if v[0] != "unknown"}}
    return replace(aligned, words=tuple(words), languages=languages, models=models, source="aligned+stage",
                   dropped_crosstalk=recognised.dropped_crosstalk, decoded_s=recognised.decoded_s,
                   alignment_failures=aligned.alignment_failures + recognised.alignment_failures,
                   text_windows=recognised.text_windows, text_fallbacks=recognised.text_fallbacks)
