"""A recording the words stage ran on and found no words in (silence, a 0.3 s file) is left out of an export
with that reason, not with "scan with --words to transcribe it", which the user had just done."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.export.run import NO_TEXT, NO_WORDS_FOUND


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_no_words_found_is_told_apart_from_no_words_stage(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    sf.write(corpus / "quiet.wav", np.zeros((16000 * 2, 2), np.float32), 16000)
    (corpus / "m.csv").write_text("path,speaker_a,speaker_b,license\nquiet.wav,sa,sb,CC-BY-4.0\n")
    consent = tmp_path / "consent.csv"
    consent.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n" + "".join(
        f"{s},grant,ai-training;commercial-use,2025-01-01,https://example.org/{s},{'0' * 64}\n" for s in ("sa", "sb")))
    for words, reason, says in ((True, NO_WORDS_FOUND, "the words stage found no words in it"),
                                (False, NO_TEXT, "no words stored: scan with --words")):
        ws = tmp_path / f"ws{words}"
        assert run("scan", corpus / "m.csv", "-w", ws, "-j", "0", "--no-progress",
                   *(["--words"] if words else [])).exit_code == 0
        assert run("consent", "import", consent, "-w", ws).exit_code == 0
        got = run("export", "moshi", tmp_path / f"out{words}", "-w", ws, "--purpose", "commercial-training", "--json")
        assert json.loads(got.output)["skipped"] == {"quiet": reason}
        said = run("export", "moshi", tmp_path / f"out{words}", "-w", ws, "--purpose", "commercial-training")
        assert f"quiet: no gold transcript" in said.output and says in said.output
