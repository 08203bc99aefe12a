"""Audio sweep 2026-12-05: a mono recording saved as stereo (both channels the same) is judged `mono` by
the checks, but its turn-taking events were extracted as if the two channels were two speakers: every IPU
an overlap with itself (20 `overlap-within` on one 68 s dialogue), counted into the corpus statistics.
Its events are not-applicable, with the reason, like a mono file's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from twotrack.run import scan
from twotrack.store import Workspace, queries

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_a_mono_mix_saved_as_stereo_has_no_events(tmp_path):
    x, sr = sf.read(SAMPLE / "clean" / "demo03_2609_367.flac", dtype="float32")
    x = x[: 20 * sr]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    mix = 0.7 * x.sum(axis=1)
    sf.write(corpus / "copied.wav", np.stack([mix, mix], axis=1), sr, subtype="PCM_16")
    sf.write(corpus / "twotrack.wav", x, sr, subtype="PCM_16")
    ws = Workspace(tmp_path / "ws", create=True)
    scan([corpus], ws, jobs=0)
    stages = {r["recording_id"]: (r["status"], r["note"]) for r in queries.stage_table(ws) if r["stage"] == "events"}
    assert stages["twotrack"][0] == "ok"
    status, note = stages["copied"]
    assert status == "not-applicable", (status, note)
    assert "copy" in note
    assert queries.result(ws, "copied").events == ()

