"""Collapse sweep 2026-12-05: a two-track recording on which only one track speaks (the other participant
never spoke, or their channel is dead) holds one voice; the mono diarizer is told so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.model import Segment, TrackActivity
from twotrack.run import scan
from twotrack.store import Workspace

DIALOGUE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def test_speaking_tracks_counts_the_tracks_with_speech():
    from twotrack.collapse.run import speaking_tracks

    seg = (Segment(0.0, 1.0),)
    assert speaking_tracks([TrackActivity(0, seg), TrackActivity(1, seg)]) == 2
    assert speaking_tracks([TrackActivity(0, seg), TrackActivity(1, ())]) == 1
    assert speaking_tracks([TrackActivity(0, ()), TrackActivity(1, ())]) == 1


@pytest.mark.parametrize("b", ["digital silence", "noise at -80 dBFS"])
def test_one_speaking_track_is_one_voice_not_a_confusion(tmp_path, b):
    """Before: the diarizer was given the track count (2) and split A's one voice in two: 'going mono
    costs 46% diarization error (confusion 46%)' for a recording with nobody to confuse A with."""
    pytest.importorskip("pyannote.metrics")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    y, rate = sf.read(DIALOGUE, frames=30 * 16000, dtype="float32")
    y[:, 1] = 0.0 if b == "digital silence" else np.random.default_rng(0).standard_normal(len(y)) * 1e-4
    sf.write(corpus / "one_voice.flac", y, rate, subtype="PCM_16")
    ws = Workspace(tmp_path / "ws", create=True)
    assert scan([corpus], ws, jobs=0).exit_code == 0
    r = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--json"])
    assert r.exit_code == 0, r.output
    (rec,) = json.loads(r.stdout)["recordings"]
    assert rec["n_speakers"] == 1
    assert rec["der"]["confusion"] == 0.0
    assert rec["der"]["der"] < 0.05


def test_two_channels_that_are_copies_are_skipped_not_scored(tmp_path):
    """Before: a recording whose B channel is a copy of A (mono presented as two tracks; the scan's checks
    say so and its events are not-applicable) was scored: DER 50 % (missed 50 %: the 'truth' was the same
    speech twice, all overlap), and that went into the corpus sentence beside the real dialogue."""
    pytest.importorskip("pyannote.metrics")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    y, rate = sf.read(DIALOGUE, frames=20 * 16000, dtype="float32")
    sf.write(corpus / "dialogue.flac", y, rate, subtype="PCM_16")
    sf.write(corpus / "copied.flac", np.stack([y[:, 0], y[:, 0]], axis=1), rate, subtype="PCM_16")
    ws = Workspace(tmp_path / "ws", create=True)
    scan([corpus], ws, jobs=0)
    r = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [rec["recording_id"] for rec in out["recordings"]] == ["dialogue"]
    (skip,) = out["skipped"]
    assert skip["recording_id"] == "copied" and "copies" in skip["reason"]
    assert out["summary"]["recordings"] == 1
