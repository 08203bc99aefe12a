"""The `twotrack consent` and `twotrack rights` commands, end to end on files written by the tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
H = "f" * 64


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _corpus(tmp_path) -> Path:
    """Three tiny stereo WAVs and a manifest naming their speakers and licenses."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = ["recording_id,path,speaker_a,speaker_b,license,tags,source_type"]
    for rid, a, b, lic in (("d1", "libri-367", "libri-1688", "CC-BY-4.0"),
                           ("d2", "libri-3080", "libri-2033", "CC-BY-4.0"),
                           ("d3", "libri-2609", "libri-367", "LicenseRef-Unknown")):
        sf.write(corpus / f"{rid}.wav", np.zeros((1600, 2), dtype=np.float32), 16000)
        rows.append(f"{rid},{rid}.wav,{a},{b},{lic},register:read,two-track")
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n")
    return corpus / "manifest.csv"


def test_consent_commands(tmp_path):
    ws = tmp_path / "ws"
    r = run("consent", "import", SAMPLE / "consent.csv", "-w", ws)
    assert r.exit_code == 0 and "appended 8 event(s)" in r.output
    assert (ws / "rights" / "ledger.jsonl").exists()
    r = run("consent", "import", SAMPLE / "consent.csv", "-w", ws)
    assert "appended 0 event(s), skipped 8" in r.output

    r = run("consent", "withdraw", "libri-367", "--scopes", "voice-likeness", "--date", "2026-10-01", "-w", ws)
    assert r.exit_code == 0 and "#9 withdraw libri-367 voice-likeness" in r.output
    r = run("consent", "grant", "libri-9", "--scopes", "ai-training,telepathy", "--date", "2026-10-01",
            "--evidence", "https://x.example/f.pdf", "--evidence-sha256", H, "-w", ws)
    assert r.exit_code == 1 and "telepathy" in r.output

    r = run("consent", "show", "libri-3080", "-w", ws, "--at", "2026-03-14", "--json")
    state = json.loads(r.output)
    assert state["scopes"]["commercial-use"]["status"] == "dpv:ConsentWithdrawn"
    assert len(state["events"]) == 2
    r = run("consent", "show", "libri-3080", "-w", ws, "--at", "2026-03-13")
    assert "commercial-use: dpv:ConsentGiven since 2024-02-02" in r.output

    r = run("consent", "verify", "-w", ws)
    assert r.exit_code == 0 and "ok: 9 events" in r.output
    path = ws / "rights" / "ledger.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("research-only", "commercial-use")  # someone "improves" libri-2033's consent
    path.write_text("\n".join(lines) + "\n")
    r = run("consent", "verify", "-w", ws)
    assert r.exit_code == 1 and "TAMPERED at line 4 (event #4)" in r.output


def test_malformed_import_lists_rows_and_appends_nothing(tmp_path):
    ws = tmp_path / "ws"
    run("consent", "import", SAMPLE / "consent.csv", "-w", ws)
    before = (ws / "rights" / "ledger.jsonl").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n"
                   f"s1,grant,ai-training,2026-01-01,https://x.example/1,{H}\n"
                   "s2,grant,ai-training,yesterday,https://x.example/2,{H}\n"
                   f"s3,withdraw,everything,2026-01-01,,\n")
    r = run("consent", "import", bad, "-w", ws)
    assert r.exit_code == 1
    assert "row 3:" in r.output and "row 4:" in r.output and "row 2:" not in r.output
    assert "nothing was appended" in r.output
    assert (ws / "rights" / "ledger.jsonl").read_bytes() == before


def test_rights_verdicts_and_audit(tmp_path):
    ws = tmp_path / "ws"
    manifest = _corpus(tmp_path)
    run("consent", "import", SAMPLE / "consent.csv", "-w", ws)
    r = run("rights", "-w", ws, "--manifest", manifest, "--purpose", "commercial-training", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["purpose"] == "commercial-training"
    verdicts = {row["recording_id"]: row for row in report["recordings"]}
    assert {k: v["allowed"] for k, v in verdicts.items()} == {"d1": True, "d2": False, "d3": False}
    assert any("libri-3080" in x and "commercial-use" in x for x in verdicts["d2"]["reasons"])
    assert verdicts["d3"]["reasons"] == ["license LicenseRef-Unknown: unknown license permits nothing"]
    r = run("rights", "-w", ws, "--manifest", manifest, "--purpose", "research-training")
    assert r.exit_code == 0 and "2 of 3 recording(s) allowed" in r.output
    r = run("rights", "-w", ws)
    assert r.exit_code == 2 and "--purpose" in r.output

    # an export made now holds d1; then libri-1688 withdraws and the audit names d1's file
    out = tmp_path / "export"
    out.mkdir()
    (out / "d1.wav").write_bytes(b"RIFF-d1")
    (out / "train.jsonl").write_text(json.dumps({"path": "d1.wav", "duration": 0.1}) + "\n")
    head = json.loads(run("rights", "-w", ws, "--manifest", manifest, "--purpose", "commercial-training",
                          "--json").output)["ledger_head"]
    (out / "export.json").write_text(json.dumps({
        "purpose": "commercial-training", "ledger_head": head, "manifests": ["train.jsonl"],
        "files": [{"path": "d1.wav", "sha256": hashlib.sha256(b"RIFF-d1").hexdigest(), "recording_ids": ["d1"]},
                  {"path": "train.jsonl", "sha256": H, "recording_ids": ["d1"]}]}))
    r = run("rights", "audit", out, "-w", ws, "--manifest", manifest)
    assert r.exit_code == 0 and "nothing to remove" in r.output
    run("consent", "withdraw", "libri-1688", "--scopes", "all", "--date", "2026-01-01", "-w", ws)
    r = run("rights", "audit", out, "-w", ws, "--manifest", manifest, "--json")
    audit = json.loads(r.output)
    assert [x["path"] for x in audit["removals"]] == ["d1.wav"] and audit["new_events"] == 1
    assert (out / "d1.wav").exists()  # listing removes nothing
    r = run("rights", "audit", out, "-w", ws, "--manifest", manifest, "--apply")
    assert r.exit_code == 0 and "removed 1 file(s)" in r.output
    assert not (out / "d1.wav").exists() and (out / "train.jsonl").read_text() == ""
