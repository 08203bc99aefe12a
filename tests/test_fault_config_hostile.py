"""A config file (TOML) built to break its reader, and NaN given as a setting: a ConfigError naming the file
and the problem (exit 2 on the command line). Before: tracebacks, or NaN taken as a threshold."""

from __future__ import annotations

import pytest

from twotrack.config import Config, load_config
from twotrack.errors import ConfigError


@pytest.mark.parametrize("body, problem", [
    # before: RecursionError / ValueError (advice about sys.set_int_max_str_digits) / UnicodeDecodeError
    (b"[activity]\nonset = " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "cannot read config: nested too deeply"),
    (b"[activity]\nonset = " + b"9" * 5000 + b"\n", "cannot read config: a number of more than 4300 digits"),
    (b"[activity]\n# caf\xe9\nonset = 0.6\n", "cannot read config: not UTF-8 text (byte 16)"),
    # before: accepted; every comparison with the onset was then false
    (b"[activity]\nonset = nan\n", "bad value for 'activity.onset': nan (not a number)"),
])
def test_hostile_config_is_a_config_error(tmp_path, body, problem):
    path = tmp_path / "c.toml"
    path.write_bytes(body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {problem}"


def test_nan_from_the_command_line_is_refused():
    # before: --set activity.onset=nan was taken
    with pytest.raises(ConfigError, match=r"^bad value for 'activity.onset': nan \(not a number\)$"):
        Config().with_overrides({"activity.onset": "nan"})


def test_config_with_a_bom_is_read(tmp_path):
    # before: "cannot read config: Invalid statement (at line 1, column 1)"
    path = tmp_path / "c.toml"
    path.write_text("\ufeff[activity]\nonset = 0.6\n", encoding="utf-8")
    assert load_config(path).activity.onset == 0.6
