"""Transcript text beyond ASCII. Before, the aligner's tokens were ``[a-z0-9']`` only: a transcript line in
another script (``так``, ``今日はいい天気ですね``) had no token, so it was skipped: no words, not counted as
unaligned, its text gone from the stored words (and so from the exports, which prefer them); a typographic
apostrophe split ``it’s`` into ``it`` + ``s`` (the letter S's phones) and ``café`` lost its ``é``
(``caf``, not in the dictionary)."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from twotrack.words.align import align_text, transcript_words
from twotrack.words.retime import tokens

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def test_tokens_fold_typography_and_accents_and_keep_other_scripts():
    assert tokens("it\u2019s") == ["it's"]
    assert tokens("Caf\u00e9") == ["cafe"]
    assert tokens("na\u00efve") == ["naive"]
    assert tokens("\ufb01ne") == ["fine"]  # the fi ligature
    assert tokens("\uff21\uff22\uff23") == ["abc"]  # full-width Latin
    assert tokens("\u0442\u0430\u043a") == ["\u0442\u0430\u043a"]  # Cyrillic stays as it is
    assert tokens("\u3067\u3059\u3002") == ["\u3067\u3059"]  # kana keep their voicing marks; the full stop goes
    assert tokens("Hello,") == ["hello"] and tokens("rock-n-roll") == ["rock", "n", "roll"] and tokens("...") == []


def test_a_transcript_line_in_another_script_keeps_its_words():
    assert transcript_words("\u4eca\u65e5\u306f \u0442\u0430\u043a [noise]") == ["\u4eca\u65e5\u306f",
                                                                                   "\u0442\u0430\u043a"]
    x, rate = sf.read(SAMPLE, dtype="float32", start=5 * 16000, stop=20 * 16000)
    spans = [(4.07, 4.24, "\u0442\u0430\u043a"), (6.05, 7.91, "When is a lobster not a lobster?")]
    got = align_text(x.T, rate, spans, track=0)
    assert got.unaligned == ()
    assert [w.text for w in got.words] == ["\u0442\u0430\u043a", "When", "is", "a", "lobster", "not", "a", "lobster?"]
    first = got.words[0]
    assert 4.07 - 0.15 <= first.start < first.end <= 4.24 + 0.15  # inside its (padded) line
