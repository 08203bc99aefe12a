"""The words stage on speech that is not the sample's read English, as a user runs it (`scan --words`, default
language handling): a Japanese track beside an English one (language detected per track, Japanese transcribed
by the multilingual model, per-token times on that track's own speech), a track in a language Whisper does not
know (recorded as unknown), and a real spontaneous recording whose Praat TextGrid (utterance text, no word
times) is its manifest transcript (aligned, source "aligned").

Fixtures: tests/data/languages (Open JTalk and eSpeak NG synthesis, PROVENANCE.md there) and
tests/data/annotations (michaelandsickmichael: MFA test recording and TextGrid, MIT)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

pytest.importorskip("faster_whisper")
pytest.importorskip("pocketsphinx")

from twotrack.cli import main  # noqa: E402
from twotrack.ingest.annotations import read_textgrid  # noqa: E402
from twotrack.store import Workspace, queries  # noqa: E402
from twotrack.words import score  # noqa: E402
from twotrack.words.align import transcript_words  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
JA = DATA / "languages" / "openjtalk_mei_ja"
EO = DATA / "languages" / "espeak_eo"
MFA = DATA / "annotations" / "michaelandsickmichael"
JA_AT = 1.0  # where the Japanese speech is placed on track A (seconds)
EN_AT = 10.0  # where the English speech is placed on track B
EN_SPAN = (1.0, 7.6)  # the first utterance of the MFA recording's channel 0 (TextGrid: 1.06-7.54 s)
#: Hiragana, katakana and CJK ideographs: what a Japanese transcript is written in.
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """ja_en: two tracks at 16 kHz, A Japanese (7.8 s from 1.0 s), B English (6.6 s of the MFA recording's
    first utterance from 10.0 s), each silent while the other speaks; eo: A Esperanto (7.0 s from 1.0 s), B
    silent; mfa: the MFA recording with its TextGrid as transcript."""
    d = tmp_path_factory.mktemp("languages_corpus")
    ja, rate = sf.read(JA.with_suffix(".flac"), dtype="float32")
    mfa, mfa_rate = sf.read(MFA.with_suffix(".flac"), dtype="float32", always_2d=True)
    assert rate == mfa_rate == 16000
    en = mfa[int(EN_SPAN[0] * rate): int(EN_SPAN[1] * rate), 0]
    x = np.zeros((int((EN_AT + len(en) / rate + 1.0) * rate), 2), np.float32)
    x[int(JA_AT * rate): int(JA_AT * rate) + len(ja), 0] = ja
    x[int(EN_AT * rate): int(EN_AT * rate) + len(en), 1] = en
    sf.write(d / "ja_en.flac", x, rate, subtype="PCM_16")
    eo, eo_rate = sf.read(EO.with_suffix(".flac"), dtype="float32")
    assert eo_rate == rate
    y = np.zeros((int((JA_AT + len(eo) / rate + 1.0) * rate), 2), np.float32)
    y[int(JA_AT * rate): int(JA_AT * rate) + len(eo), 0] = eo
    sf.write(d / "eo.flac", y, rate, subtype="PCM_16")
    shutil.copy(MFA.with_suffix(".flac"), d / "mfa.flac")
    shutil.copy(MFA.with_suffix(".TextGrid"), d / "mfa.TextGrid")
    (d / "manifest.csv").write_text(
        "recording_id,path,speaker_a,speaker_b,license,transcript\n"
        "ja_en,ja_en.flac,mei,michael,CC-BY-3.0,\n"
        "eo,eo.flac,espeak,nobody,CC0-1.0,\n"
        "mfa,mfa.flac,michael,sickmichael,MIT,mfa.TextGrid\n")
    return d


@pytest.fixture(scope="module")
def scanned(corpus, tmp_path_factory):
    ws = str(tmp_path_factory.mktemp("languages_ws") / "ws")
    res = run("scan", str(corpus / "manifest.csv"), "-w", ws, "-j", "0", "--no-progress", "--json", "--words")
    assert res.exit_code == 0, res.stdout
    assert json.loads(res.stdout)["stages"]["words"] == {"ok": 3}
    return ws


def test_japanese_track_is_detected_and_transcribed_by_the_multilingual_model(scanned):
    d = json.loads(run("show", "ja_en", "-w", scanned, "--json").stdout)
    langs = d["languages"]
    assert langs["A"]["language"] == "ja" and langs["A"]["probability"] > 0.5
    assert langs["A"]["model"] == "base"  # the English-only default model does not read Japanese
    assert langs["B"]["language"] == "en" and langs["B"]["model"] == "tiny.en"
    a = [w for w in d["words"] if w["track"] == "A"]
    b = [w for w in d["words"] if w["track"] == "B"]
    # Japanese comes out as Japanese, one entry per recogniser token (often one character): no spaces to
    # split words on
    assert len(a) >= 15 and sum(bool(JAPANESE.search(w["word"])) for w in a) >= 0.9 * len(a)
    assert not any(JAPANESE.search(w["word"]) for w in b) and len(b) >= 10
    # close to the text spoken (character error rate; 2 of 39 characters wrong when measured)
    ref = JA.with_suffix(".txt").read_text(encoding="utf-8")
    errors, n = score.cer(ref, "".join(w["word"] for w in a))
    assert errors / n <= 0.25, "".join(w["word"] for w in a)
    # times inside the track's own speech: the activity stage's segments (padded as the stage pads them),
    # and the span where the Japanese audio was placed
    segs = {t["track"]: np.asarray(t["segments"]) for t in d["activity"]}
    ja_len = sf.info(JA.with_suffix(".flac")).duration
    for w in a:
        assert JA_AT - 0.25 <= w["start"] <= w["end"] <= JA_AT + ja_len + 0.25, w
        mid = (w["start"] + w["end"]) / 2
        assert np.any((segs[0][:, 0] - 0.2 <= mid) & (mid <= segs[0][:, 1] + 0.2)), w
    starts = np.array([w["start"] for w in a])
    assert np.all(np.diff(starts) >= 0) and starts[-1] - starts[0] > 0.6 * ja_len  # spread over the speech
    # each phrase's first token against the synthesizer's true phrase onset (its pauses are 0.4 s): Whisper's
    # per-token times, snapped at activity edges, no forced alignment for Japanese (coarse by design)
    phrases = [line.split("\t") for line in JA.with_suffix(".phrases.tsv").read_text(encoding="utf-8").splitlines()
               if not line.startswith("#")]
    for start, end, _ in phrases:
        inside = [w["start"] for w in a if JA_AT + float(start) - 0.2 <= w["start"] < JA_AT + float(end)]
        assert inside and abs(min(inside) - (JA_AT + float(start))) <= 0.15, (start, inside[:3])
    for w in b:
        assert EN_AT - 0.25 <= w["start"] <= w["end"] <= EN_AT + EN_SPAN[1] - EN_SPAN[0] + 0.25, w


def test_a_language_whisper_does_not_know_is_recorded_as_unknown(scanned):
    d = json.loads(run("show", "eo", "-w", scanned, "--json").stdout)
    a, b = d["languages"]["A"], d["languages"]["B"]
    # Esperanto: base's best guess (Spanish) is below the 0.5 the stage asks for
    assert a["language"] == "unknown" and 0.0 < a["probability"] < 0.5 and a["model"] == "base"
    assert b["language"] == "unknown" and b["probability"] == 0.0  # a track without speech
    # still transcribed (the multilingual model chooses per window), on the track's speech only
    words = d["words"]
    assert len(words) >= 5 and {w["track"] for w in words} == {"A"}
    eo_len = sf.info(EO.with_suffix(".flac")).duration
    assert all(JA_AT - 0.25 <= w["start"] <= w["end"] <= JA_AT + eo_len + 0.25 for w in words), words
    stats = json.loads(run("stats", "-w", scanned, "--json").stdout)
    assert stats["words"]["track_languages"]["unknown"] >= 2


def test_textgrid_utterances_are_aligned_as_gold_text(scanned):
    stored = queries.words(Workspace(scanned), "mfa")
    assert stored.source == "aligned"
    utts = read_textgrid(MFA.with_suffix(".TextGrid"))
    for t in (0, 1):
        mine = [w for w in stored.words if w.track == t]
        spans = [u for u in utts if u.track == t]
        # the transcript's own words (fillers and "yknow" as written), every utterance aligned
        assert [w.text for w in mine] == [x for u in spans for x in transcript_words(u.text)]
        # each word inside its utterance interval (the aligner reads 0.15 s either side)
        for w in mine:
            assert any(u.start - 0.15 <= w.start and w.end <= u.end + 0.15 for u in spans), w
    # the real recording, on its own clock: the first aligned word of each channel starts near its utterance
    first = {t: min(w.start for w in stored.words if w.track == t) for t in (0, 1)}
    assert abs(first[0] - 1.06) < 0.2


def test_wer_rules_for_spontaneous_speech_and_cer_for_unspaced_text():
    ref = "we're just yknow um there's some uh speech errors alright"
    hyp = "We\u2019re just, you know, there's some speech errors. All right."
    assert score.spoken_tokens(ref, fillers=False) == ["we're", "just", "you", "know", "there's", "some",
                                                       "speech", "errors", "all", "right"]
    assert score.wer_spoken(ref, hyp, fillers=False) == (0, 10)
    assert score.wer_spoken(ref, hyp, fillers=True) == (2, 12)  # the recogniser left out both fillers
    # punctuation out; one character wrong
    assert score.cer("今日は、良い天気。", "今日はいい天気") == (1, 7)
