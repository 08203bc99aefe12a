"""Collapse: what would be lost if the two tracks were one (mono mix + diarization, scored against the
two-track truth). Needs the ``collapse`` extra (``pip install 'twotrack[collapse]'``) and the encoder's
weights (``pip install --no-deps resemblyzer==0.1.4``); nothing here needs torch. docs/collapse.md.
"""

from __future__ import annotations

from ..packaged import installed
from .diarize import DiarizeConfig, Diarization, diarize_mask, diarize_mono
from .mix import mix_tracks
from .run import CollapseConfig, RecordingCollapse, collapse_recording, collapse_workspace, score_hypothesis
from .score import DerParts, TurnDamage, der, frame_der, optimal_mapping, turn_damage
from .summary import sentence, summarise

#: import name -> what to install when it is missing
REQUIREMENTS = {
    "pyannote.metrics": "pip install 'twotrack[collapse]'",
    "resemblyzer": "pip install --no-deps resemblyzer==0.1.4",
}


def missing_requirements() -> list[str]:
    """What the collapse feature lacks in this environment, as install hints (empty: all there)."""
    out = []
    for name, hint in REQUIREMENTS.items():
        if not installed(name):
            out.append(f"{name} ({hint})")
    return out


__all__ = [
    "CollapseConfig", "DerParts", "DiarizeConfig", "Diarization", "RecordingCollapse", "TurnDamage",
    "collapse_recording", "collapse_workspace", "der", "diarize_mask", "diarize_mono", "frame_der",
    "missing_requirements", "mix_tracks", "optimal_mapping", "score_hypothesis", "sentence", "summarise",
    "turn_damage",
]
