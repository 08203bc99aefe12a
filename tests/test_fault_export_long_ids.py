"""Recording ids longer than a file name may be: the export stem is cut and hashed, never ENAMETOOLONG."""

from __future__ import annotations

from twotrack.export.run import MAX_STEM, make_stems


def test_long_ids_get_short_distinct_stems():
    # before: a 300-character id gave a 300-character stem; writing audio/<stem>.wav failed with
    # "OSError: [Errno 36] File name too long" and the recording was left out of the export
    a, b = "x" * 300, "x" * 299 + "y"
    stems = make_stems([a, b, "short"])
    assert stems["short"] == "short"
    assert stems[a] != stems[b]
    for rid in (a, b):
        assert len(stems[rid]) == MAX_STEM + 9 and stems[rid].startswith("x" * MAX_STEM + "-")
    assert len((stems[a] + "_p000_mainB.supervisions.jsonl.gz").encode()) + 20 < 255
