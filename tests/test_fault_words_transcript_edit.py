"""The words stage aligns a manifest transcript's lines; `twotrack show` lists the lines that do not fit or do
not align, and the way to mend one is to fix the transcript and scan again. That rescan reused the stored words
("words: reused 1"): the stage's key held its version, config and upstream, not the transcript, so the fixed
line was never aligned and the exports kept the old words. The words key of a recording with a transcript now
holds the transcript's content. Real audio: 30 s of the first sample dialogue."""

from __future__ import annotations

import json

import pytest
from cli_run import excerpt, run

pytest.importorskip("pocketsphinx")

def test_a_fixed_transcript_is_aligned_again_on_the_next_scan(tmp_path):
    corpus = excerpt(tmp_path / "in").parent
    wrong = "3.50 8.00 A: thank you very much for calling goodbye\n"  # track A is silent here: not aligned
    right = "0.32 2.38 A: it locks is an officers\n"
    (corpus / "call.txt").write_text(wrong)
    (corpus / "m.csv").write_text("recording_id,path,speaker_a,speaker_b,license,transcript\n"
                                  "call,call.wav,sa,sb,CC-BY-4.0,call.txt\n")
    ws = tmp_path / "ws"
    args = ("scan", corpus / "m.csv", "-w", ws, "-j", "0", "--no-progress", "--words", "--json")
    assert run(*args).exit_code == 0
    lines = json.loads(run("show", "call", "-w", ws, "--json").output)["lines"]
    assert [ln["kept"] for ln in lines] == [False]
    again = json.loads(run(*args).output)  # nothing changed: nothing recomputed
    assert again["stages"]["words"].get("reused") == 1, again["stages"]
    (corpus / "call.txt").write_text(right)
    fixed = json.loads(run(*args).output)
    assert fixed["stages"]["words"].get("ok") == 1, fixed["stages"]  # before: reused, the old line kept
    assert not fixed["stages"].get("activity", {}).get("ok")  # only the words stage reads the transcript
    shown = json.loads(run("show", "call", "-w", ws, "--json").output)
    assert [(ln["text"], ln["kept"]) for ln in shown["lines"]] == [("it locks is an officers", True)]
    assert [w["word"] for w in shown["words"]] == ["it", "locks", "is", "an", "officers"]
