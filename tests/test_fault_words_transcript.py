"""An utterance-level transcript (Fisher lines) naming a speaker letter the recording has no track for ("C:" on
a two-track call): the stage aligns the A and B lines and its note says how many lines it left out and why.
Before, they were dropped without a word."""

from __future__ import annotations

from twotrack.model import Layout, Recording, TrackSource
from twotrack.words.recording import transcript_spans


def two_track_call(folder, transcript) -> Recording:
    """A two-track call.wav in ``folder`` (never read: only the transcript is) with its ``transcript``."""
    wav = str(folder / "call.wav")
    return Recording("call", (TrackSource(wav, 0), TrackSource(wav, 1)), Layout.MULTICHANNEL,
                     transcript=str(transcript))


def test_lines_for_a_track_the_recording_lacks_are_counted_in_the_note(tmp_path):
    tr = tmp_path / "call.txt"
    tr.write_text("0.50 2.00 A: hello there how are you\n2.20 3.00 B: fine thanks\n"
                  "3.10 4.00 C: a third voice\n4.10 5.00 C: and again\n")
    rec = two_track_call(tmp_path, tr)
    spans, note = transcript_spans(rec)
    assert spans == {0: [(0.5, 2.0, "hello there how are you")], 1: [(2.2, 3.0, "fine thanks")]}
    assert note == "transcript: 2 utterance(s) on track(s) C, which this 2-track recording does not have, not aligned"


def test_a_transcript_on_the_recordings_tracks_has_no_note(tmp_path):
    tr = tmp_path / "call.txt"
    tr.write_text("0.50 2.00 A: hello there how are you\n2.20 3.00 B: fine thanks\n")
    rec = two_track_call(tmp_path, tr)
    assert transcript_spans(rec)[1] is None


def test_a_mono_recording_aligns_every_speakers_lines_on_its_one_track(tmp_path):
    """A mono file holds both talkers: the B lines of its transcript are aligned too (before: only A's, the B
    lines counted as lines for a track the recording lacks)."""
    tr = tmp_path / "call.txt"
    tr.write_text("0.50 2.00 A: hello there how are you\n2.20 3.00 B: fine thanks\n1.80 2.40 A: good\n")
    rec = Recording("call", (TrackSource(str(tmp_path / "call.wav"), 0),), Layout.MONO, transcript=str(tr))
    spans, note = transcript_spans(rec)
    assert spans == {0: [(0.5, 2.0, "hello there how are you"), (1.8, 2.4, "good"), (2.2, 3.0, "fine thanks")]}
    assert note == "transcript: the lines of A, B are aligned on the one track of this mono recording"


def test_a_repeated_line_is_aligned_once(tmp_path):
    """A transcript holding a line twice (merged from two files): before, its words were stored twice."""
    tr = tmp_path / "call.txt"
    tr.write_text("0.50 2.00 A: hello there how are you\n2.20 3.00 B: fine thanks\n"
                  "0.50 2.00 A: hello  there how are you\n2.20 3.00 A: fine thanks\n")
    rec = two_track_call(tmp_path, tr)
    spans, note = transcript_spans(rec)
    assert spans == {0: [(0.5, 2.0, "hello there how are you"), (2.2, 3.0, "fine thanks")],
                     1: [(2.2, 3.0, "fine thanks")]}
    assert note == "transcript: 1 repeated line(s) (same track, times and text) aligned once"
