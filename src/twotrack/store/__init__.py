"""The workspace: DuckDB tables + Parquet arrays in one folder; the one place that reads and writes results."""

from .locks import LockTimeout
from .rows import STAGES, ResultWrite, SourceRecord, StageRecord
from .schema import MIGRATIONS, SCHEMA_VERSION
from .workspace import Workspace, WorkspaceBusy, WorkspaceError

__all__ = [
    "Workspace", "WorkspaceError", "WorkspaceBusy", "LockTimeout", "ResultWrite", "SourceRecord", "StageRecord",
    "STAGES", "MIGRATIONS", "SCHEMA_VERSION",
]
