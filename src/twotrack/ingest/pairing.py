"""Per-speaker files that form one recording: ``config.ingest.paired_patterns`` as regexes, and matching.

Shared by the folder walk (``discover``) and manifests (``manifest``), so both pair files by one rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ConfigError


def compile_patterns(patterns: Iterable[Iterable[str]]) -> list[list[re.Pattern]]:
    """``[("{id}.A", "{id}.B"), ...]`` -> one anchored regex per side, capturing ``id``."""
    compiled = []
    for group in patterns:
        sides = []
        for pat in group:
            if pat.count("{id}") != 1:
                raise ConfigError(f"paired pattern {pat!r} must contain {{id}} exactly once")
            before, after = pat.split("{id}")
            sides.append(re.compile("^" + re.escape(before) + "(?P<id>.+?)" + re.escape(after) + "$"))
        if len(sides) < 2:
            raise ConfigError(f"paired pattern group {tuple(group)!r} needs at least two sides")
        compiled.append(sides)
    return compiled


def match_pair(stem: str, compiled: list[list[re.Pattern]]) -> tuple[str, int, int] | None:
    """(recording id, pattern group, side) of the first pattern that matches a file stem, else None."""
    for gi, sides in enumerate(compiled):
        for side, rx in enumerate(sides):
            m = rx.match(stem)
            if m:
                return m.group("id"), gi, side
    return None
