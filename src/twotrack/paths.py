"""Fixed names of files twotrack writes, defined once for the modules that write and the ones that read them.

A workspace folder keeps its consent ledger at ``LEDGER_RELPATH`` (``rights.ledger`` appends to it,
``store.Workspace.ledger_path`` points at it); an export folder records itself in ``EXPORT_JSON``
(``export.state`` writes it, ``rights.audit`` reads and amends it). A leaf module, so that the store,
the rights and the export packages can all import it without importing each other.
"""

from __future__ import annotations

from pathlib import Path

#: The consent ledger, relative to the workspace folder.
LEDGER_RELPATH = Path("rights") / "ledger.jsonl"
#: The record of an export folder: format, purpose, ledger head, files and recordings (docs/export.md).
EXPORT_JSON = "export.json"
