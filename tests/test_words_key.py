"""The words key of a recording with a transcript holds what the words stage aligns: the transcript's content,
the stretch it covers (metadata ``transcribed_span_s``, which a recipe sets) and the version of the reader of
its format (metadata ``transcript_format``, ``run.keys.TRANSCRIPT_READING_VERSION``). A changed reader (CALLHOME
markup, a widened span) then aligns the recordings it reads again, and only those: a recording read by
another reader, or without a transcript, keeps its words key, so a Fisher or Switchboard archive is not
recognised or aligned again for a CALLHOME change."""

from __future__ import annotations

import hashlib

import twotrack.run.keys as keys_module
from twotrack.config import Config
from twotrack.model import Layout, Recording, TrackSource
from twotrack.run.keys import recording_stage_keys, stage_keys, transcript_digest, unavailable_stages


def _keys():
    cfg = Config().with_overrides({"words.enabled": True})
    return stage_keys(cfg, unavailable_stages(cfg))


def _recording(transcript=None, span=None, fmt=None):
    metadata = {"transcribed_span_s": span} if span else {}
    if fmt:
        metadata["transcript_format"] = fmt
    return Recording("call", (TrackSource("call.sph", 0), TrackSource("call.sph", 1)), Layout.MULTICHANNEL,
                     transcript=None if transcript is None else str(transcript), metadata=metadata)


def test_the_words_key_follows_the_transcript_its_stretch_and_its_reader(tmp_path, monkeypatch):
    keys = _keys()
    assert "words" in keys
    text = tmp_path / "call.txt"
    text.write_text("#Starting at 5 Ending at 15\n5.0 6.0 A: hello there\n")
    assert recording_stage_keys(keys, _recording()) == keys  # no transcript: recognised words keep their key
    base = recording_stage_keys(keys, _recording(text, "5-15", "callhome"))
    wider = recording_stage_keys(keys, _recording(text, "0.5-15", "callhome"))
    assert base["words"] != keys["words"]
    assert wider["words"] != base["words"]  # a widened stretch aligns again
    assert {k: v for k, v in wider.items() if k != "words"} == {k: v for k, v in keys.items() if k != "words"}
    read_before = keys_module.TRANSCRIPT_READING_VERSION
    fisher = recording_stage_keys(keys, _recording(text))  # a format no reader change touched
    # a key as it was before readers had versions: a workspace scanned then keeps its words
    assert fisher["words"] == hashlib.sha256(
        f"{keys['words']}|transcript {transcript_digest(_recording(text))}".encode()).hexdigest()[:16]
    monkeypatch.setattr(keys_module, "TRANSCRIPT_READING_VERSION", {**read_before, "callhome": read_before["callhome"] + 1})
    assert recording_stage_keys(keys, _recording(text, "5-15", "callhome"))["words"] != base["words"]  # its reader
    assert recording_stage_keys(keys, _recording(text))["words"] == fisher["words"]  # not another reader's
    assert recording_stage_keys(keys, _recording()) == keys
