"""An English-only Whisper in a folder whose name does not end in ``.en`` (what ``ct2-transformers-converter
--output_dir whisper-tiny-ct2`` makes): it is taken as English-only, so each track's language is detected by
the multilingual model and a non-English track goes there. Before, its vocabulary file (which lists the
language tokens like a multilingual one's) made it "multilingual": it detected languages itself (always
English, probability 1.0) and would have read any track as English."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("faster_whisper")

from twotrack.words.models import load_model, resolve_model  # noqa: E402


def test_an_english_only_model_folder_is_english_only(tmp_path):
    bundled = Path(resolve_model("tiny.en").path)
    folder = tmp_path / "my-whisper-tiny"
    folder.mkdir()
    for f in bundled.iterdir():  # the bundled tiny.en under another name, by links (no 75 MB copy)
        (folder / f.name).symlink_to(f)
    model, res = load_model(str(folder))
    assert res.english_only and res.path == str(folder)
    assert not load_model("base")[1].english_only


def test_a_damaged_model_bin_is_the_models_named_error(tmp_path):
    """Before: "internal error in words: RuntimeError: Unsupported model binary version ..." on the audio file."""
    from twotrack.errors import ConfigError

    bundled = Path(resolve_model("tiny.en").path)
    folder = tmp_path / "damaged"
    folder.mkdir()
    for f in bundled.iterdir():
        if f.name != "model.bin":
            (folder / f.name).symlink_to(f)
    (folder / "model.bin").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ConfigError, match=f"words model '{folder}' cannot be loaded from {folder}: "):
        load_model(str(folder))
