"""FIFOs and device files named like audio or transcripts: one error each, never opened (no hang)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from twotrack.ingest.discover import scan


def _corpus(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    sf.write(root / "good.wav", (np.random.default_rng(0).standard_normal((8000, 2)) * 0.1).astype("float32"), 16000)
    os.mkfifo(root / "pipe.wav")
    os.symlink("/dev/zero", root / "zero.wav")
    return root


def test_folder_walk_names_fifo_and_device(tmp_path):
    # before: both were dropped without a word (only good.wav found, no error)
    found = scan([_corpus(tmp_path)], hash_files=False)
    assert [r.recording_id for r in found.recordings] == ["good"]
    problems = {Path(e.path).name: e.problem for e in found.errors}
    assert "a named pipe (FIFO)" in problems["pipe.wav"]
    assert "a character device" in problems["zero.wav"]


def test_file_arguments_say_what_they_are(tmp_path):
    # before: "path not found" for the FIFO and "broken symbolic link" for the link to /dev/zero
    root = _corpus(tmp_path)
    found = scan([root / "pipe.wav", root / "zero.wav"], hash_files=False)
    assert sorted(e.problem.split(" but ")[0] for e in found.errors) == ["not a regular file"] * 2


def test_manifest_rows_naming_a_fifo_do_not_hang(tmp_path):
    # before: a row whose audio is a FIFO blocked the scan for ever (open() waits for a writer);
    # a FIFO as transcript was taken without a word
    root = _corpus(tmp_path)
    manifest = root / "m.csv"
    manifest.write_text("recording_id,path,transcript\nr1,pipe.wav,\nr2,good.wav,pipe.wav\nr3,good.wav,\n")
    code = ("import sys; from twotrack.ingest.discover import scan; f = scan([sys.argv[1]], hash_files=False);"
            "print([r.recording_id for r in f.recordings]); [print(e.path, e.problem) for e in f.errors]")
    out = subprocess.run([sys.executable, "-c", code, str(manifest)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "['r3']"
    assert any("line 2: path 'pipe.wav'" in line and "named pipe" in line for line in lines[1:])
    assert any("line 3: transcript 'pipe.wav'" in line and "named pipe" in line for line in lines[1:])


def _no_hang(code: str, path: Path) -> str:
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_gold_and_consent_files_that_are_fifos_do_not_hang(tmp_path):
    # before: `eval --gold x.ctm` and `consent import x.csv` on a FIFO waited for a writer for ever
    gold, consent = tmp_path / "gold.ctm", tmp_path / "consent.csv"
    os.mkfifo(gold)
    os.mkfifo(consent)
    read = ("import sys\nfrom twotrack.errors import InputError\nfrom twotrack.ingest.annotations import read_words\n"
            "try:\n    read_words(sys.argv[1])\nexcept InputError as e:\n    print(e)")
    assert "gold.ctm: not a regular file but a named pipe (FIFO)" in _no_hang(read, gold)
    imp = ("import sys\nfrom twotrack.errors import InputError\nfrom twotrack.rights.importer import read_event_rows\n"
           "try:\n    read_event_rows(sys.argv[1])\nexcept InputError as e:\n    print(e)")
    assert "consent.csv: not a regular file but a named pipe (FIFO)" in _no_hang(imp, consent)


def test_config_permissions_and_reference_fifos_do_not_hang(tmp_path):
    # before: `scan --config`, `rights --permissions` and `qualify --reference` naming a FIFO hung
    calls = {"cfg.toml": ("twotrack.config", "load_config"), "perm.json": ("twotrack.rights.licenses", "load_permissions"),
             "ref.json": ("twotrack.qualify.reference", "load_reference")}
    for name, (module, func) in calls.items():
        os.mkfifo(tmp_path / name)
        code = (f"import sys\nfrom {module} import {func}\ntry:\n    {func}(sys.argv[1])\n"
                "except Exception as e:\n    print(type(e).__name__, e)")
        out = _no_hang(code, tmp_path / name)
        assert f"{name}: cannot read" in out and "named pipe (FIFO)" in out, out
