"""JSON files a user names (permissions table, qualify reference and inputs, a CANDOR metadata file) nested
too deeply for the decoder: one InputError naming the file. Before: RecursionError tracebacks."""

from __future__ import annotations

import pytest

from twotrack.errors import InputError
from twotrack.qualify.inputs import load_inputs
from twotrack.qualify.reference import load_reference
from twotrack.recipes.candor import _load_json
from twotrack.rights.licenses import load_permissions

DEEP = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize("load", [load_permissions, load_reference, load_inputs, _load_json])
def test_deep_json_is_an_input_error(tmp_path, load):
    path = tmp_path / "deep.json"
    path.write_text(DEEP)
    with pytest.raises(InputError, match=r"deep.json: .*nested too deeply"):
        load(str(path))
