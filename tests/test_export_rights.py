"""Withdrawal reaches exports: a withdrawn speaker's recordings are in no export made after the withdrawal,
the rights audit of an export made before it names exactly their files, and a rerun or `--apply` removes them."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import export_corpus as C
from twotrack.cli import main
from twotrack.export import export
from twotrack.rights.audit import audit_report
from twotrack.rights.ledger import Ledger, ledger_path
from twotrack.store import Workspace, queries

PURPOSE = "commercial-training"
FORMATS = ("moshi", "lhotse", "parquet")
WITHDRAWN = "libri-1688"  # track B of clean/demo01 only
GONE = "clean/demo01"


def _state(out):
    return json.loads((out / ".twotrack" / "export.json").read_text())


def _mentions(out, rid: str) -> list[str]:
    """Every place an export still holds a recording: export.json files, manifest lines, Parquet rows."""
    stem = rid.replace("/", "__")
    found = [f["path"] for f in _state(out)["files"] if rid in f["recording_ids"] and f["path"] not in
             _state(out)["manifests"]]
    found += [p.name for p in out.rglob("*") if p.is_file() and p.name.startswith(stem)]
    for name in ("train.jsonl", "recordings.jsonl.gz", "supervisions.jsonl.gz"):
        p = out / name
        if p.exists():
            text = (gzip.decompress(p.read_bytes()) if name.endswith(".gz") else p.read_bytes()).decode()
            found += [f"{name}:{line[:40]}" for line in text.splitlines() if stem in line or rid in line]
    for shard in (out / "data").rglob("*.parquet") if (out / "data").exists() else ():
        ids = pq.read_table(shard, columns=["recording_id"]).column("recording_id").to_pylist()
        found += [f"{shard.name}:{rid}" for i in ids if i == rid]
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("withdrawal")
    ws = C.private_copy(tmp_path_factory, root / "ws")
    before = {}
    for fmt in FORMATS:
        before[fmt] = root / f"before-{fmt}"
        s = export(ws, before[fmt], fmt, PURPOSE, max_duration_s=12.0, shard_mb=0.5)
        assert sorted(_state(before[fmt])["recordings"]) == C.COMMERCIAL_ALLOWED and not s.errors
        assert _mentions(before[fmt], GONE)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    Ledger(ledger_path(ws)).withdraw(WITHDRAWN, "all", yesterday, note="speaker asked to be removed")
    return ws, root, before


def test_exports_made_after_the_withdrawal_hold_none_of_the_speakers_recordings(world):
    ws, root, _ = world
    for fmt in FORMATS:
        after = root / f"after-{fmt}"
        s = export(ws, after, fmt, PURPOSE, max_duration_s=12.0, shard_mb=0.5)
        assert GONE in s.blocked and any(WITHDRAWN in r for r in s.blocked[GONE])
        assert sorted(_state(after)["recordings"]) == ["paired/demo03"]
        assert _mentions(after, GONE) == [], fmt
        assert _state(after)["ledger_head"] == Ledger(ledger_path(ws)).head


def test_the_audit_of_an_earlier_export_names_exactly_its_files(world):
    ws, _, before = world
    recordings = queries.recordings(Workspace(ws))
    for fmt in FORMATS:
        state = _state(before[fmt])
        report = audit_report(before[fmt], Ledger(ledger_path(ws)), recordings)
        expected = {f["path"] for f in state["files"] if GONE in f["recording_ids"]
                    and f["path"] not in state["manifests"]}
        assert {r.path for r in report.removals} == expected, fmt
        assert all(r.recording_ids == (GONE,) for r in report.removals)
        assert all(any(WITHDRAWN in why for why in r.reasons) for r in report.removals)
        assert report.new_events == 1 and report.export_head == state["ledger_head"]


def test_rerunning_an_earlier_export_applies_the_withdrawal(world, tmp_path):
    ws, _, before = world
    recordings = queries.recordings(Workspace(ws))
    for fmt in FORMATS:
        out = tmp_path / fmt
        shutil.copytree(before[fmt], out)
        s = export(ws, out, fmt, PURPOSE, max_duration_s=12.0, shard_mb=0.5)
        assert _mentions(out, GONE) == [], fmt
        assert sorted(_state(out)["recordings"]) == ["paired/demo03"]
        # parquet rewrites a shard shared with demo01 in place; the others keep demo03's files as they were
        assert s.written == [] or fmt == "parquet"
        assert audit_report(out, Ledger(ledger_path(ws)), recordings).removals == ()


def test_audit_apply_then_rerun_leaves_a_consistent_export(world, tmp_path):
    ws, _, before = world
    runner = CliRunner()
    for fmt in FORMATS:
        out = tmp_path / fmt
        shutil.copytree(before[fmt], out)
        res = runner.invoke(main, ["rights", "audit", str(out), "-w", str(ws), "--apply", "--json"])
        assert res.exit_code == 0, res.output
        applied = json.loads(res.output)["applied"]
        assert applied["removed"] and _mentions(out, GONE) == [], (fmt, _mentions(out, GONE))
        # the export command brings the rest (croissant card, parquet rows of shared shards) in line
        s = export(ws, out, fmt, PURPOSE, max_duration_s=12.0, shard_mb=0.5)
        assert not s.errors and sorted(_state(out)["recordings"]) == ["paired/demo03"]
        from twotrack.export.state import sha256_file

        assert all(f["sha256"] == sha256_file(out / f["path"]) for f in _state(out)["files"])


def test_cli_export_json_and_exit_codes(tmp_path_factory, tmp_path):
    ws = C.workspace(tmp_path_factory)
    runner = CliRunner()
    out = tmp_path / "m"
    res = runner.invoke(main, ["export", "moshi", "-w", str(ws), str(out), "--purpose", PURPOSE,
                               "--max-duration", "0", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert sorted(data["written"]) == C.COMMERCIAL_ALLOWED and list(data["blocked"]) == ["clean/demo02"]
    assert data["ledger_head"] == _state(out)["ledger_head"]
    # the same folder for another format or purpose is a usage error
    res = runner.invoke(main, ["export", "lhotse", "-w", str(ws), str(out), "--purpose", PURPOSE])
    assert res.exit_code == 2 and "holds a moshi export" in res.output
    res = runner.invoke(main, ["export", "lhotse", "-w", str(ws), str(tmp_path / "l"), "--purpose", PURPOSE,
                               "--main-speaker", "B"])
    assert res.exit_code == 2 and "moshi exports only" in res.output
    res = runner.invoke(main, ["export", "moshi", "-w", str(ws), str(tmp_path / "x"), "--purpose", "nope"])
    assert res.exit_code == 2
