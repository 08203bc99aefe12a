"""The workspace: DuckDB tables + Parquet arrays in one folder; the only code that knows its tables and SQL.

``Workspace`` opens a workspace; ``queries`` reads it (typed functions, read-only sessions);
``Workspace.writer()`` gives the one ``WriteSession`` that writes it (the scan's).

Names are loaded on first use (PEP 562): a scan worker imports ``store.rows`` (the records it sends back)
and must not pay for DuckDB and pyarrow, which only the scan's main process and the readers use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import queries
    from .locks import LockTimeout
    from .queries import PlanView
    from .rows import STAGES, ResultWrite, SourceRecord, StageRecord
    from .schema import MIGRATIONS, SCHEMA_VERSION
    from .workspace import Workspace, WorkspaceBusy, WorkspaceError
    from .writer import WriteSession

__all__ = [
    "Workspace", "WorkspaceError", "WorkspaceBusy", "LockTimeout", "ResultWrite", "SourceRecord", "StageRecord",
    "STAGES", "MIGRATIONS", "SCHEMA_VERSION", "WriteSession", "PlanView", "queries",
]


def __getattr__(name: str):
    if name == "queries":
        # not ``from . import queries``: that asks this package for the attribute first, which is this call
        from .queries import PlanView  # noqa: F401 - importing the submodule binds ``queries`` here

        return globals()["queries"]
    if name == "PlanView":
        from . import queries as module
    elif name == "LockTimeout":
        from . import locks as module
    elif name in ("STAGES", "ResultWrite", "SourceRecord", "StageRecord"):
        from . import rows as module
    elif name in ("MIGRATIONS", "SCHEMA_VERSION"):
        from . import schema as module
    elif name in ("Workspace", "WorkspaceBusy", "WorkspaceError"):
        from . import workspace as module
    elif name == "WriteSession":
        from . import writer as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value
