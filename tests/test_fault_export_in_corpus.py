"""An export written inside the corpus folder (or a workspace kept there), then the corpus folder scanned again:
the exported audio is not taken for new recordings. Before, ``out/audio/a.wav`` (a resampled copy of ``a.wav``)
became a second recording ``out/audio/a``: the same conversation counted twice in every statistic, and
exported twice by the next export. Named as a PATH itself, such a folder is still scanned."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.ingest.discover import walk_audio
from twotrack.run import scan
from twotrack.store import Workspace, queries


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_exports_and_workspaces_under_a_scanned_folder_are_not_walked(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    x = (np.random.default_rng(0).standard_normal((16000 * 2, 2)) * 0.05).astype(np.float32)
    sf.write(corpus / "a.wav", x, 16000)
    (corpus / "m.csv").write_text("path,speaker_a,speaker_b,license\na.wav,sa,sb,CC0-1.0\n")
    consent = tmp_path / "consent.csv"
    consent.write_text("speaker,action,scopes,date,evidence,evidence_sha256\n" + "".join(
        f"{s},grant,ai-training,2025-01-01,https://example.org/{s},{'0' * 64}\n" for s in ("sa", "sb")))
    ws = corpus / "ws"  # the workspace inside the corpus, and the export beside the audio
    assert run("scan", corpus / "m.csv", "-w", ws, "-j", "0", "--no-progress").exit_code == 0
    assert run("consent", "import", consent, "-w", ws).exit_code == 0
    got = run("export", "moshi", corpus / "out", "-w", ws, "--purpose", "research-training", "--allow-no-text")
    assert got.exit_code == 0 and (corpus / "out" / "audio" / "a.wav").exists()
    sf.write(ws / "stray.wav", x, 16000)  # audio someone left in the workspace folder

    files, errors = walk_audio(corpus)
    assert files == [str(corpus / "a.wav")] and errors == []
    again = scan([corpus], Workspace(ws), jobs=0)
    assert sorted(queries.recording_ids(Workspace(ws))) == ["a"] and again.found == 1
    assert walk_audio(corpus / "out")[0] == [str(corpus / "out" / "audio" / "a.wav")]  # named itself: walked
