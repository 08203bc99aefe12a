"""A consent file with a cell over the CSV field limit or a JSONL line nested too deeply: rejected with the row
named (nothing appended), not a traceback."""

from __future__ import annotations

import json

import pytest

from twotrack.rights.importer import ImportRejected, read_event_rows

GOOD = dict(speaker="s9", action="grant", scopes="ai-training", date="2024-01-15",
            evidence="https://e.example.org/x", evidence_sha256="0" * 64)


def test_jsonl_nested_too_deeply(tmp_path):
    # before: RecursionError traceback out of `twotrack consent import`
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + '{"speaker": "s8", "note": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(ImportRejected) as err:
        read_event_rows(path)
    assert [str(e) for e in err.value.errors] == ["row 2: not usable JSON: nested too deeply"]


def test_csv_cell_over_the_field_limit(tmp_path):
    # before: _csv.Error traceback out of `twotrack consent import`
    path = tmp_path / "c.csv"
    path.write_text(",".join(GOOD) + ",note\n" + ",".join(GOOD.values()) + "," + "x" * 200_000 + "\n"
                    + ",".join(GOOD.values()) + ",ok\n")
    with pytest.raises(ImportRejected) as err:
        read_event_rows(path)
    assert [str(e) for e in err.value.errors] == ["row 2: a cell longer than 131072 characters"]
