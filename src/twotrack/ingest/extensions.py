"""Which file names twotrack takes: audio extensions (folder walks, URL listings) and manifest extensions.

A leaf module: the folder walk, the URL listing and the readers all consult it without importing each other.
"""

from __future__ import annotations

from pathlib import Path

#: Extensions taken from folders and URL prefixes (any case); a file named explicitly is probed whatever its name.
#: Besides the common ones, those of every other container libsndfile reads (AIFF, CAF, Wave64, Sun AU, Ogg
#: audio): an archive in one of them was otherwise "0 recording(s) found".
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".sph", ".ogg", ".opus", ".mp3",
                              ".aif", ".aiff", ".aifc", ".caf", ".w64", ".au", ".oga"})
#: Arguments with these extensions are manifests (``ingest.manifest``), not audio.
MANIFEST_EXTENSIONS = frozenset({".csv", ".jsonl"})


def is_audio_path(path: str | Path) -> bool:
    """True when the file name ends in an audio extension (any case)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS
