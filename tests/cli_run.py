"""Helpers of tests that drive the CLI on a real excerpt of the sample corpus."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from click.testing import CliRunner

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def run(*args):
    """``twotrack ARGS...`` in this process (exceptions propagate: a traceback is a failure, not an exit code)."""
    from twotrack.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def excerpt(folder: Path, seconds: float = 30.0, name: str = "call.wav") -> Path:
    """The first ``seconds`` of the clean two-track demo01 dialogue written as ``folder/name`` (folder made)."""
    folder.mkdir(parents=True, exist_ok=True)
    x, rate = sf.read(SAMPLE, dtype="float32", frames=int(seconds * sf.info(SAMPLE).samplerate))
    sf.write(folder / name, x, rate)
    return folder / name


def grant_consent(ws, folder: Path, speakers=("sa", "sb")) -> None:
    """Import a consent ledger granting ``speakers`` AI training and commercial use (evidence placeholders)."""
    consent = folder / "consent.csv"
    consent.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n" + "".join(
        f"{s},grant,ai-training;commercial-use,2025-01-01,https://example.org/{s},{'0' * 64}\n" for s in speakers))
    assert run("consent", "import", consent, "-w", ws).exit_code == 0
