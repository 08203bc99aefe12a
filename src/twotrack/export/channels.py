"""An export writes the used tracks of a recording only: a 4-channel field recording with the two talkers on
A and B and nothing on C and D becomes a two-track recording in every format (Moshi's stereo needs exactly
two; Lhotse's and Parquet's channels are the speakers'). ``usage`` says which tracks are used; this module
makes the view of a recording and its stored results with just those tracks, renumbered from A in source
order, and what export.json says of the channels left out."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from ..model import Event, Recording, TrackActivity, Word, track_name
from ..usage import TrackUse


def keep_tracks(rec: Recording, kept: Sequence[int]) -> Recording:
    """``rec`` with only the tracks ``kept`` (source indices, in order): track i of the view is ``kept[i]``."""
    speakers = tuple(rec.speakers[i] if i < len(rec.speakers) else None for i in kept)
    transcripts = tuple(rec.track_transcripts[i] if i < len(rec.track_transcripts) else None for i in kept) \
        if rec.track_transcripts else ()
    return dataclasses.replace(rec, tracks=tuple(rec.tracks[i] for i in kept), speakers=speakers,
                               track_transcripts=transcripts)


def keep_activity(activity: Sequence[TrackActivity], kept: Sequence[int]) -> tuple[TrackActivity, ...]:
    new = {old: i for i, old in enumerate(kept)}
    return tuple(dataclasses.replace(a, track=new[a.track]) for a in activity if a.track in new)


def keep_events(events: Sequence[Event], kept: Sequence[int]) -> tuple[Event, ...]:
    """The events between the kept tracks (one naming a left-out track goes), renumbered."""
    new = {old: i for i, old in enumerate(kept)}
    out = []
    for e in events:
        if (e.track is not None and e.track not in new) or (e.from_track is not None and e.from_track not in new):
            continue
        out.append(dataclasses.replace(e, track=None if e.track is None else new[e.track],
                                       from_track=None if e.from_track is None else new[e.from_track]))
    return tuple(out)


def keep_words(words: dict[int, list[Word]] | None, kept: Sequence[int]) -> dict[int, list[Word]] | None:
    if words is None:
        return None
    return {i: [dataclasses.replace(w, track=i) for w in words.get(old, [])] for i, old in enumerate(kept)}


def channels_entry(uses: Sequence[TrackUse], kept: Sequence[int]) -> dict[str, Any]:
    """export.json's ``channels`` of a recording written without some of its tracks: the source track on
    each exported channel, and each track left out with the reason."""
    return {"source_tracks": [track_name(i) for i in kept],
            "left_out": {u.name: u.why() for u in uses if u.track not in kept}}
