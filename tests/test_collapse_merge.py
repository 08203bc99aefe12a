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


def _scanned_excerpts(base: Path) -> tuple[Workspace, Path]:
    """15 s of two clean sample dialogues written to ``base``/corpus and scanned into ``base``/ws."""
    corpus = base / "corpus"
    corpus.mkdir()
    for src in sorted(CLEAN.glob("*.flac"))[:2]:
        audio, rate = sf.read(src, frames=15 * 16000, dtype="int16")
        sf.write(corpus / f"{src.stem[:6]}.flac", audio, rate, subtype="PCM_16")
    ws = Workspace(base / "ws", create=True)
    assert scan([corpus], ws, jobs=0).exit_code == 0
    return ws, corpus


@pytest.fixture(scope="module")
def ws_and_hyp(tmp_path_factory):
    base = tmp_path_factory.mktemp("collapse_merge")
    ws, _ = _scanned_excerpts(base)
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
    assert part["this_run"] == {"recordings": [ids[1]], "skipped": [], "failed": 0, "kept": []}


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


@pytest.mark.parametrize("edit", ["truncated", "der parts emptied", "not an object", "entry without id"])
def test_a_stored_results_file_that_cannot_be_merged_stops_the_run_naming_it(ws_and_hyp, edit):
    """A truncated or hand-edited results.json: before, it was read as empty and a `-r` run rewrote it with
    its one recording (the others' results gone), or the run crashed after its work. Now: exit 2 before any
    work, the message names the file, the file is left as it was."""
    ws, hyp_dir = ws_and_hyp
    full = _collapse(ws, hyp_dir)
    path = Path(full["path"])
    text = path.read_text()
    data = json.loads(text)
    rid = data["recordings"][0]["recording_id"]
    if edit == "truncated":
        broken = text[: len(text) // 2]
    elif edit == "der parts emptied":
        data["parts"][rid]["der"] = {}
        broken = json.dumps(data)
    elif edit == "not an object":
        broken = "[]"
    else:
        data["recordings"][0].pop("recording_id")
        broken = json.dumps(data)
    path.write_text(broken)
    other = data["recordings"][1]["recording_id"].rsplit("/", 1)[-1]
    result = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--hypothesis", str(hyp_dir), "-r", other])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and "nothing was run or written" in result.output
    assert path.read_text() == broken
    path.write_text(text)


def test_mixed_diarizers_are_said_in_the_console_and_the_report(ws_and_hyp):
    """Our diarizer on every recording, then an external RTTM on one: the summary pools two diarizers. The
    JSON counted them, but the console and the report said nothing of the mix."""
    from twotrack.show import build_report

    ws, hyp_dir = ws_and_hyp
    assert CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--json"]).exit_code == 0
    ids = sorted(r.recording_id for r in queries.recordings(ws))
    result = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--hypothesis", str(hyp_dir),
                                       "-r", ids[0].rsplit("/", 1)[-1]])
    assert result.exit_code == 0, result.output
    assert "the summary pools 2 diarizers: external (1 recording(s)), twotrack-ge2e (1 recording(s))" in result.output
    html = build_report(ws)
    assert 'id="collapse-mixed"' in html and "The corpus figure pools 2 diarizers" in html


def test_a_recording_rescanned_with_changed_audio_is_left_out_of_the_summary(tmp_path):
    """A recording whose audio changed and was scanned again since it was collapsed: a `-r` run on another one
    pooled its stored result (scored on audio and activity that are gone; the summary's hours were the old
    ones). Now it is named in `summary.stale`, shown, and left out of the summary until it is run again."""
    ws, corpus = _scanned_excerpts(tmp_path)
    hyp_dir = tmp_path / "hyp"
    hyp_dir.mkdir()
    for rec in queries.recordings(ws):
        hyp = [("S" + str(a.track), s.start, s.end) for a in queries.activity(ws, rec.recording_id) for s in a.segments]
        (hyp_dir / f"{rec.recording_id}.rttm").write_text("\n".join(rttm_lines(rec.recording_id, hyp)) + "\n")
    full = _collapse(ws, hyp_dir)
    ids = sorted(r["recording_id"] for r in full["recordings"])
    audio, rate = sf.read(corpus / f"{ids[0]}.flac", dtype="int16")
    sf.write(corpus / f"{ids[0]}.flac", audio[: 10 * rate], rate, subtype="PCM_16")  # the audio changes
    assert scan([corpus], ws, jobs=0).exit_code == 0
    part = _collapse(ws, hyp_dir, "-r", ids[1])
    assert sorted(r["recording_id"] for r in part["recordings"]) == ids  # still shown
    assert part["summary"]["stale"] == [ids[0]]
    assert part["summary"]["recordings"] == 1
    assert part["summary"]["hours"] == pytest.approx(15 / 3600, abs=1e-4)
    result = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--hypothesis", str(hyp_dir), "-r", ids[1]])
    assert "rescanned since they were collapsed" in result.output and ids[0] in result.output
    from fastapi.testclient import TestClient

    from twotrack.show import build_report, create_app
    assert 'id="collapse-not-pooled"' in build_report(ws) and ids[0] in build_report(ws)
    with TestClient(create_app(ws, cache_dir=tmp_path / "peaks")) as client:  # the explorer's page says so too
        assert 'id="collapse-stale"' in client.get(f"/recordings/{ids[0]}").text
        assert 'id="collapse-stale"' not in client.get(f"/recordings/{ids[1]}").text
    again = _collapse(ws, hyp_dir, "-r", ids[0])  # run again: pooled again, no longer stale
    assert "stale" not in again["summary"] and again["summary"]["recordings"] == 2


def test_a_run_waits_for_another_that_is_storing_its_results(ws_and_hyp):
    """Two runs on one workspace (`-r` one recording, `-r` the other, in two processes) each read results.json
    and wrote it back, unlocked: the later write could drop what the other had just stored. The merge and write
    now hold a lock on the collapse folder. Here the test holds it (as another run storing its results would),
    stores the other recording's result meanwhile, and the run, which waited, keeps it."""
    import os
    import subprocess
    import sys
    import time

    from twotrack.store.locks import SessionLock

    ws, hyp_dir = ws_and_hyp
    ids = sorted(r.recording_id for r in queries.recordings(ws))
    out = Path(ws.path) / "collapse"
    _collapse(ws, hyp_dir, "-r", ids[0])
    other = (out / "results.json").read_text()  # what another run on ids[0] stores
    (out / "results.json").unlink()
    for f in out.glob("*.rttm"):
        f.unlink()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with SessionLock(out).exclusive(10):
        proc = subprocess.Popen([sys.executable, "-m", "twotrack", "collapse", "-w", str(ws.path), "--hypothesis",
                                 str(hyp_dir), "-r", ids[1], "--json"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (out / f"{ids[1]}.rttm").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # its recording is scored; next it stores the results
        time.sleep(1.0)
        assert proc.poll() is None, "the run did not wait for the lock: " + proc.communicate()[1]
        (out / "results.json").write_text(other)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    stored = json.loads((out / "results.json").read_text())
    assert sorted(r["recording_id"] for r in stored["recordings"]) == ids
    assert stored["summary"]["recordings"] == 2
    assert not list(out.glob("*.tmp"))


def test_a_recording_that_fails_when_run_again_keeps_its_stored_result(ws_and_hyp):
    """`-r ID` on a recording whose audio file was moved away since: the run fails on it (exit 1) and wrote the
    failure over its good stored result (its scores, lanes and parts gone; the summary one recording short).
    Now the stored result stands and the console says the run failed on it and kept it."""
    ws, hyp_dir = ws_and_hyp
    full = _collapse(ws, hyp_dir)
    ids = sorted(r["recording_id"] for r in full["recordings"])
    audio = Path(ws.path).parent / "corpus" / f"{ids[0]}.flac"
    moved = audio.with_suffix(".away")
    audio.rename(moved)
    try:
        result = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--hypothesis", str(hyp_dir), "-r", ids[0]])
        assert result.exit_code == 1, result.output
        assert f"failed this run, its stored result kept: {ids[0]}" in result.output
        assert str(audio) in result.output
        stored = json.loads(Path(full["path"]).read_text())
        assert next(r for r in stored["recordings"] if r["recording_id"] == ids[0])["error"] is None
        assert sorted(stored["parts"]) == ids and stored["lanes"][ids[0]]
        assert _pooled(stored["summary"]) == pytest.approx(_pooled(full["summary"]))
    finally:
        moved.rename(audio)


def test_a_run_with_other_diarizer_options_counts_as_another_diarizer(ws_and_hyp):
    """A full run with our diarizer's defaults, then `-r` one recording with --overlap-margin 0.1: the summary
    pooled both as one "twotrack-ge2e" (diarizers {"twotrack-ge2e": 2}), the option change unseen. Now the
    options are in the diarizer's name and the console says two diarizers are pooled."""
    ws, _ = ws_and_hyp
    assert CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "--json"]).exit_code == 0
    ids = sorted(r.recording_id for r in queries.recordings(ws))
    result = CliRunner().invoke(main, ["collapse", "-w", str(ws.path), "-r", ids[0], "--overlap-margin", "0.1"])
    assert result.exit_code == 0, result.output
    stored = json.loads((Path(ws.path) / "collapse" / "results.json").read_text())
    assert stored["summary"]["diarizers"] == {"twotrack-ge2e": 1, "twotrack-ge2e (overlap-margin=0.1)": 1}
    assert "the summary pools 2 diarizers" in result.output


def test_a_recording_named_twice_is_run_once(ws_and_hyp):
    """`-r demo01 -r demo01`: the recording was collapsed twice and `this_run.recordings` listed it twice."""
    ws, hyp_dir = ws_and_hyp
    ids = sorted(r.recording_id for r in queries.recordings(ws))
    out = _collapse(ws, hyp_dir, "-r", ids[0], "-r", ids[0])
    assert out["this_run"]["recordings"] == [ids[0]]
