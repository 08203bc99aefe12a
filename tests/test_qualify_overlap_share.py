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


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """One sample dialogue with a 10 ms overlap, scanned with ``min_overlap_s = 0.1``: (workspace, its
    qualify inputs, its stored events)."""
    from twotrack.qualify.workspace import inputs_from_workspace
    from twotrack.run import scan
    from twotrack.store import Workspace, queries

    root = tmp_path_factory.mktemp("overlap")
    shutil.copy(SAMPLE / "clean" / "demo02_3080_2033.flac", root / "d.flac")
    config = dataclasses.replace(Config(), turns=TurnsConfig(min_overlap_s=0.1))
    scan([str(root / "d.flac")], root / "ws", config, jobs=0)
    ws = Workspace(root / "ws")
    (rec,) = inputs_from_workspace(ws).recordings
    return ws, rec, queries.events(ws, rec.recording_id)


def test_qualify_overlap_share_with_short_overlaps_left_out(scanned):
    from twotrack.turns.stats import RecordingEvents, recording_stats

    _, rec, events = scanned
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


def test_qualify_reads_pause_gap_and_ipu_durations_as_the_events_state_them(scanned):
    # end_s - start_s of two stored times carries float noise (0.45000000000000284); the durations qualify
    # compares with a reference are the events' own, to the microsecond.
    _, rec, events = scanned
    gaps = sorted(e.value for e in events if e.kind is EventKind.GAP)
    pauses = sorted(e.value for e in events if e.kind is EventKind.PAUSE)
    ipus = sorted(round(e.end - e.start, 6) for e in events if e.kind is EventKind.IPU)
    assert gaps and pauses
    assert sorted(rec.stats.gaps_s) == gaps and sorted(rec.stats.pauses_s) == pauses
    assert sorted(rec.stats.ipus_s) == ipus
