"""Export sweep 2026-12-05: exports of realistic variants, read by their consumers' own code.

The corpus is tiny on purpose (a few seconds of the sample dialogue, scanned by the real scan):
``v/trimmed`` is 2.3 s of ``demo01`` whose gold CTM runs past the audio (a transcript made on the
longer original): its word "officers" starts at 1.625 s and ends at 2.375 s, after the file's end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

import export_corpus as C
from twotrack.export import export

lhotse = pytest.importorskip("lhotse")

PURPOSE = "research-training"
TRIM_S = 2.3


def _ctm(dst: Path, rid: str, until_s: float) -> Path:
    """The sample CTM's words that start before ``until_s`` (their ends as they are)."""
    lines = []
    for line in (C.SAMPLE / "gold" / "demo01_367_1688.ctm").read_text().splitlines():
        p = line.split()
        if not line.startswith(";;") and len(p) >= 5 and float(p[2]) < until_s:
            lines.append(" ".join([rid, *p[1:]]))
    dst.write_text("\n".join(lines) + "\n")
    return dst


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep-exports")
    corpus = root / "corpus"
    corpus.mkdir()
    x, sr = sf.read(C.SAMPLE / "clean" / "demo01_367_1688.flac", dtype="int16", frames=int(TRIM_S * 16000))
    sf.write(corpus / "trimmed.wav", x, sr, subtype="PCM_16")
    rows = [{"recording_id": "v/trimmed", "path": str(corpus / "trimmed.wav"), "speaker_a": "libri-367",
             "speaker_b": "libri-1688", "license": "CC-BY-4.0", "tags": "register:read;language:en",
             "source_type": "two-track", "transcript": str(_ctm(corpus / "trimmed.ctm", "trimmed", TRIM_S))}]
    return C.scan_rows(rows, corpus / "manifest.csv", root / "ws")


def test_lhotse_word_alignments_end_within_the_audio_when_the_transcript_runs_past_it(ws, tmp_path):
    """Before: the alignment kept the CTM's end (2.375 s) past the recording (2.3 s) and its supervision."""
    out = tmp_path / "lhotse"
    export(ws, out, "lhotse", PURPOSE)
    recs = lhotse.load_manifest(out / "recordings.jsonl.gz").with_path_prefix(out)
    sups = lhotse.load_manifest(out / "supervisions.jsonl.gz")
    cuts = lhotse.CutSet.from_manifests(recordings=recs, supervisions=sups)
    words = 0
    for cut in cuts:
        for sup in cut.supervisions:
            for w in sup.alignment["word"]:
                words += 1
                assert sup.start - 1e-6 <= w.start and w.end <= sup.end + 1e-6 <= cut.duration + 1e-6, (w, sup)
    assert words and any(w.symbol == "officers" for s in sups for w in s.alignment["word"])
