"""Assembly: two chunk streams -> one aligned, lossless two-track FLAC, a capture report, a manifest row, a scan.

How the tracks are put on one time line (docs/capture.md has the derivation and the error budget):

1. **Client clock -> server clock.** Each browser repeats NTP-style exchanges: it sends its clock ``t0``,
   the server answers with its clock ``ts``, the browser notes ``t3`` on receipt and reports the triple.
   Each gives an offset ``ts - (t0 + t3) / 2`` (server minus client) that is exact when the two network legs
   take equal time and wrong by at most half the round trip otherwise. We keep the exchanges with the
   shortest round trips (least room for asymmetry) and take their median offset, or, when they span at
   least ``MIN_DRIFT_SPAN_S`` and the line's slope is known to ``MAX_DRIFT_STDERR_PPM``, a straight-line
   fit (offset and relative rate of the two clocks). A loose slope is not used: over a 30 s session on a
   busy machine the exchanges' scatter (~1 ms) made a 40-80 ppm "drift" out of two clocks that share one
   system clock, which then resampled both tracks and moved their ends by 1-2 ms.
2. **Sample counter -> client clock.** Every chunk carries its first sample's index and the client clock
   at that sample. A least-squares line through these points gives the track's start on the client clock
   (averaging the per-chunk timestamp jitter) and, when the fit is tight enough, the sound card's rate
   measured against the client clock (its drift in ppm).
3. **Placement.** Composing 1 and 2 gives each track's first sample and its rate on the server clock. The
   output starts at the earlier track's first sample; the later track is shifted by a whole number of
   samples (at 48 kHz, a rounding error of at most 0.01 ms) and padded with zeros before its start and after
   its end, so no recorded sample is lost. A track is resampled (soxr) only when its measured rate differs
   from the output rate enough to move its end by more than ``RESAMPLE_MIN_MS``; otherwise its samples are
   copied bit for bit.

2b. **Capture time instead of worklet time.** The chunk stamps say when the AudioWorklet saw a sample; in
   Chrome that is 50-115 ms after the browser captured it, differently per browser and run, which alone
   breaks a 10 ms alignment. So the page also sends *capture anchors*: one 10 ms frame of the microphone
   (read from a ``MediaStreamTrackProcessor`` on a clone of the track) with its ``AudioData.timestamp``,
   the browser's capture time. ``capture_timing`` finds each anchor in the track by its content
   (least squares near where the chunk stamps put it, accepted only when it fits and nothing else nearby
   does), which gives (sample index, capture time) pairs. Where the pairs jump between two anchors because
   the counter ran ahead of the capture clock, and the track holds a run of exact zeros of that length there,
   the zeros were inserted by the browser's input FIFO running dry: they are cut (``apply_corrections``), so the
   sample counter stays true to the capture clock. The opposite jump, capture time running ahead of the
   counter between two anchors that are ADJACENT in the track (the page sends the two frames around every
   jump of the capture timestamps it sees), is the device missing input (a late capture callback: Chromium's
   fake device then skips a tick); the missing time is filled with zeros right there. Exact zeros between the
   two frames (the input FIFO ran dry right then, for less than the device missed) are part of that silence:
   the rest is filled after them. A line through the
   corrected pairs replaces step 2's line. Jumps neither explains are reported, not guessed at: the first
   stretch places the track, later stretches keep their own offset in the report.

What this cannot see: any delay before the browser's capture timestamp (the sound card's own buffering,
as far as the operating system does not report it to the browser). Without anchors (a browser without
``MediaStreamTrackProcessor``) the worklet stamps are used and the report says the input latency is not
measured.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .chunks import ChunkMeta
from .limits import full_scale_warnings, over_full_scale, placement_problems, refused_report

log = logging.getLogger("twotrack.capture")

#: Exchanges kept for the offset: the shortest-round-trip fraction (at least MIN_CLOCK_KEEP of them).
CLOCK_KEEP_FRACTION = 0.34
MIN_CLOCK_KEEP = 3
#: A clock drift is fitted only over exchanges spanning at least this long (shorter: offset only).
MIN_DRIFT_SPAN_S = 20.0
#: ... and only when the fitted drift's standard error is below this (otherwise: offset only, drift 0).
MAX_DRIFT_STDERR_PPM = 10.0
#: A sound card rate is measured (not taken as nominal) when its fit's standard error is below this.
MAX_RATE_STDERR_PPM = 10.0
#: A track is resampled when its measured rate would move its end by more than this.
RESAMPLE_MIN_MS = 0.5
FLAC_SUBTYPE = "PCM_24"
#: An anchor is searched from this long before to this long after where the chunk stamps put it (the
#: worklet sees a sample 50-115 ms after its capture in Chrome; the window leaves room for much more).
ANCHOR_EARLY_S, ANCHOR_LATE_S = 0.5, 3.0
#: An anchor matches where the track holds it to this relative squared error (float32 copies of the same
#: samples: ~0; an anchor at another rate, resampled here: a little more) ...
MAX_ANCHOR_ERROR, MAX_RESAMPLED_ANCHOR_ERROR = 1e-4, 0.05
#: ... and the best place more than 1 ms away fits at least ANCHOR_CONTRAST times worse, and no better than
#: MIN_ANCHOR_OTHER: unambiguous (a steady tone or digital silence is refused). Places within 1 ms are not
#: rivals: low-pitched speech fits to ~1% three samples off its exact copy.
ANCHOR_CONTRAST, MIN_ANCHOR_OTHER, ANCHOR_GUARD_MS = 5.0, 1e-3, 1.0
#: A jump of capture time against the sample counter between two anchors larger than this is a step ...
STEP_MIN_MS = 1.0
#: ... explained by runs of exact zeros (of at least MIN_ZERO_RUN samples) whose length matches it this well.
STEP_TOL_MS = 0.3
MIN_ZERO_RUN = 32


@dataclass(frozen=True)
class ClockFit:
    """Server clock minus client clock (ms) at client time ``t_ref_ms``, and its drift (ppm of client time)."""

    offset_ms: float
    drift_ppm: float
    t_ref_ms: float
    n_exchanges: int
    n_used: int
    rtt_min_ms: float
    error_bound_ms: float  # half the longest round trip among the exchanges used: no offset can be worse
    spread_ms: float  # standard deviation of the used offsets around the fit

    def server_ms(self, client_ms):
        return np.asarray(client_ms, np.float64) + self.offset_ms + self.drift_ppm * 1e-6 * (
            np.asarray(client_ms, np.float64) - self.t_ref_ms)


def fit_clock(exchanges) -> ClockFit:
    """The offset (and drift, over a long enough span) from exchanges in milliseconds: (t0, ts, t3) triples,
    or (t0, ts_in, ts_out, t3) when the server stamped both its receipt and its reply (its own processing
    time then leaves the round trip)."""
    rows = [tuple(e) for e in exchanges]
    if not rows:
        raise ValueError("no clock exchanges: the client never synchronised its clock")
    ex = np.array([(r[0], r[1], r[1], r[2]) if len(r) == 3 else r[:4] for r in rows], np.float64)
    t0, s1, s2, t3 = ex.T
    ok = (t3 >= t0) & (s2 >= s1) & ((t3 - t0) >= (s2 - s1))
    if not ok.any():
        raise ValueError("no usable clock exchange (every round trip is negative)")
    t0, s1, s2, t3 = t0[ok], s1[ok], s2[ok], t3[ok]
    rtt = (t3 - t0) - (s2 - s1)
    mid = (t0 + t3) / 2
    theta = ((s1 - t0) + (s2 - t3)) / 2
    keep = max(MIN_CLOCK_KEEP, int(np.ceil(CLOCK_KEEP_FRACTION * len(rtt))))
    idx = np.argsort(rtt, kind="stable")[:keep]
    x, y = mid[idx], theta[idx]
    t_ref = float(np.median(x))
    fitted = False
    if len(idx) >= 5 and (x.max() - x.min()) / 1000.0 >= MIN_DRIFT_SPAN_S:
        slope, intercept = np.polyfit(x - t_ref, y, 1)
        resid = y - (intercept + slope * (x - t_ref))
        stderr_ppm = np.sqrt(float(resid @ resid) / (len(x) - 2) / float(((x - x.mean()) ** 2).sum())) * 1e6
        if stderr_ppm <= MAX_DRIFT_STDERR_PPM:
            drift, offset, fitted = float(slope * 1e6), float(intercept), True
    if not fitted:
        drift = 0.0
        offset = float(np.median(y))
        resid = y - offset
    return ClockFit(offset, drift, t_ref, int(len(ex)), int(len(idx)), float(rtt.min()),
                    float(rtt[idx].max() / 2), float(np.std(resid)))


@dataclass(frozen=True)
class SampleClock:
    """Client clock (ms) of sample n: ``start_ms + n * ms_per_sample``."""

    start_ms: float
    ms_per_sample: float
    nominal_rate: int
    rate_measured: bool  # False: the nominal rate was used (fit too loose)
    rate_ppm: float | None  # sound card rate vs client clock, when measured
    jitter_ms: float  # rms of the chunk timestamps around the line


def fit_sample_clock(metas: list[ChunkMeta]) -> SampleClock:
    """A line through (first sample, client clock) of every chunk."""
    if not metas:
        raise ValueError("no chunks")
    rate = metas[0].sample_rate
    n = np.array([m.sample_start for m in metas], np.float64)
    y_abs = np.array([m.client_ms for m in metas], np.float64)
    y0 = float(y_abs[0])
    y = y_abs - y0  # epoch milliseconds (~1.8e12) leave too few bits for a slope fit
    nominal = 1000.0 / rate
    if len(metas) >= 3 and n[-1] > n[0]:
        slope, intercept = np.polyfit(n, y, 1)
        resid = y - (intercept + slope * n)
        dof = max(len(n) - 2, 1)
        s2 = float(resid @ resid) / dof
        stderr_ppm = np.sqrt(s2 / float(((n - n.mean()) ** 2).sum())) / nominal * 1e6
        if stderr_ppm <= MAX_RATE_STDERR_PPM:
            return SampleClock(y0 + float(intercept), float(slope), rate, True, float((slope / nominal - 1) * 1e6),
                               float(np.sqrt(np.mean(resid ** 2))))
    intercept = float(np.mean(y - n * nominal))
    resid = y - (intercept + n * nominal)
    return SampleClock(y0 + intercept, nominal, rate, False, None, float(np.sqrt(np.mean(resid ** 2))))


def zero_runs(x: np.ndarray, min_len: int = MIN_ZERO_RUN) -> np.ndarray:
    """Runs of exact zeros at least ``min_len`` long: an (k, 2) array of (start, length)."""
    z = np.concatenate([[0], (np.asarray(x) == 0).astype(np.int8), [0]])
    d = np.flatnonzero(np.diff(z))
    starts, lengths = d[::2], d[1::2] - d[::2]
    keep = lengths >= min_len
    return np.stack([starts[keep], lengths[keep]], axis=1).astype(np.int64) if len(d) else np.zeros((0, 2), np.int64)


def apply_corrections(x: np.ndarray, cuts=(), fills=()) -> np.ndarray:
    """``x`` without the (start, length) stretches in ``cuts`` and with (at, length) zeros inserted before
    sample ``at`` for each of ``fills`` (all indices into ``x`` as received)."""
    cuts = [(int(a), int(n)) for a, n in cuts if n > 0]
    fills = sorted((int(a), int(n)) for a, n in fills if n > 0)
    if not cuts and not fills:
        return x
    keep = np.ones(len(x), bool)
    for a, n in cuts:
        keep[a:a + n] = False
    if not fills:
        return x[keep]
    pieces, prev = [], 0
    for a, n in fills:
        pieces += [x[prev:a][keep[prev:a]], np.zeros(n, x.dtype)]
        prev = a
    pieces.append(x[prev:][keep[prev:]])
    return np.concatenate(pieces)


def locate_anchor(track: np.ndarray, anchor: np.ndarray, lo: int, hi: int, guard: int = 2
                  ) -> tuple[int | None, float, float]:
    """Where in ``track`` (first index between ``lo`` and ``hi``) ``anchor`` fits best in the least-squares
    sense: (index, relative squared error there, the best relative error more than ``guard`` samples away).
    (Plain correlation would prefer any loud stretch to the exact copy of a quiet anchor.)"""
    from scipy.signal import fftconvolve

    m = len(anchor)
    lo, hi = max(int(lo), 0), min(int(hi), len(track) - m)
    a = np.asarray(anchor, np.float64)
    ea = float(a @ a)
    if hi < lo or m == 0 or ea == 0.0:
        return None, np.inf, np.inf
    w = np.asarray(track[lo:hi + m], np.float64)
    c = np.concatenate([[0.0], np.cumsum(w * w)])
    err = np.maximum((c[m:] - c[:-m]) - 2.0 * fftconvolve(w, a[::-1], mode="valid") + ea, 0.0) / ea
    k = int(np.argmin(err))
    rest = np.concatenate([err[:max(k - guard, 0)], err[k + guard + 1:]])
    return lo + k, float(err[k]), float(rest.min()) if len(rest) else np.inf


@dataclass(frozen=True)
class CaptureTiming:
    """A track's timing from its capture anchors (``capture_timing``)."""

    clock: SampleClock | None  # capture time of the CORRECTED track's samples; None: too few anchors matched
    n_anchors: int
    n_matched: int
    cuts: list  # [start, length] in the received track: zeros the browser inserted, removed
    fills: list  # [at, length] in the received track: zeros put in for input the device missed
    steps: list  # jumps no zero run explains: {"after_sample", "before_sample", "ms"} (not corrected)
    residual_ms: float  # rms of the matched anchors around the fitted line
    input_latency_ms: list  # [min, median, max] of worklet stamp minus capture time over the anchors


def capture_timing(track: np.ndarray, anchors, stamps: SampleClock) -> CaptureTiming:
    """The track's sample clock in capture time from ``anchors``: (capture_ms, rate, samples) triples, the
    browser's capture timestamp (client clock, epoch ms) of each anchor's first sample. ``stamps`` is the
    worklet-stamp clock (fit_sample_clock), used only to know where to look for each anchor."""
    import soxr

    anchors = list(anchors)
    rate = stamps.nominal_rate
    ms = 1000.0 / rate
    found = []  # (index in track, capture ms, length)
    for cap, arate, a in anchors:
        a = np.asarray(a, np.float32)
        limit = MAX_ANCHOR_ERROR
        if int(arate) != rate:
            a = np.asarray(soxr.resample(a, int(arate), rate, quality="VHQ"), np.float32)
            limit = MAX_RESAMPLED_ANCHOR_ERROR
        guess = (float(cap) - stamps.start_ms) / stamps.ms_per_sample
        k, err, other = locate_anchor(track, a, int(guess - ANCHOR_EARLY_S * rate), int(guess + ANCHOR_LATE_S * rate),
                                      guard=int(round(ANCHOR_GUARD_MS * rate / 1000)))
        if k is not None and err <= limit and other >= max(ANCHOR_CONTRAST * err, MIN_ANCHOR_OTHER):
            found.append((k, float(cap), len(a)))
    n_anchors = len(anchors)
    if len(found) < 2:
        return CaptureTiming(None, n_anchors, len(found), [], [], [], float("nan"), [])
    found.sort()
    n = np.array([f[0] for f in found], np.float64)
    t = np.array([f[1] for f in found], np.float64)
    t_rel = t - t[0]  # epoch ms leave too few bits for a fit
    lat = stamps.start_ms + n * stamps.ms_per_sample - t
    # Steps: the capture time's jumps against the counter, after the (robust) common slope.
    dn, dr = np.diff(n), np.diff(t_rel - n * ms)
    slope = float(np.median(dr / np.maximum(dn, 1.0)))
    d = dr - slope * dn
    runs = zero_runs(track)
    tol = STEP_TOL_MS / ms
    cuts, fills, steps, seg_breaks = [], [], [], []
    events = []  # (pair index, kind, index into fills / steps) in track order
    for i in np.flatnonzero(np.abs(d) > STEP_MIN_MS):
        a_end, b = n[i] + found[i][2], n[i + 1]
        inside = runs[(runs[:, 0] >= a_end) & (runs[:, 0] + runs[:, 1] <= b)] if len(runs) else runs
        ahead = -d[i] / ms  # samples the counter ran ahead of the capture clock (inserted)
        chosen = []
        if ahead > 0 and len(inside):
            if abs(int(inside[:, 1].sum()) - ahead) <= tol:
                chosen = [(int(s0), int(L)) for s0, L in inside]  # every run between the anchors was inserted
            else:
                big = inside[inside[:, 1] >= ahead - tol]
                if len(big):  # one run holds the insertion (and real zeros): cut that many of its zeros
                    s0, L = big[np.argmax(big[:, 1])]
                    chosen = [(int(s0), int(min(L, round(ahead))))]
        if chosen:
            cuts += chosen
            events.append((int(i), "cut", -1))
        elif ahead < 0 and n[i + 1] - a_end == (int(inside[:, 1].sum()) if len(inside) else 0):
            # adjacent frames in the track, the second captured later than the first one's end: the device
            # missed that much input between them. Only zeros between them (the input FIFO ran dry right then,
            # but for less than the device missed) are part of that silence: the rest is filled after them.
            # (a device misses whole buffers: a length within the tolerance of whole frames is taken as such)
            frames = round(-ahead / found[i][2])
            length = frames * found[i][2] if frames >= 1 and abs(-ahead - frames * found[i][2]) <= tol else round(-ahead)
            events.append((int(i), "fill", len(fills)))
            fills.append((int(n[i + 1]), int(length)))
        else:
            events.append((int(i), "step", len(steps)))
            steps.append({"after_sample": int(n[i]), "before_sample": int(b), "ms": round(float(d[i]), 3)})
            seg_breaks.append(i + 1)
    # A fill must persist: a device that missed input shifts every later frame's capture time (or its FIFO runs
    # dry a few frames later and the zeros it inserts, cut above, take the shift back). When instead the very
    # next jump is an unexplained one back by the same amount, the capture timestamps glitched and returned
    # while the sample counter ran on: neither is applied and the anchors stamped in between are not used.
    drop_fills, drop_steps, keep = set(), set(), np.ones(len(n), bool)
    for (i, kind, k), (j, kind2, k2) in zip(events, events[1:]):
        if kind == "fill" and kind2 == "step" and k not in drop_fills and abs(d[i] + d[j]) <= STEP_TOL_MS:
            drop_fills.add(k)
            drop_steps.add(k2)
            keep[i + 1:j + 1] = False
    if drop_fills:
        fills = [f for k, f in enumerate(fills) if k not in drop_fills]
        seg_breaks = [int(keep[:sb].sum()) for k, sb in enumerate(seg_breaks) if k not in drop_steps]
        steps = [x for k, x in enumerate(steps) if k not in drop_steps]
        n, t, t_rel, lat = n[keep], t[keep], t_rel[keep], lat[keep]
    cuts.sort()
    cut_at = np.array([c[0] for c in cuts], np.float64)
    cut_len = np.cumsum([c[1] for c in cuts]) if cuts else np.zeros(0)
    removed = np.concatenate([[0.0], cut_len])[np.searchsorted(cut_at, n, side="right")] if cuts else np.zeros_like(n)
    fills.sort()
    fill_at = np.array([f[0] for f in fills], np.float64)
    added = (np.concatenate([[0.0], np.cumsum([f[1] for f in fills])])[np.searchsorted(fill_at, n, side="right")]
             if fills else np.zeros_like(n))
    nc = n - removed + added
    seg = np.searchsorted(np.array(seg_breaks), np.arange(len(n)), side="right")
    # one line per segment between unexplained steps, all with the same slope; the first segment places sample 0
    design = np.column_stack([(seg == j).astype(np.float64) for j in range(seg.max() + 1)] + [nc])
    coef, *_ = np.linalg.lstsq(design, t_rel, rcond=None)
    resid = t_rel - design @ coef
    dof = max(len(n) - design.shape[1], 1)
    sxx = float(sum(((nc[seg == j] - nc[seg == j].mean()) ** 2).sum() for j in range(seg.max() + 1)))
    stderr_ppm = np.sqrt(float(resid @ resid) / dof / sxx) / ms * 1e6 if sxx > 0 else np.inf
    if len(n) >= 3 and stderr_ppm <= MAX_RATE_STDERR_PPM:
        slope_ms, measured = float(coef[-1]), True
    else:  # too few or too loose: the nominal rate, each segment's offset by the mean
        slope_ms, measured = ms, False
        coef = np.array([float(np.mean(t_rel[seg == j] - nc[seg == j] * ms)) for j in range(seg.max() + 1)] + [ms])
        resid = t_rel - design @ coef
    clock = SampleClock(float(t[0] + coef[0]), slope_ms, rate, measured,
                        float((slope_ms / ms - 1) * 1e6) if measured else None, float(np.sqrt(np.mean(resid ** 2))))
    return CaptureTiming(clock, n_anchors, len(found), [list(c) for c in cuts], [list(f) for f in fills], steps,
                         float(np.sqrt(np.mean(resid ** 2))),
                         [round(float(v), 3) for v in (lat.min(), np.median(lat), lat.max())])


@dataclass(frozen=True)
class Placement:
    """Where one track went in the output."""

    start_server_ms: float
    rate_on_server: float  # samples per second of server time
    offset_samples: int  # output index of the track's first sample
    resampled: bool
    n_in: int
    n_out: int


def place_tracks(tracks: list[tuple[np.ndarray, SampleClock, ClockFit]], out_rate: int
                 ) -> tuple[np.ndarray, list[Placement]]:
    """Put the tracks on one time line at ``out_rate``; returns (channels x samples float32, placements)."""
    import soxr

    starts, rates, bodies = [], [], []
    for samples, sc, cf in tracks:
        s0 = float(cf.server_ms(sc.start_ms))
        ms_per_sample = sc.ms_per_sample * (1.0 + cf.drift_ppm * 1e-6)
        starts.append(s0)
        rates.append(1000.0 / ms_per_sample)
    t0 = min(starts)
    placements = []
    for (samples, sc, cf), s0, r in zip(tracks, starts, rates):
        dur_ms = len(samples) / r * 1000.0
        moved_ms = abs(r / out_rate - 1.0) * dur_ms
        if len(samples) and (sc.nominal_rate != out_rate or moved_ms > RESAMPLE_MIN_MS):
            body = np.asarray(soxr.resample(samples, r, float(out_rate), quality="VHQ"), np.float32)
            resampled = True
        else:
            body, resampled = np.asarray(samples, np.float32), False
        off = int(round((s0 - t0) * out_rate / 1000.0))
        bodies.append((off, body))
        placements.append(Placement(s0, r, off, resampled, len(samples), len(body)))
    total = max((off + len(b) for off, b in bodies), default=0)
    out = np.zeros((len(tracks), total), np.float32)
    for i, (off, b) in enumerate(bodies):
        out[i, off:off + len(b)] = b
    return out, placements


def levels(x: np.ndarray) -> dict:
    """Peak and RMS in dBFS and the count of clipped samples (|x| at full scale)."""
    if len(x) == 0:
        return {"peak_dbfs": None, "rms_dbfs": None, "clipped_samples": 0}
    peak = float(np.max(np.abs(x)))
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    db = lambda v: round(20 * np.log10(v), 2) if v > 0 else None  # noqa: E731
    return {"peak_dbfs": db(peak), "rms_dbfs": db(rms), "clipped_samples": int(np.count_nonzero(np.abs(x) >= 0.99999))}


def write_flac(path: Path, channels: np.ndarray, rate: int) -> None:
    """Write atomically: a half-written file never carries the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    sf.write(str(tmp), np.clip(channels.T, -1.0, 1.0 - 2.0 ** -23), rate, format="FLAC", subtype=FLAC_SUBTYPE)
    os.replace(tmp, path)


def add_manifest_row(manifest: Path, row: dict) -> None:
    """Add (or replace, by recording_id) one row of the capture manifest (JSONL), under a file lock."""
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.with_name(manifest.name + ".lock"), "a") as lk:
        fcntl.flock(lk.fileno(), fcntl.LOCK_EX)
        rows = []
        if manifest.exists():
            rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r.get("recording_id") != row["recording_id"]] + [row]
        tmp = manifest.with_name(f".{manifest.name}.tmp")
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        os.replace(tmp, manifest)


def assemble_session(store, sid: str, *, force: bool = False, run_scan: bool = True) -> dict:
    """Assemble session ``sid`` of a SessionStore into ``WS/capture/recordings/capture-<sid>.flac``.

    Without ``force`` both participants must have finished their upload; with it, whatever arrived is
    assembled and the recording is marked ``partial``. Returns the capture report (also written beside the
    FLAC as ``.capture.json``). ``run_scan``: scan the recording into the workspace afterwards."""
    from ..rights.consent import utc_now

    session = store.get(sid)
    complete = all(p.finished is not None and store.chunks(sid, r).n_samples == p.finished["n_samples"]
                   for r, p in session.participants.items())
    if not complete and not force:
        raise ValueError("not every participant has finished uploading (use force for a partial recording)")
    tracks, per_track = [], []
    rates = []
    for role, p in session.participants.items():
        cs = store.chunks(sid, role)
        metas = cs.metas()
        samples = cs.read_all()
        info = {"role": role, "speaker_id": p.speaker_id, "name": p.name, "chunks": len(metas),
                "chunks_resent": cs.duplicates, "samples": int(len(samples)),
                "complete": p.finished is not None and p.finished["n_samples"] == len(samples),
                "declared_samples": p.finished["n_samples"] if p.finished else None,
                "microphone": p.settings,
                # runs of exact zeros the page's worklet saw in its input (afterAudio: false = the device's
                # start). Inside a track these are Chrome input underruns: the audio after one arrives that
                # much later (measured in tests/test_capture_e2e.py); not corrected here
                "input_zero_runs": (p.finished or {}).get("input_zero_runs", [])}
        if metas:
            sc = fit_sample_clock(metas)
            cf = fit_clock(store.clock(sid, role))
            anc = store.anchors(sid, role)
            anchors = [(m.client_ms, m.sample_rate, anc.read(m.seq)) for m in anc.metas()]
            timing = capture_timing(samples, anchors, sc) if anchors else None
            clock_used, source = sc, "worklet"
            if timing is not None and timing.clock is not None:
                samples = apply_corrections(samples, timing.cuts, timing.fills)
                clock_used, source = timing.clock, "capture"
            rates.append(sc.nominal_rate)
            tracks.append((samples, clock_used, cf))
            gaps = [m.received_ms - (metas[i - 1].received_ms) for i, m in enumerate(metas) if i]
            info.update({
                "sample_rate": sc.nominal_rate, "duration_s": round(len(samples) / sc.nominal_rate, 6),
                "clock": asdict(cf), "sample_clock": asdict(clock_used), "worklet_clock": asdict(sc),
                # capture: sample times from the browser's capture timestamps (anchors); worklet: from when
                # the AudioWorklet saw them (input latency not measured)
                "timing": source,
                "capture_anchors": None if timing is None else {
                    "sent": timing.n_anchors, "matched": timing.n_matched,
                    "residual_ms": round(timing.residual_ms, 4) if timing.clock else None,
                    "input_latency_ms": timing.input_latency_ms,
                    "inserted_zeros_removed": timing.cuts if timing.clock else [],
                    "samples_removed": int(sum(c[1] for c in timing.cuts)) if timing.clock else 0,
                    "missed_input_filled": timing.fills if timing.clock else [],
                    "samples_filled": int(sum(f[1] for f in timing.fills)) if timing.clock else 0,
                    "unexplained_steps": timing.steps},
                "longest_upload_pause_s": round(max(gaps, default=0.0) / 1000.0, 3),
            })
            info.update(levels(samples), over_full_scale_samples=over_full_scale(samples))
        else:
            tracks.append(None)
        per_track.append(info)
    if not rates:
        raise ValueError("no audio was uploaded by either participant")
    out_rate = max(rates)
    present = [t for t in tracks if t is not None]
    problems = placement_problems(present, [pt["role"] for pt, t in zip(per_track, tracks) if t is not None])
    if problems:
        return refused_report(sid, per_track, problems)
    channels, placements = place_tracks(present, out_rate)
    full = np.zeros((2, channels.shape[1]), np.float32)
    it = iter(zip(channels, placements))
    for i, t in enumerate(tracks):
        if t is not None:
            ch, pl = next(it)
            full[i] = ch
            per_track[i].update({"offset_samples": pl.offset_samples, "lead_pad_s": round(pl.offset_samples / out_rate, 6),
                                 "trail_pad_s": round((full.shape[1] - pl.offset_samples - pl.n_out) / out_rate, 6),
                                 "resampled": pl.resampled, "rate_on_server_clock": round(pl.rate_on_server, 4),
                                 "drift_ppm": round((pl.rate_on_server / t[1].nominal_rate - 1) * 1e6, 2)})
    rid = f"capture-{sid}"
    root = store.root
    flac = root / "recordings" / f"{rid}.flac"
    write_flac(flac, full, out_rate)
    errs = [pt["clock"]["error_bound_ms"] for pt in per_track if "clock" in pt]
    # the start's error after the line fit: its rms residual over the square root of the points used
    jit = [pt["sample_clock"]["jitter_ms"] / max(np.sqrt(pt["capture_anchors"]["matched"] if pt["timing"] == "capture"
                                                         else pt["chunks"]), 1)
           for pt in per_track if "sample_clock" in pt]
    timed = [pt.get("timing") for pt in per_track if "timing" in pt]
    status = "complete" if complete and len(present) == 2 else "partial"
    report = {
        "recording_id": rid, "session_id": sid, "status": status, "assembled_at": utc_now(),
        "path": str(flac), "sample_rate": out_rate, "duration_s": round(full.shape[1] / out_rate, 6),
        "format": f"FLAC {FLAC_SUBTYPE}, 2 channels (A, B)",
        # Worst case from the clock exchanges (half the round trips used, both sides) plus the timestamp
        # jitter left after the line fit and the rounding to a whole sample; input latency not included.
        "alignment_uncertainty_ms": round(sum(errs) + float(np.sqrt(np.sum(np.square(jit)))) + 500.0 / out_rate, 3),
        "input_latency": ("browser capture timestamps (anchors) on every track: the browser's capture -> worklet "
                          "delay is corrected; device delay before capture only as far as the browser reports it"
                          if timed and all(x == "capture" for x in timed) else
                          "not measured on a track timed by its worklet stamps (no capture anchors matched): "
                          "its microphone -> worklet latency is outside the browser's clocks"),
        "tracks": per_track,
        "warnings": full_scale_warnings(per_track),
    }
    (flac.with_suffix(".capture.json")).write_text(json.dumps(report, indent=1))
    a, b = session.participants["A"], session.participants["B"]
    add_manifest_row(root / "manifest.jsonl", {
        "recording_id": rid, "path": f"recordings/{flac.name}", "speaker_a": a.speaker_id or "",
        "speaker_b": b.speaker_id or "", "license": session.license, "source_type": "two-track",
        "tags": {"capture": status}, "session_id": sid, "capture_report": f"recordings/{flac.with_suffix('.capture.json').name}",
        # the assembler placed both tracks on the server clock (above): the clock is measured, not unknown
        "b_offset_s": 0, "b_drift_ppm": 0, "clock_source": "measured",
    })
    if run_scan:
        report["scan"] = scan_captures(store)
    return report


#: One capture scan at a time in this process: a workspace takes one scan (store/locks.ScanLock, which
#: refuses a second one at once), and two sessions finishing together assemble in two threads.
_SCAN_LOCK = threading.Lock()


def scan_captures(store) -> dict:
    """Scan ``WS/capture/manifest.jsonl`` into the workspace (unchanged captures are skipped). The recording
    is assembled whatever happens here: a scan that cannot run (another process is scanning the workspace)
    or fails is reported in the returned dict, and the next capture's scan, or `twotrack scan`, picks it up."""
    from ..run import scan

    manifest = store.root / "manifest.jsonl"
    later = f"scan it later: twotrack scan {manifest} -w {store.workspace}"
    with _SCAN_LOCK:
        try:
            summary = scan([str(manifest)], store.workspace, jobs=0)
        except Exception as exc:  # noqa: BLE001 - the FLAC, report and manifest row are written; say why
            log.warning("scan of %s not run: %s", manifest, exc)
            return {"status": "not run", "error": f"{type(exc).__name__}: {exc}; {later}"}
    return {"status": summary.status, "scanned": summary.scanned, "failed": summary.failed,
            "errors": [e.problem for e in summary.errors][:5]}
