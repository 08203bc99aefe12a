"""The ``[words]`` config section lives in ``twotrack.config`` (every section does); re-exported here."""

from __future__ import annotations

from ..config import WordsConfig

__all__ = ["WordsConfig"]
