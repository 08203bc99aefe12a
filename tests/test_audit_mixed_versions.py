"""A workspace whose recordings' events were computed under different [turns] configs (or stage versions):
`twotrack stats` pooled them without a word (audit of 2026-12-05)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.config import Config
from twotrack.run import scan
from twotrack.store import Workspace
from twotrack.turns.corpus import workspace_stats

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_stats_say_when_events_were_computed_under_different_configs(tmp_path):
    x, sr = sf.read(SAMPLE / "clean" / "demo02_3080_2033.flac", dtype="float32")
    for name, part in (("a", x[: 12 * sr]), ("b", x[12 * sr: 24 * sr])):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / f"{name}.wav", part, sr, subtype="PCM_16")
    ws = Workspace(tmp_path / "ws", create=True)
    scan([tmp_path / "a"], ws, jobs=0)
    same = workspace_stats(ws)["events_keys"]
    assert same["mixed"] is False and list(same["recordings_by_key"].values()) == [1]

    cfg = Config()
    other = dataclasses.replace(cfg, turns=dataclasses.replace(cfg.turns, pause_threshold_s=0.5))
    scan([tmp_path / "b"], ws, other, jobs=0)
    mixed = workspace_stats(ws)["events_keys"]
    assert mixed["mixed"] is True and sorted(mixed["recordings_by_key"].values()) == [1, 1]

    out = CliRunner().invoke(main, ["stats", "-w", str(tmp_path / "ws")])
    assert out.exit_code == 0, out.output
    assert "2 different stage versions or configs" in out.output
    js = json.loads(CliRunner().invoke(main, ["stats", "-w", str(tmp_path / "ws"), "--json"]).output)
    assert js["events_keys"]["mixed"] is True
    q = CliRunner().invoke(main, ["qualify", "-w", str(tmp_path / "ws"), "--no-write"])
    assert q.exit_code == 0, q.output
    assert "events were computed under 2 different stage versions or configs" in q.output
    from twotrack.show.report import build_report

    assert 'id="events-mixed"' in build_report(ws)


def test_stats_say_which_recordings_and_hours_the_turn_statistics_cover(tmp_path):
    x, sr = sf.read(SAMPLE / "clean" / "demo02_3080_2033.flac", dtype="float32")
    corpus = tmp_path / "c"
    corpus.mkdir()
    sf.write(corpus / "two.wav", x[: 12 * sr], sr, subtype="PCM_16")
    sf.write(corpus / "mono.wav", x[: 24 * sr].mean(axis=1), sr, subtype="PCM_16")  # no events: 24 s not covered
    ws = Workspace(tmp_path / "ws", create=True)
    scan([corpus], ws, jobs=0)
    out = CliRunner().invoke(main, ["stats", "-w", str(tmp_path / "ws")])
    assert out.exit_code == 0, out.output
    assert "turn-taking statistics over 1 of 2 recording(s) (0.00 of 0.01 h)" in out.output


def test_stats_as_reference_writes_the_measured_reference_the_docs_promise(tmp_path):
    import numpy as np

    from twotrack.qualify import load_reference
    from twotrack.store import queries

    x, sr = sf.read(SAMPLE / "clean" / "demo02_3080_2033.flac", dtype="float32")
    corpus = tmp_path / "c"
    corpus.mkdir()
    sf.write(corpus / "two.wav", x[: 30 * sr], sr, subtype="PCM_16")
    ws = Workspace(tmp_path / "ws", create=True)
    scan([corpus], ws, jobs=0)
    out = CliRunner().invoke(main, ["stats", "-w", str(tmp_path / "ws"), "--as-reference", str(tmp_path / "r.json")])
    assert out.exit_code == 0, out.output
    assert "reference written" in out.output
    ref = load_reference(tmp_path / "r.json")
    fto = [e.value for e in queries.events(ws, "two") if e.kind.value == "floor-transfer"]
    assert ref.statistics["fto_s"].n == len(fto) > 0
    assert ref.statistics["fto_s"].value == pytest.approx(float(np.median(fto)), abs=1e-6)


def test_report_says_which_recordings_the_turn_figures_cover(tmp_path):
    import re

    from twotrack.show.report import build_report

    x, sr = sf.read(SAMPLE / "clean" / "demo02_3080_2033.flac", dtype="float32")
    corpus = tmp_path / "c"
    corpus.mkdir()
    sf.write(corpus / "two.wav", x[: 12 * sr], sr, subtype="PCM_16")
    sf.write(corpus / "mono.wav", x[: 24 * sr].mean(axis=1), sr, subtype="PCM_16")
    ws = Workspace(tmp_path / "ws", create=True)
    scan([corpus], ws, jobs=0)
    html = build_report(ws)
    cover = re.search(r'<td id="turns-cover">(.*?)</td>', html, flags=re.S)
    assert cover is not None
    assert "over 1 of 2 recording(s), 0.003 h" in cover.group(1)
