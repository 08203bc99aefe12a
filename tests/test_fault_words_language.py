"""``words.language`` set to a language other than English while the model is the default English-only tiny.en:
the track is read by the multilingual model (as a track detected in that language is), or, with no multilingual
model configured, the recording's words are an error naming the setting. Before, tiny.en transcribed the
Japanese speech as English words, the stage recorded them as language "ja" read by tiny.en, and skipped their
re-timing (non-English): wrong words with a label saying they were right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

pytest.importorskip("faster_whisper")

from twotrack.cli import main  # noqa: E402
from twotrack.store import Workspace, queries  # noqa: E402

JA = Path(__file__).resolve().parent / "data" / "languages" / "openjtalk_mei_ja.flac"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _scan(tmp_path, *settings):
    ja, rate = sf.read(JA, dtype="float32")
    x = np.zeros((len(ja) + 2 * rate, 2), np.float32)
    x[rate: rate + len(ja), 0] = ja
    corpus = tmp_path / "in"
    corpus.mkdir()
    sf.write(corpus / "ja.wav", x, rate)
    args = ["scan", str(corpus), "-w", str(tmp_path / "ws"), "--words", "-j", "0", "--no-progress"]
    for s in settings:
        args += ["--set", s]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_a_non_english_language_is_read_by_the_multilingual_model(tmp_path):
    result = _scan(tmp_path, "words.language=ja")
    assert result.exit_code == 0, result.output
    shown = json.loads(CliRunner().invoke(main, ["show", "ja", "-w", str(tmp_path / "ws"), "--json"]).output)
    assert shown["languages"]["A"] == {"language": "ja", "probability": None, "model": "base"}
    text = "".join(w["word"] for w in shown["words"] if w["track"] == "A")
    assert len(JAPANESE.findall(text)) >= 5, text


def test_without_a_multilingual_model_it_is_the_recordings_named_error(tmp_path):
    result = _scan(tmp_path, "words.language=ja", "words.multilingual_model=")
    ws = Workspace(tmp_path / "ws")
    (err,) = queries.errors(ws)
    assert err.stage == "words" and err.path == "tiny.en"
    assert err.problem == ("words.language is 'ja' but words model 'tiny.en' reads English only and "
                           "words.multilingual_model is not set")
    assert queries.recording(ws, "ja") is not None and len(queries.activity(ws, "ja")) == 2  # the rest is kept
    assert result.exit_code == 1  # a stage failed: the scan says so
