"""Ids, paths, speakers and tags holding square brackets (``my[/b]id``, ``[bold]z.wav``, a speaker ``[red]sa``)
are printed as they are by the text outputs (rich would read them as markup). Before, ``show``/``qualify``/
``collapse`` died with rich's MarkupError on a closing tag, and ``show``/``info``/``stats`` printed
``[bold]z.wav`` as a bold ``z.wav`` (a path that does not exist)."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_bracketed_names_are_printed_as_they_are(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    x, rate = sf.read(SAMPLE, dtype="float32", frames=16000 * 12)
    sf.write(corpus / "[bold]z.wav", x, rate)
    sf.write(corpus / "w.wav", x, rate)
    (corpus / "m.csv").write_text("recording_id,path,speaker_a,speaker_b,tags\n"
                                  "my[/b]id,w.wav,[red]sa,sb[/x],register:[bold]casual\n")
    ws = tmp_path / "ws"
    assert run("scan", corpus / "m.csv", corpus / "[bold]z.wav", "-w", ws, "-j", "0", "--no-progress").exit_code == 0

    shown = run("show", "-w", ws, "--", "my[/b]id")
    assert shown.exit_code == 0 and shown.output.startswith("my[/b]id  ok")
    assert "speaker [red]sa" in shown.output and "speaker sb[/x]" in shown.output
    assert f"track A: {corpus / '[bold]z.wav'}" in run("show", "-w", ws, "--", "[bold]z").output
    assert "[bold]z.wav" in run("info", corpus / "[bold]z.wav").output
    stats = run("stats", "-w", ws)
    assert stats.exit_code == 0 and "[red]sa" in stats.output and "[bold]cas" in stats.output
    qualify = run("qualify", "-w", ws)
    assert qualify.exit_code == 0 and "my[/b]id" in qualify.output
