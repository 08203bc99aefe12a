"""A transcript whose lines start after the recording's end (the transcript of a longer original the file was
cut from, or of another recording). Before, each such line counted as "not aligned" and, when no line was
inside the audio, the recording got no word at all ("0 aligned words; 6 span(s) not aligned"), its 12 s of
speech without text. Now lines past the end are named in the note, and a transcript with no line inside the
recording is not used: the tracks are recognised, and the note says why."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from twotrack.model import Layout, Recording, TrackSource
from twotrack.words.recording import transcribe_recording, within_audio

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def test_lines_past_the_end_are_named_and_left_out():
    spans = {0: [(1.0, 2.0, "hello"), (25.0, 26.0, "later")], 1: [(30.0, 31.0, "much later")]}
    kept, note = within_audio(spans, 20.0)
    assert kept == {0: [(1.0, 2.0, "hello")], 1: []}
    assert note == ("transcript: 2 line(s) start after the recording's end (20.00 s; the first at 25.00 s), "
                    "not aligned")
    assert within_audio({0: [(1.0, 2.0, "hello")]}, 20.0) == ({0: [(1.0, 2.0, "hello")]}, None)


def test_a_transcript_wholly_past_the_end_is_not_used():
    kept, note = within_audio({0: [(40.0, 42.0, "a")], 1: [(45.0, 46.0, "b")]}, 20.0)
    assert kept is None and note.startswith("transcript not used: all 2 of its lines start after the recording's end")


def test_the_tracks_are_recognised_instead(tmp_path):
    pytest.importorskip("faster_whisper")
    x, rate = sf.read(SAMPLE, dtype="float32", start=11 * 16000, stop=19 * 16000)  # 8 s, A talks
    tr = tmp_path / "call.txt"
    tr.write_text("46.05 47.91 A: when is a lobster not a lobster\n48.44 53.67 A: when it is a crayfish\n")
    rec = Recording("call", (TrackSource(str(tmp_path / "call.wav"), 0), TrackSource(str(tmp_path / "call.wav"), 1)),
                    Layout.MULTICHANNEL, transcript=str(tr))
    got = transcribe_recording(x.T.copy(), rate, [[(0.0, 8.0)], []], rec)
    assert got.source == "stage" and len(got.words) >= 5
    assert "transcript not used: all 2 of its lines start after the recording's end (8.00 s" in got.note
