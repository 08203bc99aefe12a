"""The per-recording stages, their keys, and the adapters that call each stage's library.

The stages form one chain, ``decode -> checks -> activity -> events``; each stage's key hashes its
own config section, its code version, and the key of the stage before it (activity reads the bleed
estimate of checks; events read activity). So a changed VAD threshold changes the keys of activity
and events, not of checks, and a rerun recomputes exactly those.

A stage whose library is not installed yet is *unavailable*: it is skipped with a note, never faked,
and its key says so, so the first scan after the library lands computes it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..config import Config
from ..ingest.clock import align_tracks
from ..model import FRAMES, CheckResult, Event, Layout, TrackActivity
from ..store.rows import STAGES

#: Bump a stage's version when its code changes what it computes: stored results then recompute.
STAGE_VERSION = {"decode": 1, "checks": 1, "activity": 2, "events": 1}
#: Config sections each stage reads (``Config.stage_hash``).
STAGE_SECTIONS = {"decode": ("ingest",), "checks": ("checks",), "activity": ("activity",), "events": ("turns",)}


def stage_keys(config: Config, unavailable: Mapping[str, str]) -> dict[str, str]:
    """The key of every stage under ``config``, chained so a changed upstream changes the downstream."""
    keys: dict[str, str] = {}
    upstream = ""
    for stage in STAGES:
        payload = {
            "stage": stage,
            "version": STAGE_VERSION[stage],
            "config": config.stage_hash(*STAGE_SECTIONS[stage]),
            "upstream": upstream,
            "available": stage not in unavailable,
        }
        text = json.dumps(payload, sort_keys=True)
        keys[stage] = upstream = hashlib.sha256(text.encode()).hexdigest()[:16]
    return keys


# ---------------------------------------------------------------------------------------------
# Adapters: one per stage, each a plain function over arrays and config
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # float32 (n_tracks, n)
    sample_rate: int
    duration_s: float
    codec: str | None


def _import(module: str, name: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(module), name)


def decode(recording, config: Config) -> Decoded:
    """Read every track at the analysis rate (the lowest of ``ingest.analysis_rates`` that fits)."""
    tracks = importlib.import_module("twotrack.ingest.tracks")
    infos = tracks.source_infos(recording)
    rate = tracks.choose_analysis_rate([i.sample_rate for i in infos.values()], config.ingest.analysis_rates)
    audio = tracks.load_tracks(recording, rate, infos=infos)
    codecs = sorted({i.codec for i in infos.values() if i.codec})
    return Decoded(audio.samples, int(audio.sample_rate), float(audio.duration_s), "+".join(codecs) or None)


def checks(decoded: Decoded, recording, config: Config) -> CheckResult:
    run_checks = _import("twotrack.checks", "run_checks")
    # No activity input: checks must not depend on VAD settings (their key does not include them).
    return run_checks(decoded.samples, decoded.sample_rate, codec=decoded.codec, layout=recording.layout,
                      activity=None, cfg=config.checks)


def activity(decoded: Decoded, recording, config: Config, checks_result: CheckResult | None):
    """-> (tuple[TrackActivity], per-frame speech probabilities float32 (n_tracks, n_frames), a note
    when paired tracks were re-timed onto track A's clock; both outputs are on A's clock)."""
    act = importlib.import_module("twotrack.activity")
    bleed = None
    if checks_result is not None and checks_result.bleed_db is not None:
        bleed = (checks_result.bleed_db, checks_result.bleed_lag_ms)
    samples, note = align_tracks(decoded.samples, decoded.sample_rate, recording.layout, checks_result)
    frames = act.detect_tracks(samples, decoded.sample_rate, config.activity, bleed)
    result = tuple(act.to_activity(frames, detector=config.activity.detector))
    probs = np.stack([f.prob for f in frames]) if frames else None
    return result, probs, note


def events(activity_result: tuple[TrackActivity, ...], duration_s: float, config: Config) -> tuple[Event, ...]:
    extract_events = _import("twotrack.turns", "extract_events")
    frames = importlib.import_module("twotrack.timeline")
    n_frames = FRAMES.n_frames(duration_s)
    masks = np.stack([frames.segments_to_mask(ta.segments, n_frames) for ta in
                      sorted(activity_result, key=lambda a: a.track)])
    return tuple(extract_events(masks, config.turns))


#: What each stage needs importable, as (module, attribute).
REQUIREMENTS = {
    "decode": (("twotrack.ingest.tracks", "load_tracks"), ("twotrack.ingest.tracks", "source_infos"),
               ("twotrack.ingest.tracks", "choose_analysis_rate")),
    "checks": (("twotrack.checks", "run_checks"),),
    "activity": (("twotrack.activity", "detect_tracks"), ("twotrack.activity", "to_activity")),
    "events": (("twotrack.turns", "extract_events"), ("twotrack.timeline", "segments_to_mask")),
}


def unavailable_stages() -> dict[str, str]:
    """stage -> why it cannot run here (its library is missing), for every stage that cannot."""
    out = {}
    for stage, needs in REQUIREMENTS.items():
        for module, name in needs:
            try:
                mod = importlib.import_module(module)
            except ImportError as exc:
                out[stage] = f"{module} cannot be imported ({exc})"
                break
            if not hasattr(mod, name):
                out[stage] = f"{module}.{name} does not exist yet"
                break
    return out


def events_not_applicable(recording) -> str | None:
    """Why turn-taking events do not apply to a recording, or None: they are defined for a dyad, two
    tracks of one speaker each (a meeting's many tracks need speaker pairs chosen first)."""
    if recording.layout is Layout.MONO or recording.n_tracks < 2:
        return f"{recording.layout.value} recording with {recording.n_tracks} track(s): events need two tracks"
    if recording.n_tracks > 2:
        return (f"{recording.layout.value} recording with {recording.n_tracks} tracks: events are defined for "
                "two tracks (a dyad); choose a pair of tracks first")
    return None
