"""A float WAV holding NaN and infinite samples (a broken export or effect): the reader sets them to silence and
the scan says so, naming the file and how many; the recording is analysed as its clean copy is. Before, NaN
levels reached every filter and the labels came out arbitrary with no word of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from twotrack.ingest.audio import read_all
from twotrack.run import scan
from twotrack.store import Workspace, queries

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "clean" / "demo01_367_1688.flac"


def test_nan_and_infinite_samples_are_silence_and_told(tmp_path):
    x, sr = sf.read(SAMPLE, dtype="float32")
    x = x[: 20 * sr].copy()
    clean = x.copy()
    x[5 * sr : 5 * sr + 100, 0] = np.nan
    x[8 * sr, 1] = np.inf
    clean[5 * sr : 5 * sr + 100, 0] = 0.0
    clean[8 * sr, 1] = 0.0
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sf.write(corpus / "broken.wav", x, sr, subtype="FLOAT")
    sf.write(corpus / "repaired.wav", clean, sr, subtype="FLOAT")

    audio, _ = read_all(corpus / "broken.wav")
    assert np.isfinite(audio).all() and np.array_equal(audio, clean)

    summary = scan([corpus], tmp_path / "ws", jobs=0)
    assert summary.exit_code == 0 and summary.failed == 0
    ws = Workspace(tmp_path / "ws")
    (err,) = queries.errors(ws)
    assert err.recording_id == "broken" and err.stage == "decode" and err.path.endswith("broken.wav")
    assert err.problem == "101 non-finite sample(s) (NaN or infinity) read as silence, the first at 5.000 s"
    note = [s["note"] for s in queries.stage_table(ws, "broken") if s["stage"] == "decode"][0]
    assert "broken.wav: 101 non-finite sample(s)" in note
    # analysed exactly as the copy whose bad samples were silence to begin with
    assert queries.activity(ws, "broken") == queries.activity(ws, "repaired")
    assert queries.checks(ws, "broken") == queries.checks(ws, "repaired")
    assert queries.activity(ws, "broken")[0].segments  # not vacuous: there is speech on A
