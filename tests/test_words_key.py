"""The words key of a recording with a transcript holds what the words stage aligns: the transcript's content,
the stretch it covers (metadata ``transcribed_span_s``, which a recipe sets) and the version of the readers that
turn the file into lines. A changed reader (CALLHOME markup, a widened span) then aligns those recordings again,
and only those: a recording without a transcript keeps its words key, so no recognised words recompute."""

from __future__ import annotations

import twotrack.run.keys as keys_module
from twotrack.config import Config
from twotrack.model import Layout, Recording, TrackSource
from twotrack.run.keys import recording_stage_keys, stage_keys, unavailable_stages


def _keys():
    cfg = Config().with_overrides({"words.enabled": True})
    return stage_keys(cfg, unavailable_stages(cfg))


def _recording(transcript=None, span=None):
    metadata = {"transcribed_span_s": span} if span else {}
    return Recording("call", (TrackSource("call.sph", 0), TrackSource("call.sph", 1)), Layout.MULTICHANNEL,
                     transcript=None if transcript is None else str(transcript), metadata=metadata)


def test_the_words_key_follows_the_transcript_its_stretch_and_its_reader(tmp_path, monkeypatch):
    keys = _keys()
    assert "words" in keys
    text = tmp_path / "call.txt"
    text.write_text("#Starting at 5 Ending at 15\n5.0 6.0 A: hello there\n")
    plain = recording_stage_keys(keys, _recording())
    assert plain == keys  # no transcript: recognised words keep their key
    base = recording_stage_keys(keys, _recording(text, "5-15"))
    wider = recording_stage_keys(keys, _recording(text, "0.5-15"))
    assert base["words"] != keys["words"]
    assert wider["words"] != base["words"]  # a widened stretch aligns again
    assert {k: v for k, v in wider.items() if k != "words"} == {k: v for k, v in keys.items() if k != "words"}
    monkeypatch.setattr(keys_module, "TRANSCRIPT_READING_VERSION", keys_module.TRANSCRIPT_READING_VERSION + 1)
    assert recording_stage_keys(keys, _recording(text, "5-15"))["words"] != base["words"]  # a changed reader too
    assert recording_stage_keys(keys, _recording()) == keys
