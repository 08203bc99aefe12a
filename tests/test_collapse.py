"""Collapse end to end: a workspace made by the real scan of a sample dialogue, the mono pipeline run on its
mix, scored against the stored per-track activity; external RTTMs scored the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.collapse import run as collapse_run
from twotrack.collapse.run import CollapseConfig, DiarizeConfig, collapse_recording, rttm_lines, score_hypothesis
from twotrack.model import TrackActivity
from twotrack.run import scan
from twotrack.store import Workspace, queries

ROOT = Path(__file__).resolve().parents[1]
# demo02 has the most overlap of the sample dialogues (about 8% of its speech)
DIALOGUE = ROOT / "data" / "sample" / "clean" / "demo02_3080_2033.flac"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    base = tmp_path_factory.mktemp("collapse")
    corpus = base / "corpus"
    corpus.mkdir()
    # its first 30 s (7 overlaps, 3 backchannels) keep the test quick
    audio, rate = sf.read(DIALOGUE, frames=30 * 16000, dtype="int16")
    sf.write(corpus / "demo02_30s.flac", audio, rate, subtype="PCM_16")
    ws = Workspace(base / "ws", create=True)
    assert scan([corpus], ws, jobs=0).exit_code == 0
    return ws


@pytest.fixture(scope="module")
def collapsed(workspace):
    result = CliRunner().invoke(main, ["collapse", "-w", str(workspace.path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _check_parts(d):
    assert d["missed"] + d["false_alarm"] + d["confusion"] == pytest.approx(d["der"])
    for key in ("der", "missed", "false_alarm", "confusion"):
        assert 0.0 <= d[key] <= 1.0


def test_the_mono_pipeline_runs_on_a_scanned_dialogue(workspace, collapsed):
    (rec,) = collapsed["recordings"]
    assert rec["error"] is None and rec["diarizer"] == "twotrack-ge2e" and rec["n_speakers"] == 2
    _check_parts(rec["der"])
    _check_parts(rec["der_without_overlap"])
    # the truth's speech time is the stored activity's
    speech = sum(queries.speech_seconds(workspace)[rec["recording_id"]])
    assert rec["der"]["speech_s"] == pytest.approx(speech, abs=0.02)
    # two distinct voices: each maps to its own track and little speech goes to the wrong one
    assert sorted(rec["mapping"].values()) == ["A", "B"]
    assert rec["der"]["confusion"] < 0.10
    # one label per frame: the overlaps the two tracks show are (mostly) lost in the mix
    tt = rec["turn_taking"]
    counts = collapsed["summary"]["counts"]
    assert counts["overlaps"] > 0 and tt["overlap_recall"] < 1.0
    assert rec["der"]["missed"] > rec["der_without_overlap"]["missed"]
    assert 0.0 <= tt["onset_hit_rate"] <= 1.0 and tt["fto_wasserstein_s"] >= 0.0
    assert collapsed["summary"]["sentence"].startswith("On your data (1 recording(s)")
    out = Path(collapsed["path"])
    assert out.is_file() and json.loads(out.read_text())["lanes"][rec["recording_id"]]
    assert len(list(out.parent.glob("*.rttm"))) == 1


def test_the_overlap_guess_finds_some_overlaps_at_a_price(workspace, collapsed):
    (rec,) = queries.recordings(workspace)
    cfg = CollapseConfig(diarize=DiarizeConfig(overlap_margin=0.04))
    guess = collapse_recording(rec, queries.activity(workspace, rec.recording_id), cfg)
    (plain,) = collapsed["recordings"]
    shares = guess.der.shares()
    _check_parts(shares)
    rates = guess.damage.rates()
    assert plain["turn_taking"]["overlap_recall"] < rates["overlap_recall"]
    assert shares["false_alarm"] > plain["der"]["false_alarm"]
    assert rates["overlap_precision"] < 1.0


def test_our_rttm_scored_as_an_external_hypothesis_gives_the_same_numbers(workspace, collapsed):
    (rttm,) = (workspace.path / "collapse").glob("*.rttm")
    result = CliRunner().invoke(main, ["collapse", "-w", str(workspace.path), "--hypothesis", str(rttm), "--json"])
    assert result.exit_code == 0, result.output
    (rec,) = json.loads(result.stdout)["recordings"]
    assert rec["diarizer"] == "external"
    (ours,) = collapsed["recordings"]
    for key in ("der", "missed", "false_alarm", "confusion"):
        assert rec["der"][key] == pytest.approx(ours["der"][key], abs=2e-3)  # RTTM keeps milliseconds


def test_a_perfect_external_hypothesis_loses_nothing(workspace, tmp_path):
    (rid,) = [r.recording_id for r in queries.recordings(workspace)]
    activity = queries.activity(workspace, rid)
    names = {0: "alice", 1: "bob"}  # any labels: the mapping finds the tracks
    hyp = [(names[a.track], s.start, s.end) for a in activity for s in a.segments]
    path = tmp_path / "perfect.rttm"
    path.write_text("\n".join(rttm_lines(rid, hyp)) + "\n")
    result = CliRunner().invoke(main, ["collapse", "-w", str(workspace.path), "--hypothesis", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (rec,) = json.loads(result.stdout)["recordings"]
    assert rec["mapping"] == {"alice": "A", "bob": "B"}
    assert rec["der"]["der"] == pytest.approx(0.0, abs=1e-9)
    tt = rec["turn_taking"]
    assert tt["onset_hit_rate"] == tt["overlap_recall"] == 1.0
    assert tt["transfer_wrong_speaker_share"] == 0.0 and tt["fto_wasserstein_s"] == 0.0


def test_swapping_the_tracks_swaps_the_mapping_and_nothing_else(workspace, collapsed):
    (rid,) = [r.recording_id for r in queries.recordings(workspace)]
    activity = queries.activity(workspace, rid)
    (rttm,) = (workspace.path / "collapse").glob("*.rttm")
    hyp = collapse_run.read_hypotheses(rttm)[rid]
    duration = collapsed["recordings"][0]["duration_s"]
    straight = score_hypothesis(rid, activity, hyp, duration)
    swapped = score_hypothesis(rid, tuple(TrackActivity(1 - a.track, a.segments) for a in activity), hyp, duration)
    flip = {"A": "B", "B": "A"}
    assert swapped.mapping == {k: flip[v] for k, v in straight.mapping.items()}
    assert swapped.der == straight.der


def test_unknown_recording_is_a_usage_error(workspace):
    result = CliRunner().invoke(main, ["collapse", "-w", str(workspace.path), "-r", "no-such-dialogue"])
    assert result.exit_code == 2 and "no-such-dialogue" in result.output


def test_missing_extra_gets_a_clear_message(workspace, monkeypatch):
    import twotrack.collapse as collapse

    monkeypatch.setitem(collapse.REQUIREMENTS, "twotrack_missing_module", "pip install 'twotrack[collapse]'")
    result = CliRunner().invoke(main, ["collapse", "-w", str(workspace.path)])
    assert result.exit_code == 2
    assert "collapse extra" in result.output and "pip install 'twotrack[collapse]'" in result.output


def test_nothing_imports_torch():
    code = ("import sys, numpy as np, twotrack, twotrack.cli, twotrack.collapse as c\n"
            "d = c.diarize_mono(np.random.default_rng(0).standard_normal(16000 * 3).astype('float32') * 0.1, 16000, 2)\n"
            "import pyannote.metrics.diarization\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
