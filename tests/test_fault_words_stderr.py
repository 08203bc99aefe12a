"""A scan whose words stage runs faster-whisper's own ``transcribe`` (a track of unknown language, or
``windows = "whisper"``) ended with Python's resource tracker warning on stderr: "There appear to be 1 leaked
semaphore objects to clean up at shutdown" (tqdm's multiprocessing lock, made by faster-whisper's hidden
progress bar in the worker process). The scan's stderr is now free of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

pytest.importorskip("faster_whisper")

ROOT = Path(__file__).resolve().parents[1]


def test_a_scan_reading_words_with_whispers_own_windows_leaves_no_semaphore_warning(tmp_path):
    x, rate = sf.read(ROOT / "data" / "sample" / "clean" / "demo01_367_1688.flac", dtype="float32",
                      start=5 * 16000, stop=10 * 16000)
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "five.wav", x, rate)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    got = subprocess.run([sys.executable, "-m", "twotrack", "scan", str(tmp_path / "in"), "-w", str(tmp_path / "ws"),
                          "--words", "-j", "1", "--set", "words.windows=whisper", "--set", "words.multilingual_model="],
                         capture_output=True, text=True, env=env, timeout=300)
    assert got.returncode == 0, got.stderr
    assert "words: ok 1" in got.stdout + got.stderr
    assert "leaked semaphore" not in got.stderr
