"""``twotrack.jsonfile``: each hazard of JSON from outside is one JSONFileError naming the file, the line and
the problem; a leading byte-order mark is skipped; NaN and Infinity only when asked for."""

from __future__ import annotations

import pytest

from twotrack.jsonfile import JSONFileError, loads

BOM = "\ufeff"


@pytest.mark.parametrize("text, problem", [
    ("[" * 100_000, "not usable JSON: nested too deeply"),
    ('{"a": NaN}', "not usable JSON: NaN is not a JSON number"),
    ('[-Infinity]', "not usable JSON: -Infinity is not a JSON number"),
    ("[1e999]", "not usable JSON: number 1e999 is beyond a float's range"),
    ("[" + "9" * 400 + "]", "not usable JSON: a number of 400 digits, beyond a float's range"),
    ("[" + "9" * 5000 + "]", "not usable JSON: a number of 5000 digits (more than 4300)"),
    ('{"a": 1, "b": {"c": 1, "c": 2}}', "not usable JSON: key 'c' appears twice in one object"),
    ("{oops", "not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
])
def test_each_hazard_names_the_file_the_line_and_the_problem(text, problem):
    with pytest.raises(JSONFileError) as err:
        loads(text, "m.jsonl", 7)
    assert str(err.value) == f"m.jsonl: line 7: {problem}"
    assert err.value.reason == problem and isinstance(err.value, ValueError)


def test_a_leading_bom_is_skipped_and_non_finite_numbers_can_be_allowed():
    assert loads(BOM + '{"a": 1}', "x.json") == {"a": 1}
    assert loads(b'\xef\xbb\xbf{"a": 1}', "x.json") == {"a": 1}
    assert loads("[1.5, 300, -2]", "x.json") == [1.5, 300, -2]
    nan, inf, big = loads("[NaN, Infinity, 1e999]", "x.json", strict_numbers=False)
    assert nan != nan and inf == big == float("inf")
    with pytest.raises(JSONFileError, match=r"^x.json: not UTF-8 text \(byte 1\)$"):
        loads(b'"\xff"', "x.json")
