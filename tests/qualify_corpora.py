"""Constructed corpora with known verdicts, for the qualify tests (no audio involved).

``clean_corpus()`` is a two-track, isolated, consented, commercially licensed corpus of 8 recordings
(16 speakers, balanced by sex, 4 topics, 2 registers) whose turn-taking numbers are drawn from a
seeded model of telephone conversation (FTO ~ Normal(0.2 s, 0.45 s), ~8 transfers per minute,
overlap about 3 % of speech). It passes all eight requirements with the default config.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from twotrack.model import CheckResult, Isolation, Layout, SourceType
from twotrack.qualify import CorpusInputs, RecordingInputs, RecordingStats, Verdict

TOPICS = ("food", "travel", "work", "sports")
REGISTERS = ("casual", "formal")


def _stats(rng: np.random.Generator, duration_s: float) -> RecordingStats:
    n = int(duration_s / 60 * 8)
    ftos = np.clip(rng.normal(0.2, 0.45, n), -1.5, 2.0)
    speech_a = 0.34 * duration_s + rng.uniform(-5, 5)
    speech_b = 0.30 * duration_s + rng.uniform(-5, 5)
    overlap = 0.03 * (speech_a + speech_b)
    return RecordingStats(
        speech_s=(round(speech_a, 3), round(speech_b, 3)),
        overlap_s=round(overlap, 3),
        n_ipus=(n + 5, n + 3),
        ftos_s=tuple(np.round(ftos, 3).tolist()),
        gaps_s=tuple(np.round(ftos[ftos > 0], 3).tolist()),
        pauses_s=tuple(np.round(rng.gamma(2.0, 0.25, n), 3).tolist()),
        ipus_s=tuple(np.round(rng.gamma(2.0, 0.8, 2 * n), 3).tolist()),
    )


def clean_corpus(n_recordings: int = 8, duration_s: float = 300.0, seed: int = 7) -> CorpusInputs:
    rng = np.random.default_rng(seed)
    recs = []
    speakers = {}
    for i in range(n_recordings):
        a, b = f"s{2 * i:02d}", f"s{2 * i + 1:02d}"
        speakers[a] = {"sex": "female"}
        speakers[b] = {"sex": "male"}
        recs.append(RecordingInputs(
            recording_id=f"rec{i:02d}",
            duration_s=duration_s,
            source_type=SourceType.COMMERCIAL_TWO_TRACK if i % 2 else SourceType.TWO_TRACK,
            layout=Layout.MULTICHANNEL,
            n_tracks=2,
            speakers=(a, b),
            tags={"topic": TOPICS[i % len(TOPICS)], "register": REGISTERS[i % len(REGISTERS)]},
            license="CC-BY-4.0",
            checks=CheckResult(isolation=Isolation.ISOLATED, bleed_db=None),
            stats=_stats(rng, duration_s),
            consent=Verdict(True, ()),
            rights=Verdict(True, ()),
        ))
    return CorpusInputs(recordings=tuple(recs), speakers=speakers, name="constructed-clean")


def replace_recording(corpus: CorpusInputs, recording_id: str, **changes) -> CorpusInputs:
    recs = tuple(dataclasses.replace(r, **changes) if r.recording_id == recording_id else r
                 for r in corpus.recordings)
    return dataclasses.replace(corpus, recordings=recs)


def hours_of(corpus: CorpusInputs, *recording_ids: str) -> float:
    return sum(r.hours for r in corpus.recordings if r.recording_id in recording_ids)
