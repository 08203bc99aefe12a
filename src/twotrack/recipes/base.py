"""What every corpus recipe shares: finding publisher-named files, the recipe's output, named errors.

A recipe turns a publisher's layout into the rows a manifest gives (``Recording`` with tracks,
speakers, tags, gold transcript paths, metadata), the speakers' metadata (sex, dialect, ...) and one
named error per missing or broken piece. ``run.scan`` feeds the recordings to the ordinary scan,
stores the errors as discovery errors (``twotrack errors`` lists them) and the speakers' metadata in
the workspace's speakers table.

Files are found by their publisher's *names* anywhere under the folders given (people unpack
releases under different folder names): ``index_files`` walks once and keeps every file whose name
one of the recipe's patterns matches.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..model import AudioInfo, ErrorRecord, Recording

#: ``ErrorRecord.stage`` of every recipe error.
STAGE = "recipe"

# Named errors: the first words of every recipe error's problem (docs/recipes.md lists them).
AUDIO_WITHOUT_TRANSCRIPT = "audio without transcript"
TRANSCRIPT_WITHOUT_AUDIO = "transcript without audio"
TABLE_ROW_WITHOUT_FILES = "table row without files"
NOT_IN_TABLE = "recording not in table"
UNKNOWN_CHANNEL = "unknown channel"
BAD_TRANSCRIPT = "unreadable transcript"
BAD_TABLE = "unreadable table"
BAD_AUDIO = "unreadable audio"
BAD_METADATA = "unreadable metadata"
MISSING_CHANNEL = "missing channel"
NOTHING_FOUND = "nothing found"
#: The errors saying a file is missing: each names the packed archives found, when there are any.
MISSING_FILE = (AUDIO_WITHOUT_TRANSCRIPT, TRANSCRIPT_WITHOUT_AUDIO, TABLE_ROW_WITHOUT_FILES)


def named_error(kind: str, path: str | Path, detail: str, recording_id: str | None = None) -> ErrorRecord:
    """A recipe error: ``<kind>: <detail>``, filed under stage ``recipe``."""
    return ErrorRecord(path=str(path), problem=f"{kind}: {detail}", stage=STAGE, recording_id=recording_id)


@dataclass
class Prepared:
    """What a recipe found: recordings (with the header probe of each source file), the speakers'
    metadata by speaker id, and one named error per missing or broken piece."""

    recordings: list[Recording] = field(default_factory=list)
    infos: dict[str, AudioInfo] = field(default_factory=dict)
    speakers: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: list[ErrorRecord] = field(default_factory=list)
    packed: list[str] = field(default_factory=list)  # packed archives found under the paths (``index``)

    def index(self, paths: Iterable[str], patterns: Mapping[str, str], what: str | None = None
              ) -> dict[str, list[str]]:
        """``index_files`` with this recipe's errors, remembering the packed archives found: every error saying
        a file is missing then names them (``Recipe.__call__``)."""
        files = index_files(paths, patterns, self.errors, what)
        self.packed = list(files.get(PACKED_KIND, ()))
        return files

    def error(self, kind: str, path: str | Path, detail: str, recording_id: str | None = None) -> None:
        self.errors.append(named_error(kind, path, detail, recording_id))

    def speaker(self, speaker_id: str, **metadata: str | None) -> None:
        """Record a speaker's metadata (empty values left out; later values add to earlier ones)."""
        meta = self.speakers.setdefault(speaker_id, {})
        meta.update({k: str(v) for k, v in metadata.items() if v not in (None, "")})


@dataclass(frozen=True)
class Reads:
    """One kind of file a recipe reads: the publisher's name pattern and what it becomes."""

    pattern: str  # the publisher's file name, as a user sees it (fe_03_NNNNN.sph)
    what: str  # what the recipe takes from it


@dataclass(frozen=True)
class Recipe:
    """A corpus layout: its name on the command line, what it reads, and the function that reads it."""

    name: str
    title: str  # the corpus and its catalogue numbers
    data_type: str  # two-track | multiparty | mono
    reads: tuple[Reads, ...]
    prepare: Callable[[Sequence[str], Mapping[str, str]], Prepared]
    options: tuple[tuple[str, str], ...] = ()  # (name, what it does) for --recipe-option NAME=VALUE

    def __call__(self, paths: Sequence[str | Path], options: Mapping[str, str] | None = None) -> Prepared:
        opts = dict(options or {})
        unknown = sorted(set(opts) - {name for name, _ in self.options})
        if unknown:
            known = ", ".join(name for name, _ in self.options) or "none"
            raise ValueError(f"recipe {self.name}: unknown option(s) {', '.join(unknown)} (known: {known})")
        prepared = self.prepare([str(p) for p in paths], opts)
        note = packed_note({PACKED_KIND: prepared.packed}, may_hold=True)
        if note:  # a file missing beside a packed archive (a disc left packed) may be inside it: say so
            prepared.errors = [replace(e, problem=e.problem + note) if e.problem.startswith(MISSING_FILE) and
                               not e.problem.endswith(note) else e for e in prepared.errors]
        return prepared


# ---------------------------------------------------------------------------------------------
# Finding files by name
# ---------------------------------------------------------------------------------------------


#: Packed archives a release may arrive as (LDC web downloads ``LDC2004T19.tgz``; lhotse's Emilia layout
#: ``raw/openemilia_all.tar.gz``; a ``.zip`` of annotations): named when a path holds nothing else a recipe reads.
PACKED = re.compile(r".+\.(?:tar|tgz|tar\.gz|tar\.bz2|tbz2|tar\.xz|zip|7z|iso)(?:\.\d+)?", re.IGNORECASE)


#: The ``index_files`` kind under which packed archives are listed (none of a recipe's own kinds).
PACKED_KIND = "packed archive"


def packed_note(files: Mapping[str, Sequence[str]], may_hold: bool = False) -> str:
    """``; packed archive(s) found (X, Y): ...`` when ``index_files`` found archives a missing piece may be inside
    (lhotse's AMI download keeps ``ami_public_manual_1.6.2.zip`` packed beside the audio), else ``""``; ``may_hold``
    words it for one missing file (an archive kept after unpacking it holds nothing new)."""
    packed = files.get(PACKED_KIND, ())
    if not packed:
        return ""
    names = ", ".join(os.path.basename(p) for p in packed[:3]) + (", ..." if len(packed) > 3 else "")
    if may_hold:
        return f"; packed archive(s) found ({names}): if it is inside one, unpack them where they lie and scan again"
    return f"; packed archive(s) found ({names}): unpack them where they lie and scan again (twotrack reads files, " \
           "not archive members)"


def index_files(paths: Iterable[str], patterns: Mapping[str, str], errors: list[ErrorRecord],
                what: str | None = None) -> dict[str, list[str]]:
    """Every file under ``paths`` (folders walked recursively, hidden entries skipped, symlinked
    folders followed once) whose *name* matches one of ``patterns`` (kind -> regular expression,
    matched against the whole name, case-insensitive): kind -> absolute paths, sorted. A file named
    directly is matched too. Packed archives are listed under ``PACKED_KIND``. A path that does not exist is
    a ``nothing found`` error; so is, when ``what`` (the recipe's files, as a user names them) is given, an
    existing path under which none of them lies (a wrong folder, or a release still packed: the archives
    found there are named)."""
    compiled = {kind: re.compile(rx, re.IGNORECASE) for kind, rx in patterns.items()}
    out: dict[str, list[str]] = defaultdict(list)
    matched = 0
    packed: list[str] = []

    broken: dict[str, list[str]] = defaultdict(list)  # folder -> links there that lead to nothing

    def take(path: str) -> None:
        nonlocal matched
        name = os.path.basename(path)
        for kind, rx in compiled.items():
            if rx.fullmatch(name):
                if os.path.islink(path) and not os.path.exists(path):
                    # a stale linked view (kaldi's links/ after the release moved): not a copy that differs from
                    # the real file, which it used to displace as 'duplicate' when it sorted first
                    broken[os.path.dirname(path)].append(path)
                    return
                out[kind].append(path)
                matched += 1
                return
        if PACKED.fullmatch(name):
            packed.append(path)
            out[PACKED_KIND].append(path)

    seen: dict[tuple[int, int], int] = {}  # folder -> the index of the path it was walked under
    for i, root in enumerate(paths):
        root = os.path.abspath(root)
        matched, packed = 0, []
        earlier = False  # part of this path was walked under an earlier path (a folder inside it, or a link to one)
        if os.path.isfile(root):
            take(root)
        elif not os.path.isdir(root):
            errors.append(named_error(NOTHING_FOUND, root, "path not found"))
            continue
        for folder, dirs, files in (os.walk(root, followlinks=True) if os.path.isdir(root) else ()):
            try:
                st = os.stat(folder)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                earlier = earlier or seen[(st.st_dev, st.st_ino)] < i
                dirs[:] = []
                continue
            seen[(st.st_dev, st.st_ino)] = i
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    take(os.path.join(folder, name))
        if what and not matched and not earlier:
            errors.append(named_error(NOTHING_FOUND, root, f"none of the files this recipe reads ({what}) under this "
                                                           f"path" + packed_note({PACKED_KIND: packed})))
    for folder, links in sorted(broken.items()):
        first = links[0]
        errors.append(named_error(NOTHING_FOUND, folder, f"{len(links)} link(s) here lead to nothing "
                                                         f"({os.path.basename(first)} -> {os.readlink(first)}"
                                                         f"{', ...' if len(links) > 1 else ''}): not read"))
    return {kind: sorted(set(v)) for kind, v in out.items()}


def same_bytes(a: str, b: str) -> bool:
    """Whether two files hold the same bytes (False when either cannot be read)."""
    import filecmp

    try:  # one file reached twice (a link, a folder given twice) is not read twice to compare it with itself
        return os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def by_key(files: Iterable[str], key: Callable[[str], str | None], kind: str, prepared: Prepared
           ) -> dict[str, str]:
    """key -> file; a second file with the same key is an error naming both (the first is kept), unless it
    holds the same bytes: a release unpacked twice (a data guide describes LDC2005T19 unpacked both as
    ``data/`` and ``fe_03_p2_tran/data/``) is one corpus, not thousands of conflicts."""
    out: dict[str, str] = {}
    for f in files:
        k = key(f)
        if k is None:
            continue
        if k in out:
            if not same_bytes(out[k], f):
                prepared.error(kind, f, f"a second copy of {k!r} (first: {out[k]}) that differs from it; this one "
                                        "is ignored", k)
            continue
        out[k] = f
    return out


def probe_into(prepared: Prepared, path: str, recording_id: str) -> AudioInfo | None:
    """The header probe of an audio file, or None with an ``unreadable audio`` error."""
    from ..ingest.sources import probe_safely

    if path in prepared.infos:
        return prepared.infos[path]
    info, err = probe_safely(path)
    if err is not None:
        prepared.error(BAD_AUDIO, err.path, err.problem, recording_id)
        return None
    prepared.infos[path] = info
    return info


def read_csv_rows(path: str, prepared: Prepared, *, header: bool) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) of a comma-separated table (quotes honoured); an unreadable file
    is an ``unreadable table`` error and no rows."""
    import csv
    import io

    from ..errors import InputError
    from ..ingest.textlines import open_text

    try:
        text = open_text(path)
    except InputError as exc:
        prepared.error(BAD_TABLE, path, exc.problem)
        return []
    rows = []
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            rows.append((line, [c.strip() for c in cells]))
    except csv.Error as exc:
        prepared.error(BAD_TABLE, path, f"line {reader.line_num}: {exc}")
    return rows[1:] if header and rows else rows


def two_channel_recording(prepared: Prepared, audio: str, recording_id: str, *,
                          speakers: tuple[str | None, str | None] = (None, None),
                          tags: Mapping[str, str] | None = None, metadata: Mapping[str, str] | None = None,
                          transcript: str | None = None, track_transcripts: tuple[str | None, ...] = (),
                          license: str | None = None) -> Recording | None:
    """A telephone call stored as one two-channel file (side A on channel 0, side B on channel 1), added
    to ``prepared.recordings`` and returned; None with an error when the file cannot be read or does
    not hold two channels."""
    from ..model import Layout, SourceType, TrackSource

    info = probe_into(prepared, audio, recording_id)
    if info is None:
        return None
    if info.channels != 2:
        prepared.error(MISSING_CHANNEL, audio, f"expected 2 channels (side A, side B), the file has "
                                               f"{info.channels}", recording_id)
        return None
    rec = Recording(recording_id=recording_id, tracks=(TrackSource(audio, 0), TrackSource(audio, 1)),
                    layout=Layout.MULTICHANNEL, speakers=tuple(speakers), source_type=SourceType.TWO_TRACK,
                    license=license, tags=dict(tags or {}), transcript=transcript,
                    metadata=dict(metadata or {}), track_transcripts=tuple(track_transcripts))
    prepared.recordings.append(rec)
    return rec


# ---------------------------------------------------------------------------------------------
# Checking gold transcripts and pairing files with tables (shared by the telephone recipes)
# ---------------------------------------------------------------------------------------------


def read_transcript_text(path: str, recording_id: str, prepared: Prepared) -> str | None:
    """The text of a transcript, or None with an ``unreadable transcript`` error."""
    from ..errors import InputError
    from ..ingest.textlines import open_text

    try:
        return open_text(path)
    except InputError as exc:
        prepared.error(BAD_TRANSCRIPT, path, exc.problem, recording_id)
        return None


def checked_gold(prepared: Prepared, path: str | None, audio: str, recording_id: str, missing: str,
                 check: Callable[[str], bool]) -> str | None:
    """A recording's gold file when it was found and ``check`` passes it (``check`` files its own error);
    None otherwise, with an ``audio without transcript`` error on ``audio`` when it was not found
    (``missing`` says what was looked for)."""
    if path is None:
        prepared.error(AUDIO_WITHOUT_TRANSCRIPT, audio, missing, recording_id)
        return None
    return path if check(path) else None


def times_in_order(prepared: Prepared, path: str, line_no: int, start: str, end: str, recording_id: str,
                   scope: str) -> bool:
    """Whether a gold line's times (as written) are numbers with 0 <= start <= end; otherwise an
    ``unreadable transcript`` error saying there is no gold for this ``scope`` (call, side)."""
    try:
        ok = 0 <= float(start) <= float(end)
    except ValueError:
        ok = False
    if not ok:
        prepared.error(BAD_TRANSCRIPT, path, f"line {line_no}: times {start} {end} are not "
                                             f"0 <= start <= end; no gold for this {scope}", recording_id)
    return ok


def merge_tables(tables: Iterable[str], read: Callable[[str, Prepared], Mapping[str, tuple[int, dict[str, str]]]],
                 prepared: Prepared) -> dict[str, tuple[str, int, dict[str, str]]]:
    """key -> (table, line, fields) over several tables read by ``read``; the first table's row of a key
    is kept."""
    out: dict[str, tuple[str, int, dict[str, str]]] = {}
    for table in tables:
        for key, (line, fields) in read(table, prepared).items():
            out.setdefault(key, (table, line, fields))
    return out


def table_missing(prepared: Prepared, paths: Iterable[str], detail: str) -> None:
    """A ``nothing found`` error per given path saying which table is missing and what stays unknown (``detail``),
    with the packed archives found; a path ``index_files`` already named (not found, or none of the recipe's files
    under it) is not named a second time."""
    named = {e.path for e in prepared.errors if e.problem.startswith(NOTHING_FOUND)}
    for root in paths:
        if os.path.abspath(root) not in named:
            prepared.error(NOTHING_FOUND, root, detail + packed_note({PACKED_KIND: prepared.packed}))


def table_row(prepared: Prepared, rows: Mapping[str, tuple[str, int, dict[str, str]]], key: str, audio: str,
              recording_id: str, missing: str) -> tuple[str, int, dict[str, str]] | None:
    """The table row (``merge_tables``) of a recording's ``key``, or None; when tables were read but none
    has the key, a ``recording not in table`` error on its ``audio`` (``missing`` says what stays unknown)."""
    row = rows.get(key)
    if row is None and rows:
        prepared.error(NOT_IN_TABLE, audio, missing, recording_id)
    return row


def transcripts_without_audio(prepared: Prepared, transcripts: Mapping[str, str], audio: Iterable[str],
                              audio_file: Callable[[str], str], recording_id: Callable[[str], str]) -> None:
    """A ``transcript without audio`` error for every transcript whose key has no audio file
    (``audio_file(key)`` names the file looked for)."""
    for key in sorted(set(transcripts) - set(audio)):
        prepared.error(TRANSCRIPT_WITHOUT_AUDIO, transcripts[key], f"no {audio_file(key)} under the given folders",
                       recording_id(key))


def rows_without_audio(prepared: Prepared, rows: Mapping[str, tuple[str, int, dict[str, str]]],
                       audio: Iterable[str], what: str, audio_file: Callable[[str], str],
                       recording_id: Callable[[str], str], order: Callable[[str], object] | None = None) -> None:
    """A ``table row without files`` error for every table row (``merge_tables``) whose key has no audio
    file; ``what`` names a key in the message (call, conversation), ``order`` sorts the keys."""
    for key in sorted(set(rows) - set(audio), key=order):
        table, line, _ = rows[key]
        prepared.error(TABLE_ROW_WITHOUT_FILES, table, f"line {line}: {what} {key} has no {audio_file(key)} under "
                                                       f"the given folders", recording_id(key))
