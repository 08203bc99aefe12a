"""A real workspace for the report and explorer tests: three sample recordings (one per layout: the
16 kHz FLAC, the 8 kHz mu-law SPHERE, the paired WAVs) scanned with `twotrack scan` and the sample consent
ledger imported with `twotrack consent import`. Built once per test process (about 10 s on the 2-core box;
scanning all nine sample recordings takes about 20 s), shared by every show test module."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
#: One recording per layout; ids as in data/sample/manifest.csv.
RECORDINGS = ("clean/demo01_367_1688", "telephone/demo02_3080_2033", "paired/demo03_2609_367")

_BUILT: dict[str, Path] = {}


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``twotrack ARGS`` in a child process (the real command line)."""
    code = "import sys; from twotrack.cli import main; sys.exit(main())"
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    if check and res.returncode != 0:
        raise AssertionError(f"twotrack {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def _copy_subset(dest: Path) -> Path:
    with open(SAMPLE / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["recording_id"] in RECORDINGS]
    assert len(rows) == len(RECORDINGS)
    for row in rows:
        for key in ("path", "path_a", "path_b", "transcript"):
            if row.get(key):
                (dest / row[key]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(SAMPLE / row[key], dest / row[key])
    manifest = dest / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest


def build_workspace(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    manifest = _copy_subset(corpus)
    ws = root / "ws"
    run_cli("scan", str(manifest), "-w", str(ws), "--jobs", "1")  # one worker: fastest for three files
    run_cli("consent", "import", str(SAMPLE / "consent.csv"), "-w", str(ws))
    return ws


@pytest.fixture(scope="session")
def sample_ws(tmp_path_factory) -> Path:
    """Path of the scanned workspace (read-only for the tests: do not change it)."""
    if "ws" not in _BUILT:
        _BUILT["ws"] = build_workspace(tmp_path_factory.mktemp("show-ws"))
    return _BUILT["ws"]


@pytest.fixture(scope="session")
def peak_cache_dir(tmp_path_factory) -> Path:
    if "cache" not in _BUILT:
        _BUILT["cache"] = tmp_path_factory.mktemp("peaks-cache")
    return _BUILT["cache"]


#: The recording `collapsed_ws` runs collapse on (the shortest of the three, 62.6 s: about 4 s with the model load).
COLLAPSED = "paired/demo03_2609_367"


@pytest.fixture(scope="session")
def collapsed_ws(sample_ws, tmp_path_factory) -> Path:
    """A copy of ``sample_ws`` on which the real ``collapse_workspace`` ran for ``COLLAPSED`` alone
    (read-only for the tests). The shared ``sample_ws`` itself stays without collapse results."""
    if "collapsed" not in _BUILT:
        from twotrack.collapse import collapse_workspace
        from twotrack.store import Workspace

        copy = tmp_path_factory.mktemp("collapsed-ws") / "ws"
        shutil.copytree(sample_ws, copy)
        collapse_workspace(Workspace(copy), recordings=[COLLAPSED])
        _BUILT["collapsed"] = copy
    return _BUILT["collapsed"]


#: The recording `words_ws` transcribes (62 s of clean 16 kHz FLAC; about 6 s with the model load).
WORDS_RECORDING = "clean/demo03_2609_367"


@pytest.fixture(scope="session")
def words_ws(tmp_path_factory) -> Path:
    """A workspace of ``WORDS_RECORDING`` alone scanned with `twotrack scan --words` (the real recogniser), for
    what the pages draw of words (read-only for the tests). The shared ``sample_ws`` has no words."""
    if "words" not in _BUILT:
        root = tmp_path_factory.mktemp("words-ws")
        row = next(r for r in csv.DictReader(open(SAMPLE / "manifest.csv", newline=""))
                   if r["recording_id"] == WORDS_RECORDING)
        (root / "clean").mkdir()
        shutil.copyfile(SAMPLE / row["path"], root / row["path"])
        row["transcript"] = ""  # the recogniser's words, not the gold CTM's
        with open(root / "manifest.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            w.writeheader()
            w.writerow(row)
        ws = root / "ws"
        run_cli("scan", str(root / "manifest.csv"), "-w", str(ws), "--jobs", "1", "--words")
        _BUILT["words"] = ws
    return _BUILT["words"]
