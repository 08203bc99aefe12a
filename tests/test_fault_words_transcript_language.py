"""The language recorded for a track whose transcript text is aligned. Before, every aligned track was
recorded ``en`` whatever its text: a Japanese transcript too (and its lines, then ASCII-only tokens, had no
word). Now a track is ``en`` when the English dictionary knows most of its words, ``unknown`` (with a note)
otherwise, and ``words.language`` names the transcript's language when the user knows it."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from twotrack.words.align import dictionary_share
from twotrack.words.recording import align_transcript_blocks

LANG = Path(__file__).parent / "data" / "languages"


def _phrases():
    rows = [line.split("\t") for line in (LANG / "openjtalk_mei_ja.phrases.tsv").read_text("utf-8").splitlines()
            if line and not line.startswith("#")]
    return [(float(a), float(b), text) for a, b, text in rows]


def test_dictionary_share_tells_english_text_from_other_scripts():
    assert dictionary_share(["yeah um i think [laughter] ((so)) uh-huh", "you know it's like okay"]) > 0.9
    assert dictionary_share(["\u4eca\u65e5\u306f\u3068\u3066\u3082"]) == 0.0
    assert dictionary_share(["[noise]"]) is None


def test_a_japanese_transcript_is_not_recorded_as_english():
    x, rate = sf.read(LANG / "openjtalk_mei_ja.flac", dtype="float32", always_2d=True)
    spans = {0: _phrases()}
    got = align_transcript_blocks([x.T], rate, x.shape[0] / rate, 1, spans, "ja")
    assert got.languages == {"A": ("unknown", None)}
    assert "A 0%" in got.note and "language unknown" in got.note
    assert "".join(w.text for w in got.words) == "".join(t for _, _, t in spans[0])  # every phrase kept
    said = align_transcript_blocks([x.T], rate, x.shape[0] / rate, 1, spans, "ja", language="ja")
    assert said.languages == {"A": ("ja", None)} and said.note is None
