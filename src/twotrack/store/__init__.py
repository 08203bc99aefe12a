"""The workspace: DuckDB tables + Parquet arrays in one folder; the only code that knows its tables and SQL.

``Workspace`` opens a workspace; ``queries`` reads it (typed functions, read-only sessions);
``Workspace.writer()`` gives the one ``WriteSession`` that writes it (the scan's).
"""

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
