"""Files shipped inside installed packages (model weights), found without importing those packages.

silero-vad and Resemblyzer import torch when imported; twotrack only needs the files they carry.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import TwotrackError


def _spec(package: str):
    try:  # reads where the package is without executing it
        return importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None


def installed(package: str) -> bool:
    """Whether ``package`` can be imported here (found, not imported: some pull torch or CTranslate2)."""
    return _spec(package) is not None


def package_file(package: str, relative: str) -> tuple[Path | None, bool]:
    """-> (the file's path or None, whether the package is installed at all)."""
    spec = _spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None, False
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.is_file():
            return path, True
    return None, True


def required_file(package: str, relative: str, missing: type[TwotrackError], absent: str, hint: str) -> Path:
    """``package``'s file ``relative``, or the error ``missing``: ``absent`` (a sentence) when the package is
    not installed, else that the file is missing from it; either way followed by ``hint`` (how to install)."""
    path, installed = package_file(package, relative)
    if not installed:
        raise missing(f"{absent}; {hint}")
    if path is None:
        raise missing(f"{package}/{relative} is missing from the installed package; {hint}")
    return path
