"""A small scanned workspace for the export tests, built once per test session.

Three 30-second excerpts of the bundled sample dialogues, scanned by the real scan, with the sample
consent ledger imported:
- ``clean/demo01`` (libri-367 + libri-1688, CC-BY-4.0): allowed for commercial-training;
- ``clean/demo02`` (libri-3080 + libri-2033): blocked for commercial-training (3080 withdrew
  commercial-use, 2033 is research-only), allowed for research-training;
- ``paired/demo03`` (libri-2609 + libri-367, two per-speaker files): allowed for commercial-training; its row
  declares B's clock as the sample's README gives it (``b_offset_s`` 0.35, ``b_drift_ppm`` 60), since exports
  leave paired files on an unknown clock out.
Gold words are the sample CTMs cut to the excerpt.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Mapping
from pathlib import Path

import soundfile as sf

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
EXCERPT_S = 30.0
_CACHE: dict[str, Path] = {}

RECORDINGS = {
    "clean/demo01": ("clean/demo01_367_1688.flac", None, "libri-367", "libri-1688", "demo01_367_1688"),
    "clean/demo02": ("clean/demo02_3080_2033.flac", None, "libri-3080", "libri-2033", "demo02_3080_2033"),
    "paired/demo03": ("paired/demo03_2609_367.A.wav", "paired/demo03_2609_367.B.wav", "libri-2609", "libri-367",
                      "demo03_2609_367"),
}
COMMERCIAL_ALLOWED = ["clean/demo01", "paired/demo03"]


def _excerpt(src: Path, dst: Path) -> Path:
    info = sf.info(str(src))
    data, rate = sf.read(str(src), frames=int(EXCERPT_S * info.samplerate), dtype="int16", always_2d=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), data, rate, subtype="PCM_16")
    return dst


def _ctm_excerpt(src: Path, dst: Path, words: Mapping[str, str] | None = None) -> Path:
    """The CTM's words that end within the excerpt, each spelled as ``words`` says (default: as it is)."""
    keep = []
    for line in src.read_text().splitlines():
        parts = line.split()
        if line.startswith(";;") or len(parts) < 5:
            keep.append(line)
        elif float(parts[2]) + float(parts[3]) <= EXCERPT_S - 0.5:
            if words:
                parts[4] = words.get(parts[4], parts[4])
                line = " ".join(parts)
            keep.append(line)
    dst.write_text("\n".join(keep) + "\n")
    return dst


def build(root: Path) -> Path:
    """Corpus, manifest, scanned workspace and ledger under ``root``; returns the workspace path."""
    corpus = root / "corpus"
    rows = []
    for rid, (a, b, spk_a, spk_b, gold) in RECORDINGS.items():
        pa = _excerpt(SAMPLE / a, corpus / a.replace(".flac", ".wav"))
        pb = _excerpt(SAMPLE / b, corpus / b) if b else None
        ctm = _ctm_excerpt(SAMPLE / "gold" / f"{gold}.ctm", corpus / f"{gold}.ctm")
        rows.append({"recording_id": rid, "path": "" if pb else str(pa), "path_a": str(pa) if pb else "",
                     "path_b": str(pb) if pb else "", "speaker_a": spk_a, "speaker_b": spk_b,
                     "license": "CC-BY-4.0", "tags": "register:read", "source_type": "two-track",
                     "transcript": str(ctm), "b_offset_s": "0.35" if pb else "", "b_drift_ppm": "60" if pb else ""})
    return scan_rows(rows, corpus / "manifest.csv", root / "ws")


def scan_rows(rows: list[dict[str, str]], manifest: Path, ws: Path) -> Path:
    """Manifest rows written to ``manifest`` (CSV), scanned by the real scan into ``ws`` (every row must
    scan without errors), the sample consent ledger imported; returns ``ws``."""
    from twotrack.rights.ledger import Ledger, ledger_path
    from twotrack.run import scan

    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    summary = scan([manifest], ws, jobs=0)
    assert summary.scanned == len(rows) and not summary.errors, summary.to_dict()
    Ledger(ledger_path(ws)).import_file(SAMPLE / "consent.csv")
    return ws


def workspace(tmp_path_factory) -> Path:
    """The session's shared workspace (read-only for tests: copy it with ``private_copy`` to change it)."""
    if "ws" not in _CACHE:
        _CACHE["ws"] = build(tmp_path_factory.mktemp("export-corpus"))
    return _CACHE["ws"]


def private_copy(tmp_path_factory, dst: Path) -> Path:
    """A copy of the shared workspace a test may change (its ledger, its recordings)."""
    src = workspace(tmp_path_factory)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.lock"))
    return dst


def tracks_on_clock(ws, recording_id: str, sample_rate: int | None = None):
    """The tracks of a scanned recording as the exports write them: on track A's clock when its clock is
    measured or declared (``ingest.clock.recording_clock``), at ``sample_rate`` (default: the source's)."""
    from twotrack.ingest.clock import recording_clock
    from twotrack.ingest.tracks import load_tracks
    from twotrack.store import Workspace, queries

    res = queries.result(ws if isinstance(ws, Workspace) else Workspace(ws), recording_id)
    fix = recording_clock(res.recording, res.checks, res.sample_rate, res.duration_s).fix
    return load_tracks(res.recording, sample_rate, clock=fix).samples
