"""Upgrade sweep 2026-12-05: folders written by another twotrack version.

Older versions' workspaces, ledgers and export folders were made by archived commits and read by this
code (notes/sweep-upgrade-2026-12-05.md); these tests cover what failed. Each builds the other version's
shape directly (rows, files), so nothing here depends on git history.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twotrack.errors import ConfigError, InputError
from twotrack.export import export
from twotrack.paths import EXPORT_FORMAT_VERSION, EXPORT_JSON
from twotrack.rights.audit import Removal, apply_audit
from twotrack.store import Workspace


def _newer_export_folder(root: Path) -> Path:
    """A moshi export folder as a newer twotrack might leave it: a format_version above this one's, a file of
    its own."""
    out = root / "exp"
    (out / ".twotrack").mkdir(parents=True)
    (out / "audio").mkdir()
    (out / "audio" / "x.wav").write_bytes(b"RIFF newer layout")
    (out / "train.jsonl").write_text('{"path": "audio/x.wav"}\n')
    record = {"format": "moshi", "format_version": EXPORT_FORMAT_VERSION + 1, "purpose": "research-training",
              "ledger_head": "0" * 64,
              "twotrack_version": "9.0.0", "complete": True, "manifests": ["train.jsonl"],
              "files": [{"path": "audio/x.wav", "sha256": "0" * 64, "bytes": 17, "recording_ids": ["clean/x"]}],
              "recordings": {"clean/x": {"key": "k", "files": ["audio/x.wav"]}}}
    (out / EXPORT_JSON).write_text(json.dumps(record))
    return out


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_export_rerun_into_a_folder_of_a_newer_export_format_is_refused_and_changes_nothing(tmp_path):
    out = _newer_export_folder(tmp_path)
    before = _listing(out)
    ws = Workspace(tmp_path / "ws", create=True)
    newer = rf"newer twotrack \(export format version {EXPORT_FORMAT_VERSION + 1}; this twotrack writes version "
    with pytest.raises(ConfigError, match=newer + rf"{EXPORT_FORMAT_VERSION}\)"):
        export(ws, out, "moshi", "research-training")
    assert _listing(out) == before


def test_audit_apply_on_a_folder_of_a_newer_export_format_is_refused_and_removes_nothing(tmp_path):
    out = _newer_export_folder(tmp_path)
    before = _listing(out)
    with pytest.raises(InputError, match="audit --apply refused: written by a newer twotrack"):
        apply_audit(out, [Removal(path="audio/x.wav", recording_ids=("clean/x",), reasons=("withdrawn",))])
    assert _listing(out) == before


def test_an_event_kind_written_by_a_newer_twotrack_is_refused_by_name_not_a_traceback(tmp_path):
    import duckdb

    from twotrack.store import queries

    ws = Workspace(tmp_path / "ws", create=True)
    con = duckdb.connect(str(ws.path / "workspace.duckdb"))
    con.execute("INSERT INTO events VALUES ('clean/x', 'ipu', 0.0, 1.0, 0, NULL, NULL), "
                "('clean/x', 'laughter', 1.0, 1.5, 0, NULL, NULL)")
    con.close()
    with pytest.raises(ConfigError, match=r"recording clean/x: stored event kind 'laughter' .* newer twotrack"):
        queries.events(ws, "clean/x")


@pytest.mark.parametrize("table, line, said", [
    ("activity", "refine_decay_db = 25.0", "split into activity.refine_onset_decay_db .*refine_offset_decay_db"),
    ("words", "align_coarse = true", "removed on 2026-12-04"),
])
def test_a_config_file_with_a_key_an_older_twotrack_read_fails_naming_the_file_and_what_became_of_it(
        tmp_path, table, line, said):
    from twotrack.config import load_config

    path = tmp_path / "old.toml"
    path.write_text(f"[{table}]\n{line}\n")
    with pytest.raises(ConfigError, match=f"old.toml: unknown config key '{table}.{line.split()[0]}': {said}"):
        load_config(path)


def test_a_ledger_event_of_a_newer_twotrack_is_refused_as_unreadable_not_reported_as_tampering(tmp_path):
    from twotrack.rights.ledger import Ledger, LedgerError, event_hash

    ledger = Ledger(tmp_path / "rights" / "ledger.jsonl")
    ledger.grant("spk-1", "ai-training", "2024-01-15", "https://x.example/form.pdf", "a" * 64)
    last = json.loads(ledger.path.read_text().splitlines()[-1])
    newer = dict(last, seq=2, prev_hash=last["hash"], action="suspend", status="dpv:ConsentSuspended", witness="w")
    newer.pop("hash")
    newer["hash"] = event_hash(newer)
    with ledger.path.open("a") as fh:
        fh.write(json.dumps(newer) + "\n")
    result = ledger.verify()
    assert not result.ok and result.newer and result.first_bad_seq == 2
    assert str(result).startswith("NOT READABLE by this twotrack at line 2 (event #2): field 'witness', action 'suspend'")
    with pytest.raises(LedgerError, match="newer twotrack"):
        ledger.withdraw("spk-1", "ai-training", "2026-12-05")
    # an edited event (hash no longer matches) is still tampering
    lines = ledger.path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["witness"] = "someone else"
    ledger.path.write_text("\n".join([lines[0], json.dumps(edited)]) + "\n")
    assert str(ledger.verify()).startswith("TAMPERED at line 2")


def test_a_rescan_of_results_a_newer_stage_version_computed_is_refused_and_writes_nothing(tmp_path):
    from twotrack.run import STAGE_VERSION, scan
    from twotrack.store import WorkspaceError, queries

    empty = tmp_path / "corpus"
    empty.mkdir()
    ws = Workspace(tmp_path / "ws", create=True)
    scan([str(empty)], ws, jobs=0)  # this version's scan records its stage versions
    assert queries.stage_versions_recorded(ws) == STAGE_VERSION
    newer = {**STAGE_VERSION, "activity": STAGE_VERSION["activity"] + 1}
    with ws.writer() as w:  # a scan by a newer twotrack, as it records itself
        run_id = w.begin_run([str(empty)], {}, {"versions": newer}, 1, "9.0.0")
        w.end_run(run_id, "completed", n_found=0, n_scanned=0, n_skipped=0, n_failed=0, audio_s=0.0, wall_s=0.0)
    runs_before = queries.runs(ws)
    said = (f"results computed by a newer twotrack: stage activity v{newer['activity']} "
            f"\\(this twotrack: v{STAGE_VERSION['activity']}\\)")
    with pytest.raises(WorkspaceError, match=said):
        scan([str(empty)], ws, jobs=0)
    assert queries.runs(ws) == runs_before


def test_stats_warns_of_results_another_stage_version_computed_and_is_quiet_once_they_are_current(tmp_path):
    import duckdb
    from click.testing import CliRunner

    from twotrack.cli import main
    from twotrack.config import Config
    from twotrack.run.keys import stage_keys

    ws = Workspace(tmp_path / "ws", create=True)
    current = stage_keys(Config(), {})
    older = {**current, "activity": "0" * 16, "events": "1" * 16}  # an older activity/events version's keys
    with ws.writer() as w:
        old_run = w.begin_run(["corpus"], Config().to_dict(), older, 1, "0.1.0")
        new_run = w.begin_run(["corpus"], Config().to_dict(), current, 1, "0.1.0")
    con = duckdb.connect(str(ws.path / "workspace.duckdb"))
    for rid, run_id in (("a", old_run), ("b", old_run), ("c", new_run)):
        for stage in ("decode", "checks", "activity", "events"):
            con.execute("INSERT INTO stage_results (recording_id, stage, source_key, stage_key, status, run_id) "
                        "VALUES (?, ?, 's', 'k', 'ok', ?)", [rid, stage, run_id])
    con.close()
    out = CliRunner().invoke(main, ["stats", "-w", str(ws.path)], catch_exceptions=False).output
    assert "stored results another twotrack version computed (activity of 2 recording(s), events of 2 recording(s))" in out
    con = duckdb.connect(str(ws.path / "workspace.duckdb"))
    con.execute("UPDATE stage_results SET run_id = ?", [new_run])  # rescanned: all computed by this version
    con.close()
    out = CliRunner().invoke(main, ["stats", "-w", str(ws.path)], catch_exceptions=False).output
    assert "another twotrack version" not in out
