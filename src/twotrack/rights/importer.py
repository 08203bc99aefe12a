"""Reading consent events from CSV or JSONL files, validating every row before anything is written.

Columns (CSV header or JSONL keys): ``speaker``, ``action`` (grant/amend/withdraw/revoke), ``scopes``
(semicolon-separated; a JSON list in JSONL is fine too; empty or ``all`` on a withdraw/revoke means every
scope), ``date`` (ISO 8601), ``evidence`` (URI), ``evidence_sha256``; optional ``jurisdiction``, ``expiry``,
``note``. The separator is ',', or ';' or a tab when the header uses it (scopes then sit in quotes). Row
numbers in errors are the file's line numbers (the header is line 1), so an editor jumps straight to them.
Lines starting with ``#`` and blank lines are ignored (comments).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from .. import jsonfile
from ..errors import InputError
from ..paths import special_file
from .consent import EventDraft, make_draft
from .errors import ImportRejected, RowError

REQUIRED_COLUMNS = ("speaker", "action", "scopes", "date", "evidence", "evidence_sha256")
OPTIONAL_COLUMNS = ("jurisdiction", "expiry", "note")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: Keys a twotrack ledger (WS/rights/ledger.jsonl) writes beside the event's own: its chain and bookkeeping.
#: Importing another workspace's ledger (a capture laptop's, say) drops them; the receiving ledger writes its
#: own (``Ledger.import_file`` checks the source's chain first).
LEDGER_KEYS = ("seq", "prev_hash", "hash", "recorded_at", "status")


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _delimiter(lines: list[str]) -> str:
    """The separator the header uses: ',' unless the header names the required columns only when split on
    ';' (spreadsheets in many locales save "CSV" so) or a tab. Scopes, ';'-separated too, then sit in quotes."""
    header = next((line for line in lines if not _is_comment(line)), "")
    for sep in (",", ";", "\t"):
        names = {c.strip().lower() for c in next(csv.reader([header], delimiter=sep), [])}
        if set(REQUIRED_COLUMNS) <= names:
            return sep
    return ","


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict]]:
    # Comment lines become empty lines so csv's line numbers stay the file's line numbers.
    lines = text.splitlines(keepends=True)
    cleaned = "".join("\n" if _is_comment(line) else line for line in lines)
    reader = csv.reader(io.StringIO(cleaned), delimiter=_delimiter(lines))
    header: list[str] | None = None
    out = []
    stuck = -1  # line_num at the last csv.Error: a second error there reads nothing more
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell over the field limit: that row is bad, the rows after it are read
            if reader.line_num == stuck:
                raise ImportRejected(path, [RowError(reader.line_num, f"malformed CSV: {exc}")]) from None
            stuck = reader.line_num
            too_long = str(exc).startswith("field larger than field limit")
            out.append((reader.line_num, {"__error__": f"a cell longer than {csv.field_size_limit()} characters"
                                          if too_long else f"malformed CSV: {exc}"}))
            continue
        if not cells or all(not c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            unknown = [c for c in header if c not in COLUMNS]
            problems = []
            if missing:
                problems.append(f"missing column(s) {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown column(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
            if len(set(header)) != len(header):
                problems.append("a column is named twice")
            if problems:
                raise ImportRejected(path, [RowError(reader.line_num, "header: " + "; ".join(problems))])
            continue
        row = reader.line_num
        if len(cells) != len(header):
            out.append((row, {"__error__": f"{len(cells)} cells, the header has {len(header)}"}))
            continue
        out.append((row, dict(zip(header, cells))))
    if header is None:
        raise ImportRejected(path, [RowError(1, "no header row (expected columns " + ", ".join(REQUIRED_COLUMNS) + ")")])
    return out


def _jsonl_rows(path: Path, text: str) -> list[tuple[int, dict]]:
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if _is_comment(line):
            continue
        try:
            data = jsonfile.loads(line, path, lineno, strict_numbers=False)  # a NaN note was kept as text
        except jsonfile.JSONFileError as exc:  # the row error names the row; the rejection names the file
            out.append((lineno, {"__error__": exc.reason}))
            continue
        if not isinstance(data, dict):
            out.append((lineno, {"__error__": "not a JSON object"}))
            continue
        missing = [c for c in REQUIRED_COLUMNS if c not in data]
        unknown = [c for c in data if c not in COLUMNS and c not in LEDGER_KEYS]
        if missing or unknown:
            parts = ([f"missing key(s) {', '.join(missing)}"] if missing else []) + (
                [f"unknown key(s) {', '.join(unknown)}"] if unknown else []
            )
            out.append((lineno, {"__error__": "; ".join(parts)}))
            continue
        out.append((lineno, data))
    return out


def read_event_rows(path: str | os.PathLike) -> tuple[list[EventDraft], list[int]]:
    """Parse and validate every row of a CSV (``.csv``/``.tsv``) or JSONL (``.jsonl``/``.json``) file.

    Returns the drafts and their row numbers; raises ImportRejected listing EVERY bad row (not just the
    first) so the file can be fixed in one pass."""
    p = Path(path)
    if (problem := special_file(str(p))) is not None:  # a FIFO would block the import for ever
        raise InputError(p, problem)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(p, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(p, f"not UTF-8 text (byte {exc.start})") from None
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _jsonl_rows(p, text)
    elif suffix in (".csv", ".tsv", ".txt"):
        rows = _csv_rows(p, text)
    else:
        raise InputError(p, f"unknown ledger import format {suffix!r} (use .csv, .tsv or .jsonl)")
    drafts, numbers, errors = [], [], []
    for row, data in rows:
        if "__error__" in data:
            errors.append(RowError(row, data["__error__"]))
            continue
        try:
            drafts.append(make_draft(**{k: data.get(k) for k in COLUMNS}))
            numbers.append(row)
        except ValueError as exc:
            errors.append(RowError(row, str(exc)))
    if errors:
        raise ImportRejected(p, errors)
    if not drafts:
        raise ImportRejected(p, [RowError(1, "no events in the file")])
    return drafts, numbers
