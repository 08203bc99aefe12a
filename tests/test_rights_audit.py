"""Withdrawal reaches exports: the audit names exactly the files to remove, and --apply removes them."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from twotrack.errors import InputError
from twotrack.model import Layout, Recording, TrackSource
from twotrack.rights.audit import apply_audit, audit_export, audit_report, read_export
from twotrack.rights.ledger import Ledger, LedgerError
from twotrack.rights.verdicts import decide

H = "e" * 64
DOC = "https://consent.example.org/f/"


def rec(rid, a, b, license="CC-BY-4.0"):
    return Recording(rid, (TrackSource(f"/c/{rid}.flac", 0), TrackSource(f"/c/{rid}.flac", 1)),
                     Layout.MULTICHANNEL, (a, b), license=license)


RECS = [rec("c/r1", "alice", "bob"), rec("c/r2", "carol", "alice"), rec("c/r3", "bob", "carol"),
        rec("c/r4", "bob", "dave")]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_export(out, ledger: Ledger, recordings, purpose="commercial-training", at=None):
    """A small export as the export stage writes it: per recording a WAV, a split second WAV for r2,
    alignment JSONs, a Moshi JSONL manifest and a gzipped Lhotse-like supervisions manifest."""
    allowed = [v.recording_id for v in decide(recordings, ledger, purpose, at=at) if v.allowed]
    (out / "audio").mkdir(parents=True)
    files, moshi, sups = [], [], []
    for rid in allowed:
        stem = rid.replace("/", "__")
        parts = [stem] if rid != "c/r2" else [f"{stem}_0000", f"{stem}_0001"]
        for part in parts:
            wav = out / "audio" / f"{part}.wav"
            wav.write_bytes(b"RIFF" + part.encode())
            ali = out / "audio" / f"{part}.json"
            ali.write_text(json.dumps({"alignments": [["hi", [0.1, 0.3], "SPEAKER_MAIN"]]}))
            for p in (wav, ali):
                files.append({"path": str(p.relative_to(out)), "sha256": _sha(p), "recording_ids": [rid],
                              "ids": [part]})
            moshi.append({"path": f"audio/{part}.wav", "duration": 12.5})
            sups.append({"id": f"{part}-sup0", "recording_id": part, "channel": 0, "start": 0.0, "duration": 1.0})
    (out / "train.jsonl").write_text("".join(json.dumps(m) + "\n" for m in moshi))
    (out / "lhotse").mkdir()
    (out / "lhotse" / "supervisions.jsonl.gz").write_bytes(
        gzip.compress("".join(json.dumps(s) + "\n" for s in sups).encode(), mtime=0))
    for m in ("train.jsonl", "lhotse/supervisions.jsonl.gz"):
        files.append({"path": m, "sha256": _sha(out / m), "recording_ids": allowed})
    (out / "export.json").write_text(json.dumps({
        "purpose": purpose, "ledger_head": ledger.head, "twotrack_version": "0.1.0", "config": {},
        "files": files, "manifests": ["train.jsonl", {"path": "lhotse/supervisions.jsonl.gz"}],
    }, indent=2))
    return allowed


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(tmp_path / "ws" / "rights" / "ledger.jsonl")
    for spk in ("alice", "bob", "carol", "dave"):
        led.grant(spk, ["ai-training", "commercial-use", "redistribution"], "2024-01-01", DOC + spk, H)
    return led


def test_withdrawal_after_export_names_exactly_the_files_to_remove(tmp_path, ledger):
    out = tmp_path / "export"
    assert make_export(out, ledger, RECS) == ["c/r1", "c/r2", "c/r3", "c/r4"]
    assert audit_export(out, ledger, RECS) == []  # nothing changed yet

    ledger.withdraw("alice", ["commercial-use"], "2025-01-01")
    ledger.withdraw("carol", ["redistribution"], "2025-01-01")  # not needed by commercial-training
    report = audit_report(out, ledger, RECS)
    assert report.new_events == 2 and report.export_head != report.ledger_head
    removed = sorted(r.path for r in report.removals)
    assert removed == sorted(f"audio/c__{x}.{ext}" for x in ("r1", "r2_0000", "r2_0001") for ext in ("wav", "json"))
    assert all("alice" in " ".join(r.reasons) for r in report.removals)

    # a newer export under the same purpose contains none of alice's recordings
    assert make_export(tmp_path / "export2", ledger, RECS) == ["c/r3", "c/r4"]

    res = apply_audit(out, report.removals, ledger_head=report.ledger_head)
    assert sorted(res.removed) == removed and res.missing == ()
    assert res.manifest_lines_dropped == {"train.jsonl": 3, "lhotse/supervisions.jsonl.gz": 3}
    assert not (out / "audio" / "c__r1.wav").exists() and (out / "audio" / "c__r3.wav").exists()
    moshi = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert [m["path"] for m in moshi] == ["audio/c__r3.wav", "audio/c__r4.wav"]
    sups = [json.loads(line) for line in gzip.decompress((out / "lhotse/supervisions.jsonl.gz").read_bytes()).splitlines()]
    assert [s["recording_id"] for s in sups] == ["c__r3", "c__r4"]

    data = read_export(out)
    paths = {f["path"] for f in data["files"]}
    assert not paths & set(removed)
    for f in data["files"]:  # every remaining sha256 is the file's real hash (manifests were re-hashed)
        assert f["sha256"] == _sha(out / f["path"]), f["path"]
    assert data["audits"][-1]["recording_ids"] == ["c/r1", "c/r2"]
    assert audit_export(out, ledger, RECS) == []  # applying is idempotent: nothing left to remove


def test_revocation_expiry_and_vanished_recordings_also_count(tmp_path, ledger):
    out = tmp_path / "export"
    make_export(out, ledger, RECS)
    ledger.revoke("dave", "all", "2025-02-01")
    removals = audit_export(out, ledger, RECS[:2] + RECS[3:])  # c/r3 no longer in the workspace
    by_rid = {r.recording_ids[0]: r for r in removals}
    assert set(by_rid) == {"c/r3", "c/r4"}
    assert "not in the workspace" in by_rid["c/r3"].reasons[0]
    assert "dpv:ConsentRevoked" in " ".join(by_rid["c/r4"].reasons)
    # the audit can also look ahead (at=...): nothing extra for a date before the revocation
    assert {r.recording_ids[0] for r in audit_export(out, ledger, RECS, at="2025-01-31")} == set()


def test_audit_refuses_a_ledger_that_does_not_hold_the_exports_head(tmp_path, ledger):
    out = tmp_path / "export"
    make_export(out, ledger, RECS)
    other = Ledger(tmp_path / "other.jsonl")
    other.grant("alice", ["ai-training"], "2024-01-01", DOC + "a", H)
    with pytest.raises(LedgerError, match="not in the chain"):
        audit_export(out, other, RECS)
    # a tampered ledger cannot vouch for anything either
    lines = ledger.path.read_text().splitlines()
    lines[0] = lines[0].replace("2024-01-01", "2023-01-01")
    ledger.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerError, match="TAMPERED at line 1"):
        audit_export(out, ledger, RECS)


def test_bad_export_folders_are_clear_errors(tmp_path, ledger):
    with pytest.raises(InputError, match="no export.json"):
        audit_export(tmp_path, ledger, RECS)
    (tmp_path / "export.json").write_text(json.dumps({"purpose": "commercial-training", "files": {}}))
    with pytest.raises(InputError, match="ledger_head"):
        audit_export(tmp_path, ledger, RECS)
    (tmp_path / "export.json").write_text(json.dumps({
        "purpose": "commercial-training", "ledger_head": ledger.head,
        "files": [{"path": "../outside.wav", "sha256": H, "recording_ids": ["c/r1"]}]}))
    ledger.withdraw("alice", "all", "2025-01-01")
    removals = audit_export(tmp_path, ledger, RECS)
    with pytest.raises(InputError, match="outside the export folder"):
        apply_audit(tmp_path, removals)


@pytest.mark.parametrize("damage", ["gzip-truncated", "gzip-garbage", "not-utf8", "card-list", "card-distribution"])
def test_a_manifest_or_card_that_cannot_be_read_stops_apply_before_anything_is_removed(tmp_path, ledger, damage):
    # before: a truncated gzip (EOFError), bytes that are not UTF-8 (UnicodeDecodeError) or a card that is
    # not an object (AttributeError) were tracebacks, after the withdrawn recordings' files were deleted
    out = tmp_path / "export"
    make_export(out, ledger, RECS)
    sups = out / "lhotse" / "supervisions.jsonl.gz"
    if damage == "gzip-truncated":
        sups.write_bytes(sups.read_bytes()[:-12])
    elif damage == "gzip-garbage":
        sups.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    elif damage == "not-utf8":
        (out / "train.jsonl").write_bytes(b'{"path": "audio/c__r3.wav", "note": "\xff\xfe"}\n')
    else:
        (out / "croissant.json").write_text("[1, 2]" if damage == "card-list" else '{"distribution": 7}')
    ledger.withdraw("alice", "all", "2025-01-01")
    report = audit_report(out, ledger, RECS)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(InputError) as err:
        apply_audit(out, report.removals, ledger_head=report.ledger_head)
    named = {"not-utf8": "train.jsonl", "card-list": "croissant.json", "card-distribution": "croissant.json"}
    assert named.get(damage, "supervisions.jsonl.gz") in str(err.value)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing removed
