"""A ledger line nested too deeply for the JSON decoder (a tampered ledger): `verify` names the line as
TAMPERED. Before: RecursionError out of `consent verify` and `rights`."""

from __future__ import annotations

from twotrack.rights.ledger import Ledger


def test_deep_line_is_reported_not_raised(tmp_path):
    led = Ledger(tmp_path / "ledger.jsonl")
    led.grant("s1", ["ai-training"], "2024-01-01", "https://e.example.org/1.pdf", "ab" * 32)
    with open(led.path, "a") as fh:
        fh.write('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    res = led.verify()
    assert not res.ok and res.first_bad_line == 2 and res.n_events == 1
    assert res.problem == "unreadable event: not usable JSON: nested too deeply"
