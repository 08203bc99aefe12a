"""Speech without words (turns.wordless) on a real excerpt of the sample dialogue, through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli_run import excerpt, run
from twotrack.model import Segment
from twotrack.turns.wordless import WORD_TOLERANCE_S, pooled, touched, wordless_track

GOLD = Path(__file__).resolve().parents[1] / "data" / "sample" / "gold" / "demo01_367_1688.ctm"
SECONDS = 30.0


def _ctm(lines) -> list[tuple[str, float, float]]:
    """(channel, start, end) of every word line of a CTM's text lines."""
    out = []
    for ln in lines:
        if ln.strip() and not ln.startswith(";;"):
            _, ch, start, dur, _ = ln.split()
            out.append((ch, float(start), float(start) + float(dur)))
    return out


def _touches(a: float, b: float, s: float, e: float) -> bool:
    return s < b + WORD_TOLERANCE_S and e > a - WORD_TOLERANCE_S


def _speech_inside(segments, a: float, b: float) -> float:
    return sum(max(0.0, min(e, b) - max(s, a)) for s, e in segments)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A 30 s excerpt of clean demo01 scanned three times over by one manifest: with its gold CTM (``full``),
    with a CTM missing one utterance of A and every word of B (``holed``), and with no transcript (``bare``)."""
    root = tmp_path_factory.mktemp("wordless")
    excerpt(root, SECONDS, "call.wav")
    lines = GOLD.read_text().splitlines()
    (root / "full.ctm").write_text("\n".join(lines) + "\n")
    ws = root / "ws"
    (root / "manifest.csv").write_text(
        "recording_id,path,speaker_a,speaker_b,license,transcript\n"
        "full,call.wav,sa,sb,CC-BY-4.0,full.ctm\n"
        "holed,call.wav,sa,sb,CC-BY-4.0,holed.ctm\n"
        "bare,call.wav,sa,sb,CC-BY-4.0,\n")
    (root / "holed.ctm").write_text("\n".join(lines) + "\n")  # rewritten below, once IPUs are known
    assert run("scan", root / "manifest.csv", "-w", ws, "-j", "0").exit_code == 0
    full = json.loads(run("show", "full", "-w", ws, "--json").output)
    # the hole: the third IPU of A that starts and ends inside the excerpt; every word touching it goes
    a_ipus = [(e["start"], e["end"]) for e in full["events"] if e["kind"] == "ipu" and e["track"] == 0
              and e["end"] < SECONDS - 1]
    hole = a_ipus[2]
    kept = [ln for ln in lines if ln.startswith(";;") or not ln.strip() or not (
        ln.split()[1] == "B" or _touches(*hole, float(ln.split()[2]), float(ln.split()[2]) + float(ln.split()[3])))]
    assert len(kept) < len(lines)
    (root / "holed.ctm").write_text("\n".join(kept) + "\n")
    return {"root": root, "ws": ws, "full": full, "hole": hole, "kept": _ctm(kept), "lines": lines}


def test_gold_words_leave_little_speech_without_words(corpus):
    w = corpus["full"]["wordless"]
    assert w["source"] == "gold" and w["tolerance_s"] == WORD_TOLERANCE_S
    activity = {a["track"]: a for a in corpus["full"]["activity"]}
    for t in w["tracks"]:
        assert t["speech_s"] == pytest.approx(activity[t["track"]]["speech_s"], abs=1e-3)
        # read speech of a clean dialogue: every IPU holds a word (0.0 on the whole sample, notes)
        assert t["share"] < 0.02
        assert t["wordless_s"] == pytest.approx(sum(i["speech_s"] for i in t["wordless_ipus"]), abs=1e-2)


def test_an_utterance_without_its_words_is_listed_with_its_seconds(corpus):
    d = json.loads(run("show", "holed", "-w", corpus["ws"], "--json").output)
    a = next(t for t in d["wordless"]["tracks"] if t["name"] == "A")
    full_a = next(t for t in corpus["full"]["wordless"]["tracks"] if t["name"] == "A")
    added = [i for i in a["wordless_ipus"] if i not in full_a["wordless_ipus"]]
    start, end = corpus["hole"]
    segments = next(x["segments"] for x in d["activity"] if x["track"] == 0)
    assert [(i["start"], i["end"]) for i in added] == [(round(start, 3), round(end, 3))]
    assert added[0]["duration"] == pytest.approx(end - start, abs=1e-3)
    assert added[0]["speech_s"] == pytest.approx(_speech_inside(segments, start, end), abs=1e-3)
    assert a["wordless_s"] == pytest.approx(full_a["wordless_s"] + added[0]["speech_s"], abs=2e-3)
    # the text output says it in one line per track
    text = run("show", "holed", "-w", corpus["ws"]).output
    assert f"speech without words A: {a['wordless_s']:.1f} of {a['speech_s']:.1f} s" in text


def test_a_track_with_speech_and_no_word_is_all_wordless(corpus):
    d = json.loads(run("show", "holed", "-w", corpus["ws"], "--json").output)
    b = next(t for t in d["wordless"]["tracks"] if t["name"] == "B")
    assert b["speech_s"] > 5 and b["share"] == 1.0 and b["wordless_s"] == b["speech_s"]
    n_ipus = sum(1 for e in d["events"] if e["kind"] == "ipu" and e["track"] == 1)
    assert len(b["wordless_ipus"]) == n_ipus


def test_no_words_is_null_not_zero(corpus):
    d = json.loads(run("show", "bare", "-w", corpus["ws"], "--json").output)
    assert d["activity"] and d["wordless"] is None
    assert "speech without words" not in run("show", "bare", "-w", corpus["ws"]).output


def test_stats_pools_recordings_with_words(corpus):
    d = json.loads(run("stats", "-w", corpus["ws"], "--json", "--wordless").output)["wordless"]
    shows = [json.loads(run("show", r, "-w", corpus["ws"], "--json").output)["wordless"] for r in ("full", "holed")]
    assert d["recordings"] == 2 and d["sources"] == {"gold": 2}
    for name in ("A", "B"):
        mine = [t for s in shows for t in s["tracks"] if t["name"] == name]
        speech, lone = sum(t["speech_s"] for t in mine), sum(t["wordless_s"] for t in mine)
        assert d["tracks"][name]["share"] == pytest.approx(lone / speech, abs=1e-4)
    assert "speech without words:" in run("stats", "-w", corpus["ws"], "--wordless").output
    # not asked for: not read (it loads every result and transcript), null in the JSON
    assert json.loads(run("stats", "-w", corpus["ws"], "--json").output)["wordless"] is None


def test_tolerance_decides_whether_a_word_touches(corpus):
    """A word ending just before an IPU (within the tolerance) touches it; one further away does not."""
    d = corpus["full"]
    ipu = next((e["start"], e["end"]) for e in d["events"] if e["kind"] == "ipu" and e["track"] == 0)
    segments = [Segment(s, e) for s, e in next(x["segments"] for x in d["activity"] if x["track"] == 0)]
    near = [Segment(ipu[0] - 0.5, ipu[0] - WORD_TOLERANCE_S / 2)]
    far = [Segment(ipu[0] - 0.5, ipu[0] - 2 * WORD_TOLERANCE_S)]
    ipus = [Segment(*ipu)]
    assert wordless_track(segments, ipus, near)["wordless_ipus"] == []
    got = wordless_track(segments, ipus, far)
    assert [(i["start"], i["end"]) for i in got["wordless_ipus"]] == [(round(ipu[0], 3), round(ipu[1], 3))]
    assert touched(np.array([ipu[0]]), np.array([ipu[1]]), np.array([near[0].start]), np.array([near[0].end]))[0]


def test_pooled_leaves_out_recordings_without_words():
    assert pooled([None, None]) == {"recordings": 0, "sources": {}, "tolerance_s": WORD_TOLERANCE_S, "tracks": {},
                                    "all": {"speech_s": 0.0, "wordless_s": 0.0, "share": None}}


def test_report_gives_each_recording_with_words_its_share(corpus):
    import re

    out = corpus["root"] / "report.html"
    assert run("report", "-w", corpus["ws"], "-o", out).exit_code == 0
    rows = re.findall(r'<tr><td><a href="#[^"]*">([^<]+)</a></td>((?:(?!</tr>).)*)</tr>', out.read_text(), re.S)
    cells = {rid: re.search(r'<td class="wordless">(.*?)</td>', row, re.S).group(1) for rid, row in rows
             if '<td class="wordless">' in row}
    holed = json.loads(run("show", "holed", "-w", corpus["ws"], "--json").output)["wordless"]["tracks"]
    assert cells["bare"] == "–"
    assert cells["holed"] == " / ".join(f"{100 * t['share']:.1f}%" for t in holed)
    assert cells["holed"].endswith("100.0%")


def test_above_its_bound_the_report_leaves_it_out_and_says_so(corpus, monkeypatch):
    """The report and the explorer read every recording-with-words' result for the column (about 10 ms each):
    on a Fisher-sized workspace that is minutes. Above ``WORDLESS_ROWS_MAX`` recordings with words the column
    is left empty and the report says where to get the figure instead."""
    import re

    from twotrack.show import data

    monkeypatch.setattr(data, "WORDLESS_ROWS_MAX", 1)
    out = corpus["root"] / "report-bounded.html"
    assert run("report", "-w", corpus["ws"], "-o", out).exit_code == 0
    html = out.read_text()
    assert "speech without words is not shown for" in html and "twotrack stats --wordless" in html
    assert set(re.findall(r'<td class="wordless">(.*?)</td>', html, re.S)) == {"–"}


def test_without_stored_events_ipus_come_from_activity_as_the_events_stage_builds_them(corpus):
    """A recording whose events stage stored nothing: its IPUs are built from the activity with the default
    pause threshold, the same IPUs the events stage stored under the default config."""
    import dataclasses

    from twotrack.store import Workspace, queries
    from twotrack.turns.wordless import recording_ipus

    result = queries.result(Workspace(corpus["ws"]), "full")
    stored = recording_ipus(result)
    built = recording_ipus(dataclasses.replace(result, events=()))
    assert set(stored) == set(built) == {0, 1}
    for t in stored:
        assert [(round(s.start, 3), round(s.end, 3)) for s in built[t]] == \
            [(round(s.start, 3), round(s.end, 3)) for s in stored[t]]


def test_a_transcript_of_part_of_the_recording_measures_only_that_part(tmp_path):
    """CALLHOME transcribes 10 of up to 30 minutes (metadata ``transcribed_span_s``): speech outside that stretch
    has no transcript, not no words. Before, a transcript of the excerpt's first 15 s read 60 % (A) and 44 % (B)
    of the speech as wordless: every IPU after 15 s."""
    excerpt(tmp_path, SECONDS, "call.wav")
    kept = [ln for ln in GOLD.read_text().splitlines()
            if ln.strip() and not ln.startswith(";;") and float(ln.split()[2]) < 15.0]
    (tmp_path / "part.ctm").write_text("\n".join(kept) + "\n")
    (tmp_path / "manifest.csv").write_text("recording_id,path,speaker_a,speaker_b,license,transcript,"
                                           "transcribed_span_s\npart,call.wav,sa,sb,CC-BY-4.0,part.ctm,0-15\n")
    ws = tmp_path / "ws"
    assert run("scan", tmp_path / "manifest.csv", "-w", ws, "-j", "0").exit_code == 0
    d = json.loads(run("show", "part", "-w", ws, "--json").output)
    w = d["wordless"]
    assert w["source"] == "gold" and w["span_s"] == [0.0, 15.0]
    for t in w["tracks"]:
        segments = next(a["segments"] for a in d["activity"] if a["track"] == t["track"])
        assert t["speech_s"] == pytest.approx(_speech_inside(segments, 0.0, 15.0), abs=2e-3)
        assert t["speech_s"] < _speech_inside(segments, 0.0, SECONDS) - 1  # speech after 15 s is left out
        assert t["share"] < 0.02, t  # read speech with its gold words, as over the whole excerpt
        assert all(i["start"] >= 0.0 and i["end"] <= 15.0 for i in t["wordless_ipus"])
    pooled_all = json.loads(run("stats", "-w", ws, "--json", "--wordless").output)["wordless"]["all"]
    assert pooled_all["speech_s"] == pytest.approx(sum(t["speech_s"] for t in w["tracks"]), abs=2e-3)
    assert "in the transcribed 0-15 s" in run("show", "part", "-w", ws).output


def test_an_unknown_clock_is_named_where_transcript_times_meet_paired_files(tmp_path):
    """Paired files whose clock is neither declared nor measured keep their own clocks, so a transcript's word
    times can miss B's speech by the unmeasured offset, which then reads as wordless speech (paired demo03 B:
    0.22 s, 0.8 %). Before, nothing next to the figure said so; the stage's own words follow each file's audio."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    for name in ("demo03_2609_367.A.wav", "demo03_2609_367.B.wav"):
        shutil.copy(sample / "paired" / name, tmp_path / name)
    shutil.copy(sample / "gold" / "demo03_2609_367.ctm", tmp_path / "gold.ctm")
    (tmp_path / "manifest.csv").write_text(
        "recording_id,path_a,path_b,speaker_a,speaker_b,license,transcript,b_offset_s\n"
        "unknown,demo03_2609_367.A.wav,demo03_2609_367.B.wav,sa,sb,CC-BY-4.0,gold.ctm,\n"
        "declared,demo03_2609_367.A.wav,demo03_2609_367.B.wav,sa,sb,CC-BY-4.0,gold.ctm,0\n")
    ws = tmp_path / "ws"
    assert run("scan", tmp_path / "manifest.csv", "-w", ws, "-j", "0").exit_code == 0
    unknown = json.loads(run("show", "unknown", "-w", ws, "--json").output)
    assert unknown["clock"]["status"] == "unknown"
    assert "clock unknown" in unknown["wordless"]["note"]
    assert "clock unknown" in run("show", "unknown", "-w", ws).output.split("speech without words A")[1]
    declared = json.loads(run("show", "declared", "-w", ws, "--json").output)
    assert declared["clock"]["status"] == "declared" and declared["wordless"]["note"] is None


def test_unused_channels_add_no_line_and_no_cell(tmp_path):
    """A 4-channel file whose C and D carry no speech (unused channels, left out of exports): before, `show`
    printed 'speech without words C: 0.0 of 0.0 s (-)' (and D) and the report's 'no-word speech A / B' cell
    read '0.0% / 0.0% / – / –'."""
    import re

    import soundfile as sf

    x, rate = sf.read(excerpt(tmp_path, 20.0, "two.wav"), dtype="float32")
    sf.write(tmp_path / "four.wav", np.concatenate([x, np.zeros_like(x)], axis=1), rate)
    (tmp_path / "gold.ctm").write_text(GOLD.read_text())
    (tmp_path / "manifest.csv").write_text("recording_id,path,speaker_a,speaker_b,license,transcript\n"
                                           "four,four.wav,sa,sb,CC-BY-4.0,gold.ctm\n")
    ws = tmp_path / "ws"
    assert run("scan", tmp_path / "manifest.csv", "-w", ws, "-j", "0").exit_code == 0
    d = json.loads(run("show", "four", "-w", ws, "--json").output)
    assert [t["name"] for t in d["wordless"]["tracks"]] == ["A", "B", "C", "D"]  # the JSON keeps every track
    text = run("show", "four", "-w", ws).output
    assert "speech without words A" in text and "speech without words B" in text
    assert "speech without words C" not in text and "speech without words D" not in text
    assert run("report", "-w", ws, "-o", tmp_path / "r.html").exit_code == 0
    cell = re.search(r'<td class="wordless">(.*?)</td>', (tmp_path / "r.html").read_text(), re.S).group(1)
    shares = [f"{100 * t['share']:.1f}%" for t in d["wordless"]["tracks"][:2]]
    assert cell.strip() == " / ".join(shares)
