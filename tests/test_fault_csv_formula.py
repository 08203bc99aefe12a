"""Text cells that a spreadsheet runs as formulas (ids, speakers, words from a manifest, ledger or transcript)
in the CSV an export writes: written with a leading ', and still matched by `rights audit`."""

from __future__ import annotations

import csv
import io

from twotrack.export.state import csv_bytes
from twotrack.rights.audit import _filtered_manifest


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_formula_cells_are_written_as_text():
    # before: =cmd|'/C calc'!A0 and =HYPERLINK(...) went into metadata.csv as they are
    rows = [("audio/x.wav", "=cmd|'/Ccalc'!A0", "+1+1", '=HYPERLINK("http://e")', "@SUM(1)", "-x", "\tA", 0.0, -0.5),
            ("audio/y.wav", "plain", "a=b", "hello world", "", "", "", 1.0, 2.0)]
    header = ("file_name", "recording_id", "speaker", "text", "t2", "t3", "t4", "start_s", "offset")
    got = _cells(csv_bytes(header, rows))
    assert got[1] == ["audio/x.wav", "'=cmd|'/Ccalc'!A0", "'+1+1", "'=HYPERLINK(\"http://e\")", "'@SUM(1)", "'-x",
                      "'\tA", "0.0", "-0.5"]
    assert got[2] == ["audio/y.wav", "plain", "a=b", "hello world", "", "", "", "1.0", "2.0"]


def test_rights_audit_still_drops_a_formula_like_recording(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_bytes(csv_bytes(("file_name", "recording_id"), [("audio/p1.wav", "=bad"), ("audio/p2.wav", "good")]))
    _, new, dropped = _filtered_manifest(tmp_path, "metadata.csv", {"=bad"}, set())
    assert dropped == 1
    assert _cells(new) == [["file_name", "recording_id"], ["audio/p2.wav", "good"]]
