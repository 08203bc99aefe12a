"""A manifest transcript with NaN, infinite or negative times: an error on the transcript's file, told by the
scan (``twotrack errors``), the recording scanned without it. Before, only the words stage's note said so."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("faster_whisper")

from twotrack.config import Config  # noqa: E402
from twotrack.run import scan  # noqa: E402
from twotrack.store import Workspace, queries  # noqa: E402


def test_unreadable_transcript_is_an_error_on_its_file(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    sf.write(corpus / "quiet.wav", np.zeros((16000, 2), np.float32), 16000)
    (corpus / "bad.ctm").write_text("quiet A 0.1 0.2 hello\nquiet A nan 0.2 x\nquiet A inf 1 y\n")
    (corpus / "m.csv").write_text("recording_id,path,transcript\nquiet,quiet.wav,bad.ctm\n")
    summary = scan([corpus / "m.csv"], tmp_path / "ws", Config().with_overrides({"words.enabled": True}), jobs=0)
    assert summary.stages["words"] == {"ok": 1}
    errors = queries.errors(Workspace(tmp_path / "ws"))
    assert len(errors) == 1, errors
    error = errors[0]
    got = error if isinstance(error, dict) else error.__dict__
    assert got["path"].endswith("bad.ctm")
    assert got["problem"] == "transcript not used: line 2: start 'nan' is not a finite number"
