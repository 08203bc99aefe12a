"""The rights errors, shared by the ledger and the importer (which both raise them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..model import Record


class LedgerError(InputError):
    """The ledger file cannot be read as a valid chain (names the line and the problem)."""


@dataclass(frozen=True)
class RowError(Record):
    """One malformed row of an import (or of a batch of drafts): its row number and the reason."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class ImportRejected(InputError):
    """An import had malformed rows; nothing was appended. ``errors`` lists every row and reason."""

    def __init__(self, path: object, errors: Sequence[RowError]):
        self.errors = list(errors)
        lines = "\n".join(f"  {e}" for e in self.errors)
        super().__init__(path, f"{len(self.errors)} malformed row(s), nothing appended:\n{lines}")
