"""The scan's commands as a user runs them: stable JSON (docs/cli.md), texts, and exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner
from test_scan import make_corpus

from twotrack.cli import main

SCAN_KEYS = {"workspace", "run_id", "status", "recordings", "hours", "time_s", "realtime_factor", "jobs", "timing",
             "stages", "unavailable_stages", "errors", "exit_code"}
CHECK_KEYS = {"isolation", "bleed_db", "bleed_lag_ms", "offset_ms", "drift_ppm", "duplicate_channels", "reasons"}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_scan_stats_show_errors(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=2, dur_s=5.0)
    (corpus / "broken.wav").write_text("not audio")
    ws = str(tmp_path / "ws")

    res = run("scan", str(corpus), "-w", ws, "--jobs", "0", "--json", "--no-progress")
    assert res.exit_code == 1  # one file failed, the others were scanned
    summary = json.loads(res.stdout)
    assert set(summary) == SCAN_KEYS
    assert summary["recordings"] == {"found": 2, "scanned": 2, "skipped": 0, "failed": 0, "skipped_failed": 0,
                                     "stage_errors": 0,
                                     "metadata_updated": 0}
    assert summary["exit_code"] == 1 and summary["status"] == "completed"
    assert [e["path"].endswith("broken.wav") for e in summary["errors"]] == [True]
    assert set(summary["errors"][0]) == {"path", "problem", "stage", "recording_id"}
    assert summary["stages"]["activity"] == {"ok": 2}

    again = run("scan", str(corpus), "-w", ws, "--jobs", "0", "--no-progress")
    assert again.exit_code == 1
    assert "nothing to scan: all 2 recording(s) are already in the workspace" in again.stdout

    stats = run("stats", "-w", ws, "--json")
    assert stats.exit_code == 0
    data = json.loads(stats.stdout)
    assert {"workspace", "recordings", "hours", "layouts", "speakers", "isolation", "recordings_without_checks",
            "errors", "group_by", "events_keys", "outdated", "turns", "missing_sources", "words", "wordless"} == set(data)
    assert data["missing_sources"] == {} and data["outdated"] == {}
    assert data["recordings"]["total"] == 2 and data["errors"] == 1
    turns = data["turns"]
    assert {"counts", "per_minute", "speech_share", "overlap_share_of_speech", "fto"} <= set(turns)
    assert {"quantiles", "histogram"} <= set(turns["fto"])
    text = run("stats", "-w", ws)
    assert text.exit_code == 0 and "FTO (s)" in text.stdout and "per minute" in text.stdout

    shown = run("show", "d00", "-w", ws, "--json")
    assert shown.exit_code == 0
    one = json.loads(shown.stdout)
    assert {"recording_id", "status", "duration_s", "tracks", "checks", "activity", "events", "stages",
            "errors"} <= set(one)
    assert one["recording_id"] == "d00" and len(one["tracks"]) == 2
    if one["checks"] is not None:  # the checks stage is installed
        assert CHECK_KEYS <= set(one["checks"])
        assert one["checks"]["isolation"] in ("isolated", "leaky", "not-isolated", "mono", "unknown")
    assert {"kind", "start", "end", "track", "from_track", "value"} == set(one["events"][0])
    lanes = run("show", "d00", "-w", ws, "--step", "0.1")
    assert lanes.exit_code == 0
    assert any(line.startswith("  A  ") for line in lanes.stdout.splitlines())
    assert any(line.startswith("  B  ") for line in lanes.stdout.splitlines())

    errs = run("errors", "-w", ws, "--json")
    assert errs.exit_code == 1
    rows = json.loads(errs.stdout)
    assert len(rows) == 1 and set(rows[0]) == {"recording_id", "path", "stage", "problem", "origin", "run_id"}
    (corpus / "broken.wav").unlink()
    assert run("scan", str(corpus), "-w", ws, "--jobs", "0", "--no-progress").exit_code == 0
    fixed = run("errors", "-w", ws)
    assert fixed.exit_code == 0 and "no errors" in fixed.stdout


def test_usage_errors_exit_2(tmp_path):
    missing = str(tmp_path / "nowhere")
    assert run("stats", "-w", missing).exit_code == 2
    assert run("errors", "-w", missing).exit_code == 2
    assert run("show", "x", "-w", missing).exit_code == 2
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=1, dur_s=3.0)
    bad = run("scan", str(corpus), "-w", str(tmp_path / "ws"), "--set", "activity.no_such_key=1")
    assert bad.exit_code == 2 and "unknown config key" in bad.stderr
    assert run("scan", str(corpus), "-w", str(tmp_path / "ws"), "--set", "onset").exit_code == 2
    assert run("scan", str(corpus), "-w", str(tmp_path / "ws"), "--jobs", "0", "--no-progress").exit_code == 0
    unknown = run("show", "zz", "-w", str(tmp_path / "ws"))
    assert unknown.exit_code == 2 and "no recording 'zz'" in unknown.stderr


def test_help_documents_exit_codes():
    for cmd in ("scan", "stats", "show", "errors"):
        text = run(cmd, "--help").stdout
        assert "Exit codes" in text and "2" in text


def test_a_bare_file_scanned_after_its_manifest_keeps_the_manifests_description(tmp_path):
    # the same audio named by a manifest (license, speakers) and then by itself (a walked file names none):
    # the manifest's description stays (a folder rescan must not empty the rights); a manifest changes it
    corpus = tmp_path / "corpus"
    (wav,) = make_corpus(corpus, n=1, dur_s=4.0)
    manifest = tmp_path / "m.csv"  # outside the folder: the folder scan below walks files only
    manifest.write_text(f"recording_id,path,speaker_a,speaker_b,license\nd00,corpus/{wav.name},sa,sb,CC-BY-4.0\n")
    ws = str(tmp_path / "ws")
    assert run("scan", str(manifest), "-w", ws, "--jobs", "0", "--no-progress").exit_code == 0
    for source in (wav, corpus):
        again = run("scan", str(source), "-w", ws, "--jobs", "0", "--no-progress")
        assert again.exit_code == 0
        assert "metadata updated" not in again.stdout
        shown = json.loads(run("show", "d00", "-w", ws, "--json").stdout)
        assert shown["license"] == "CC-BY-4.0" and [t["speaker"] for t in shown["tracks"]] == ["sa", "sb"]
    manifest.write_text(f"recording_id,path,speaker_a,speaker_b,license\nd00,corpus/{wav.name},sa,sc,CC-BY-4.0\n")
    changed = run("scan", str(manifest), "-w", ws, "--jobs", "0", "--no-progress")
    assert "metadata updated for 1 recording(s)" in changed.stdout
    shown = json.loads(run("show", "d00", "-w", ws, "--json").stdout)
    assert [t["speaker"] for t in shown["tracks"]] == ["sa", "sc"]