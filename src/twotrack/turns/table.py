"""Events <-> a table of numpy columns (the form the workspace stores and ``stats`` reads).

Columns: ``kind`` (str, ``EventKind`` values), ``start``/``end`` (float64 seconds), ``track`` and
``from_track`` (int64, -1 = none), ``value`` (float64, NaN = none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..model import Event, EventKind

EVENT_COLUMNS = ("kind", "start", "end", "track", "from_track", "value")
NO_TRACK = -1


def make_table(kind, start, end, track, from_track, value) -> dict[str, np.ndarray]:
    """Columns with the canonical dtypes; every column must have the same length."""
    table = {
        "kind": np.asarray(kind, dtype=str) if len(kind) else np.zeros(0, dtype="<U16"),
        "start": np.asarray(start, dtype=np.float64),
        "end": np.asarray(end, dtype=np.float64),
        "track": np.asarray(track, dtype=np.int64),
        "from_track": np.asarray(from_track, dtype=np.int64),
        "value": np.asarray(value, dtype=np.float64),
    }
    lengths = {k: len(v) for k, v in table.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"event columns differ in length: {lengths}")
    return table


def empty_table() -> dict[str, np.ndarray]:
    return make_table([], [], [], [], [], [])


def events_to_table(events: Iterable[Event]) -> dict[str, np.ndarray]:
    """A list of ``Event`` -> columns (None becomes -1 for tracks, NaN for values)."""
    events = list(events)
    return make_table(
        kind=[ev.kind.value for ev in events],
        start=[ev.start for ev in events],
        end=[ev.end for ev in events],
        track=[NO_TRACK if ev.track is None else ev.track for ev in events],
        from_track=[NO_TRACK if ev.from_track is None else ev.from_track for ev in events],
        value=[np.nan if ev.value is None else ev.value for ev in events],
    )


def events_from_table(table: Mapping[str, np.ndarray]) -> list[Event]:
    """Columns -> a list of ``Event`` (the inverse of ``events_to_table``)."""
    kinds = [EventKind(k) for k in np.asarray(table["kind"]).tolist()]
    starts = np.asarray(table["start"], np.float64).tolist()
    ends = np.asarray(table["end"], np.float64).tolist()
    tracks = np.asarray(table["track"], np.int64).tolist()
    froms = np.asarray(table["from_track"], np.int64).tolist()
    values = np.asarray(table["value"], np.float64)
    values = np.where(np.isnan(values), None, values).tolist() if len(values) else []
    return [
        Event(
            kind=k,
            start=s,
            end=e,
            track=None if t < 0 else t,
            from_track=None if f < 0 else f,
            value=v if v is None else float(v),
        )
        for k, s, e, t, f, v in zip(kinds, starts, ends, tracks, froms, values)
    ]


_FILL = {"track": NO_TRACK, "from_track": NO_TRACK, "value": np.nan}


def _column(table, name: str) -> np.ndarray:
    col = table[name]
    if np.ma.isMaskedArray(col):  # e.g. DuckDB ``fetchnumpy`` with NULLs
        return col.astype(np.float64).filled(_FILL[name]) if name in _FILL else col.filled()
    return np.asarray(col)


def as_table(events) -> dict[str, np.ndarray]:
    """Accept a table (a mapping of columns, a pyarrow Table or a pandas DataFrame; NULL/masked
    tracks become -1, NULL values NaN) or a list of events; return a table."""
    if isinstance(events, Mapping) or hasattr(events, "column_names") or hasattr(events, "columns"):
        return make_table(*(_column(events, c) for c in EVENT_COLUMNS))
    return events_to_table(events)
