"""A team's own permissions table (``--permissions FILE``) reaches every rights verdict by the same option:
`export` (recorded in export.json with its sha256), `rights`, `rights audit` (which says when the table
changed, and refuses to judge a table-decided export without one), `qualify`, `map`, `report` and `serve`.
A table that cannot be read is a usage error naming the file (exit 2), before anything is written.

The workspace: 30-second excerpts of two sample dialogues, scanned by the real scan, the sample ledger
imported. ``clean/demo01`` is under the team's ``LicenseRef-our-panel-2026`` (its speakers consent to
commercial training), ``clean/demo03`` under CC-BY-4.0.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

import export_corpus as C
from twotrack.cli import main

lhotse = pytest.importorskip("lhotse")

PURPOSE = "commercial-training"
OURS = "LicenseRef-our-panel-2026"
PANEL, OTHER = "clean/demo01", "clean/demo03"
ENTRY = {"name": "Our panel contract 2026", "commercial_use": True, "derivatives": True, "share_derivatives": True,
         "redistribution": False, "sources": ["panel contract 2026, s.3 (training use)"]}


def _table(path, **changes):
    path.write_text(json.dumps({"licenses": {OURS: {**ENTRY, **changes}}}, indent=1))
    return path


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("team-table")
    corpus = root / "corpus"
    rows = []
    for rid, src, spk, lic in ((PANEL, "demo01_367_1688", ("libri-367", "libri-1688"), OURS),
                               (OTHER, "demo03_2609_367", ("libri-2609", "libri-367"), "CC-BY-4.0")):
        wav = C._excerpt(C.SAMPLE / "clean" / f"{src}.flac", corpus / f"{src}.wav")
        ctm = C._ctm_excerpt(C.SAMPLE / "gold" / f"{src}.ctm", corpus / f"{src}.ctm")
        rows.append({"recording_id": rid, "path": str(wav), "speaker_a": spk[0], "speaker_b": spk[1], "license": lic,
                     "tags": "register:read", "source_type": "two-track", "transcript": str(ctm)})
    return C.scan_rows(rows, corpus / "manifest.csv", root / "ws")


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _state(out):
    return json.loads((out / ".twotrack" / "export.json").read_text())


def _export(ws, out, *extra):
    res = _run("export", "lhotse", "-w", ws, out, "--purpose", PURPOSE, "--json", *extra)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _cut_ids(out) -> list[str]:
    """The recordings an export holds, read by lhotse itself (what the export tests load with)."""
    recs = lhotse.load_manifest(out / "recordings.jsonl.gz").with_path_prefix(out)
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    cuts = lhotse.CutSet.from_manifests(recordings=recs, supervisions=sups)
    for c in cuts:
        assert c.load_audio().shape[0] == 2 and c.supervisions
    return sorted({s.custom["source_recording_id"] for c in cuts for s in c.supervisions})


def test_a_team_licenseref_is_exported_with_the_table_and_blocked_without_it(ws, tmp_path):
    table = _table(tmp_path / "team-permissions.json")
    without = _export(ws, tmp_path / "without")
    assert list(without["blocked"]) == [PANEL]
    assert any("not a registered LicenseRef" in r and "--permissions" in r for r in without["blocked"][PANEL])
    assert _cut_ids(tmp_path / "without") == [OTHER]
    assert _state(tmp_path / "without")["permissions"]["path"] is None

    out = tmp_path / "with"
    data = _export(ws, out, "--permissions", table)
    assert data["blocked"] == {} and sorted(data["written"]) == [PANEL, OTHER]
    assert _cut_ids(out) == [PANEL, OTHER]
    recorded = _state(out)["permissions"]
    assert recorded["path"] == str(table.absolute())
    assert recorded["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest() == data["permissions"]["sha256"]
    assert len(recorded["builtin_sha256"]) == 64
    assert table.name in (out / "README.md").read_text()  # the card says which table judged (name, not path)

    # every other command that judges rights gives the same verdict with the same option, and the old one without
    for args, allowed in ((("--permissions", table), True), ((), False)):
        res = _run("rights", "-w", ws, "--purpose", PURPOSE, "--json", *args)
        assert res.exit_code == 0, res.output
        rows = {r["recording_id"]: r["allowed"] for r in json.loads(res.output)["recordings"]}
        assert rows == {PANEL: allowed, OTHER: True}
        res = _run("qualify", "-w", ws, "--purpose", PURPOSE, "--json", "--no-write", *args)
        assert res.exit_code == 0, res.output
        req7 = {r["recording_id"]: next(c["passed"] for c in r["requirements"] if c["id"] == 7)
                for r in json.loads(res.output)["recordings"]}
        assert req7[PANEL] is allowed and req7[OTHER] is True
    from twotrack.rights.licenses import load_permissions
    from twotrack.show import data as show_data
    from twotrack.store import Workspace

    snap = show_data.snapshot(Workspace(ws), permissions=load_permissions(table))
    assert {v.recording_id: v.allowed for v in snap.rights.data["purposes"][PURPOSE]} == {PANEL: True, OTHER: True}
    assert snap.rights.data["permissions"]["path"] == str(table.absolute())
    report = tmp_path / "report.html"
    assert _run("report", "-w", ws, "-o", report, "--permissions", table).exit_code == 0
    assert str(table.absolute()) in report.read_text()


def test_rights_audit_needs_the_table_and_says_when_it_changed(ws, tmp_path):
    table = _table(tmp_path / "team-permissions.json")
    out = tmp_path / "out"
    _export(ws, out, "--permissions", table)
    before = (out / ".twotrack" / "export.json").read_bytes()

    # without the table the audit would list the panel recording for removal: refused, naming the table
    res = _run("rights", "audit", out, "-w", ws, "--apply")
    assert res.exit_code == 2 and str(table.absolute()) in res.output and "--permissions" in res.output
    assert (out / ".twotrack" / "export.json").read_bytes() == before
    # a rerun of the export without it likewise
    res = _run("export", "lhotse", "-w", ws, out, "--purpose", PURPOSE)
    assert res.exit_code == 2 and str(table.absolute()) in res.output
    assert (out / ".twotrack" / "export.json").read_bytes() == before and _cut_ids(out) == [PANEL, OTHER]

    res = _run("rights", "audit", out, "-w", ws, "--permissions", table, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["removals"] == [] and report["permissions_changed"] is False
    assert report["export_permissions"]["sha256"] == report["permissions"]["sha256"]

    # the team's contract changes: no more commercial use. The audit says so and names the panel's files
    _table(table, commercial_use=False)
    res = _run("rights", "audit", out, "-w", ws, "--permissions", table)
    assert res.exit_code == 0 and "permissions table changed since the export" in res.output, res.output
    res = _run("rights", "audit", out, "-w", ws, "--permissions", table, "--apply", "--json")
    report = json.loads(res.output)
    assert report["permissions_changed"] is True
    assert {r["path"] for r in report["removals"]} == set(report["applied"]["removed"])
    assert all(r["recording_ids"] == [PANEL] for r in report["removals"])
    assert any("no commercial use" in why for r in report["removals"] for why in r["reasons"])
    assert _cut_ids(out) == [OTHER]
    state = _state(out)
    assert state["audits"][-1]["permissions"]["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()

    # the rerun with the new table records it and says the table changed
    data = _export(ws, out, "--permissions", table)
    assert list(data["blocked"]) == [PANEL]
    assert any("permissions table changed" in n for n in data["notes"])
    assert _state(out)["permissions"]["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()


def test_a_withdrawal_reaches_a_table_decided_export(ws, tmp_path):
    from twotrack.rights.ledger import Ledger, ledger_path

    mine = shutil.copytree(ws, tmp_path / "ws", ignore=shutil.ignore_patterns("*.lock"))
    table = _table(tmp_path / "team-permissions.json")
    out = tmp_path / "out"
    _export(mine, out, "--permissions", table)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    Ledger(ledger_path(mine)).withdraw("libri-1688", "all", yesterday, note="asked to be removed")
    res = _run("rights", "audit", out, "-w", mine, "--permissions", table, "--apply", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["removals"] and all(r["recording_ids"] == [PANEL] for r in report["removals"])
    assert all(any("libri-1688" in why for why in r["reasons"]) for r in report["removals"])
    assert report["permissions_changed"] is False and _cut_ids(out) == [OTHER]
    data = _export(mine, out, "--permissions", table)
    assert list(data["blocked"]) == [PANEL] and _cut_ids(out) == [OTHER]


@pytest.mark.parametrize("problem", ["missing", "not-json", "bad-field"])
def test_a_table_that_cannot_be_read_is_a_usage_error_naming_it_and_nothing_is_written(ws, tmp_path, problem):
    table = tmp_path / "team-permissions.json"
    if problem == "not-json":
        table.write_text('{"licenses": {')
    elif problem == "bad-field":
        _table(table, commercial_use="yes")
    out, report = tmp_path / "out", tmp_path / "report.html"
    for args in (("export", "lhotse", "-w", ws, out, "--purpose", PURPOSE),
                 ("rights", "-w", ws, "--purpose", PURPOSE),
                 ("qualify", "-w", ws, "--no-write"),
                 ("map", "-w", ws),
                 ("report", "-w", ws, "-o", report),
                 ("serve", "-w", ws, "--port", "0")):
        res = _run(*args, "--permissions", table)
        assert res.exit_code == 2, (args, res.output)
        assert table.name in res.output, (args, res.output)
        if problem != "missing":  # click names a missing file itself; ours say what is wrong with it
            assert {"not-json": "not valid JSON", "bad-field": "true or false"}[problem] in res.output, res.output
    assert not out.exists() and not report.exists()
    # an audit of an existing export: refused before it reads or changes anything
    good = _table(tmp_path / "good.json")
    done = tmp_path / "done"
    _export(ws, done, "--permissions", good)
    before = (done / ".twotrack" / "export.json").read_bytes()
    res = _run("rights", "audit", done, "-w", ws, "--apply", "--permissions", table)
    assert res.exit_code == 2 and table.name in res.output
    assert (done / ".twotrack" / "export.json").read_bytes() == before


def test_capture_sessions_may_name_a_license_of_the_team_table(tmp_path):
    from fastapi.testclient import TestClient

    from twotrack.capture.server import create_app
    from twotrack.rights.licenses import load_permissions

    table = _table(tmp_path / "team-permissions.json")
    for permissions, status in ((None, 400), (load_permissions(table), 200)):
        with TestClient(create_app(tmp_path / f"ws-{status}", scan=False, permissions=permissions)) as c:
            r = c.post("/api/sessions", json={"license": OURS})
            assert r.status_code == status, r.text
    res = _run("capture", "serve", "-w", tmp_path / "ws-cli", "--port", "0", "--permissions", tmp_path / "nope.json")
    assert res.exit_code == 2 and "nope.json" in res.output and not (tmp_path / "ws-cli").exists()


def test_parquet_rows_carry_every_purpose_judged_by_the_table(ws, tmp_path):
    import pyarrow.parquet as pq

    table = _table(tmp_path / "team-permissions.json")
    res = _run("export", "parquet", "-w", ws, tmp_path / "p", "--purpose", PURPOSE, "--permissions", table)
    assert res.exit_code == 0, res.output
    rows = [r for shard in sorted((tmp_path / "p" / "data").rglob("*.parquet"))
            for r in pq.read_table(shard, columns=["recording_id", "rights"]).to_pylist()]
    panel = {v["purpose"]: v for r in rows if r["recording_id"] == PANEL for v in r["rights"]}
    assert panel["commercial-training"]["allowed"] and panel["research-training"]["allowed"]
    # the table's own terms decide the other purposes too: no redistribution, not "not a registered LicenseRef"
    assert panel["redistribution"]["reasons"] == [f"license {OURS}: no redistribution"]


#: The last commit before export.json recorded the permissions table: it refuses a folder of a newer export
#: format (``paths.newer_export``) but ignores the ``permissions`` record.
BEFORE_TABLES = "918710a^"


def _older_twotrack(dst):
    """That twotrack's sources, from this repository's history (None when the history is not here)."""
    import subprocess
    import tarfile
    from io import BytesIO

    repo = C.SAMPLE.parents[1]
    try:
        tar = subprocess.run(["git", "-C", str(repo), "archive", BEFORE_TABLES, "src"], capture_output=True,
                             check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    with tarfile.open(fileobj=BytesIO(tar)) as t:
        t.extractall(dst, filter="data")
    return dst / "src"


def test_a_table_decided_export_is_a_newer_format_an_older_twotrack_will_not_amend(ws, tmp_path):
    """export.json records the permissions table; a twotrack from before that ignores the record, so its
    `rights audit --apply` (given the recordings by --manifest: it cannot open this workspace's newer schema)
    judged the team's LicenseRef by the built-in table and deleted the panel recording's files. A
    table-decided export is now export format 2, which such a twotrack refuses to amend; an export judged by
    the built-in table stays format 1 (an older twotrack judges it the same way), and the files' keys do not
    change: a folder recorded as format 1 before is rerun without rewriting anything."""
    import os
    import subprocess
    import sys

    table = _table(tmp_path / "team-permissions.json")
    out, plain = tmp_path / "out", tmp_path / "plain"
    _export(ws, out, "--permissions", table)
    _export(ws, plain)
    assert _state(out)["format_version"] == 2 and _state(plain)["format_version"] == 1
    # written as format 1 by the twotrack before this change: the rerun keeps every file and records format 2
    record = out / ".twotrack" / "export.json"
    record.write_text(record.read_text().replace('"format_version": 2', '"format_version": 1', 1))
    again = _export(ws, out, "--permissions", table)
    assert again["written"] == [] and again["kept"] == 2 and _state(out)["format_version"] == 2

    src = _older_twotrack(tmp_path / "older")
    if src is None:
        pytest.skip(f"this repository's history ({BEFORE_TABLES}) is not here to run the older twotrack")
    from twotrack.store import Workspace, queries

    manifest = tmp_path / "manifest.csv"  # the workspace's recordings, as that twotrack reads them

    recs = queries.recordings(Workspace(ws))
    manifest.write_text("recording_id,path,speaker_a,speaker_b,license\n" + "".join(
        f"{r.recording_id},{r.tracks[0].path},{r.speakers[0]},{r.speakers[1]},{r.license}\n" for r in recs))
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and ".twotrack" not in p.parts)
    before = record.read_bytes()
    older = subprocess.run([sys.executable, "-m", "twotrack", "rights", "audit", str(out), "-w", str(ws),
                            "--manifest", str(manifest), "--apply"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(src)})
    assert older.returncode != 0 and "written by a newer twotrack (export format version 2" in older.stderr, \
        (older.returncode, older.stdout[-2000:], older.stderr[-2000:])
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and ".twotrack" not in p.parts) == files
    assert record.read_bytes() == before and _cut_ids(out) == [PANEL, OTHER]
