"""One typed configuration with documented defaults. Thresholds are in seconds, never frames.

Each stage reads its own section; a stage's results are keyed by the hash of that section
(``stage_hash``), so changing a VAD threshold recomputes activity and events but not checks.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model import Record


@dataclass(frozen=True)
class IngestConfig(Record):
    #: Patterns that pair per-speaker files: the part of the stem that names the track.
    #: ``{id}`` is the recording id; the first pattern in each pair is track A.
    paired_patterns: tuple[tuple[str, str], ...] = (
        ("{id}.A", "{id}.B"),
        ("{id}_A", "{id}_B"),
        ("{id}_ch1", "{id}_ch2"),
        ("{id}-ch1", "{id}-ch2"),
        ("{id}.ch1", "{id}.ch2"),
    )
    #: Samples per block when streaming a file (memory stays flat in file length).
    block_samples: int = 1 << 16
    #: Rate the per-recording analysis runs at when a source is faster (silero runs 8 and 16 kHz).
    analysis_rates: tuple[int, ...] = (8000, 16000)


@dataclass(frozen=True)
class ActivityConfig(Record):
    detector: str = "silero"  # "silero" or "energy"
    onset: float = 0.5  # speech probability that opens a segment
    offset: float = 0.35  # probability below which a segment closes
    min_speech_s: float = 0.05
    min_silence_s: float = 0.05
    refine_boundaries: bool = True  # move edges to the 10 ms energy envelope
    crosstalk_rule: bool = True  # drop speech that is only the other track's bleed
    batch_chunk_s: float = 30.0  # silero: length of each independent stream in a batch
    batch_warmup_s: float = 0.5  # silero: overlap that warms each stream's state


@dataclass(frozen=True)
class TurnsConfig(Record):
    pause_threshold_s: float = 0.2  # silences shorter than this do not end an IPU
    backchannel_max_s: float = 1.0  # a listener IPU longer than this is not a backchannel
    min_overlap_s: float = 0.0  # overlaps shorter than this are ignored (0 = every frame counts)


@dataclass(frozen=True)
class ChecksConfig(Record):
    bleed_band_hz: tuple[float, float] = (150.0, 2800.0)
    bleed_leaky_db: float = -35.0  # bleed stronger than this makes a recording leaky
    bleed_not_isolated_db: float = -15.0  # stronger than this: not isolated
    duplicate_correlation: float = 0.98  # |corr| above this: one channel is a copy of the other
    clipping_level: float = 0.999


@dataclass(frozen=True)
class Config(Record):
    ingest: IngestConfig = field(default_factory=IngestConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    turns: TurnsConfig = field(default_factory=TurnsConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)

    def stage_hash(self, *sections: str) -> str:
        """A short hash of the named sections: the key of results that depend on them."""
        payload = {name: getattr(self, name).to_dict() for name in sections}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """``{"activity.onset": 0.6}`` -> a new config (unknown keys are a ConfigError)."""
        cfg = self
        for dotted, value in overrides.items():
            section_name, _, key = dotted.partition(".")
            if not hasattr(cfg, section_name) or section_name.startswith("_"):
                raise ConfigError(f"unknown config section {section_name!r} in {dotted!r}")
            section = getattr(cfg, section_name)
            names = {f.name: f for f in fields(section)}
            if key not in names:
                raise ConfigError(f"unknown config key {dotted!r}")
            current = getattr(section, key)
            try:
                value = type(current)(value) if not isinstance(current, tuple) else tuple(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"bad value for {dotted!r}: {value!r} ({exc})") from exc
            cfg = replace(cfg, **{section_name: replace(section, **{key: value})})
        return cfg


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by a TOML file whose tables are the sections (``[activity] onset = 0.6``)."""
    cfg = Config()
    if path is None:
        return cfg
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    flat = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: top-level key {section!r} must be a table")
        flat.update({f"{section}.{k}": v for k, v in values.items()})
    return cfg.with_overrides(flat)
