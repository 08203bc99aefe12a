"""CSV cells a spreadsheet would run as formulas: written with a leading ``'``, read back without it.

Exports write CSV files (Moshi's metadata.csv) that people open in spreadsheets; a text cell from a manifest,
a ledger or a transcript that starts like a formula (``=HYPERLINK(...)``, ``=cmd|...``) would run there. The
export writes such cells escaped (``spreadsheet_safe``) and ``rights audit`` matches ids by their plain
value (``spreadsheet_plain``). Its own module: both the exports and the rights package read it.
"""

from __future__ import annotations

#: A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, with a leading ``'`` (shown as text, not run).
    Only text is touched: numbers (``-0.5``) are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def spreadsheet_plain(cell: str) -> str:
    """The value ``spreadsheet_safe`` wrote as ``cell`` (what a reader matching ids must compare)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell
