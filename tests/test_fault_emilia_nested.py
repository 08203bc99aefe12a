"""An Emilia index line nested too deeply for the JSON decoder: a named metadata error, the other lines
prepared. Before: RecursionError out of the recipe."""

from __future__ import annotations

from recipe_corpora import build_emilia
from twotrack.recipes.registry import prepare


def test_deep_index_line_is_named_and_the_rest_prepared(tmp_path):
    root = build_emilia(tmp_path / "corpus")
    index = root / "EN" / "EN_B00000.jsonl"
    index.write_text(index.read_text() + '{"wav": "x.mp3", "n": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    got = prepare("emilia", [root])
    problems = [e.problem for e in got.errors]
    assert "unreadable metadata: line 3: not usable JSON: nested too deeply" in problems, problems
    assert len(got.recordings) == 3


def test_deep_sidecar_json_is_named(tmp_path):
    root = build_emilia(tmp_path / "corpus")
    sidecar = root / "EN-B000001" / "EN_B00001_S00001_W000000.json"
    sidecar.write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    got = prepare("emilia", [root])
    assert any(e.path.endswith(sidecar.name) and e.problem == "unreadable metadata: not usable JSON: nested too deeply"
               for e in got.errors), got.errors
    assert len(got.recordings) == 2
