"""Find recordings: walk folders, take audio files and manifests, pair per-speaker files.

Rules (docs/formats.md says them for users):
- A folder is walked recursively in name order; hidden files and folders (``.name``) are skipped and a
  folder reached twice (a symlink loop) is walked once. Only audio extensions are taken from folders;
  a file named on the command line is probed whatever its extension (SPHERE hides behind ``.wav``).
- ``.csv`` / ``.jsonl`` arguments are manifests (``ingest.manifest``).
- Files in one folder whose stems match a pair of ``config.ingest.paired_patterns`` (``<id>.A`` +
  ``<id>.B``) are one PAIRED recording ``<id>``; a lone half is an error.
- Otherwise the probe decides: one channel -> MONO (source_type mono), two or more -> MULTICHANNEL.
- Recording ids are the file stem (or the pair id). Ids that two recordings of one scan share become the
  path relative to the scanned root without extension (``clean/d1``, ``telephone/d1``), then relative to
  the roots' common folder, then with the extension, until they are unique.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, InputError
from ..model import ErrorRecord, Layout, Recording, SourceType, track_name
from .audio import is_audio_path
from .sources import Discovery, make_source, probe_safely

MANIFEST_EXTENSIONS = frozenset({".csv", ".jsonl"})


# --------------------------------------------------------------------------------------------
# Walking
# --------------------------------------------------------------------------------------------


def walk_audio(root: str | Path) -> tuple[list[str], list[ErrorRecord]]:
    """Audio files under ``root`` (absolute paths, sorted), and errors for unreadable folders.

    Follows symlinks but never the same folder twice, so a loop ends; skips hidden entries.
    """
    files: list[str] = []
    errors: list[ErrorRecord] = []
    seen: set[tuple[int, int]] = set()
    stack = [os.path.abspath(root)]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except PermissionError:
            errors.append(ErrorRecord(path=folder, problem="permission denied (cannot list the folder)"))
            continue
        except OSError as exc:
            errors.append(ErrorRecord(path=folder, problem=f"cannot list the folder: {exc.strerror or exc}"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    subfolders.append(entry.path)
                elif is_audio_path(entry.name):
                    if entry.is_file(follow_symlinks=True):
                        files.append(entry.path)
                    elif entry.is_symlink() and not os.path.exists(entry.path):
                        errors.append(ErrorRecord(path=entry.path, problem="broken symbolic link"))
            except OSError as exc:
                errors.append(ErrorRecord(path=entry.path, problem=f"cannot stat: {exc.strerror or exc}"))
        stack.extend(subfolders)
    return sorted(files), errors


# --------------------------------------------------------------------------------------------
# Pairing
# --------------------------------------------------------------------------------------------


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


def _stem(path: str) -> str:
    return Path(path).stem


def _rel(path: str, root: str) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


@dataclass
class _Candidate:
    """A recording before its id is final: id candidates from short to long."""

    keys: list[str]
    recording: Recording


def _unique_ids(candidates: list[_Candidate]) -> list[Recording]:
    level = [0] * len(candidates)
    while True:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(candidates):
            groups[c.keys[level[i]]].append(i)
        changed = False
        for members in groups.values():
            if len(members) > 1:
                for i in members:
                    if level[i] < len(candidates[i].keys) - 1:
                        level[i] += 1
                        changed = True
        if not changed:
            break
    return [replace(c.recording, recording_id=c.keys[level[i]]) for i, c in enumerate(candidates)]


def _scan_files(
    files: list[tuple[str, str]], config: Config, hash_files: bool, hashes: dict[str, str]
) -> tuple[list[_Candidate], Discovery]:
    """``files``: (absolute path, scanned root). Pair, probe and build candidate recordings."""
    found = Discovery()
    compiled = compile_patterns(config.ingest.paired_patterns)
    roots = sorted({root for _, root in files})
    common = os.path.commonpath(roots) if roots else ""
    groups: dict[tuple[str, int, str], dict[int, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    singles: list[tuple[str, str]] = []
    for path, root in files:
        hit = match_pair(_stem(path), compiled)
        if hit is None:
            singles.append((path, root))
        else:
            rid, gi, side = hit
            groups[(os.path.dirname(path), gi, rid)][side].append((path, root))

    candidates: list[_Candidate] = []

    def source(path: str, channel: int):
        return make_source(path, channel, hashes if hash_files else None)

    for path, root in singles:
        info, err = probe_safely(path)
        if err:
            found.errors.append(err)
            continue
        found.infos[path] = info
        try:
            if info.channels == 1:
                rec = Recording(recording_id=_stem(path), tracks=(source(path, 0),), layout=Layout.MONO,
                                source_type=SourceType.MONO)
            else:
                rec = Recording(recording_id=_stem(path), tracks=tuple(source(path, c) for c in range(info.channels)),
                                layout=Layout.MULTICHANNEL, source_type=SourceType.TWO_TRACK)
        except InputError as exc:
            found.errors.append(ErrorRecord(path=exc.path, problem=exc.problem))
            continue
        stem_rel = _rel(os.path.splitext(path)[0], root)
        candidates.append(_Candidate([rec.recording_id, stem_rel, _rel(os.path.splitext(path)[0], common),
                                      _rel(path, common)], rec))

    for (folder, gi, rid), sides in sorted(groups.items()):
        n_sides = len(compiled[gi])
        present = {s: members for s, members in sides.items()}
        if len(present) < n_sides or any(len(m) > 1 for m in present.values()):
            for s, members in sorted(present.items()):
                if len(members) > 1:
                    names = ", ".join(os.path.basename(p) for p, _ in members)
                    found.errors.append(ErrorRecord(path=members[0][0], recording_id=rid,
                                                    problem=f"several files for track {track_name(s)} of {rid!r}: {names}"))
            if len(present) < n_sides:
                missing = [config.ingest.paired_patterns[gi][s].replace("{id}", rid)
                           for s in range(n_sides) if s not in present]
                for s, members in sorted(present.items()):
                    if len(members) == 1:
                        found.errors.append(ErrorRecord(
                            path=members[0][0], recording_id=rid,
                            problem=f"lone half of a pair: track {track_name(s)} of {rid!r} has no partner "
                                    f"(expected {' and '.join(m + '.<ext>' for m in missing)} beside it)"))
            continue
        paths = [present[s][0][0] for s in range(n_sides)]
        root = present[0][0][1]
        ok = True
        for p in paths:
            info, err = probe_safely(p)
            if err:
                found.errors.append(ErrorRecord(path=err.path, problem=err.problem, recording_id=rid))
                ok = False
                continue
            found.infos[p] = info
            if info.channels != 1:
                found.errors.append(ErrorRecord(
                    path=p, recording_id=rid,
                    problem=f"a file of a pair must hold one track, this one has {info.channels} channels"))
                ok = False
        if not ok:
            continue
        try:
            rec = Recording(recording_id=rid, tracks=tuple(source(p, 0) for p in paths), layout=Layout.PAIRED,
                            source_type=SourceType.TWO_TRACK)
        except InputError as exc:
            found.errors.append(ErrorRecord(path=exc.path, problem=exc.problem, recording_id=rid))
            continue
        base = os.path.join(folder, rid)
        candidates.append(_Candidate([rid, _rel(base, root), _rel(base, common), _rel(paths[0], common)], rec))
    return candidates, found


def scan(paths: Iterable[str | Path], config: Config | None = None, *, hash_files: bool = True) -> Discovery:
    """Recordings, errors and per-file probes for folders, audio files and manifests (see module doc)."""
    from .manifest import read_manifest  # manifest uses this module's pairing rules

    config = config or Config()
    result = Discovery()
    files: list[tuple[str, str]] = []
    seen_files: set[str] = set()
    hashes: dict[str, str] = {}
    manifest_results: list[Discovery] = []
    for raw in paths:
        path = os.path.abspath(str(raw))
        if os.path.isdir(path):
            found, errors = walk_audio(path)
            result.errors.extend(errors)
            listed = [(f, path) for f in found]
        elif os.path.isfile(path) and Path(path).suffix.lower() in MANIFEST_EXTENSIONS:
            manifest_results.append(read_manifest(path, config, hash_files=hash_files))
            continue
        elif os.path.exists(path):
            listed = [(path, os.path.dirname(path))]
        else:
            kind = "broken symbolic link" if os.path.islink(path) else "path not found"
            result.errors.append(ErrorRecord(path=str(raw), problem=kind))
            continue
        for f, root in listed:
            real = os.path.realpath(f)
            if real not in seen_files:  # a file reached twice (two arguments, a symlink) is one source
                seen_files.add(real)
                files.append((f, root))

    candidates, found = _scan_files(files, config, hash_files, hashes)
    result.extend(found)
    result.recordings.extend(_unique_ids(candidates))
    for m in manifest_results:
        result.extend(m)

    # Manifest ids are given, not derived: a clash with another recording is an error, not a rename.
    owner: dict[str, Recording] = {}
    kept = []
    for rec in result.recordings:
        first = owner.get(rec.recording_id)
        if first is None:
            owner[rec.recording_id] = rec
            kept.append(rec)
        else:
            result.errors.append(ErrorRecord(
                path=rec.tracks[0].path if rec.tracks else rec.recording_id, recording_id=rec.recording_id,
                problem=f"recording id {rec.recording_id!r} is already used by {first.tracks[0].path}"))
    result.recordings = kept
    return result


def discover(
    paths: Iterable[str | Path], config: Config | None = None, *, hash_files: bool = True
) -> tuple[list[Recording], list[ErrorRecord]]:
    """Recordings found under ``paths`` (folders, audio files, manifests) and one error per unusable input."""
    found = scan(paths, config, hash_files=hash_files)
    return found.recordings, found.errors
