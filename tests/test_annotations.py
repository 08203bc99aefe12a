"""Annotation readers on real fixtures (MFA TextGrid, AMI RTTM, sample CTM) and small hand-written ones."""

import gzip
import json
from pathlib import Path

import pytest

from twotrack.errors import InputError
from twotrack.ingest.annotations import (
    detect_format, read_ctm, read_gold, read_lhotse_supervisions, read_rttm, read_textgrid,
)
from twotrack.model import Word
from twotrack.recipes.fisher import read_fisher
from twotrack.recipes.switchboard import read_swb

REPO = Path(__file__).resolve().parents[1]
FIX = REPO / "tests/data/annotations"


def test_ctm_sample_gold():
    path = REPO / "data/sample/gold/demo01_367_1688.ctm"
    gold = read_gold(path)
    assert list(gold) == ["demo01_367_1688"]
    words = gold["demo01_367_1688"]
    assert words[0] == Word("demo01_367_1688", 0, 0.315, pytest.approx(0.675), "it")
    assert {w.track for w in words} == {0, 1}
    n_lines = sum(1 for line in path.read_text().splitlines() if line.strip() and not line.startswith(";;"))
    assert len(words) == n_lines
    assert all(w.end > w.start for w in words)


def test_ctm_channels_confidence_and_errors(tmp_path):
    p = tmp_path / "x.ctm"
    p.write_text(";; comment\nrecA 1 1.0 0.5 hello 0.93\nrecA 2 0.5 0.25 hi\nrecB B 0 1 yes\n\n")
    words = read_ctm(p)
    assert [(w.recording_id, w.track, w.start, w.end, w.text) for w in words] == [
        ("recA", 0, 1.0, 1.5, "hello"), ("recA", 1, 0.5, 0.75, "hi"), ("recB", 1, 0.0, 1.0, "yes")]
    p.write_text("recA A 1.0 abc word\n")
    with pytest.raises(InputError, match="line 1: duration 'abc' is not a number"):
        read_ctm(p)
    p.write_text("recA Z 1.0 1.0 word\n")
    with pytest.raises(InputError, match="unknown channel 'Z'"):
        read_ctm(p)


def test_rttm_real_ami_speakers_by_first_appearance():
    gold = read_gold(FIX / "debug.test.rttm")
    assert sorted(gold) == ["tst00", "tst01"]
    tst00 = gold["tst00"]
    assert len(tst00) == 22
    mapping = {w.speaker: w.track for w in tst00}
    assert mapping == {"MEE071": 0, "MEE073": 1, "FEO072": 2, "FEO070": 3}  # order of first appearance
    assert {w.speaker: w.track for w in gold["tst01"]}["FEO072"] == 0  # per recording
    first = next(w for w in tst00 if w.speaker == "MEE073")
    assert (first.start, first.end) == (0.944, pytest.approx(7.068))


def test_rttm_explicit_mapping(tmp_path):
    words = read_rttm(FIX / "debug.test.rttm", speaker_tracks={"MEE071": 1, "MEE073": 0, "FEO072": 2, "FEO070": 3})
    assert next(w for w in words if w.speaker == "MEE071").track == 1
    with pytest.raises(InputError, match="not in the speaker-to-track mapping"):
        read_rttm(FIX / "debug.test.rttm", speaker_tracks={"MEE071": 0})


def test_textgrid_real_mfa_two_tiers():
    gold = read_gold(FIX / "michaelandsickmichael.TextGrid")
    words = gold["michaelandsickmichael"]
    by_track = {t: [w for w in words if w.track == t] for t in (0, 1)}
    assert len(by_track[0]) == 3 and len(by_track[1]) == 4  # empty intervals skipped
    assert {w.speaker for w in by_track[0]} == {"michael"} and {w.speaker for w in by_track[1]} == {"sickmichael"}
    assert by_track[0][0].start == pytest.approx(1.059222833923831)
    assert by_track[0][0].text.endswith("but who cares")  # a text spanning two lines
    assert by_track[1][2].text == "uh"
    # Tiers by name, in the order asked
    swapped = read_textgrid(FIX / "michaelandsickmichael.TextGrid", tiers=["sickmichael", "michael"])
    assert {w.speaker for w in swapped if w.track == 0} == {"sickmichael"}


SHORT_TG = '''File type = "ooTextFile"
Object class = "TextGrid"

0
2.5
<exists>
3
"IntervalTier"
"A"
0
2.5
3
0
1
""
1
1.5
"say ""hi"""
1.5
2.5
"there"
"TextTier"
"clicks"
0
2.5
1
0.7
"click"
"IntervalTier"
"B"
0
2.5
1
0.2
0.9
"yes"
'''


def test_textgrid_short_format_utf16_and_point_tiers(tmp_path):
    p = tmp_path / "call7.TextGrid"
    p.write_bytes(SHORT_TG.encode("utf-16"))  # Praat writes UTF-16 when the text needs it
    words = read_textgrid(p)
    assert [(w.recording_id, w.track, w.start, w.end, w.text, w.speaker) for w in words] == [
        ("call7", 0, 1.0, 1.5, 'say "hi"', "A"), ("call7", 0, 1.5, 2.5, "there", "A"),
        ("call7", 1, 0.2, 0.9, "yes", "B")]
    assert detect_format(p) == "textgrid"
    p.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n0\n2.5\n<exists>\n1\n"IntervalTier"\n"A"\n0\n2.5\n3\n0\n')
    with pytest.raises(InputError, match="ends early"):
        read_textgrid(p)


def test_fisher_transcript(tmp_path):
    p = tmp_path / "fe_03_00001.txt"
    p.write_text(
        "# fe_03_00001.sph\n# Transcribed at the LDC\n\n"
        "0.36 2.95 A: hello my name is ann\n\n"
        "2.80 3.40 B: hi\n"
        "4.10 6.02 A: (( )) [noise] so where are you from\n"
    )
    assert detect_format(p) == "fisher"
    gold = read_gold(p)
    words = gold["fe_03_00001"]
    assert [(w.track, w.start, w.end, w.text) for w in words] == [
        (0, 0.36, 2.95, "hello my name is ann"), (0, 4.10, 6.02, "(( )) [noise] so where are you from"),
        (1, 2.80, 3.40, "hi")]
    p.write_text("0.36 2.95 hello\n")
    with pytest.raises(InputError, match="line 1"):
        read_fisher(p)


def test_switchboard_word_alignments(tmp_path):
    p = tmp_path / "sw2001A-ms98-a-word.text"
    p.write_text(
        "sw2001A-ms98-a-0001 0.000000 0.977625 [silence]\n"
        "sw2001A-ms98-a-0001 0.977625 1.097625 hi\n"
        "sw2001A-ms98-a-0001 1.097625 1.420000 um\n"
        "sw2001B-ms98-a-0002 1.500000 1.800000 [laughter]\n"
        "sw2001B-ms98-a-0002 1.800000 2.100000 yeah\n"
    )
    assert detect_format(p) == "swb"
    gold = read_gold(p)
    assert list(gold) == ["sw2001"]
    assert [(w.track, w.start, w.text) for w in gold["sw2001"]] == [
        (0, 0.977625, "hi"), (0, 1.097625, "um"), (1, 1.5, "[laughter]"), (1, 1.8, "yeah")]
    p.write_text("sw2001-ms98 0 1 x\n")
    with pytest.raises(InputError, match="line 1"):
        read_swb(p)


def test_lhotse_supervisions_segments_and_word_alignments(tmp_path):
    sups = [
        {"id": "c1-A-0", "recording_id": "c1", "start": 0.5, "duration": 2.0, "channel": 0, "speaker": "ann",
         "text": "hello there"},
        {"id": "c1-B-0", "recording_id": "c1", "start": 1.0, "duration": 1.0, "channel": [1], "speaker": "bob",
         "text": "hi yes",
         "alignment": {"word": [["hi", 1.0, 0.3, 0.9], {"symbol": "yes", "start": 1.5, "duration": 0.4}]}},
    ]
    p = tmp_path / "supervisions.jsonl.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("\n".join(json.dumps(s) for s in sups) + "\n")
    assert detect_format(p) == "lhotse"
    words = read_gold(p)["c1"]
    assert [(w.track, w.start, w.end, w.text, w.speaker) for w in words] == [
        (0, 0.5, 2.5, "hello there", "ann"), (1, 1.0, 1.3, "hi", "bob"), (1, 1.5, pytest.approx(1.9), "yes", "bob")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "recording_id": "c1", "start": 0, "duration": 1, "channel": [0, 1]}) + "\n")
    with pytest.raises(InputError, match="spans channels"):
        read_lhotse_supervisions(bad)


def test_unknown_format_is_an_input_error(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just some prose about the recording\n")
    with pytest.raises(InputError, match="unknown annotation format") as err:
        read_gold(p)
    assert err.value.path == str(p)


def test_an_empty_or_binary_transcript_says_so(tmp_path):
    """Before, both were "unknown annotation format": the first thing to check was not said."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n")
    for p in (empty, blank):
        with pytest.raises(InputError) as err:
            read_gold(p)
        assert (err.value.path, err.value.problem) == (str(p), "empty annotation file (no lines)")
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match=r"not a text file \(binary data"):
        read_gold(garbage)


def test_read_gold_folder_merges_files(tmp_path):
    (tmp_path / "a.ctm").write_text("r1 A 0 1 hi\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.ctm").write_text("r1 B 0.5 1 yes\nr2 A 0 1 x\n")
    (tmp_path / ".hidden.ctm").write_text("r9 A 0 1 no\n")
    (tmp_path / "notes.md").write_text("# not gold\n")
    gold = read_gold(tmp_path)
    assert sorted(gold) == ["r1", "r2"]
    assert [(w.track, w.text) for w in gold["r1"]] == [(0, "hi"), (1, "yes")]
    assert len(read_gold(REPO / "data/sample/gold")) == 3
