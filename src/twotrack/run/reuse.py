"""What a partial rerun takes from the store instead of recomputing (a light module: the scan's main
process builds it for each job without importing the stages' libraries)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import CheckResult, TrackActivity


@dataclass(frozen=True)
class Reuse:
    """Stored results a partial rerun builds on (only what the stages to run need)."""

    duration_s: float | None = None
    sample_rate: int | None = None
    checks: CheckResult | None = None
    activity: tuple[TrackActivity, ...] = ()
