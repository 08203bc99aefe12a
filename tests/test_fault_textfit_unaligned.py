"""A transcript whose every line lies where its track is silent (a vendor's lines on the wrong side, or
shifted past the speech) does not align at all: the words stage stores no word and records each line as
``not aligned``. The export then fell back to the transcript's lines as they are and wrote their text as
gold (a Moshi example with "thank you very much for calling goodbye" over silence). Lines the words stage
could not align are no more text than lines judged not to fit: the recording is left out for having no
text. Real audio: 30 s of the first sample dialogue (data/sample)."""

from __future__ import annotations

import json

import pytest
import soundfile as sf
from cli_run import SAMPLE, excerpt, grant_consent, run

from twotrack.export.run import NO_ALIGNED_TEXT

pytest.importorskip("pocketsphinx")



def test_a_transcript_none_of_whose_lines_align_is_no_text(tmp_path):
    corpus = excerpt(tmp_path / "in").parent
    # track A is silent 3.5-8.0 s and 19.8-24.0 s (track B talks), track B 0.4-2.3 s (A talks)
    (corpus / "call.txt").write_text("3.50 8.00 A: thank you very much for calling goodbye\n"
                                     "19.80 24.00 A: we will see you again next week on monday\n"
                                     "0.40 2.30 B: so how are you doing today my friend\n")
    (corpus / "m.csv").write_text("recording_id,path,speaker_a,speaker_b,license,transcript\n"
                                  "call,call.wav,sa,sb,CC-BY-4.0,call.txt\n")
    ws = tmp_path / "ws"
    assert run("scan", corpus / "m.csv", "-w", ws, "-j", "0", "--no-progress", "--words").exit_code == 0
    shown = json.loads(run("show", "call", "-w", ws, "--json").output)
    assert len(shown["lines"]) == 3 and not shown["words"]
    assert all(not ln["kept"] and ln["reason"].startswith("not aligned") for ln in shown["lines"])
    assert shown["not_aligned_lines"] == 3 and shown["unfit_lines"] == 0
    # before, `show` said nothing of the lines (only "words A: 0") and `stats` nothing either
    text = run("show", "call", "-w", ws).output
    assert "transcript lines not aligned to their audio (no path through their text): 3 of 3" in text
    assert "A 3.50-8.00 s: thank you very much for calling goodbye" in text
    assert "transcript lines not aligned to their audio at all: 3 of 3, on 1 recording(s)" in run(
        "stats", "-w", ws).output
    stats = json.loads(run("stats", "-w", ws, "--json").output)["words"]
    assert stats["not_aligned_lines"] == 3 and stats["recordings_with_not_aligned_lines"] == 1
    grant_consent(ws, tmp_path)
    out = tmp_path / "out"
    assert run("export", "moshi", out, "-w", ws, "--purpose", "commercial-training").exit_code == 0
    record = json.loads((out / ".twotrack" / "export.json").read_text())
    # before: exported as "gold", its alignments the transcript's lines over silence
    assert record["skipped"] == {"call": NO_ALIGNED_TEXT} and record["recordings"] == {}
    assert not any("goodbye" in p.read_text() for p in out.rglob("*.json"))


def test_with_text_fit_keep_the_export_does_not_say_the_kept_lines_were_left_out(tmp_path):
    """``words.text_fit = keep`` keeps an unfit line's words, and the export writes them; its record said
    "1 transcript line(s) whose text does not fit their audio left out of the text" and counted it in
    ``unfit_lines`` all the same. Lines left out are the unfit lines whose words were dropped."""
    from test_words_textfit import CRAYFISH, GREAT_AGE, HERE

    corpus = tmp_path / "in"
    corpus.mkdir()
    rate = sf.info(SAMPLE).samplerate
    x, _ = sf.read(SAMPLE, dtype="float32", start=10 * rate, stop=40 * rate)
    sf.write(corpus / "call.wav", x, rate)
    (corpus / "call.txt").write_text(f"{CRAYFISH[0] - 10:.3f} {CRAYFISH[1] - 10:.3f} A: {CRAYFISH[2]}\n"
                                     f"{GREAT_AGE[0] - 10:.3f} {GREAT_AGE[1] - 10:.3f} A: {HERE[2]}\n")
    (corpus / "m.csv").write_text("recording_id,path,speaker_a,speaker_b,license,transcript\n"
                                  "call,call.wav,sa,sb,CC-BY-4.0,call.txt\n")
    ws = tmp_path / "ws"
    assert run("scan", corpus / "m.csv", "-w", ws, "-j", "0", "--no-progress", "--words",
               "--set", "words.text_fit=keep").exit_code == 0
    shown = json.loads(run("show", "call", "-w", ws, "--json").output)
    assert shown["unfit_lines"] == 1 and [ln["kept"] for ln in shown["lines"]] == [True, True]
    grant_consent(ws, tmp_path)
    out = tmp_path / "out"
    assert run("export", "lhotse", out, "-w", ws, "--purpose", "commercial-training").exit_code == 0
    record = json.loads((out / ".twotrack" / "export.json").read_text())
    entry = record["recordings"]["call"]
    assert "magnificent" in entry["pieces"][0]["text"]["A"]  # the kept line's words are exported ...
    # ... so the record does not say they were left out (before: unfit_lines 1 and that note)
    assert not entry.get("unfit_lines") and not record["summary"]["unfit_lines"]
    assert not any("left out of the text" in n for n in entry["notes"]), entry["notes"]
