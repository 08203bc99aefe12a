"""Rights: the per-speaker consent ledger, licenses, verdicts per purpose, and export audits.

    consent.py      events, scopes, W3C DPV status terms, replay (state of a speaker at any time), meet
    ledger.py       the append-only hash-chained JSONL file: append (locked, validated), verify, head
    importer.py     CSV/JSONL import, every row validated before anything is written
    errors.py       LedgerError, ImportRejected, RowError (raised by both of the above)
    licenses.py     SPDX expressions (license-expression) + permissions.json (with sources)
    verdicts.py     PURPOSES table; allowed/blocked per recording with reasons
    audit.py        files of an earlier export to remove after withdrawals; apply

Everything works on plain inputs (a ledger path, a list of Recording); docs/rights.md has the details.
"""

from .audit import ApplyResult, AuditReport, Removal, apply_audit, audit_export, audit_report, read_export
from .consent import (
    EXPIRED, GIVEN, REVOKED, SCOPES, UNKNOWN, WITHDRAWN, ConsentEvent, EventDraft, SpeakerConsent, make_draft, meet,
    replay, replay_all,
)
from .errors import ImportRejected, LedgerError, RowError
from .ledger import GENESIS, Ledger, VerifyResult, ledger_path
from .licenses import Permissions, evaluate_license, load_permissions, parse_license, validate_license
from .verdicts import PURPOSES, Purpose, Reason, Verdict, allowed_ids, decide, get_purpose, rights_report

__all__ = [
    "ApplyResult", "AuditReport", "ConsentEvent", "EXPIRED", "EventDraft", "GENESIS", "GIVEN", "ImportRejected",
    "Ledger", "LedgerError", "PURPOSES", "Permissions", "Purpose", "REVOKED", "Reason", "Removal", "RowError",
    "SCOPES", "SpeakerConsent", "UNKNOWN", "Verdict", "VerifyResult", "WITHDRAWN", "allowed_ids", "apply_audit",
    "audit_export", "audit_report", "decide", "evaluate_license", "get_purpose", "ledger_path", "load_permissions",
    "make_draft", "meet", "parse_license", "read_export", "replay", "replay_all", "rights_report",
    "validate_license",
]
