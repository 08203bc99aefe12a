"""``scan --words`` where the words extra is not installed (``pip install twotrack`` alone): the words stage is
``unavailable`` with what to install, the other stages' results are kept, and the first scan after the extra is
installed computes the words. Before, every recording got "internal error in words: ImportError" and, once the
extra was installed, the rescan kept those errors ("failed in an earlier scan and were not retried").

The missing package is Python's own spelling of one that cannot be imported: ``sys.modules[name] = None``."""

from __future__ import annotations

import sys

import numpy as np
import soundfile as sf

from twotrack.config import Config
from twotrack.run import scan
from twotrack.run.keys import unavailable_stages
from twotrack.store import Workspace, queries


def _stage(ws, rid, stage):
    return next(s for s in queries.stage_table(ws, rid) if s["stage"] == stage)


def test_words_without_its_extra_is_unavailable_then_computed_once_installed(tmp_path, monkeypatch):
    corpus = tmp_path / "in"
    corpus.mkdir()
    sf.write(corpus / "quiet.wav", np.zeros((16000 * 2, 2), np.float32), 16000)
    words = Config().with_overrides({"words.enabled": True})

    with monkeypatch.context() as m:
        m.setitem(sys.modules, "faster_whisper", None)
        assert unavailable_stages(Config()) == {}  # not asked for: nothing to say
        why = unavailable_stages(words)["words"]
        assert why.startswith("faster_whisper not installed: pip install 'twotrack[words]'")
        first = scan([corpus], tmp_path / "ws", words, jobs=0)
    ws = Workspace(tmp_path / "ws")
    assert first.unavailable == {"words": why} and queries.errors(ws) == []
    assert _stage(ws, "quiet", "words")["status"] == "unavailable"
    assert _stage(ws, "quiet", "activity")["status"] == "ok"

    second = scan([corpus], tmp_path / "ws", words, jobs=0)  # the extra is there now
    assert second.scanned == 1 and second.stages["words"] == {"ok": 1} and second.stages["activity"] == {"reused": 1}
    assert _stage(ws, "quiet", "words")["status"] == "ok"
