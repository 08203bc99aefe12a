"""A recording the words stage ran on and found no words in (silence, a 0.3 s file), or failed on (a model not
found), is left out of an export with that reason, not with "scan with --words to transcribe it", which the user
had just done."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.export.run import NO_TEXT, NO_WORDS_FOUND, WORDS_FAILED

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_no_words_found_is_told_apart_from_no_words_stage(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    x, rate = sf.read(SAMPLE, dtype="float32", frames=16000 * 4)
    for name, audio in (("quiet", np.zeros_like(x)), ("talk", x)):  # no speech; speech, so a model is needed
        sf.write(corpus / f"{name}.wav", audio, rate)
        (corpus / f"{name}.csv").write_text(f"path,speaker_a,speaker_b,license\n{name}.wav,sa,sb,CC-BY-4.0\n")
    consent = tmp_path / "consent.csv"
    consent.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n" + "".join(
        f"{s},grant,ai-training;commercial-use,2025-01-01,https://example.org/{s},{'0' * 64}\n" for s in ("sa", "sb")))
    missing = ["--set", f"words.model={tmp_path / 'no-such-model'}"]
    for rid, words, reason, says in (("quiet", ["--words"], NO_WORDS_FOUND, "the words stage found no words in it"),
                                     ("quiet", [], NO_TEXT, "no words stored: scan with --words"),
                                     ("talk", ["--words", *missing], WORDS_FAILED, "the words stage failed on it")):
        ws = tmp_path / f"ws{len(words)}"
        scanned = run("scan", corpus / f"{rid}.csv", "-w", ws, "-j", "0", "--no-progress", *words)
        assert scanned.exit_code == (1 if reason == WORDS_FAILED else 0)  # a failed stage is a failure to report
        assert run("consent", "import", consent, "-w", ws).exit_code == 0
        got = run("export", "moshi", tmp_path / f"out{len(words)}", "-w", ws, "--purpose", "commercial-training", "--json")
        assert json.loads(got.output)["skipped"] == {rid: reason}
        said = run("export", "moshi", tmp_path / f"out{len(words)}", "-w", ws, "--purpose", "commercial-training")
        assert f"{rid}: no gold transcript" in said.output and says in said.output
