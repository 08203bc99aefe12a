"""The overlap share of speech that qualify reads from a workspace counts each instant of speech once,
also when ``turns.min_overlap_s`` keeps short overlaps out of the events."""

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from twotrack.config import Config, TurnsConfig
from twotrack.model import FRAMES, EventKind

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_qualify_overlap_share_with_short_overlaps_left_out(tmp_path):
    from twotrack.qualify.workspace import inputs_from_workspace
    from twotrack.run import scan
    from twotrack.store import Workspace, queries
    from twotrack.turns.stats import RecordingEvents, recording_stats

    shutil.copy(SAMPLE / "clean" / "demo02_3080_2033.flac", tmp_path / "d.flac")  # has a 10 ms overlap
    config = dataclasses.replace(Config(), turns=TurnsConfig(min_overlap_s=0.1))
    scan([str(tmp_path / "d.flac")], tmp_path / "ws", config, jobs=0)
    ws = Workspace(tmp_path / "ws")
    (rec,) = inputs_from_workspace(ws).recordings
    events = queries.events(ws, rec.recording_id)
    # by hand: frames in which some IPU runs, and the overlap events' frames
    n = FRAMES.n_frames(rec.duration_s)
    spoken = np.zeros(n, bool)
    overlap = 0
    for e in events:
        a, b = FRAMES.boundary(e.start), FRAMES.boundary(e.end)
        if e.kind is EventKind.IPU:
            spoken[a:b] = True
        elif e.kind in (EventKind.OVERLAP_BETWEEN, EventKind.OVERLAP_WITHIN):
            overlap += b - a
    assert overlap and min(e.end - e.start for e in events if e.kind.value.startswith("overlap")) >= 0.1
    expected = overlap / spoken.sum()
    assert rec.stats.overlap_speech_share == pytest.approx(expected, rel=1e-9)
    stats = recording_stats(RecordingEvents(rec.recording_id, rec.duration_s, events))
    assert stats["overlap_share_of_speech"] == pytest.approx(expected, rel=1e-9)
