"""Turn-taking events from two activity streams, and corpus statistics over them.

Definitions and their sources: ``docs/turn-taking.md``.
"""

from .events import (
    FrameThresholds,
    TurnStructure,
    analyse,
    extract_events,
    extract_table,
    ipus,
    structure_to_table,
    transfer_times,
)
from .table import EVENT_COLUMNS, as_table, empty_table, events_from_table, events_to_table

__all__ = [
    "EVENT_COLUMNS",
    "FrameThresholds",
    "TurnStructure",
    "analyse",
    "as_table",
    "empty_table",
    "events_from_table",
    "events_to_table",
    "extract_events",
    "extract_table",
    "ipus",
    "structure_to_table",
    "transfer_times",
]
