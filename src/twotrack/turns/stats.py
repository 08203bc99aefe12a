"""Corpus statistics over per-recording turn-taking events: pure functions, plain dicts out.

The input of every function is a sequence of ``RecordingEvents`` (one per recording: its duration,
its events as a list of ``Event`` or as the column table of ``turns.table``, and optionally speech
seconds per track and speaker ids per track). What is measured, and how, is written in
``docs/turn-taking.md`` (section "Corpus statistics").

``corpus_stats`` returns a JSON-ready dict (floats, ints, None for "not measurable"); the raw
per-event arrays that distributions are built from come from ``distributions``, and
``distribution_distance`` compares a sample with a reference sample or reference quantiles
(Wasserstein-1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import wasserstein_distance

from ..model import TIME_PRECISION_S, Event, EventKind, track_name
from ..timeline import Timeline
from .table import as_table

#: Percentiles reported for every distribution.
QUANTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
#: FTO histogram: 40 fixed bins of 0.1 s from -2.0 s to +2.0 s (values outside are counted apart).
FTO_BIN_EDGES: np.ndarray = np.round(np.linspace(-2.0, 2.0, 41), 10)

#: Count name -> event kinds counted under it.
COUNTED: dict[str, tuple[EventKind, ...]] = {
    "ipu": (EventKind.IPU,),
    "turn": (EventKind.TURN,),
    "pause": (EventKind.PAUSE,),
    "gap": (EventKind.GAP,),
    "overlap": (EventKind.OVERLAP_BETWEEN, EventKind.OVERLAP_WITHIN),
    "overlap_between": (EventKind.OVERLAP_BETWEEN,),
    "overlap_within": (EventKind.OVERLAP_WITHIN,),
    "backchannel": (EventKind.BACKCHANNEL,),
    "interruption": (EventKind.INTERRUPTION,),
    "floor_transfer": (EventKind.FLOOR_TRANSFER,),
}
#: Distribution name -> event kinds whose durations (seconds) make it; "fto" is the transfers' value.
#: Every counted kind but two: a transfer's number is its FTO, and an interruption's span is its overlap.
DURATIONS: dict[str, tuple[EventKind, ...]] = {
    name: kinds for name, kinds in COUNTED.items() if name not in ("interruption", "floor_transfer")
}
_OVERLAPS = (EventKind.OVERLAP_BETWEEN.value, EventKind.OVERLAP_WITHIN.value)
_DECIMALS = round(-math.log10(TIME_PRECISION_S))  # 6


@dataclass(frozen=True)
class RecordingEvents:
    """What the statistics need of one recording.

    ``speech_s``: speech seconds per track from the activity stage; when absent, the IPU time of
    each track stands in (IPUs include bridged micro-pauses, so it reads a little higher).
    ``speakers``: speaker id per track (None when unknown), for the per-speaker breakdown.
    """

    recording_id: str
    duration_s: float
    events: Sequence[Event] | Mapping[str, np.ndarray]
    n_tracks: int = 2
    speech_s: tuple[float, ...] | None = None
    speakers: tuple[str | None, ...] = field(default=())

    def __post_init__(self):
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError(f"{self.recording_id}: duration must be >= 0 seconds, got {self.duration_s!r}")
        if self.speech_s is not None and len(self.speech_s) != self.n_tracks:
            raise ValueError(f"{self.recording_id}: speech_s has {len(self.speech_s)} values for {self.n_tracks} tracks")


# --------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------


def _num(x: float | np.floating | None) -> float | None:
    """A JSON-safe float: NaN/inf -> None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _ratio(num: float, den: float) -> float | None:
    return _num(num / den) if den > 0 else None


def quantiles(values: np.ndarray, percents: Sequence[int] = QUANTILES) -> dict[str, float | None]:
    """``{"5": q05, "25": ..., ...}`` with numpy's linear interpolation; None when there is no value."""
    x = np.asarray(values, np.float64)
    if x.size == 0:
        return {str(p): None for p in percents}
    q = np.percentile(x, percents)
    return {str(p): _num(v) for p, v in zip(percents, q)}


def describe(values: np.ndarray) -> dict[str, Any]:
    """Count, mean and quantiles of one distribution (seconds)."""
    x = np.asarray(values, np.float64)
    return {"n": int(x.size), "mean": _num(x.mean()) if x.size else None, "quantiles": quantiles(x)}


def fto_histogram(fto: np.ndarray, edges: np.ndarray = FTO_BIN_EDGES) -> dict[str, Any]:
    """Counts of FTOs in fixed bins ``[edges[i], edges[i+1])`` (the last bin includes +2.0 s);
    values below the first edge and above the last are counted in ``below``/``above``."""
    x = np.asarray(fto, np.float64)
    counts, _ = np.histogram(x, bins=edges)
    return {
        "edges": [float(e) for e in edges],
        "counts": counts.astype(int).tolist(),
        "below": int((x < edges[0]).sum()),
        "above": int((x > edges[-1]).sum()),
    }


# --------------------------------------------------------------------------------------------
# Slices: a recording, or the part of it that belongs to some tracks (one speaker)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slice:
    duration_s: float
    table: dict[str, np.ndarray]
    n_tracks: int
    speech_s: np.ndarray  # per track of the recording
    ipu_s: np.ndarray  # per track of the recording
    spoken_s: float  # time in which at least one of the slice's tracks has an IPU (each instant once)
    tracks: tuple[int, ...] | None  # None: the whole recording


def _durations(table: Mapping[str, np.ndarray]) -> np.ndarray:
    """``end - start`` to the microsecond, as event times are stored (``TIME_PRECISION_S``): the
    difference of two times in seconds carries float noise (18.48 - 18.03 = 0.45000000000000284; 56.99 -
    56.79 = 0.19999999999999574 put a 0.2 s pause in the histogram bin below)."""
    return np.round(np.asarray(table["end"], np.float64) - np.asarray(table["start"], np.float64), _DECIMALS)


def _slice(rec: RecordingEvents, table: dict[str, np.ndarray], tracks: tuple[int, ...] | None = None) -> _Slice:
    for col in ("start", "end"):
        bad = ~np.isfinite(table[col])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{rec.recording_id}: event {i} ({table['kind'][i]}) has {col} "
                             f"{float(table[col][i])}: event times must be finite seconds")
    is_ipu = table["kind"] == EventKind.IPU.value
    dur = _durations(table)
    ipu_s = np.bincount(table["track"][is_ipu], weights=dur[is_ipu], minlength=rec.n_tracks)[: rec.n_tracks]
    speech = np.asarray(rec.speech_s, np.float64) if rec.speech_s is not None else ipu_s
    mine = is_ipu if tracks is None else is_ipu & np.isin(table["track"], tracks)
    # each instant once; not IPU time minus the overlap events, which leave out those shorter than
    # turns.min_overlap_s (their time would count twice)
    spoken = Timeline.from_bounds(table["start"][mine], table["end"][mine]).duration()
    return _Slice(rec.duration_s, table, rec.n_tracks, speech, ipu_s, spoken, tracks)


def _owned(sl: _Slice) -> np.ndarray:
    """Events that belong to the slice's tracks (all events for a whole recording)."""
    if sl.tracks is None:
        return np.ones(len(sl.table["kind"]), bool)
    return np.isin(sl.table["track"], sl.tracks)


def _summarise(slices: Sequence[_Slice], with_histogram: bool = True) -> dict[str, Any]:
    duration = float(sum(sl.duration_s for sl in slices))
    minutes = duration / 60.0
    kinds = [sl.table["kind"][_owned(sl)] for sl in slices]
    all_kinds = np.concatenate(kinds) if kinds else np.zeros(0, str)

    counts = {name: int(np.isin(all_kinds, [k.value for k in ks]).sum()) for name, ks in COUNTED.items()}
    out: dict[str, Any] = {
        "hours": duration / 3600.0,
        "duration_s": duration,
        "counts": counts,
        "per_minute": {name: _ratio(c, minutes) for name, c in counts.items()},
    }

    # Speech share per track (recording level) or of the slice's tracks (speaker level).
    if slices and slices[0].tracks is None:
        width = max(sl.n_tracks for sl in slices)
        share = {}
        for t in range(width):
            present = [sl for sl in slices if sl.n_tracks > t]
            share[track_name(t)] = _ratio(sum(sl.speech_s[t] for sl in present), sum(sl.duration_s for sl in present))
        out["speech_share"] = share
    else:
        speech = sum(float(sl.speech_s[list(sl.tracks)].sum()) for sl in slices)
        out["speech_share"] = _ratio(speech, duration)

    # Overlap share of speech, on IPU time: overlapped time / time in which at least one speaks.
    # For a speaker: overlapped time they are part of / their own speaking time.
    overlap_s, speaking_s = 0.0, 0.0
    for sl in slices:
        tb = sl.table
        is_ov = np.isin(tb["kind"], _OVERLAPS)
        if sl.tracks is not None:
            is_ov &= np.isin(tb["track"], sl.tracks) | np.isin(tb["from_track"], sl.tracks)
        ov = float(_durations(tb)[is_ov].sum())
        overlap_s += ov
        speaking_s += sl.spoken_s  # each instant once, also for a speaker on both tracks
    out["overlap_s"] = overlap_s
    out["overlap_share_of_speech"] = _ratio(overlap_s, speaking_s)

    arrays = _arrays(slices)
    fto = arrays["fto"]
    out["fto"] = {
        **describe(fto),
        "share_overlap": _ratio(float((fto < 0).sum()), float(fto.size)),
    }
    if with_histogram:
        out["fto"]["histogram"] = fto_histogram(fto)
    out["durations"] = {name: describe(arrays[name]) for name in DURATIONS}
    return out


def _arrays(slices: Sequence[_Slice]) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("fto", *DURATIONS)}
    for sl in slices:
        tb, own = sl.table, _owned(sl)
        kind = tb["kind"]
        dur = _durations(tb)
        parts["fto"].append(tb["value"][own & (kind == EventKind.FLOOR_TRANSFER.value)])
        for name, ks in DURATIONS.items():
            parts[name].append(dur[own & np.isin(kind, [k.value for k in ks])])
    return {k: np.concatenate(v).astype(np.float64) if v else np.zeros(0) for k, v in parts.items()}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _tables(recordings: Iterable[RecordingEvents]) -> list[tuple[RecordingEvents, dict[str, np.ndarray]]]:
    return [(rec, as_table(rec.events)) for rec in recordings]


def recording_stats(rec: RecordingEvents) -> dict[str, Any]:
    """The statistics of one recording (the corpus statistics of a corpus of one)."""
    return _summarise([_slice(rec, as_table(rec.events))])


def distributions(recordings: Iterable[RecordingEvents]) -> dict[str, np.ndarray]:
    """Raw pooled arrays (seconds): ``fto`` (transfer offsets) and the durations of ``ipu``, ``turn``,
    ``pause``, ``gap``, ``overlap``, ``overlap_between``, ``overlap_within``, ``backchannel``."""
    return _arrays([_slice(rec, tb) for rec, tb in _tables(recordings)])


def corpus_stats(
    recordings: Iterable[RecordingEvents],
    groups: Mapping[str, str] | None = None,
    by_speaker: bool = True,
) -> dict[str, Any]:
    """Corpus statistics (JSON-ready): hours, speech share per track, overlap share of speech, counts
    and counts per minute, FTO quantiles and histogram, duration distributions; ``by_group`` when
    ``groups`` maps recording id -> group (e.g. register; recordings missing from it are not grouped),
    ``by_speaker`` when recordings carry speaker ids (tracks with an unknown speaker are skipped)."""
    pairs = _tables(recordings)
    whole = [_slice(rec, tb) for rec, tb in pairs]
    out = {"recordings": len(pairs), **_summarise(whole)}
    if groups is not None:
        by_group: dict[str, list[_Slice]] = {}
        for (rec, _), sl in zip(pairs, whole):
            if rec.recording_id in groups:
                by_group.setdefault(str(groups[rec.recording_id]), []).append(sl)
        out["by_group"] = {
            g: {"recordings": len(sls), **_summarise(sls)} for g, sls in sorted(by_group.items())
        }
    if by_speaker:
        by_spk: dict[str, list[_Slice]] = {}
        for rec, tb in pairs:
            tracks_of: dict[str, list[int]] = {}  # one slice per speaker and recording, whatever its tracks
            for t, spk in enumerate(rec.speakers[: rec.n_tracks]):
                if spk is not None:
                    tracks_of.setdefault(str(spk), []).append(t)
            for spk, tracks in tracks_of.items():
                by_spk.setdefault(spk, []).append(_slice(rec, tb, tuple(tracks)))
        out["by_speaker"] = {
            s: {"recordings": len(sls), **_summarise(sls, with_histogram=False)} for s, sls in sorted(by_spk.items())
        }
    return out


def _reference_quantiles(reference: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if "quantiles" in reference and isinstance(reference["quantiles"], Mapping):
        reference = reference["quantiles"]
    pairs = []
    for key, value in reference.items():
        if value is None:
            continue
        try:
            pct = float(str(key).lstrip("pq"))
        except ValueError as exc:
            raise ValueError(f"reference quantile key {key!r} is not a percent (e.g. '5', '50', 'p95')") from exc
        if not 0 <= pct <= 100:
            raise ValueError(f"reference quantile key {key!r} is outside 0..100")
        pairs.append((pct / 100.0, float(value)))
    if len(pairs) < 2:
        raise ValueError("a quantile reference needs at least two quantiles")
    pairs.sort()
    p, q = np.array(pairs).T
    if np.any(np.diff(q) < 0):
        raise ValueError(f"reference quantiles decrease with the percent: {dict(zip(p * 100, q))}")
    return p, q


def distribution_distance(
    sample: np.ndarray | Sequence[float],
    reference: np.ndarray | Sequence[float] | Mapping[str, Any],
    grid_points: int = 1001,
) -> float | None:
    """Wasserstein-1 distance (seconds) between a sample and a reference (None if the sample is empty).

    ``reference`` is either a sample (array) or quantiles: a mapping percent -> value such as
    ``{"5": -0.4, "25": 0.0, "50": 0.2, ...}``, or a dict holding one under ``"quantiles"`` (the
    ``fto`` or ``durations[...]`` entries of ``corpus_stats`` work as they are). With quantiles only
    the span they cover is compared: both quantile functions are evaluated on an even grid of
    probabilities between the lowest and the highest given percent (the reference linearly
    interpolated between its quantiles), and the distance is ``scipy.stats.wasserstein_distance``
    of those two equal-weight point sets, i.e. the W1 distance of the two distributions trimmed to
    that central span.
    """
    x = np.asarray(sample, np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    if isinstance(reference, Mapping):
        p, q = _reference_quantiles(reference)
        grid = np.linspace(p[0], p[-1], grid_points)
        return float(wasserstein_distance(np.quantile(x, grid), np.interp(grid, p, q)))
    ref = np.asarray(reference, np.float64)
    ref = ref[np.isfinite(ref)]
    if ref.size == 0:
        raise ValueError("the reference sample is empty")
    return float(wasserstein_distance(x, ref))
