"""Issue 18, fault 1: a withdrawal dated before the grant it would revoke is refused, never a silent no-op,
from the command line and from `consent import` alike."""

from __future__ import annotations

from click.testing import CliRunner

from twotrack.cli import main
from twotrack.rights.consent import GIVEN, WITHDRAWN
from twotrack.rights.ledger import ImportRejected, Ledger, ledger_path

import pytest

H = "a" * 64
HEADER = "speaker,action,scopes,date,evidence,evidence_sha256\n"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_withdrawal_before_the_grant_is_refused_naming_speaker_and_both_dates(tmp_path):
    ws = tmp_path / "ws"
    r = run("consent", "grant", "s1", "--scopes", "ai-training", "--date", "2026-03-14",
            "--evidence", "https://x.example/a.pdf", "--evidence-sha256", H, "-w", ws)
    assert r.exit_code == 0
    before = ledger_path(ws).read_bytes()
    r = run("consent", "withdraw", "s1", "--date", "2026-03-01", "-w", ws)
    assert r.exit_code == 1
    assert "s1" in r.output and "2026-03-01" in r.output and "2026-03-14" in r.output and "predates" in r.output
    assert "ConsentWithdrawn" not in r.output
    assert ledger_path(ws).read_bytes() == before  # nothing appended
    # dated on the grant's day it takes effect
    r = run("consent", "withdraw", "s1", "--date", "2026-03-14", "-w", ws)
    assert r.exit_code == 0
    assert Ledger(ledger_path(ws)).state("s1", "2026-04-01").state("ai-training").status == WITHDRAWN


def test_import_refuses_the_same_row_with_its_line_number_whatever_the_order(tmp_path):
    ws = tmp_path / "ws"
    csv = tmp_path / "c.csv"
    # the withdrawal is on line 2, the grant it would revoke on line 3 (same file)
    csv.write_text(HEADER + "s1,withdraw,all,2026-03-01,,\n"
                   f"s1,grant,ai-training,2026-03-14,https://x.example/a.pdf,{H}\n")
    r = run("consent", "import", csv, "-w", ws)
    assert r.exit_code == 1
    assert "row 2:" in r.output and "2026-03-01" in r.output and "2026-03-14" in r.output and "'s1'" in r.output
    assert not ledger_path(ws).exists() or ledger_path(ws).read_bytes() == b""

    # against a grant already in the ledger
    led = Ledger(ledger_path(ws))
    led.grant("s2", ["ai-training", "commercial-use"], "2026-03-14", "https://x.example/b.pdf", H)
    csv.write_text(HEADER + "s2,revoke,commercial-use,2026-01-01,,\n")
    with pytest.raises(ImportRejected) as exc:
        led.import_file(csv)
    assert "event #1" in str(exc.value) and "revoke for 's2' dated 2026-01-01" in str(exc.value)


def test_withdrawals_that_end_something_are_still_accepted(tmp_path):
    led = Ledger(tmp_path / "l.jsonl")
    led.grant("s3", ["ai-training"], "2024-01-01", "https://x.example/1.pdf", H)
    led.grant("s3", ["ai-training"], "2025-06-01", "https://x.example/2.pdf", H)
    # back-dated between the two grants: it ends the first one, the second gives it again
    led.withdraw("s3", ["ai-training"], "2025-01-01")
    assert led.state("s3", "2025-02-01").state("ai-training").status == WITHDRAWN
    assert led.state("s3", "2025-07-01").state("ai-training").status == GIVEN
    # a withdrawal from a speaker with no grant at all is kept (the only record of their wish)
    led.withdraw("nobody", "all", "2025-01-01")
    # but one dated after the first withdrawal and before the re-grant ends nothing: refused
    with pytest.raises(ImportRejected, match="predates the grant dated 2025-06-01"):
        led.withdraw("s3", ["ai-training"], "2025-03-01")
