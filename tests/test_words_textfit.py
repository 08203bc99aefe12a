"""A transcript line whose text is not what was said on its span (a vendor's lines shifted by one) is
force-aligned all the same: the wide-beam retry fits almost any text. The words stage now measures each
aligned line's text fit (``words.textfit``: the alignment's score per frame over a free phone loop's, and the
share of the span's speech its words cover) and, by default, a line that does not fit keeps no word times and
is recorded with the reason. Real audio: the first sample dialogue (data/sample), track A's lines from its CTM
(grouped at pauses of 0.5 s, as benchmarks/bench_textfit.py does)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from cli_run import grant_consent

from twotrack.config import TEXT_FIT_MAX, TEXT_FIT_MIN_COVERAGE, Config, WordsConfig
from twotrack.errors import ConfigError
from twotrack.export.run import NO_FITTING_TEXT
from twotrack.model import TEXT_UNFIT, Layout, Recording, TrackSource
from twotrack.words.textfit import speech_coverage

pytest.importorskip("pocketsphinx")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "clean" / "demo01_367_1688.flac"
# track A's lines of demo01 (its CTM words grouped at pauses of 0.5 s or more)
CRAYFISH = (13.438, 18.668, "when it is a crayfish for what is collapsing front desk at not all upset all")
GREAT_AGE = (25.147, 33.28, "that great age that is the crayfish tires is having her place them on any content "
                            "that gets me is not the delicate player as that he still has an")
HERE = (37.1, 43.514, "it is here that most magnificent to mr ames in as he did not set out a new techniques its "
                      "highest production")
LOBSTER = (49.898, 58.397, "not selling you very good one hundred lobster the one teaspoon full bladder one half "
                           "kind of clean fields of war against")
AND = (65.199, 65.379, "and")


def test_speech_coverage_is_the_share_of_the_spans_speech_under_the_words():
    act = np.array([[0.0, 2.0], [3.0, 5.0], [9.0, 10.0]])  # 1 s of it (9-10) lies outside the span
    assert speech_coverage(np.array([[0.5, 1.5], [3.0, 4.0]]), act, 0.0, 6.0) == pytest.approx(0.5)
    assert speech_coverage(np.array([[np.nan, np.nan], [0.0, 6.0]]), act, 0.0, 6.0) == pytest.approx(1.0)
    assert speech_coverage(np.zeros((0, 2)), act, 0.0, 6.0) == 0.0
    assert speech_coverage(np.array([[0.0, 1.0]]), act, 6.0, 8.0) is None  # no speech in the span


@pytest.mark.parametrize("key,value", [("text_fit", "flag"), ("text_fit_max", 1.0), ("text_fit_max", "nan"),
                                       ("text_fit_min_coverage", 1.0), ("text_fit_min_coverage", -0.1)])
def test_bad_text_fit_settings_are_refused(key, value):
    with pytest.raises(ConfigError, match=f"words.{key}"):
        WordsConfig(**{key: value})


@pytest.fixture(scope="module")
def demo01():
    """demo01's tracks and its activity, from twotrack's own decode, checks and activity stages."""
    from twotrack.ingest.manifest import read_manifest
    from twotrack.run import stages

    cfg = Config()
    rec = next(r for r in read_manifest(ROOT / "data" / "sample" / "manifest.csv", cfg, hash_files=False).recordings
               if r.recording_id == "clean/demo01_367_1688")
    dec = stages.decode_recording(rec, cfg)
    chk = stages.check_recording(dec, rec, cfg)
    act, _, _ = stages.detect_activity(dec, rec, cfg, chk)
    x, rate = sf.read(SAMPLE, dtype="float32")
    return x.T.copy(), rate, sorted(act, key=lambda a: a.track)


def _aligned(tmp_path, demo01, lines, **words):
    from twotrack.words.recording import transcribe_recording

    x, rate, act = demo01
    tr = tmp_path / "call.txt"
    tr.write_text("".join(f"{s:.3f} {e:.3f} A: {text}\n" for s, e, text in lines))
    rec = Recording("call", (TrackSource(str(SAMPLE), 0), TrackSource(str(SAMPLE), 1)), Layout.MULTICHANNEL,
                    transcript=str(tr))
    return transcribe_recording(x, rate, act, rec, config=WordsConfig(**words))


def _words_in(got, start, end):
    return [w for w in got.words if w.track == 0 and start <= (w.start + w.end) / 2 <= end]


def test_a_right_line_keeps_its_words_and_shifted_lines_are_flagged(tmp_path, demo01):
    """Lines as a vendor shifted by one: the span of "that great age ..." holds the next line's text (it aligns,
    fit about 2.8), and the span of "not selling you ..." holds the last line's "and" (it aligns with a good
    score, the rest of the 8.5 s turn absorbed as noise: its one word covers little of the speech). Before,
    both got word times (as with ``text_fit = "off"`` now)."""
    got = _aligned(tmp_path, demo01, [CRAYFISH, (*GREAT_AGE[:2], HERE[2]), (*LOBSTER[:2], AND[2])])
    assert got.source == "aligned" and len(got.lines) == 3
    right, shifted, short = got.lines
    assert right.kept and right.reason is None
    assert right.fit < TEXT_FIT_MAX and right.coverage >= TEXT_FIT_MIN_COVERAGE
    assert len(_words_in(got, *CRAYFISH[:2])) == len(CRAYFISH[2].split())
    assert not shifted.kept and shifted.reason.startswith(TEXT_UNFIT) and shifted.fit > TEXT_FIT_MAX
    assert not short.kept and short.reason.startswith(TEXT_UNFIT) and short.coverage < TEXT_FIT_MIN_COVERAGE
    assert _words_in(got, *GREAT_AGE[:2]) == [] and _words_in(got, *LOBSTER[:2]) == []
    assert got.unfit_lines == 2
    assert "2 of 3 line(s) whose text does not fit their audio" in got.summary()
    # "keep": the lines are recorded as not fitting, their words stay; "off": nothing measured
    kept = _aligned(tmp_path, demo01, [CRAYFISH, (*GREAT_AGE[:2], HERE[2])], text_fit="keep")
    assert kept.unfit_lines == 1 and _words_in(kept, *GREAT_AGE[:2]) != []
    assert "words kept (words.text_fit = keep)" in kept.summary()
    off = _aligned(tmp_path, demo01, [CRAYFISH, (*GREAT_AGE[:2], HERE[2])], text_fit="off")
    assert off.unfit_lines == 0 and all(ln.fit is None for ln in off.lines) and _words_in(off, *GREAT_AGE[:2])


def run(*args):
    from twotrack.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_show_stats_and_export_count_the_lines_left_out(tmp_path):
    """Through the CLI on a 30 s excerpt (demo01 10-40 s, both tracks) with a transcript whose second A line
    holds the next line's text: `show --json` lists both lines with their fit and counts 1 unfit, `stats`
    says so, and the Parquet export leaves that line's text out and records it in export.json. A second
    excerpt whose only line is that wrong one is left out of the export for having no text."""
    corpus = tmp_path / "in"
    corpus.mkdir()
    x, rate = sf.read(SAMPLE, dtype="float32", start=10 * rate_of(SAMPLE), stop=40 * rate_of(SAMPLE))
    sf.write(corpus / "call.wav", x, rate)
    (corpus / "call.txt").write_text(f"{CRAYFISH[0] - 10:.3f} {CRAYFISH[1] - 10:.3f} A: {CRAYFISH[2]}\n"
                                     f"{GREAT_AGE[0] - 10:.3f} {GREAT_AGE[1] - 10:.3f} A: {HERE[2]}\n")
    # a second call whose one line is the wrong one: no line left, so no text at all
    y, _ = sf.read(SAMPLE, dtype="float32", start=20 * rate_of(SAMPLE), stop=50 * rate_of(SAMPLE))
    sf.write(corpus / "wrong.wav", y, rate)
    (corpus / "wrong.txt").write_text(f"{GREAT_AGE[0] - 20:.3f} {GREAT_AGE[1] - 20:.3f} A: {HERE[2]}\n")
    (corpus / "m.csv").write_text("recording_id,path,speaker_a,speaker_b,license,transcript\n"
                                  "call,call.wav,sa,sb,CC-BY-4.0,call.txt\nwrong,wrong.wav,sa,sb,CC-BY-4.0,wrong.txt\n")
    ws = tmp_path / "ws"
    assert run("scan", corpus / "m.csv", "-w", ws, "-j", "0", "--no-progress", "--words").exit_code == 0
    shown = json.loads(run("show", "call", "-w", ws, "--json").output)
    assert shown["unfit_lines"] == 1 and [ln["kept"] for ln in shown["lines"]] == [True, False]
    assert shown["lines"][0]["fit"] < TEXT_FIT_MAX < shown["lines"][1]["fit"]
    assert shown["lines"][1]["reason"].startswith(TEXT_UNFIT)
    assert not {w["word"] for w in shown["words"]} & {"magnificent", "production", "techniques"}
    words_stage = next(s for s in shown["stages"] if s["stage"] == "words")
    assert "1 of 2 line(s) whose text does not fit their audio" in words_stage["note"]
    assert "transcript lines whose text does not fit their audio: 1 of 2" in run("show", "call", "-w", ws).output
    assert "transcript lines whose text does not fit their audio: 2 of 3 aligned, on 2 recording(s)" in run(
        "stats", "-w", ws).output
    grant_consent(ws, tmp_path)
    out = tmp_path / "out"
    assert run("export", "parquet", out, "-w", ws, "--purpose", "commercial-training").exit_code == 0
    record = json.loads((out / ".twotrack" / "export.json").read_text())
    assert record["recordings"]["call"]["unfit_lines"] == 1 and record["summary"]["unfit_lines"] == 1
    # before, with no stored word the export fell back to the transcript's lines as they are: the wrong text
    assert record["skipped"] == {"wrong": NO_FITTING_TEXT}
    import pyarrow.parquet as pq

    text = " ".join(str(v) for f in out.rglob("*.parquet") for v in pq.read_table(f).to_pylist())
    assert "crayfish" in text and "magnificent" not in text


def rate_of(path) -> int:
    return sf.info(path).samplerate
