"""Faces of twotrack, read-only over a workspace.

- ``report``: one self-contained HTML file (``write_report(ws, out)``; ``twotrack report``).
- ``app``: the web explorer (``create_app(ws)``, a FastAPI app; ``twotrack serve``).
- ``data``: what both show, read once per workspace version (``snapshot``).
- ``svg``: the hand-drawn charts; ``peaks``: server-side waveform peaks; ``audio``: WAV regions with ranges.
"""

from .app import create_app
from .report import build_report, render_report, write_report

__all__ = ["create_app", "build_report", "render_report", "write_report"]
