"""A collapse run on some recordings keeps the stored results of the others and pools the corpus summary
over all of them (two sample dialogues scanned for real; an external RTTM hypothesis keeps it quick)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.collapse.run import rttm_lines
from twotrack.run import scan
from twotrack.store import Workspace, queries

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "data" / "sample" / "clean"


@pytest.fixture(scope="module")
def ws_and_hyp(tmp_path_factory):
    base = tmp_path_factory.mktemp("collapse_merge")
    corpus = base / "corpus"
    corpus.mkdir()
    for src in sorted(CLEAN.glob("*.flac"))[:2]:  # 15 s of two dialogues
        audio, rate = sf.read(src, frames=15 * 16000, dtype="int16")
        sf.write(corpus / f"{src.stem[:6]}.flac", audio, rate, subtype="PCM_16")
    ws = Workspace(base / "ws", create=True)
    assert scan([corpus], ws, jobs=0).exit_code == 0
    # a hypothesis that is the truth moved 0.2 s late, with the last segment of B given to A: errors to pool
    hyp_dir = base / "hyp"
    hyp_dir.mkdir()
    for rec in queries.recordings(ws):
        activity = queries.activity(ws, rec.recording_id)
        hyp = [("S" + str(a.track), s.start + 0.2, s.end + 0.2) for a in activity for s in a.segments]
        last_b = max(i for i, h in enumerate(hyp) if h[0] == "S1")
        hyp[last_b] = ("S0",) + hyp[last_b][1:]
        (hyp_dir / f"{rec.recording_id.rsplit('/', 1)[-1]}.rttm").write_text(
            "\n".join(rttm_lines(rec.recording_id, hyp)) + "\n")
    return ws, hyp_dir


def _collapse(ws, hyp_dir, *args):
    result = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--hypothesis", str(hyp_dir), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _pooled(summary):
    """The pooled figures, flat (``pytest.approx`` compares flat dicts); unmeasurable ones (None) as -1."""
    out = {k: summary[k] for k in ("recordings", "failed", "hours")}
    for group in ("der", "der_without_overlap", "turn_taking", "counts"):
        out.update({f"{group}.{k}": -1 if v is None else v for k, v in summary[group].items()})
    return out


def test_a_run_on_one_recording_keeps_the_others_and_pools_them_all(ws_and_hyp):
    ws, hyp_dir = ws_and_hyp
    full = _collapse(ws, hyp_dir)
    ids = sorted(r["recording_id"] for r in full["recordings"])
    assert len(ids) == 2 and full["summary"]["recordings"] == 2
    assert 0 < full["summary"]["der"]["der"] < 1
    first = next(r for r in full["recordings"] if r["recording_id"] == ids[0])

    part = _collapse(ws, hyp_dir, "-r", ids[1].rsplit("/", 1)[-1])
    stored = json.loads(Path(part["path"]).read_text())
    assert sorted(r["recording_id"] for r in stored["recordings"]) == ids
    assert next(r for r in stored["recordings"] if r["recording_id"] == ids[0]) == first  # untouched
    assert sorted(stored["lanes"]) == ids  # the report and explorer keep both recordings' lanes
    # the summary over both, pooled from what was stored, is the full run's
    assert _pooled(part["summary"]) == pytest.approx(_pooled(full["summary"]))
    assert _pooled(stored["summary"]) == pytest.approx(_pooled(full["summary"]))
    assert part["summary"]["sentence"] == full["summary"]["sentence"]
    assert part["this_run"] == {"recordings": [ids[1]], "skipped": [], "failed": 0}


def test_a_hypothesis_for_some_recordings_leaves_the_others_stored_results(ws_and_hyp, tmp_path):
    """A run with an external RTTM that covers one recording: the other is skipped ("no hypothesis for it")
    in this run, and its stored result stays in results.json and in the summary."""
    ws, hyp_dir = ws_and_hyp
    full = _collapse(ws, hyp_dir)
    ids = sorted(r["recording_id"] for r in full["recordings"])
    one = tmp_path / "one"
    one.mkdir()
    name = ids[0].rsplit("/", 1)[-1] + ".rttm"
    (one / name).write_text((hyp_dir / name).read_text())
    part = _collapse(ws, one)
    assert part["this_run"]["recordings"] == [ids[0]] and part["this_run"]["skipped"] == [ids[1]]
    assert sorted(r["recording_id"] for r in part["recordings"]) == ids and part["skipped"] == []
    assert _pooled(part["summary"]) == pytest.approx(_pooled(full["summary"]))
    assert part["summary"]["diarizers"] == {"external": 2}


def test_stored_entries_without_parts_are_kept_and_named_not_pooled(ws_and_hyp):
    """results.json written before the parts were stored: its entries stay (shown), the summary pools only what
    it can and names the others in `not_pooled`."""
    ws, hyp_dir = ws_and_hyp
    full = _collapse(ws, hyp_dir)
    ids = sorted(r["recording_id"] for r in full["recordings"])
    path = Path(full["path"])
    old = json.loads(path.read_text())
    old.pop("parts")
    path.write_text(json.dumps(old))
    part = _collapse(ws, hyp_dir, "-r", ids[1].rsplit("/", 1)[-1])
    assert sorted(r["recording_id"] for r in part["recordings"]) == ids
    assert part["summary"]["recordings"] == 1 and part["summary"]["not_pooled"] == [ids[0]]
