"""Find recordings: walk folders, take audio files and manifests, pair per-speaker files.

Rules (docs/formats.md says them for users):
- A folder is walked recursively in name order; hidden files and folders (``.name``) are skipped and a
  folder reached twice (a symlink loop) is walked once. A folder twotrack wrote (an export folder, a
  workspace: ``paths.written_by_twotrack``) is not walked into: its audio is copies of recordings. Only audio extensions are taken from folders;
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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..config import Config
from ..errors import InputError
from ..model import AudioInfo, ErrorRecord, Layout, Recording, SourceType, track_name
from ..paths import special_file, written_by_twotrack
from . import remote
from .extensions import MANIFEST_EXTENSIONS, is_audio_path
from .found import Found, FoundStream
from .manifest import add_manifest
from .pairing import compile_patterns, match_pair
from .sources import Discovery, make_source, probe_safely


# --------------------------------------------------------------------------------------------
# Walking
# --------------------------------------------------------------------------------------------


NOT_UTF8 = ("the name is not valid UTF-8 (shown with \\x escapes): the workspace and every export store "
            "paths as text, so rename it (e.g. convmv -f latin1 -t utf8)")


def is_utf8(path: str) -> bool:
    """Whether a path (as Python decodes file names: undecodable bytes become surrogates) is text."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_path(path: str) -> str:
    """A path that can be stored and printed: undecodable bytes as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def iter_audio_folders(root: str | Path, errors: list[ErrorRecord]) -> Iterator[list[str]]:
    """The audio files under ``root``, one folder at a time (absolute paths, sorted by name; folders
    depth first in name order); unreadable folders are appended to ``errors``.

    Follows symlinks but never the same folder twice, so a loop ends; skips hidden entries. Only the
    folder being listed and the stack of folders still to list are held, never the whole tree.
    """
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
        subfolders, files = [], []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if not is_utf8(entry.name):
                    if is_audio_path(entry.name) or entry.is_dir(follow_symlinks=True):
                        errors.append(ErrorRecord(path=printable_path(entry.path), problem=NOT_UTF8))
                elif entry.is_dir(follow_symlinks=True):
                    if not written_by_twotrack(entry.path):  # an export or workspace inside the corpus
                        subfolders.append(entry.path)
                elif is_audio_path(entry.name):
                    if entry.is_file(follow_symlinks=True):
                        files.append(entry.path)
                    elif entry.is_symlink() and not os.path.exists(entry.path):
                        errors.append(ErrorRecord(path=entry.path, problem="broken symbolic link"))
                    elif (problem := special_file(entry.path)) is not None:
                        errors.append(ErrorRecord(path=entry.path, problem=problem))
            except OSError as exc:
                errors.append(ErrorRecord(path=printable_path(entry.path),
                                          problem=f"cannot stat: {exc.strerror or exc}"))
        if files:
            yield files
        stack.extend(reversed(subfolders))  # popped in name order


def walk_audio(root: str | Path) -> tuple[list[str], list[ErrorRecord]]:
    """Audio files under ``root`` (absolute paths, sorted), and errors for unreadable folders."""
    errors: list[ErrorRecord] = []
    files = [f for folder in iter_audio_folders(root, errors) for f in folder]
    return sorted(files), errors


def _stem(path: str) -> str:
    return Path(path).stem


def _rel(path: str, root: str) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _partners_on_disk(half: str, missing_stems: list[str]) -> list[str]:
    """Names of audio files beside a local ``half`` whose stems are the missing sides: there when one half was
    named as a file argument without the other (a folder walk passes every audio file of the folder)."""
    if remote.is_url(half):
        return []
    folder = os.path.dirname(half) or "."
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [n for n in names if _stem(n) in missing_stems and is_audio_path(n)]


def _add_folder(files: list[str], root: str, common: str, config: Config, hash_files: bool,
                out: FoundStream) -> None:
    """Pair, probe and add the recordings of some audio files of ONE folder, scanned from ``root``."""
    compiled = compile_patterns(config.ingest.paired_patterns)
    hashes: dict[str, str] = {}
    groups: dict[tuple[int, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    singles: list[str] = []
    for path in files:
        hit = match_pair(_stem(path), compiled)
        if hit is None:
            singles.append(path)
        else:
            rid, gi, side = hit
            groups[(gi, rid)][side].append(path)

    def source(path: str, channel: int):
        return make_source(path, channel, hashes if hash_files else None)

    def add(keys: list[str], rec: Recording, infos: dict[str, AudioInfo]) -> None:
        out.add(tuple(keys), Found(rec, infos), real="|".join(  # a URL is its own identity
            p if remote.is_url(p) else os.path.realpath(p) for p in rec.source_paths))

    for path in singles:
        info, err = probe_safely(path)
        if err:
            out.errors.append(err)
            continue
        try:
            if info.channels == 1:
                rec = Recording(recording_id=_stem(path), tracks=(source(path, 0),), layout=Layout.MONO,
                                source_type=SourceType.MONO)
            else:
                rec = Recording(recording_id=_stem(path), tracks=tuple(source(path, c) for c in range(info.channels)),
                                layout=Layout.MULTICHANNEL, source_type=SourceType.TWO_TRACK)
        except InputError as exc:
            out.errors.append(ErrorRecord(path=exc.path, problem=exc.problem))
            continue
        stem = os.path.splitext(path)[0]
        add([rec.recording_id, _rel(stem, root), _rel(stem, common), _rel(path, common)], rec, {path: info})

    for (gi, rid), sides in sorted(groups.items()):
        n_sides = len(compiled[gi])
        if len(sides) < n_sides or any(len(m) > 1 for m in sides.values()):
            for s, members in sorted(sides.items()):
                if len(members) > 1:
                    names = ", ".join(os.path.basename(p) for p in members)
                    out.errors.append(ErrorRecord(path=members[0], recording_id=rid,
                                                  problem=f"several files for track {track_name(s)} of {rid!r}: {names}"))
            if len(sides) < n_sides:
                missing = [config.ingest.paired_patterns[gi][s].replace("{id}", rid)
                           for s in range(n_sides) if s not in sides]
                for s, members in sorted(sides.items()):
                    if len(members) == 1:
                        beside = _partners_on_disk(members[0], missing)
                        problem = (f"lone half of a pair: track {track_name(s)} of {rid!r} was named alone; its partner "
                                   f"{' and '.join(beside)} is beside it but was not named: name both files, "
                                   f"or their folder"
                                   if beside else
                                   f"lone half of a pair: track {track_name(s)} of {rid!r} has no partner "
                                   f"(expected {' and '.join(m + '.<ext>' for m in missing)} beside it)")
                        out.errors.append(ErrorRecord(path=members[0], recording_id=rid, problem=problem))
            continue
        paths = [sides[s][0] for s in range(n_sides)]
        infos: dict[str, AudioInfo] = {}
        for p in paths:
            info, err = probe_safely(p)
            if err:
                out.errors.append(ErrorRecord(path=err.path, problem=err.problem, recording_id=rid))
            elif info.channels != 1:
                out.errors.append(ErrorRecord(
                    path=p, recording_id=rid,
                    problem=f"a file of a pair must hold one track, this one has {info.channels} channels"))
            else:
                infos[p] = info
        if len(infos) < len(paths):
            continue
        try:
            rec = Recording(recording_id=rid, tracks=tuple(source(p, 0) for p in paths), layout=Layout.PAIRED,
                            source_type=SourceType.TWO_TRACK)
        except InputError as exc:
            out.errors.append(ErrorRecord(path=exc.path, problem=exc.problem, recording_id=rid))
            continue
        base = os.path.join(os.path.dirname(paths[0]), rid)
        add([rid, _rel(base, root), _rel(base, common), _rel(paths[0], common)], rec, infos)


def _walk_takes(path: str, folders: list[str]) -> bool:
    """Whether walking one of ``folders`` reaches the file ``path`` (inside, not hidden, audio)."""
    real = os.path.realpath(path)
    for folder in folders:
        root = os.path.realpath(folder)
        if os.path.commonpath([root, real]) == root:
            rel = Path(os.path.relpath(real, root))
            inside = [Path(root, *rel.parts[:i]) for i in range(1, len(rel.parts))]
            return (is_audio_path(rel.name) and not any(part.startswith(".") for part in rel.parts)
                    and not any(written_by_twotrack(d) for d in inside))
    return False


def stream(paths: Iterable[str | Path], config: Config | None = None, *, hash_files: bool = True) -> FoundStream:
    """Recordings under ``paths`` (folders, audio files, manifests), found folder by folder and row by
    row and held on disk (``found.FoundStream``): iterate it for ``Found(recording, infos)``; its
    ``errors`` list one error per unusable input. Close it when done (or use it in ``with``)."""
    config = config or Config()
    out = FoundStream()
    try:
        args = []
        for raw in paths:
            raw = remote.local_path(str(raw)) if isinstance(raw, str) else raw  # file:// is local
            if is_utf8(str(raw)):
                args.append((str(raw), os.path.abspath(str(raw))))
            else:
                out.errors.append(ErrorRecord(path=printable_path(str(raw)), problem=NOT_UTF8))
        folders = [p for _, p in args if os.path.isdir(p)]
        files = [p for _, p in args if os.path.isfile(p) and Path(p).suffix.lower() not in MANIFEST_EXTENSIONS]
        roots = folders + [os.path.dirname(p) for p in files]
        common = os.path.commonpath(roots) if roots else ""
        # Files named on the command line: grouped by folder (so a pair given as two arguments pairs),
        # and left to the walk when a folder argument reaches them anyway.
        loose: dict[str, list[str]] = defaultdict(list)
        for p in files:
            if not _walk_takes(p, folders) and p not in loose[os.path.dirname(p)]:
                loose[os.path.dirname(p)].append(p)
        for raw, path in args:
            # A URL argument is listed by ingest.remote (not walked), then paired per folder
            if remote.is_url(raw):
                urls, errors = remote.list_audio(raw)
                out.errors.extend(errors)
                root = remote.listing_root(raw, urls)
                for folder_files in remote.by_folder(urls):
                    _add_folder(folder_files, root, root, config, hash_files, out)
                continue
            if os.path.isdir(path):
                for folder_files in iter_audio_folders(path, out.errors):
                    _add_folder(folder_files, path, common, config, hash_files, out)
            elif path in files:
                group = loose.pop(os.path.dirname(path), None)
                if group:
                    _add_folder(group, os.path.dirname(path), common, config, hash_files, out)
            elif os.path.isfile(path):
                add_manifest(path, config, out, hash_files=hash_files)
            else:
                kind = special_file(path) or ("broken symbolic link" if os.path.islink(path) else "path not found")
                out.errors.append(ErrorRecord(path=raw, problem=kind))
        return out.finish()
    except BaseException:
        out.close()
        raise


def scan(paths: Iterable[str | Path], config: Config | None = None, *, hash_files: bool = True) -> Discovery:
    """Recordings, errors and per-file probes for folders, audio files and manifests, in memory (see
    ``stream`` for a corpus too large for that)."""
    result = Discovery()
    with stream(paths, config, hash_files=hash_files) as found:
        for item in found:
            result.recordings.append(item.recording)
            result.infos.update(item.infos)
        result.errors = list(found.errors)
    return result


def discover(
    paths: Iterable[str | Path], config: Config | None = None, *, hash_files: bool = True
) -> tuple[list[Recording], list[ErrorRecord]]:
    """Recordings found under ``paths`` (folders, audio files, manifests) and one error per unusable input."""
    found = scan(paths, config, hash_files=hash_files)
    return found.recordings, found.errors
