"""Capture: record a two-track conversation in two browsers, with consent in the flow.

    sessions.py   sessions, join tokens, consent text -> ledger grant, clock exchanges, signalling relay
    chunks.py     a track's chunk store: numbered, contiguous, idempotent, resumable (also its capture anchors)
    assemble.py   clock fits, alignment, the two-track FLAC, capture report, manifest row, scan
    expiry.py     abandoned sessions expire: links 410, partial audio deleted (resumable), the record of it
    server.py     the FastAPI app (``create_app``) behind ``twotrack capture serve``
    static/       the host page and the capture page (plain JavaScript, an AudioWorklet, IndexedDB, WebRTC)

docs/capture.md describes the flow, the API and the alignment method with its error.
"""

from .assemble import (CaptureTiming, ClockFit, SampleClock, apply_corrections, assemble_session, capture_timing, fit_clock,
                       fit_sample_clock, locate_anchor, place_tracks, zero_runs)
from .chunks import ChunkRejected, ChunkStore
from .expiry import ExpiryPolicy
from .sessions import Session, SessionError, SessionStore, consent_text

__all__ = [
    "CaptureTiming", "ChunkRejected", "ChunkStore", "ClockFit", "ExpiryPolicy", "SampleClock", "Session", "SessionError", "SessionStore",
    "apply_corrections", "assemble_session", "capture_timing", "consent_text", "create_app", "fit_clock", "fit_sample_clock",
    "locate_anchor", "place_tracks", "zero_runs",
]


def create_app(workspace, **kw):
    """The capture FastAPI app over ``workspace`` (see ``server.create_app``)."""
    from .server import create_app as _create

    return _create(workspace, **kw)
