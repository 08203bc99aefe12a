"""Bad ``[words]`` values are a config error naming the key (exit 2) before any audio is read. Before, they
surfaced per recording after decoding, checks and activity had run: as "internal error in words: ValueError"
(windows, beam_size, separator_s), as nothing at all (a misspelt ``retime`` silently skipped re-timing), as a
hash mismatch against a "hash" that is no hash, or as a scan that never ended (``max_window_s`` <= 2 s)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from twotrack.cli import main
from twotrack.config import WHISPER_LANGUAGES, Config, WordsConfig
from twotrack.errors import ConfigError


@pytest.mark.parametrize("key,value,says", [
    ("retime", "algin+snap", "words.retime must be one of align+snap, align, snap, none"),
    ("windows", "chunk", "words.windows must be one of text, chunks, whisper"),
    ("max_window_s", 0.0, "words.max_window_s must be above 2 s"),
    ("min_window_s", 0.0, "words.min_window_s is a duration and must be > 0"),
    ("padding_s", -0.1, "words.padding_s is a duration and must be >= 0"),
    ("separator_s", -1.0, "words.separator_s is a duration and must be >= 0"),
    # before: accepted; a negative align_max_shift_s failed every alignment (Whisper times kept, silently), a
    # negative snap_early_tolerance_s stopped first words from snapping to the onset they start after
    ("align_max_shift_s", -1.0, "words.align_max_shift_s is a duration and must be >= 0"),
    ("snap_early_tolerance_s", -0.5, "words.snap_early_tolerance_s is a duration and must be >= 0"),
    ("beam_size", 0, "words.beam_size must be >= 1"),
    ("model_sha256", "1a5afae0", "words.model_sha256 must be 64 hex digits"),
    # before: "internal error in words: ValueError: 'xx' is not a valid language code" on every recording
    ("language", "xx", "words.language must be a Whisper language code"),
    ("language", "klingon", "words.language must be a Whisper language code"),
    ("language", "EN", "words.language must be a Whisper language code .* (did you mean 'en'?)"),
])
def test_a_bad_words_value_is_a_config_error_naming_the_key(key, value, says):
    with pytest.raises(ConfigError, match=says.replace(".", r"\.").replace("+", r"\+").replace(r"\.*", ".*")
                       .replace("(did", r"\(did").replace("?)", r"\?\)")):
        WordsConfig(**{key: value})
    with pytest.raises(ConfigError, match=f"words\\.{key}"):
        Config().with_overrides({f"words.{key}": value})


def test_good_values_pass():
    WordsConfig()
    WordsConfig(language="ja"), WordsConfig(language="yue"), WordsConfig(language="")
    WordsConfig(retime="none", windows="text", max_window_s=20.0, threads=0, model_sha256="ab" * 32)
    WordsConfig(align_max_shift_s=None, snap_early_tolerance_s=None), WordsConfig(align_max_shift_s=0.0)


def test_the_scan_stops_before_reading_anything(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    result = CliRunner().invoke(main, ["scan", str(corpus), "-w", str(tmp_path / "ws"), "--words", "-j", "0",
                                       "--no-progress", "--set", "words.max_window_s=1"])
    assert result.exit_code == 2
    assert "words.max_window_s must be above 2 s" in result.output
    assert not (tmp_path / "ws").exists()


def test_the_language_list_is_the_one_the_recogniser_knows():
    tokenizer = pytest.importorskip("faster_whisper.tokenizer")
    assert WHISPER_LANGUAGES == set(tokenizer._LANGUAGE_CODES)
