"""Score a mono diarization against the two-track truth: diarization error and turn-taking damage.

The truth is the per-track activity the scan found: track A's speech labelled ``A``, track B's ``B``
(both at once where they overlap). The hypothesis is any set of labelled segments: this project's
diarizer or an external one's RTTM.

- **Diarization error rate** comes from ``pyannote.metrics`` (no collar; with and without the
  reference's overlap regions, ``skip_overlap``), split into missed speech, false alarm and speaker
  confusion, each as a share of the reference speech time, so the three add up to the DER.
  ``frame_der`` is the same computation on the 10 ms grid (tests check the two agree).
- **Turn-taking damage**: the diarized speakers are mapped one-to-one to the tracks by the mapping
  that maximises their shared speech time (Hungarian algorithm, as in the DER), the two mapped
  lanes go through ``twotrack.turns`` exactly as the true tracks do, and the two sets of events are
  compared (definitions in docs/collapse.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..config import TurnsConfig
from ..model import FRAMES, Record, Segment, TrackActivity, track_name
from ..timeline import Timeline, runs, segments_to_mask
from ..turns import extract_table

Labelled = tuple[str, Segment]


# --------------------------------------------------------------------------------------------
# Labelled segments and masks
# --------------------------------------------------------------------------------------------


def reference_segments(activity: Sequence[TrackActivity]) -> list[Labelled]:
    """The two-track truth as labelled segments: ``("A", seg)`` for track A's speech, ``("B", seg)``..."""
    return sorted(((track_name(a.track), s) for a in activity for s in a.segments), key=lambda x: (x[1].start, x[0]))


def label_masks(segments: Iterable[Labelled], n_frames: int, labels: Sequence[str] | None = None
                ) -> tuple[list[str], np.ndarray]:
    """Labels (sorted unless given) and bool masks (n_labels, n_frames) on the 10 ms grid."""
    segs = list(segments)
    names = list(labels) if labels is not None else sorted({lab for lab, _ in segs})
    out = np.zeros((len(names), n_frames), bool)
    for i, name in enumerate(names):
        out[i] = segments_to_mask([s for lab, s in segs if lab == name], n_frames)
    return names, out


def optimal_mapping(ref: np.ndarray, hyp: np.ndarray) -> dict[int, int]:
    """hyp row -> ref row, one-to-one, maximising the frames both speak (unmapped rows are left out)."""
    from scipy.optimize import linear_sum_assignment

    if ref.shape[0] == 0 or hyp.shape[0] == 0:
        return {}
    co = hyp.astype(np.float64) @ ref.T.astype(np.float64)  # (n_hyp, n_ref) shared frames
    rows, cols = linear_sum_assignment(co, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols) if co[r, c] > 0}


def mapped_lanes(hyp: np.ndarray, mapping: dict[int, int], n_tracks: int) -> np.ndarray:
    """The diarized speakers put on the tracks they map to: bool (n_tracks, n_frames)."""
    out = np.zeros((n_tracks, hyp.shape[1]), bool)
    for h, r in mapping.items():
        if r < n_tracks:
            out[r] |= hyp[h]
    return out


# --------------------------------------------------------------------------------------------
# Diarization error
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DerParts(Record):
    """Seconds of reference speech and of each error; ``der`` = (missed + false alarm + confusion) / total."""

    total_s: float
    missed_s: float
    false_alarm_s: float
    confusion_s: float

    @property
    def der(self) -> float:
        return (self.missed_s + self.false_alarm_s + self.confusion_s) / self.total_s if self.total_s > 0 else float("nan")

    def share(self, part: str) -> float:
        return getattr(self, f"{part}_s") / self.total_s if self.total_s > 0 else float("nan")

    def shares(self) -> dict[str, float]:
        return {"der": self.der, "missed": self.share("missed"), "false_alarm": self.share("false_alarm"),
                "confusion": self.share("confusion"), "speech_s": self.total_s}

    def __add__(self, other: DerParts) -> DerParts:
        return DerParts(self.total_s + other.total_s, self.missed_s + other.missed_s,
                        self.false_alarm_s + other.false_alarm_s, self.confusion_s + other.confusion_s)


def _annotation(segments: Iterable[Labelled]):
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    ann = Annotation()
    for i, (label, seg) in enumerate(segments):
        if seg:
            ann[PSegment(seg.start, seg.end), i] = label
    return ann


def der(reference: Iterable[Labelled], hypothesis: Iterable[Labelled], duration_s: float,
        skip_overlap: bool = False) -> DerParts:
    """Diarization error of ``hypothesis`` against ``reference`` over ``[0, duration_s)`` by
    ``pyannote.metrics`` (no forgiveness collar; ``skip_overlap`` leaves out where the reference has
    two or more speakers)."""
    from pyannote.core import Segment as PSegment
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.0, skip_overlap=skip_overlap)
    parts = metric(_annotation(reference), _annotation(hypothesis), detailed=True, uem=PSegment(0.0, duration_s))
    return DerParts(float(parts["total"]), float(parts["missed detection"]), float(parts["false alarm"]),
                    float(parts["confusion"]))


def frame_der(ref: np.ndarray, hyp: np.ndarray, skip_overlap: bool = False) -> DerParts:
    """The same error on the 10 ms grid from masks ``ref`` (n_ref, n) and ``hyp`` (n_hyp, n)."""
    n = min(ref.shape[1], hyp.shape[1])
    ref, hyp = ref[:, :n], hyp[:, :n]
    lanes = mapped_lanes(hyp, optimal_mapping(ref, hyp), ref.shape[0])
    n_ref = ref.sum(axis=0)
    n_hyp = hyp.sum(axis=0)
    correct = (ref & lanes).sum(axis=0)
    keep = n_ref < 2 if skip_overlap else np.ones(n, bool)
    hop = FRAMES.hop_s
    return DerParts(
        total_s=float(n_ref[keep].sum() * hop),
        missed_s=float(np.maximum(n_ref - n_hyp, 0)[keep].sum() * hop),
        false_alarm_s=float(np.maximum(n_hyp - n_ref, 0)[keep].sum() * hop),
        confusion_s=float((np.minimum(n_ref, n_hyp) - correct)[keep].sum() * hop),
    )


# --------------------------------------------------------------------------------------------
# Turn-taking damage
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnDamage(Record):
    """Counts behind each turn-taking measure (rates are computed from them, so corpora pool by adding).

    ``fto_true`` / ``fto_diarized`` are the floor-transfer offsets (s) of each view."""

    onsets: int = 0  # true IPU onsets
    onsets_hit: int = 0  # ... with a diarized IPU onset on the same track within the tolerance
    overlaps: int = 0  # true between-speaker overlaps
    overlaps_hit: int = 0  # ... where the diarized lanes overlap at least one frame
    overlap_s: float = 0.0  # their duration
    overlap_hit_s: float = 0.0  # ... the part the diarized lanes also have as overlap
    overlaps_diarized: int = 0  # overlaps (both lanes active) in the diarized view
    overlaps_diarized_true: int = 0  # ... that meet a true overlap (between or within)
    backchannels: int = 0
    backchannels_hit: int = 0  # a diarized backchannel of the same track meets the true one
    transfers: int = 0  # true floor transfers
    transfers_wrong_speaker: int = 0  # nearest diarized transfer (within tolerance) goes to the other track
    transfers_missed: int = 0  # no diarized transfer within the tolerance
    transfers_diarized: int = 0
    fto_true: tuple[float, ...] = ()
    fto_diarized: tuple[float, ...] = ()

    def rates(self) -> dict[str, float]:
        r = lambda a, b: a / b if b else float("nan")  # noqa: E731
        return {
            "onset_hit_rate": r(self.onsets_hit, self.onsets),
            "overlap_recall": r(self.overlaps_hit, self.overlaps),
            "overlap_time_recall": r(self.overlap_hit_s, self.overlap_s),
            "overlap_precision": r(self.overlaps_diarized_true, self.overlaps_diarized),
            "backchannel_recall": r(self.backchannels_hit, self.backchannels),
            "transfer_wrong_speaker_share": r(self.transfers_wrong_speaker, self.transfers),
            "transfer_missed_share": r(self.transfers_missed, self.transfers),
            "fto_wasserstein_s": fto_distance(self.fto_true, self.fto_diarized),
        }

    def __add__(self, other: TurnDamage) -> TurnDamage:
        vals = {}
        for name in self.__dataclass_fields__:
            vals[name] = getattr(self, name) + getattr(other, name)
        return TurnDamage(**vals)


def fto_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """1-Wasserstein distance (s) between two FTO samples (NaN when either is empty)."""
    from scipy.stats import wasserstein_distance

    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(wasserstein_distance(np.asarray(a, float), np.asarray(b, float)))


def _frames(t: np.ndarray) -> np.ndarray:
    return FRAMES.boundaries(t)


def _of(table: dict, kind: str) -> dict:
    sel = table["kind"] == kind
    return {k: v[sel] for k, v in table.items()}


def _onset_hits(true_t: dict, hyp_t: dict, tol: int) -> int:
    hits = 0
    for track in (0, 1):
        s = np.sort(_frames(true_t["start"][true_t["track"] == track]))
        h = np.sort(_frames(hyp_t["start"][hyp_t["track"] == track]))
        if not len(s) or not len(h):
            continue
        j = np.searchsorted(h, s)
        before, after = h[np.clip(j - 1, 0, len(h) - 1)], h[np.clip(j, 0, len(h) - 1)]
        nearest = np.minimum(np.abs(before - s), np.abs(after - s))
        hits += int(np.sum(nearest <= tol))
    return hits


def _any_in(mask: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per interval: does ``mask`` hold a True frame in it, and how many."""
    csum = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
    a = np.clip(starts, 0, mask.size)
    b = np.clip(stops, 0, mask.size)
    count = csum[b] - csum[a]
    return count > 0, count


def _next_start(t: dict) -> np.ndarray:
    # A transfer's start/end are in time order; with FTO < 0 the next turn starts at ``start``.
    return np.where(t["value"] < 0, t["start"], t["end"])


def turn_damage(true_masks: np.ndarray, diar_masks: np.ndarray, cfg: TurnsConfig | None = None,
                onset_tol_s: float = 0.05, transfer_tol_s: float = 0.5) -> TurnDamage:
    """Compare the turn-taking events of two-lane truth and two-lane diarization (bool (2, n) each)."""
    cfg = cfg or TurnsConfig()
    n = min(true_masks.shape[1], diar_masks.shape[1])
    truth = extract_table(true_masks[:, :n], cfg)
    diar = extract_table(diar_masks[:, :n], cfg)

    t_ipu, d_ipu = _of(truth, "ipu"), _of(diar, "ipu")
    onsets_hit = _onset_hits(t_ipu, d_ipu, int(round(onset_tol_s / FRAMES.hop_s)))

    # Between-speaker overlaps: does the diarized two-lane view overlap there too?
    t_ov = _of(truth, "overlap-between")
    d_both = diar_masks[0, :n] & diar_masks[1, :n]
    ov_s, ov_e = _frames(t_ov["start"]), _frames(t_ov["end"])
    ov_hit, ov_frames = _any_in(d_both, ov_s, ov_e)
    d_ov_s, d_ov_e = runs(d_both)
    d_ov_true, _ = _any_in(true_masks[0, :n] & true_masks[1, :n], d_ov_s, d_ov_e)

    # Backchannels: a diarized backchannel of the same track that meets the true one.
    t_bc, d_bc = _of(truth, "backchannel"), _of(diar, "backchannel")
    bc_hit = 0
    for track in (0, 1):
        mine = d_bc["track"] == track
        lane = Timeline.from_bounds(d_bc["start"][mine], d_bc["end"][mine]).to_mask(n)
        sel = t_bc["track"] == track
        bc_hit += int(np.sum(_any_in(lane, _frames(t_bc["start"][sel]), _frames(t_bc["end"][sel]))[0]))

    # Floor transfers: the nearest diarized transfer (by next-turn start) within the tolerance.
    t_tr, d_tr = _of(truth, "floor-transfer"), _of(diar, "floor-transfer")
    t_at, d_at = _next_start(t_tr), _next_start(d_tr)
    wrong = missed = 0
    if len(t_at):
        if len(d_at):
            order = np.argsort(d_at)
            d_sorted = d_at[order]
            j = np.searchsorted(d_sorted, t_at)
            lo, hi = np.clip(j - 1, 0, len(d_sorted) - 1), np.clip(j, 0, len(d_sorted) - 1)
            pick = np.where(np.abs(d_sorted[lo] - t_at) <= np.abs(d_sorted[hi] - t_at), lo, hi)
            dist = np.abs(d_sorted[pick] - t_at)
            near = dist <= transfer_tol_s + 1e-9
            wrong = int(np.sum(near & (d_tr["track"][order][pick] != t_tr["track"])))
            missed = int(np.sum(~near))
        else:
            missed = len(t_at)

    return TurnDamage(
        onsets=len(t_ipu["start"]), onsets_hit=onsets_hit,
        overlaps=len(ov_s), overlaps_hit=int(ov_hit.sum()),
        overlap_s=float((ov_e - ov_s).sum() * FRAMES.hop_s), overlap_hit_s=float(ov_frames.sum() * FRAMES.hop_s),
        overlaps_diarized=len(d_ov_s), overlaps_diarized_true=int(d_ov_true.sum()),
        backchannels=len(t_bc["start"]), backchannels_hit=bc_hit,
        transfers=len(t_at), transfers_wrong_speaker=wrong, transfers_missed=missed, transfers_diarized=len(d_at),
        fto_true=tuple(np.round(t_tr["value"], 6).tolist()), fto_diarized=tuple(np.round(d_tr["value"], 6).tolist()),
    )


def activity_masks(activity: Sequence[TrackActivity], n_frames: int) -> np.ndarray:
    """bool (n_tracks, n_frames) of stored per-track activity."""
    out = np.zeros((max((a.track for a in activity), default=-1) + 1, n_frames), bool)
    for a in activity:
        out[a.track] = segments_to_mask(a.segments, n_frames)
    return out
