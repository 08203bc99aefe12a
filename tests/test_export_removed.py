"""The export summary's "N file(s) removed" counts the files gone at the end of the run. Before, it counted every
file of a recording that was rewritten: a rerun after one audio file of an export was deleted rewrote that
recording's files at the same paths and said "3 file(s) removed" (all of them there again). A withdrawal still
counts the files it takes away. The real CLI on the shared sample export workspace (tests/export_corpus.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from click.testing import CliRunner

import export_corpus as C
from twotrack.cli import main
from twotrack.rights.ledger import Ledger, ledger_path

PURPOSE = "commercial-training"


def _export(ws, out, *extra):
    res = CliRunner().invoke(main, ["export", "moshi", str(out), "-w", str(ws), "--purpose", PURPOSE,
                                    "--max-duration", "12", *extra], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_removed_counts_only_files_gone_at_the_end(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-removed")
    ws = C.private_copy(tmp_path_factory, root / "ws")
    out = root / "out"
    _export(ws, out)
    state = json.loads((out / ".twotrack" / "export.json").read_text())
    owned = {f["path"] for f in state["files"] if "clean/demo01" in f["recording_ids"]
             and f["path"] not in state["manifests"]}
    lost = sorted(p for p in owned if p.endswith(".wav"))[0]
    (out / lost).unlink()  # one file of clean/demo01 lost: the rerun writes the recording again

    text = _export(ws, out).output
    assert "this run: 1 written" in text and "0 file(s) removed" in text, text
    assert (out / lost).is_file()
    (out / lost).unlink()  # the same through --json
    again = json.loads(_export(ws, out, "--json").stdout)
    assert again["written"] == ["clean/demo01"] and again["removed"] == [], again["removed"]

    # a withdrawal takes the recording's files away: those are counted, each gone
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    Ledger(ledger_path(ws)).withdraw("libri-1688", "all", yesterday, note="asked to be removed")
    res = _export(ws, out)
    assert f"{len(owned)} file(s) removed" in res.output, res.output
    assert not any((out / p).exists() for p in owned)

