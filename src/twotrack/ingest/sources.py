"""What discovery and manifests share: the result type and the per-file probe-and-hash step."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError
from ..model import AudioInfo, ErrorRecord, Recording, TrackSource
from .audio import probe
from .hashing import sha256_file


@dataclass
class Discovery:
    """Recordings found, one error per thing that could not be used, and the probe of every source file."""

    recordings: list[Recording] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    infos: dict[str, AudioInfo] = field(default_factory=dict)  # source path -> header probe

    def extend(self, other: Discovery) -> None:
        self.recordings.extend(other.recordings)
        self.errors.extend(other.errors)
        self.infos.update(other.infos)


def probe_safely(path: str, note: str = "") -> tuple[AudioInfo | None, ErrorRecord | None]:
    """Probe one file; any failure becomes an ErrorRecord (a decoder bug must not stop a corpus)."""
    try:
        return probe(path), None
    except InputError as exc:
        return None, ErrorRecord(path=exc.path, problem=exc.problem + note)
    except Exception as exc:  # noqa: BLE001 - unexpected, but still only this file's problem
        return None, ErrorRecord(path=path, problem=f"unexpected {type(exc).__name__} while probing: {exc}{note}")


def make_source(path: str, channel: int, hashes: dict[str, str] | None) -> TrackSource:
    """A TrackSource with the file's sha256 (computed once per file when ``hashes`` is a cache dict)."""
    if hashes is None:
        return TrackSource(path=path, channel=channel)
    if path not in hashes:
        hashes[path] = sha256_file(path)
    return TrackSource(path=path, channel=channel, sha256=hashes[path])
