"""JSON from outside with what Python's decoder lets through or trips on: nesting past its depth, NaN and
Infinity, numbers beyond a float or past 4300 digits, a key given twice, a UTF-8 byte-order mark. Each reader
names the file (and line) and the problem, and does what it did with any bad JSON (skip the row, refuse the
file, record TAMPERED). ``twotrack.jsonfile`` is the one loader (its own tests: test_jsonfile.py); the
"before" of each test is the reader's behaviour before it used it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from capture_api import client, hdr, new_session  # noqa: F401 (client: the fixture)
from recipe_corpora import build_emilia
from twotrack.errors import InputError
from twotrack.export.state import read_state
from twotrack.ingest.discover import scan
from twotrack.qualify.reference import load_reference
from twotrack.recipes.candor import _load_json
from twotrack.recipes.registry import prepare
from twotrack.rights.audit import read_export
from twotrack.rights.errors import ImportRejected, LedgerError
from twotrack.rights.importer import read_event_rows
from twotrack.rights.ledger import Ledger
from twotrack.rights.licenses import load_permissions
from twotrack.show.data import collapse_path, collapse_results
from twotrack.store import Workspace

DEEP = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
BOM = "\ufeff"


def _reference(quantile: str) -> str:
    return ('{"format": "twotrack-reference/1", "statistics": {"fto_s": {"kind": "distribution", '
            '"quantiles": {"0.5": %s}}}}' % quantile)


# ---- nesting past the decoder's depth ---------------------------------------------------------------------


def test_deep_signalling_message_is_refused(client):
    # before: 500 Internal Server Error (RecursionError in the handler)
    d = new_session(client)
    r = client.post(f"/api/sessions/{d['session_id']}/A/signal", content=b"[" * 60_000, headers=hdr(d, "A"))
    assert r.status_code == 400 and r.json()["detail"] == "signalling message: not usable JSON: nested too deeply"


@pytest.mark.parametrize("read", [read_state, read_export])
def test_deep_export_record_is_an_input_error(tmp_path, read):
    # before: RecursionError out of `twotrack export` (rerun) and `twotrack rights audit`
    (tmp_path / ".twotrack").mkdir()
    (tmp_path / ".twotrack" / "export.json").write_text(DEEP)
    with pytest.raises(InputError, match=r"export.json: .*not usable JSON: nested too deeply$"):
        read(tmp_path)


def test_deep_ledger_line_is_a_ledger_error_when_events_are_read(tmp_path):
    # before: RecursionError out of Ledger.events() (consent states, speakers), which does not verify first
    led = Ledger(tmp_path / "ledger.jsonl")
    led.grant("s1", ["ai-training"], "2024-01-01", "https://e.example.org/1.pdf", "ab" * 32)
    with open(led.path, "a") as fh:
        fh.write(DEEP + "\n")
    with pytest.raises(LedgerError, match=r"line 2: not a valid consent event \(not usable JSON: nested too deeply\)"):
        led.events()


def test_deep_collapse_results_say_why_in_the_explorer(tmp_path):
    # before: RecursionError out of the explorer's collapse page
    ws = Workspace(tmp_path / "ws", create=True)
    collapse_path(ws).parent.mkdir(parents=True)
    collapse_path(ws).write_text(DEEP)
    part = collapse_results(ws)
    assert not part.available and "results.json: not usable JSON: nested too deeply" in part.note


# ---- NaN and Infinity ----------------------------------------------------------------------------------


def test_nan_signalling_message_is_refused_and_the_other_page_still_polls(client):
    # before: relayed; every poll of the other participant then failed with 500 (NaN is not JSON out)
    d = new_session(client)
    sid = d["session_id"]
    r = client.post(f"/api/sessions/{sid}/A/signal", content=b'{"type": "candidate", "x": NaN}', headers=hdr(d, "A"))
    assert r.status_code == 400
    assert r.json()["detail"] == "signalling message: not usable JSON: NaN is not a JSON number"
    poll = client.get(f"/api/sessions/{sid}/B/signal", headers=hdr(d, "B"))
    assert poll.status_code == 200 and poll.json()["messages"] == []


@pytest.mark.parametrize("value, problem", [("NaN", "NaN is not a JSON number"),
                                            ("-Infinity", "-Infinity is not a JSON number")])
def test_non_finite_reference_quantile_is_refused(tmp_path, value, problem):
    # before: read as nan / -inf, compared as if a number
    path = tmp_path / "ref.json"
    path.write_text(_reference(value))
    with pytest.raises(InputError, match=rf"ref.json: not usable JSON: {problem}$"):
        load_reference(path)


def test_manifest_keeps_nan_in_a_metadata_column_and_refuses_it_where_a_number_is_read(tmp_path):
    # unchanged (a guard): json.dumps writes NaN, so a manifest may hold it; the manifest reads numbers leniently
    sf.write(tmp_path / "a.wav", np.zeros((1600, 2), dtype="float32") + 0.01, 16000)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"recording_id": "r1", "path": "a.wav", "age": NaN}\n'
                        '{"recording_id": "r2", "path": "a.wav", "b_offset_s": NaN}\n')
    found = scan([manifest], hash_files=False)
    (rec,) = found.recordings
    assert rec.recording_id == "r1" and rec.metadata["age"] == "nan"
    (error,) = found.errors
    assert "line 2: b_offset_s 'nan' is not a finite number" in error.problem


# ---- numbers beyond a float, or past 4300 digits ----------------------------------------------------------


@pytest.mark.parametrize("value, problem", [("1e999", "number 1e999 is beyond a float's range"),
                                            ("9" * 400, "a number of 400 digits, beyond a float's range")])
def test_reference_quantile_beyond_a_float_is_refused(tmp_path, value, problem):
    # before: 1e999 read as inf; the 400-digit integer an OverflowError traceback
    path = tmp_path / "ref.json"
    path.write_text(_reference(value))
    with pytest.raises(InputError, match=rf"ref.json: not usable JSON: {problem}$"):
        load_reference(path)


@pytest.mark.parametrize("read", [read_state, read_export])
def test_export_record_with_a_5000_digit_number_is_an_input_error(tmp_path, read):
    # before: a bare ValueError (advice about sys.set_int_max_str_digits), no file named
    (tmp_path / ".twotrack").mkdir()
    (tmp_path / ".twotrack" / "export.json").write_text('{"purpose": ' + "9" * 5000 + "}")
    with pytest.raises(InputError, match=r"export.json: .*a number of 5000 digits \(more than 4300\)$"):
        read(tmp_path)


# ---- a key given twice ------------------------------------------------------------------------------------


def test_ledger_line_with_a_key_given_twice_is_tampered(tmp_path):
    # before: verified ok: the decoder kept the last value, which the hash covers, and hid the first
    led = Ledger(tmp_path / "ledger.jsonl")
    led.grant("s1", ["ai-training"], "2024-01-01", "https://e.example.org/1.pdf", "ab" * 32)
    line = led.path.read_text()
    led.path.write_text('{"speaker": "someone-else", ' + line[1:])
    res = led.verify()
    assert not res.ok and res.first_bad_line == 1
    assert res.problem == "unreadable event: not usable JSON: key 'speaker' appears twice in one object"


def test_manifest_line_with_a_key_given_twice_is_a_row_error(tmp_path):
    # before: the second recording_id won silently and the row was scanned
    sf.write(tmp_path / "a.wav", np.zeros((1600, 2), dtype="float32") + 0.01, 16000)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"recording_id": "r1", "path": "a.wav", "recording_id": "r2"}\n'
                        + json.dumps({"recording_id": "r3", "path": "a.wav"}) + "\n")
    found = scan([manifest], hash_files=False)
    assert [r.recording_id for r in found.recordings] == ["r3"]
    (error,) = found.errors
    assert "line 1: not usable JSON: key 'recording_id' appears twice in one object" in error.problem


def test_consent_row_with_a_key_given_twice_is_rejected(tmp_path):
    # before: imported under the second speaker id; which one the file meant is not known
    path = tmp_path / "c.jsonl"
    row = dict(speaker="s8", action="grant", scopes="ai-training", date="2024-01-15",
               evidence="https://e.example.org/x", evidence_sha256="0" * 64)
    path.write_text(json.dumps(row)[:-1] + ', "speaker": "s7"}\n')
    with pytest.raises(ImportRejected) as err:
        read_event_rows(path)
    assert [str(e) for e in err.value.errors] == ["row 1: not usable JSON: key 'speaker' appears twice in one object"]


# ---- a UTF-8 byte-order mark ------------------------------------------------------------------------------


def test_permissions_table_with_a_bom_is_read(tmp_path):
    # before: "not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1"
    path = tmp_path / "perm.json"
    entry = {"commercial_use": True, "derivatives": False, "share_derivatives": False, "redistribution": True}
    path.write_text(BOM + json.dumps({"licenses": {"LicenseRef-team": entry}}), encoding="utf-8")
    got = load_permissions(path)["LicenseRef-team"]
    assert got.commercial_use is True and got.derivatives is False


def test_reference_and_candor_metadata_with_a_bom_are_read(tmp_path):
    # before: "cannot read reference: Unexpected UTF-8 BOM ..." / "not JSON (Unexpected UTF-8 BOM ...)"
    ref = tmp_path / "ref.json"
    ref.write_text(BOM + _reference("0.2"), encoding="utf-8")
    assert load_reference(ref).statistics["fto_s"].quantiles == {"0.5": 0.2}
    meta = tmp_path / "channel_map.json"
    meta.write_text(BOM + '{"L": "u1", "R": "u2"}', encoding="utf-8")
    assert _load_json(str(meta)) == {"L": "u1", "R": "u2"}


def test_emilia_index_with_a_bom_keeps_its_first_line(tmp_path):
    # before: line 1 was a BAD_METADATA error ("not a JSON object with 'wav'") and its segment not prepared
    root = build_emilia(tmp_path / "corpus")
    index = root / "EN" / "EN_B00000.jsonl"
    before = prepare("emilia", [root])
    index.write_text(BOM + index.read_text(), encoding="utf-8")
    got = prepare("emilia", [root])
    assert got.errors == before.errors and len(got.recordings) == len(before.recordings)


def test_reference_quantile_level_given_twice_in_two_spellings_is_refused(tmp_path):
    # before: "0.5" and "0.50" are one level; the last value was kept silently (a key given twice by its spelling)
    path = tmp_path / "ref.json"
    path.write_text('{"format": "twotrack-reference/1", "statistics": {"fto_s": {"kind": "distribution", '
                    '"quantiles": {"0.5": 0.2, "0.25": 0.1, "0.50": 0.9}}}}')
    with pytest.raises(InputError, match=r"ref.json: statistic 'fto_s': quantile level 0.5 given twice \('0.5', '0.50'\)"):
        load_reference(path)
