"""Issue 18, fault 7: a source file deleted after its scan is reported as missing by the next scan of its
folder and by `stats`, and exports skip its recording with that reason instead of failing on it."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.export import ExportOptions, run_export
from twotrack.rights.ledger import Ledger
from twotrack.run import scan
from twotrack.store import Workspace, queries

H = "e" * 64


def _corpus(root):
    corpus = root / "corpus"
    corpus.mkdir()
    rng = np.random.default_rng(0)
    rows = ["recording_id,path,speaker_a,speaker_b,license"]
    for k, rid in enumerate(("keep", "gone")):
        x = (0.01 * rng.standard_normal((16000 * 4, 2))).astype(np.float32)
        x[8000:24000, 0] += 0.3 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)  # A talks
        x[32000:48000, 1] += 0.3 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000)  # then B
        sf.write(corpus / f"{rid}.wav", x, 16000)
        rows.append(f"{rid},{rid}.wav,spk-{k}a,spk-{k}b,CC-BY-4.0")
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n")
    return corpus


def test_next_folder_scan_and_stats_report_a_deleted_source(tmp_path):
    corpus = _corpus(tmp_path)
    ws = tmp_path / "ws"
    first = scan([corpus], ws, jobs=0)
    assert first.found == 2 and not first.errors
    (corpus / "gone.wav").unlink()

    again = scan([corpus], ws, jobs=0)
    missing = [e for e in again.errors if e.path == str(corpus / "gone.wav")]
    assert len(missing) == 1 and "missing" in missing[0].problem and missing[0].recording_id == "gone"
    assert again.exit_code == 1
    assert any(e.path == str(corpus / "gone.wav") for e in queries.errors(Workspace(ws)))  # `twotrack errors` lists it

    r = CliRunner().invoke(main, ["stats", "-w", str(ws), "--json"], catch_exceptions=False)
    assert json.loads(r.output)["missing_sources"] == {"gone": [str(corpus / "gone.wav")]}
    r = CliRunner().invoke(main, ["stats", "-w", str(ws)], catch_exceptions=False)
    assert "missing" in r.output and "gone.wav" in r.output

    # the file is back: the next scan of the folder clears the notice
    sf.write(corpus / "gone.wav", np.zeros((16000, 2), np.float32), 16000)
    assert not [e for e in scan([corpus], ws, jobs=0).errors if "missing" in e.problem]
    assert not [e for e in queries.errors(Workspace(ws)) if "missing" in e.problem]


def test_stats_reports_a_deleted_source_without_a_rescan_and_exports_skip_it(tmp_path):
    corpus = _corpus(tmp_path)
    ws = tmp_path / "ws"
    assert not scan([corpus / "manifest.csv"], ws, jobs=0).errors
    led = Ledger(Workspace(ws).ledger_path)
    for spk in ("spk-0a", "spk-0b", "spk-1a", "spk-1b"):
        led.grant(spk, ["ai-training"], "2024-01-01", "https://x.example/f.pdf", H)
    (corpus / "gone.wav").unlink()

    r = CliRunner().invoke(main, ["stats", "-w", str(ws), "--json"], catch_exceptions=False)
    assert json.loads(r.output)["missing_sources"] == {"gone": [str(corpus / "gone.wav")]}

    # (no transcripts here: --allow-no-text keeps the recordings that have no words)
    summary = run_export(ws, tmp_path / "out", "parquet", "research-training", ExportOptions(allow_no_text=True))
    assert not summary.errors, summary.errors
    assert "gone" in summary.skipped and "missing" in summary.skipped["gone"]
    assert str(corpus / "gone.wav") in summary.skipped["gone"]
    state = json.loads((tmp_path / "out" / ".twotrack" / "export.json").read_text())
    assert "missing" in state["skipped"]["gone"] and "keep" in state["recordings"]
