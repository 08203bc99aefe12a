"""Paired per-speaker files are put on track A's clock before activity and events."""

import json
import shutil

import numpy as np

from twotrack.config import Config
from twotrack.evaluate import evaluate_activity
from twotrack.ingest.annotations import read_gold
from twotrack.ingest.clock import align_tracks, to_reference_clock
from twotrack.model import CheckResult, Isolation, Layout
from twotrack.run import scan
from twotrack.store import Workspace, queries

from pathlib import Path

DATA = Path(__file__).parent / "data" / "paired-with-bleed"
GOLD = Path(__file__).parents[1] / "data" / "sample" / "gold" / "demo02_3080_2033.ctm"


def clicks(sr, times_s, n):
    x = np.zeros(n, np.float32)
    x[(np.asarray(times_s) * sr).round().astype(int)] = 1.0
    return x


def test_a_drifted_offset_track_lands_on_the_reference_clock():
    sr, offset_s, drift_ppm = 8000, 0.35, 60.0
    truth = np.array([1.0, 20.0, 55.0])  # reference-clock times of three clicks
    n = 60 * sr
    other = clicks(sr, offset_s + truth * (1 + drift_ppm * 1e-6), n)  # as the drifting device recorded them
    aligned = to_reference_clock(other, sr, offset_s, drift_ppm)
    found = np.array([np.argmax(np.abs(aligned[int((t - 0.1) * sr):int((t + 0.1) * sr)])) / sr + t - 0.1
                      for t in truth])
    assert np.all(np.abs(found - truth) <= 1.5 / sr), found - truth
    assert len(aligned) == n


def test_only_paired_recordings_with_a_measured_offset_move():
    x = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    synced = CheckResult(Isolation.LEAKY, offset_ms=350.0, drift_ppm=60.0)
    assert align_tracks(x, 8000, Layout.MULTICHANNEL, synced)[1] is None
    assert align_tracks(x, 8000, Layout.PAIRED, CheckResult(Isolation.ISOLATED))[1] is None
    moved, note = align_tracks(x, 8000, Layout.PAIRED, synced)
    assert "350" in note and np.array_equal(moved[0], x[0]) and not np.array_equal(moved[1], x[1])


def test_scanned_paired_files_with_offset_and_drift_meet_the_gold_timeline(tmp_path):
    truth = json.loads((DATA / "demo02_3080_2033.sync.json").read_text())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("demo02_3080_2033.A.flac", "demo02_3080_2033.B.flac"):
        shutil.copy(DATA / name, corpus / name)
    ws_path = tmp_path / "ws"
    scan([corpus], ws_path, Config(), jobs=0)
    ws = Workspace(ws_path)
    checks = queries.checks(ws, "demo02_3080_2033")
    assert abs(checks.offset_ms - truth["offset_s"] * 1000) < 5 and abs(checks.drift_ppm - truth["drift_ppm"]) < 5
    metrics = evaluate_activity(queries.activity_by_recording(ws), read_gold(GOLD), queries.durations(ws), Config().turns)
    # Before re-timing, track B sat 350 ms late and about half the gold onsets were missed.
    assert metrics["ipu_onset_hit_rate"] >= 0.9, metrics
    assert metrics["frame_f1"] >= 0.95, metrics
