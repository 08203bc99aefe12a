"""Turn-taking events from per-track voice activity on the 10 ms grid.

The definitions (and where they come from) are written in ``docs/turn-taking.md``; this module is
their executable form. In short, for two tracks:

1. IPUs: speech runs of one track with silences shorter than the pause threshold bridged.
2. Every IPU either can set the floor or cannot. An IPU cannot set the floor when it is covered by
   the other track's IPU (it is never heard alone) or when it is short (<= backchannel_max_s) and the
   other speaker goes on after it (still speaking, or speaking again in an IPU heard alone, before
   this speaker's next long uncovered IPU). The floor holder just before an IPU is the speaker of the
   last IPU, in onset order, that can set the floor (the very first IPU always does).
3. A backchannel is a short IPU that cannot set the floor, uttered while the other holds the floor.
   A turn starts at every floor-setting IPU whose speaker did not hold the floor; it holds that
   speaker's IPUs until the other speaker's next turn starts.
4. Mutual silences are gaps (between one turn's end and the next turn's start) or pauses (inside a
   turn); overlaps are between (the overlapped part of a floor transfer) or within (all others).
5. A floor transfer joins consecutive turns; FTO = next turn start - previous turn end; an
   interruption is a transfer with FTO < 0 (the incoming speaker started inside the outgoing's IPU).

Everything is vectorised numpy over frames or over IPU arrays; no Python loop visits frames or IPUs,
except building the ``Event`` objects at the end (one per event).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import TurnsConfig
from ..model import FRAMES, Event, EventKind, FrameGrid
from ..timeline import Timeline, runs
from .table import events_from_table, make_table

_NEVER = np.iinfo(np.int64).max  # a frame index later than any real one
_DECIMALS = 6  # seconds are rounded to 1 us, the model's TIME_PRECISION_S


# --------------------------------------------------------------------------------------------
# Thresholds in frames
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameThresholds:
    """``TurnsConfig`` seconds converted once to whole frames (nearest frame boundary)."""

    pause: int  # silences of fewer frames than this are bridged inside an IPU
    backchannel_max: int  # an IPU of at most this many frames is "short"
    min_overlap: int  # overlap events shorter than this are not reported (>= 1)

    @classmethod
    def from_config(cls, cfg: TurnsConfig, grid: FrameGrid = FRAMES) -> FrameThresholds:
        for name in ("pause_threshold_s", "backchannel_max_s", "min_overlap_s"):
            value = getattr(cfg, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"turns.{name} must be a finite number >= 0, got {value!r}")
        return cls(
            pause=grid.boundary(cfg.pause_threshold_s),
            backchannel_max=grid.boundary(cfg.backchannel_max_s),
            min_overlap=max(1, grid.boundary(cfg.min_overlap_s)),
        )


# --------------------------------------------------------------------------------------------
# IPUs
# --------------------------------------------------------------------------------------------


def ipus(mask: np.ndarray, pause_threshold_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Inter-pausal units of one track: speech runs joined across silences shorter than the threshold.

    A silence of exactly ``pause_threshold_frames`` frames separates two IPUs; one frame less is
    bridged. Returns half-open frame ranges ``(starts, stops)``.

    >>> ipus(np.array([1, 1, 0, 1, 0, 0, 0, 1], bool), 2)
    (array([0, 7]), array([4, 8]))
    """
    starts, stops = runs(mask)
    if len(starts) < 2:
        return starts, stops
    keep = (starts[1:] - stops[:-1]) >= pause_threshold_frames
    return (
        np.concatenate((starts[:1], starts[1:][keep])),
        np.concatenate((stops[:-1][keep], stops[-1:])),
    )


# --------------------------------------------------------------------------------------------
# The structure of one conversation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TurnStructure:
    """Everything ``extract_events`` derives, as frame-index arrays (all half-open ``[start, stop)``).

    IPU arrays are in onset order (start, then longer first, then track). ``ipu_floor`` is the floor
    holder just before each IPU (-1: nobody yet); ``ipu_turn`` the turn an IPU belongs to (-1: none,
    e.g. a backchannel or an IPU the other speaker's IPU covers while the other holds the floor).
    ``silence_*`` are the mutual silences between speech: a gap lies between one turn's end and the
    next turn's start (``track`` the next speaker, ``from`` the previous), a pause inside a turn
    (``track`` its speaker, ``from`` -1). ``overlap_*``: an overlap is between when it is the overlapped
    part of a floor transfer (``track`` incoming, ``from`` outgoing), within otherwise (``track`` the
    speaker without the floor, ``from`` the floor holder).
    """

    n_tracks: int
    n_frames: int
    ipu_start: np.ndarray
    ipu_stop: np.ndarray
    ipu_track: np.ndarray
    ipu_floor: np.ndarray
    ipu_turn: np.ndarray
    ipu_backchannel: np.ndarray
    turn_start: np.ndarray
    turn_stop: np.ndarray
    turn_track: np.ndarray
    silence_start: np.ndarray
    silence_stop: np.ndarray
    silence_gap: np.ndarray
    silence_track: np.ndarray
    silence_from: np.ndarray
    overlap_start: np.ndarray
    overlap_stop: np.ndarray
    overlap_between: np.ndarray
    overlap_track: np.ndarray
    overlap_from: np.ndarray

    @property
    def fto(self) -> np.ndarray:
        """Floor-transfer offsets in frames, one per pair of consecutive turns."""
        return self.turn_start[1:] - self.turn_stop[:-1]


def _as_masks(masks: np.ndarray) -> np.ndarray:
    m = np.asarray(masks)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2:
        raise ValueError(f"activity masks must have shape (n_tracks, n_frames), got {m.shape}")
    if m.shape[0] not in (1, 2):
        raise ValueError(
            f"turn-taking events are defined for one or two tracks, got {m.shape[0]} "
            "(a recording with more speakers needs diarised pairs first)"
        )
    if m.dtype != bool:
        odd = (m != 0) & (m != 1)  # astype(bool) would read NaN, a probability or a 2 as speech
        if odd.any():
            raise ValueError(f"activity masks must hold speech/silence as booleans or 0/1, found {m[odd].flat[0]!r}")
    return m.astype(bool, copy=False)


def _covered_by(s, e, other_s, other_e, loses_ties: bool) -> np.ndarray:
    """IPUs ``[s, e)`` lying wholly inside one IPU of the other track.

    Identical extents count as covered only for the track that ``loses_ties`` (the later track)."""
    if len(other_s) == 0 or len(s) == 0:
        return np.zeros(len(s), bool)
    j = np.searchsorted(other_s, s, side="right") - 1  # the other's last IPU starting at or before
    has = j >= 0
    jj = np.maximum(j, 0)
    covered = has & (other_e[jj] >= e)
    if not loses_ties:
        covered &= ~((other_s[jj] == s) & (other_e[jj] == e))
    return covered


def _other_goes_on(s, e, big, other_s, other_e) -> np.ndarray:
    """For each IPU: does the other speaker speak after it ends (still speaking, or again) before
    this speaker's next ``big`` IPU starts? ``other_s``/``other_e`` hold only the other's IPUs that
    are heard alone at some point (a covered IPU does not show that the other goes on)."""
    if len(other_s) == 0 or len(s) == 0:
        return np.zeros(len(s), bool)
    k = np.searchsorted(other_e, e, side="right")  # the other's first IPU ending after this one
    has = k < len(other_e)
    resume = np.where(has, other_s[np.minimum(k, len(other_s) - 1)], _NEVER)
    later_big = np.where(big, s, _NEVER)
    next_big = np.minimum.accumulate(later_big[::-1])[::-1]  # first big IPU at or after i
    next_big = np.concatenate((next_big[1:], [_NEVER]))  # ... strictly after i
    return has & (resume < next_big)


def analyse(masks: np.ndarray, cfg: TurnsConfig | None = None) -> TurnStructure:
    """Derive IPUs, floor, turns, silences and overlaps from boolean activity ``(n_tracks, n_frames)``."""
    cfg = cfg or TurnsConfig()
    th = FrameThresholds.from_config(cfg)
    m = _as_masks(masks)
    n_tracks, n_frames = m.shape
    per_track = [ipus(m[t], th.pause) for t in range(n_tracks)]

    starts = [s for s, _ in per_track]
    stops = [e for _, e in per_track]
    short = [(e - s) <= th.backchannel_max for s, e in per_track]
    if n_tracks == 2:
        covered = [
            _covered_by(starts[0], stops[0], starts[1], stops[1], loses_ties=False),
            _covered_by(starts[1], stops[1], starts[0], stops[0], loses_ties=True),
        ]
        heard = [~c for c in covered]
        goes_on = [
            _other_goes_on(
                starts[t], stops[t], ~short[t] & heard[t], starts[1 - t][heard[1 - t]], stops[1 - t][heard[1 - t]]
            )
            for t in (0, 1)
        ]
        yields = [covered[t] | (short[t] & goes_on[t]) for t in (0, 1)]
    else:
        yields = [np.zeros(len(starts[0]), bool)]

    s = np.concatenate(starts).astype(np.int64)
    e = np.concatenate(stops).astype(np.int64)
    trk = np.concatenate([np.full(len(starts[t]), t, np.int64) for t in range(n_tracks)])
    order = np.lexsort((trk, -e, s))  # onset order; at equal onsets the longer IPU first
    s, e, trk = s[order], e[order], trk[order]
    yields_o = np.concatenate(yields)[order]
    short_o = np.concatenate(short)[order]
    n = len(s)

    # The floor holder before each IPU: the speaker of the last earlier floor-setting IPU.
    sets_floor = ~yields_o
    if n:
        sets_floor[0] = True
    last = np.maximum.accumulate(np.where(sets_floor, np.arange(n), -1))
    prev = np.concatenate(([-1], last[:-1])) if n else last
    floor = np.where(prev >= 0, trk[np.maximum(prev, 0)], -1)

    if n_tracks == 2:
        takes = sets_floor & (floor != trk)
        backchannel = yields_o & short_o & (floor >= 0) & (floor != trk)
        turn_id = np.cumsum(takes) - 1
        turn_track = trk[takes]
        member = trk == turn_track[np.maximum(turn_id, 0)] if n else np.zeros(0, bool)
        ipu_turn = np.where(member, turn_id, -1)
        turn_start = s[takes]
        turn_stop = np.zeros(len(turn_start), np.int64)
        np.maximum.at(turn_stop, ipu_turn[member], e[member])
    else:
        backchannel = np.zeros(n, bool)
        ipu_turn = np.full(n, -1, np.int64)
        turn_start = turn_stop = turn_track = np.zeros(0, np.int64)

    # Silences and overlaps of the IPUs (so a bridged micro-pause is speech, as in an IPU). Silence before
    # the first and after the last IPU is no pause or gap: the gaps of the union within its extent.
    spoken = [Timeline.from_frames(starts[t], stops[t]) for t in range(n_tracks)]
    sil_s, sil_e = Timeline.covered(spoken, 1).gaps().to_frames()
    ov_s, ov_e = Timeline.covered(spoken, 2).to_frames()
    if n_tracks == 2 and len(turn_start):
        last_turn = len(turn_start) - 1
        # Silence: inside the latest turn started at or before it, or after its end (a gap).
        k = np.maximum(np.searchsorted(turn_start, sil_s, side="right") - 1, 0)
        sil_gap = (turn_stop[k] <= sil_s) & (k < last_turn)
        sil_track = np.where(sil_gap, turn_track[np.minimum(k + 1, last_turn)], turn_track[k])
        sil_from = np.where(sil_gap, turn_track[k], -1)
        # Overlap: between exactly when it starts where an overlapped floor transfer starts.
        fto = turn_start[1:] - turn_stop[:-1]
        j = np.maximum(np.searchsorted(turn_start, ov_s, side="right") - 1, 0)
        holder = turn_track[j]
        ov_between = np.isin(ov_s, turn_start[1:][fto < 0])
        ov_track = np.where(ov_between, holder, 1 - holder)
        ov_from = np.where(ov_between, 1 - holder, holder)
    else:
        sil_gap = np.zeros(len(sil_s), bool)
        sil_track = np.zeros(len(sil_s), np.int64)
        sil_from = np.full(len(sil_s), -1, np.int64)
        ov_between = np.zeros(len(ov_s), bool)
        ov_track = ov_from = np.zeros(len(ov_s), np.int64)

    return TurnStructure(
        n_tracks=n_tracks,
        n_frames=n_frames,
        ipu_start=s,
        ipu_stop=e,
        ipu_track=trk,
        ipu_floor=floor,
        ipu_turn=ipu_turn,
        ipu_backchannel=backchannel,
        turn_start=turn_start,
        turn_stop=turn_stop,
        turn_track=turn_track,
        silence_start=sil_s,
        silence_stop=sil_e,
        silence_gap=sil_gap,
        silence_track=sil_track,
        silence_from=sil_from,
        overlap_start=ov_s,
        overlap_stop=ov_e,
        overlap_between=ov_between,
        overlap_track=ov_track,
        overlap_from=ov_from,
    )


# --------------------------------------------------------------------------------------------
# Structure -> events
# --------------------------------------------------------------------------------------------


def structure_to_table(st: TurnStructure, cfg: TurnsConfig | None = None, grid: FrameGrid = FRAMES) -> dict:
    """The events of a ``TurnStructure`` as columns (see ``table.make_table``), in time order."""
    cfg = cfg or TurnsConfig()
    th = FrameThresholds.from_config(cfg, grid)
    none = np.int64(-1)
    parts: list[tuple[EventKind, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(kind, start, stop, track, from_track=None, value=None):
        k = len(start)
        from_track = np.full(k, none) if from_track is None else from_track
        value = np.full(k, np.nan) if value is None else value
        parts.append((kind, start, stop, np.broadcast_to(track, (k,)), from_track, value))

    add(EventKind.IPU, st.ipu_start, st.ipu_stop, st.ipu_track)

    # Mutual silences: gaps between turns, pauses inside one.
    sil_dur = (st.silence_stop - st.silence_start) * grid.hop_s
    g, p = st.silence_gap, ~st.silence_gap
    add(EventKind.PAUSE, st.silence_start[p], st.silence_stop[p], st.silence_track[p], value=sil_dur[p])
    add(EventKind.GAP, st.silence_start[g], st.silence_stop[g], st.silence_track[g], st.silence_from[g], sil_dur[g])

    if st.n_tracks == 2:
        add(EventKind.TURN, st.turn_start, st.turn_stop, st.turn_track)

        bc = st.ipu_backchannel
        add(EventKind.BACKCHANNEL, st.ipu_start[bc], st.ipu_stop[bc], st.ipu_track[bc], st.ipu_floor[bc])

        # Overlaps: between when a floor transfer happens in it, within otherwise.
        ov_len = st.overlap_stop - st.overlap_start
        keep = ov_len >= th.min_overlap
        ov_dur = ov_len * grid.hop_s
        for kind, sel in ((EventKind.OVERLAP_BETWEEN, keep & st.overlap_between),
                          (EventKind.OVERLAP_WITHIN, keep & ~st.overlap_between)):
            add(kind, st.overlap_start[sel], st.overlap_stop[sel], st.overlap_track[sel], st.overlap_from[sel],
                ov_dur[sel])

        # Floor transfers between consecutive turns; FTO < 0 is an overlapped transfer.
        prev_end, next_start = st.turn_stop[:-1], st.turn_start[1:]
        fto = next_start - prev_end
        new, old = st.turn_track[1:], st.turn_track[:-1]
        add(EventKind.FLOOR_TRANSFER, np.minimum(prev_end, next_start), np.maximum(prev_end, next_start),
            new, old, fto * grid.hop_s)
        # Interruption: the incoming speaker started inside the outgoing speaker's IPU and kept the
        # floor; the overlap [next_start, prev_end) is its extent.
        cut = -fto >= th.min_overlap
        add(EventKind.INTERRUPTION, next_start[cut], prev_end[cut], new[cut], old[cut], -fto[cut] * grid.hop_s)

    kinds = np.concatenate([np.full(len(pt[1]), pt[0].value, dtype=object) for pt in parts])
    start = np.concatenate([pt[1] for pt in parts]).astype(np.int64)
    stop = np.concatenate([pt[2] for pt in parts]).astype(np.int64)
    track = np.concatenate([pt[3] for pt in parts]).astype(np.int64)
    from_track = np.concatenate([pt[4] for pt in parts]).astype(np.int64)
    value = np.concatenate([pt[5] for pt in parts]).astype(np.float64)
    rank = np.concatenate([np.full(len(pt[1]), i) for i, pt in enumerate(parts)])
    order = np.lexsort((rank, stop, start))
    return make_table(
        kind=kinds[order],
        start=_seconds(start[order], grid),
        end=_seconds(stop[order], grid),
        track=track[order],
        from_track=from_track[order],
        value=np.round(value[order], _DECIMALS),
    )


def _seconds(frames: np.ndarray, grid: FrameGrid) -> np.ndarray:
    # Rounded so that frame 1824 reads 18.24, not 18.240000000000002 (1 us = model.TIME_PRECISION_S).
    return np.round(np.asarray(frames, np.float64) * grid.hop_s, _DECIMALS)


def extract_table(masks: np.ndarray, cfg: TurnsConfig | None = None) -> dict:
    """``extract_events`` as columns, without building one Python object per event."""
    return structure_to_table(analyse(masks, cfg), cfg)


def extract_events(masks: np.ndarray, cfg: TurnsConfig | None = None) -> list[Event]:
    """Turn-taking events of one recording from boolean activity ``(n_tracks, n_frames)`` on
    ``model.FRAMES``. One track (mono) gives IPUs and pauses only; two tracks give every kind."""
    return events_from_table(extract_table(masks, cfg))


def transfer_times(event: Event) -> tuple[float, float]:
    """``(previous turn end, next turn start)`` of a FLOOR_TRANSFER event. Its ``start``/``end`` are in
    time order, so for an overlapped transfer (FTO < 0) ``start`` is the next turn's start.

    >>> transfer_times(Event(EventKind.FLOOR_TRANSFER, 2.6, 3.0, 1, 0, -0.4))
    (3.0, 2.6)
    """
    if event.kind is not EventKind.FLOOR_TRANSFER:
        raise ValueError(f"not a floor transfer: {event.kind.value}")
    if event.value is not None and event.value < 0:
        return event.end, event.start
    return event.start, event.end
