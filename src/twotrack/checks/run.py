"""``run_checks``: every check on one recording's tracks -> one ``CheckResult``. Never raises.

Bad input (an empty or malformed array, NaN/inf samples, a recording shorter than
``min_duration_s``, all digital silence) gives an ``unknown`` verdict whose reasons say why; so does
an unexpected failure inside the checks, so one bad recording never stops a corpus run.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from itertools import combinations

import numpy as np

from ..config import ChecksConfig
from ..ingest.resample import resample
from ..model import FRAMES, CheckResult, Isolation, Layout, TrackQuality, track_name
from . import power as pw
from .bleed import BleedEstimate, BleedPath, combine
from .channels import ChannelRelation, channel_relation
from .pair import PairAnalysis, TrackFrames, analyse_pair, frames_from_power
from .quality import track_quality
from .sync import SyncEstimate
from .verdict import isolation_verdict

#: Own speech: a frame louder than the other track's detected bleed explains by this much.
OWN_SPEECH_MARGIN_DB = 6.0


class _Unjudgeable(Exception):
    """Input the checks cannot judge; the message is the reason."""


def _as_tracks(tracks, notes: list[str]) -> np.ndarray:
    x = np.asarray(tracks)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise _Unjudgeable(f"tracks are not a numeric array (dtype {x.dtype})")
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise _Unjudgeable(f"tracks must be a (n_tracks, n_samples) array, got shape {x.shape}")
    if x.shape[0] > 16 and x.shape[1] <= 16:  # soundfile's (frames, channels) order
        notes.append(f"tracks given as (samples, channels) {x.shape}: transposed")
        x = x.T
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise _Unjudgeable(f"no audio (array shape {x.shape})")
    if np.issubdtype(x.dtype, np.integer):  # PCM integers -> floats in [-1, 1)
        x = x.astype(np.float32) / float(2 ** (8 * x.dtype.itemsize - 1))
    return np.ascontiguousarray(x, dtype=np.float32)


def _grid_rate(sr: int) -> int:
    """``sr`` when a 10 ms frame is a whole number of samples at it, else the analysis rate to use."""
    if float(sr * FRAMES.hop_s).is_integer():
        return sr
    return 16000 if sr > 16000 else 8000


def _on_frame_grid(x: np.ndarray, sr: int, notes: list[str] | None = None) -> tuple[np.ndarray, int]:
    """Tracks at a rate where the 10 ms grid falls on samples (11025, 22050 Hz... are resampled)."""
    to = _grid_rate(sr)
    if to == sr:
        return x, sr
    if notes is not None:
        notes.append(f"{sr} Hz has no whole-sample 10 ms frame: checked at {to} Hz")
    return np.stack([resample(row, sr, to) for row in x]), to


def _check_finite(x: np.ndarray) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        per = [f"track {track_name(i)}: {int(c)} ({100 * c / x.shape[1]:.3g}%)"
               for i, c in enumerate(bad.sum(axis=1)) if c]
        raise _Unjudgeable("samples are NaN or infinite (" + "; ".join(per) + "): cannot judge")


def _activity(activity, n_tracks: int, notes: list[str]) -> np.ndarray | None:
    if activity is None:
        return None
    m = np.asarray(activity)
    if m.ndim != 2 or m.shape[0] != n_tracks:
        notes.append(f"activity masks of shape {m.shape} do not match {n_tracks} tracks: energy activity used")
        return None
    return m.astype(bool)


def _own_speech(own: TrackFrames, other: TrackFrames, line: tuple[float, float], into_own: BleedPath | None) -> np.ndarray:
    """Active frames of ``own`` that the other track's detected bleed does not explain."""
    if into_own is None or not into_own.detected:
        return own.active
    n = own.power_db.size
    other_db = pw.map_frames(other.power_db, n, *line, pw.SILENCE_DB)
    louder = np.empty(n, bool)
    for a in range(0, n, pw.MAP_CHUNK):  # a piece at a time: no whole-length float temporaries
        b = min(n, a + pw.MAP_CHUNK)
        louder[a:b] = own.power_db[a:b] > other_db[a:b] + into_own.level_db + OWN_SPEECH_MARGIN_DB
    return own.active & louder


def _remap(p: BleedPath, i: int, j: int) -> BleedPath:
    return dataclasses.replace(p, source=(i, j)[p.source], target=(i, j)[p.target], note=_renamed(p.note, i, j))


#: A track name standing alone in a note ("B talks alone", "A is digital silence").
_NAME = re.compile(r"(?<![\w-])([AB])(?![\w-])")


def _renamed(note: str, i: int, j: int) -> str:
    """A pair analysis names its two tracks A and B; on a file with more tracks the pair is (i, j)."""
    if (i, j) == (0, 1) or not note:
        return note
    names = {track_name(0): track_name(i), track_name(1): track_name(j)}
    return _NAME.sub(lambda m: names[m.group(1)], note)


def _quality_notes(q: TrackQuality, extra: dict, sample_rate: int, cfg: ChecksConfig, codec: str | None = None
                   ) -> list[str]:
    name = track_name(q.track)
    out = []
    if q.digital_silence:
        out.append(f"track {name} is digital silence throughout")
    elif q.dead:
        note = f"track {name} has {extra['speech_s']:.1f} s of speech of its own (< {cfg.min_speech_s:g} s): dead"
        loud = extra.get("loud_dbfs")
        if loud is not None and loud < cfg.activity_floor_dbfs:
            note += (f"; its loudest frames are at {loud:.1f} dBFS, below the activity floor "
                     f"{cfg.activity_floor_dbfs:g} dBFS (recorded far too quietly? raise its gain, or lower "
                     "checks.activity_floor_dbfs)")
        out.append(note)
    if q.clipping_share is not None and q.clipping_share >= cfg.clipping_warn_share:
        if any(c in (codec or "").upper() for c in ("FLOAT", "DOUBLE")):
            # a float file holds samples beyond +-1 intact: they clip only where it becomes integer PCM
            out.append(f"track {name}: {100 * q.clipping_share:.2f}% of samples at or beyond full scale (a float "
                       "file: intact in it, clipped when converted to integer PCM, as the exports write it)")
        else:
            out.append(f"track {name} clips: {100 * q.clipping_share:.2f}% of samples at full scale")
    if q.dc_offset is not None and abs(q.dc_offset) >= cfg.dc_warn:
        out.append(f"track {name} has a DC offset of {q.dc_offset:+.4f}")
    bw = q.effective_bandwidth_hz
    if bw is not None and bw < cfg.narrowband_share * sample_rate / 2:
        out.append(f"track {name}: effective bandwidth {bw / 1000:.1f} kHz at a {sample_rate / 1000:g} kHz rate "
                   "(narrowband audio, likely upsampled)")
    if q.snr_db is not None and q.snr_db < cfg.low_snr_db:
        out.append(f"track {name}: estimated SNR {q.snr_db:.1f} dB (< {cfg.low_snr_db:g} dB)")
    if not q.digital_silence and q.snr_db is None and extra.get("digital_silence_share", 0) and not q.dead:
        out.append(f"track {name}: pauses are digital silence (gated or constructed audio); SNR not defined")
    return out


def _sync_note(sync: SyncEstimate) -> str:
    if not sync.measured:
        return f"sync: {sync.note}" if sync.note else "sync: not measured"
    drift = "drift not fitted" if sync.drift_ppm is None else f"drift {sync.drift_ppm:+.2f} ppm"
    res = "" if sync.residual_ms is None else f", residual {sync.residual_ms:.3f} ms"
    text = f"sync: B offset {sync.offset_ms:+.3f} ms, {drift} ({sync.n_windows} windows{res})"
    return text + (f"; {sync.note}" if sync.note else "")


def _unknown(reason: str, notes: list[str], codec, rate) -> CheckResult:
    return CheckResult(Isolation.UNKNOWN, reasons=tuple([reason] + notes), codec=codec, sample_rate=rate)


def _never_raising(check: Callable[[list[str], int | None], CheckResult], sample_rate, codec,
                   source_rate: int | None) -> CheckResult:
    """``check(notes, rate_read)``, with input it cannot judge, or any failure, turned into an ``unknown``
    result that keeps the notes made so far (``run_checks`` and ``run_checks_blocks`` both)."""
    rate_read = source_rate or (sample_rate if isinstance(sample_rate, (int, np.integer)) else None)
    notes: list[str] = []
    try:
        return check(notes, rate_read)
    except _Unjudgeable as exc:
        return _unknown(str(exc), notes, codec, rate_read)
    except Exception as exc:  # a corpus run goes on: say what broke instead of stopping
        return _unknown(f"checks failed: {type(exc).__name__}: {exc}", notes, codec, rate_read)


def run_checks(
    tracks: np.ndarray,
    sample_rate: int,
    *,
    codec: str | None = None,
    layout: Layout | None = None,
    activity: np.ndarray | None = None,
    cfg: ChecksConfig | None = None,
    source_rate: int | None = None,
) -> CheckResult:
    """Isolation, bleed, sync and quality of one recording.

    ``tracks``: float32 (n_tracks, n), one row per track (paired files padded to one length, each in
    its own time). ``sample_rate``: the rate of ``tracks``. ``codec``/``source_rate``: what the source
    file holds, as read (reported; ``source_rate`` defaults to ``sample_rate``). ``layout``: PAIRED
    searches an offset of up to ``sync_max_offset_s``; MONO is a mono verdict. ``activity``: optional
    bool (n_tracks, n_frames) voice-activity masks on the 10 ms grid, used instead of energy activity.

    >>> import numpy as np
    >>> run_checks(np.zeros((2, 800), np.float32), 8000).isolation.value
    'unknown'
    """
    cfg = cfg or ChecksConfig()
    return _never_raising(lambda notes, rate_read: _run(tracks, sample_rate, codec, layout, activity, cfg,
                                                        rate_read, notes), sample_rate, codec, source_rate)


def _run(tracks, sample_rate, codec, layout, activity, cfg: ChecksConfig, rate_read, notes: list[str]) -> CheckResult:
    try:
        sr = int(sample_rate)
    except (TypeError, ValueError):
        raise _Unjudgeable(f"sample rate {sample_rate!r} is not a number") from None
    if sr < 1000 or sr != sample_rate:
        raise _Unjudgeable(f"sample rate {sample_rate!r} is not a usable audio rate")
    x = _as_tracks(tracks, notes)
    _check_finite(x)
    x, sr = _on_frame_grid(x, sr, notes)
    return _judge(_ArrayAudio(x, sr, cfg, codec), sr, codec, layout, activity, cfg, rate_read, notes)


class _ArrayAudio:
    """The tracks in memory: what ``_judge`` asks of the samples, answered from the array."""

    def __init__(self, x: np.ndarray, sr: int, cfg: ChecksConfig, codec: str | None):
        self.x, self.sr, self.cfg, self.codec = x, sr, cfg, codec
        self.n_tracks, self.n = x.shape

    def power(self, i: int) -> np.ndarray:
        return pw.frame_power_db(self.x[i], self.sr)

    def relation(self, i: int, j: int, active_i: np.ndarray, active_j: np.ndarray) -> ChannelRelation:
        return channel_relation(self.x[i], self.x[j], self.sr, active_i, active_j, self.cfg, (i, j))

    def pair(self, i: int, j: int, acts: np.ndarray | None, paired: bool,
             frames: tuple[TrackFrames, TrackFrames]) -> PairAnalysis:
        return analyse_pair(self.x[i], self.x[j], self.sr, self.cfg, activity=acts, search_offset=paired,
                            frames=frames)

    def qualities(self, wanted: list[tuple[int, TrackFrames, np.ndarray]]) -> list[tuple[TrackQuality, dict]]:
        return [track_quality(i, self.x[i], self.sr, t.power_db, t.active, own, self.cfg, self.codec)
                for i, t, own in wanted]


def _judge(audio, sr: int, codec, layout, activity, cfg: ChecksConfig, rate_read, notes: list[str]) -> CheckResult:
    """Every check over ``audio`` (``_ArrayAudio`` or ``stream._StreamAudio``: the same questions, the
    same answers), at ``sr`` on the 10 ms grid."""
    n_tracks, n = audio.n_tracks, audio.n
    duration = n / sr
    if duration < cfg.min_duration_s:
        raise _Unjudgeable(f"recording is {duration:.2f} s long, shorter than {cfg.min_duration_s:g} s: cannot judge")
    masks = _activity(activity, n_tracks, notes)
    tf = [frames_from_power(audio.power(i), cfg, None if masks is None else masks[i]) for i in range(n_tracks)]
    if all(bool((t.power_db <= pw.SILENCE_DB).all()) for t in tf):
        raise _Unjudgeable("every track is digital silence: cannot judge")
    mono_layout = layout is not None and Layout(layout) is Layout.MONO
    paired = layout is not None and Layout(layout) is Layout.PAIRED
    metrics: dict[str, float | None] = {"duration_s": round(duration, 3), "analysis_rate": float(sr)}

    relation = ChannelRelation()
    analyses: dict[tuple[int, int], PairAnalysis] = {}
    paths: list[BleedPath] = []
    if n_tracks >= 2 and not mono_layout:
        for i, j in combinations(range(n_tracks), 2):
            rel = audio.relation(i, j, tf[i].active, tf[j].active)
            if (i, j) == (0, 1) or (rel.kind and not relation.kind):
                relation = rel
            if rel.correlation is not None:
                metrics[f"correlation.{track_name(i)}{track_name(j)}"] = rel.correlation
            if rel.duplicate:
                continue  # bleed between copies means nothing
            acts = None if masks is None else masks[[i, j]]
            pa = audio.pair(i, j, acts, paired, (tf[i], tf[j]))
            analyses[(i, j)] = pa
            paths.extend(_remap(p, i, j) for p in pa.bleed.paths)
        if relation.copy_share is not None:
            metrics["mix_copy_share"] = relation.copy_share
    bleed = combine(tuple(paths)) if paths else None

    # own speech: active frames not explained as the other track's bleed
    own = [t.active for t in tf]
    for (i, j), pa in analyses.items():
        off, rate = pa.line
        own[i] = own[i] & _own_speech(tf[i], tf[j], (off, rate), pa.bleed.path(1, 0))
        own[j] = own[j] & _own_speech(tf[j], tf[i], (-off / rate, 1.0 / rate), pa.bleed.path(0, 1))
    qualities, quality_notes = [], []
    for i, (q, extra) in enumerate(audio.qualities([(i, tf[i], own[i]) for i in range(n_tracks)])):
        qualities.append(q)
        quality_notes += _quality_notes(q, extra, sr, cfg, codec)
        metrics.update({f"{k}.{track_name(i)}": v for k, v in extra.items()})
    dead = [q.track for q in qualities if q.dead]

    isolation, reasons = isolation_verdict(n_tracks, mono_layout, relation, bleed, dead, cfg)
    sync = analyses[(0, 1)].sync if (0, 1) in analyses else None
    if sync is not None:
        reasons.append(_sync_note(sync))
        metrics["sync_windows"] = float(sync.n_windows)
        metrics["sync_residual_ms"] = sync.residual_ms
    for p in paths:
        d = p.direction
        metrics[f"bleed_db.{d}"] = p.level_db
        metrics[f"bleed_lag_ms.{d}"] = p.lag_ms
        metrics[f"bleed_floor_db.{d}"] = p.noise_floor_db
        metrics[f"single_talker_s.{track_name(p.source)}"] = p.single_talker_s
    for (i, j), pa in analyses.items():
        if (i, j) != (0, 1) and i == 0 and pa.sync.measured:
            metrics[f"offset_ms.{track_name(j)}"] = pa.sync.offset_ms
            metrics[f"drift_ppm.{track_name(j)}"] = pa.sync.drift_ppm
    reasons += quality_notes + notes
    detected = bleed is not None and bleed.detected
    return CheckResult(
        isolation=isolation,
        bleed_db=bleed.level_db if detected else None,
        bleed_lag_ms=bleed.lag_ms if detected else None,
        bleed_direction=bleed.direction if detected else None,
        offset_ms=sync.offset_ms if sync is not None and sync.measured else None,
        drift_ppm=sync.drift_ppm if sync is not None and sync.measured else None,
        duplicate_channels=relation.duplicate,
        reasons=tuple(reasons),
        tracks=tuple(qualities),
        codec=codec,
        sample_rate=rate_read,
        metrics={k: (None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v))
                 for k, v in metrics.items()},
        channel_relation=relation.kind,
    )


def estimate_bleed(
    a: np.ndarray,
    b: np.ndarray,
    sr: int,
    *,
    activity: np.ndarray | None = None,
    offset_ms: float = 0.0,
    drift_ppm: float = 0.0,
    cfg: ChecksConfig | None = None,
) -> BleedEstimate:
    """Bleed of each track in the other (both paths in ``.paths``; the stronger one on top).

    ``a``/``b``: float arrays (n,) at ``sr``; NaN/inf read as 0. ``activity``: optional bool
    (2, n_frames) masks on the 10 ms grid. ``offset_ms``/``drift_ppm``: B's clock against A's
    (``t_B = offset + (1 + drift) t_A``; from ``estimate_sync`` for paired files), 0 for one file.
    """
    cfg = cfg or ChecksConfig()
    a, b, sr = _clean_pair(a, b, sr)
    acts = None if activity is None else np.asarray(activity, bool)
    return analyse_pair(a, b, sr, cfg, activity=acts, offset_s=offset_ms / 1000.0,
                        drift=drift_ppm * 1e-6).bleed


def estimate_sync(
    a: np.ndarray,
    b: np.ndarray,
    sr: int,
    *,
    activity: np.ndarray | None = None,
    search_offset: bool = True,
    cfg: ChecksConfig | None = None,
) -> SyncEstimate:
    """Offset (ms) and drift (ppm) of ``b`` against ``a`` from the signal they share (bleed).

    ``search_offset`` (default, for paired files from separate devices) searches +-sync_max_offset_s;
    False assumes the tracks are within +-bleed_max_lag_ms (one multichannel file).
    """
    cfg = cfg or ChecksConfig()
    a, b, sr = _clean_pair(a, b, sr)
    acts = None if activity is None else np.asarray(activity, bool)
    return analyse_pair(a, b, sr, cfg, activity=acts, search_offset=search_offset).sync


def _clean_pair(a: np.ndarray, b: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Two float32 rows of one length (the shorter padded with zeros), NaN/inf as 0, on the frame grid."""
    a = np.nan_to_num(np.asarray(a, np.float32).ravel(), nan=0.0, posinf=0.0, neginf=0.0)
    b = np.nan_to_num(np.asarray(b, np.float32).ravel(), nan=0.0, posinf=0.0, neginf=0.0)
    n = max(a.size, b.size)
    if a.size < n:
        a = np.concatenate([a, np.zeros(n - a.size, np.float32)])
    if b.size < n:
        b = np.concatenate([b, np.zeros(n - b.size, np.float32)])
    x, sr = _on_frame_grid(np.stack([a, b]), int(sr))
    return x[0], x[1], sr
