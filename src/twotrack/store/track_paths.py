"""A typed read for the scan's missing-file notice: which stored tracks come from files under some folders."""

from __future__ import annotations

from collections.abc import Sequence


def track_paths_under(ws, roots: Sequence[str]) -> list[tuple[str, str]]:
    """(recording_id, path) of every stored track whose source path is one of ``roots`` or lies under one,
    in id order (only the matching pairs are read: no Recording objects)."""
    roots = [str(r).rstrip("/") for r in roots if str(r).strip("/")]
    if not roots:
        return []
    where = " OR ".join(["(path = ? OR starts_with(path, ?))"] * len(roots))
    params = [x for r in roots for x in (r, r + "/")]
    with ws.read() as con:
        rows = con.execute(f"SELECT DISTINCT recording_id, path FROM tracks WHERE {where} "
                           "ORDER BY recording_id, path", params).fetchall()
    return [(str(rid), str(path)) for rid, path in rows]
