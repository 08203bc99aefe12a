"""Source-isolation and quality checks: is each speaker really on their own track?

Pure functions over track arrays (float32, one row per track):

- ``run_checks(tracks, sample_rate, codec=, layout=, activity=, cfg=)`` -> ``model.CheckResult``:
  isolation verdict (isolated / leaky / not-isolated / mono / unknown) with the numbers that decided
  it in ``reasons``, bleed, sync, duplicated or mixed channels, per-track quality. Never raises.
- ``run_checks_blocks(source, sample_rate, ...)``: the same over a recording read in blocks
  (``source()`` opens them from the start), memory flat in the recording's length (``checks.stream``).
- ``estimate_bleed(a, b, sr)`` -> ``BleedEstimate``: each track's speech in the other, dB and ms.
- ``estimate_sync(a, b, sr)`` -> ``SyncEstimate``: offset (ms) and clock drift (ppm) of b against a.

Definitions and thresholds: docs/checks.md and ``config.ChecksConfig``.
"""

from .bleed import BleedEstimate, BleedPath
from .channels import ChannelRelation, channel_relation
from .run import estimate_bleed, estimate_sync, run_checks
from .stream import run_checks_blocks
from .sync import SyncEstimate

__all__ = [
    "BleedEstimate",
    "BleedPath",
    "ChannelRelation",
    "SyncEstimate",
    "channel_relation",
    "estimate_bleed",
    "estimate_sync",
    "run_checks",
    "run_checks_blocks",
]
