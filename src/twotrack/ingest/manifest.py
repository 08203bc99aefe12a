"""Manifests: a CSV or JSONL list of recordings with what the files cannot say (speakers, license, tags).

Columns (docs/formats.md has the full table): ``recording_id``, ``path`` or ``path_a`` + ``path_b``,
``speaker_a``, ``speaker_b`` (and ``speaker_c`` ... ``speaker_h`` for the tracks after B of a multichannel
file), ``license``, ``tags`` (``key:value;key:value``), ``source_type``,
``transcript``, ``channels``, ``b_offset_s``, ``b_drift_ppm``, ``clock_source`` (B's clock against A's for
paired files: ``Recording.clock``); any other column is kept in ``Recording.metadata``.

Paths resolve against the manifest's folder and must stay inside it (after following symlinks): a
manifest is data, and data must not point a corpus run at ``/etc/passwd``. A bad row gives one
ErrorRecord naming the manifest, the line and the problem; the other rows are read.

An audio path may also be a URL (``s3://bucket/x.flac``, ``https://...``): it is kept as it is and read
through ``ingest.remote``; naming a URL is the manifest author's explicit choice of source, so the
folder rule does not apply to it. ``file://`` URLs are local paths and follow the folder rule.
Transcripts are local files only.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import Config
from .. import jsonfile
from ..errors import InputError
from ..paths import special_file
from ..model import SPEAKER_COLUMNS, TRACK_NAMES, ClockDeclaration, ErrorRecord, Layout, Recording, SourceType
from . import remote
from .found import Found, FoundStream, Origin
from .pairing import compile_patterns, match_pair
from .sources import Discovery, make_source, probe_safely

KNOWN_COLUMNS = (
    "recording_id", "path", "path_a", "path_b", *SPEAKER_COLUMNS, "license", "tags", "source_type",
    "transcript", "channels", "b_offset_s", "b_drift_ppm", "clock_source",
)
#: Largest clock drift a row may declare (1%): device clocks differ by tens of ppm; more is a typo or a
#: sample-rate mismatch, which the file headers already carry.
MAX_DECLARED_DRIFT_PPM = 10_000.0
CLOCK_SOURCES = ("declared", "measured")
_SOURCE_TYPES = ", ".join(t.value for t in SourceType)
# Channel count a source type implies when the row does not declare one.
_IMPLIED_CHANNELS = {SourceType.MONO: 1, SourceType.TWO_TRACK: 2, SourceType.COMMERCIAL_TWO_TRACK: 2}


class RowError(Exception):
    """A problem with one manifest row (becomes an ErrorRecord; the other rows go on)."""


def parse_tags(text: str | dict | None) -> dict[str, str]:
    """``"register:casual;topic:travel"`` -> ``{"register": "casual", "topic": "travel"}``.

    Spaces around keys and values are dropped; an empty piece (trailing ``;``) is ignored; a piece
    without ``:`` or with an empty key, or a key given twice, is a ``ValueError``.
    """
    if text is None:
        return {}
    if isinstance(text, dict):
        out = {str(k).strip(): str(v).strip() for k, v in text.items()}
        if len(out) != len(text):  # "topic" and "topic ": one tag given twice, as in "topic:a;topic :b"
            keys = [str(k).strip() for k in text]
            raise ValueError(f"tag {next(k for k in keys if keys.count(k) > 1)!r} given twice in {text!r}")
        return out
    tags: dict[str, str] = {}
    for piece in str(text).split(";"):
        if not piece.strip():
            continue
        key, sep, value = piece.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"malformed tag {piece.strip()!r} in {text!r} (expected key:value;key:value)")
        if key in tags:
            raise ValueError(f"tag {key!r} given twice in {text!r}")
        tags[key] = value
    return tags


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _fewer_cells(row: dict) -> str | None:
    """The problem of a CSV row with fewer cells than the header (csv fills the missing ones with None; an
    empty cell is ''), or None when every column has its cell."""
    missing = [k for k, v in row.items() if v is None]
    if not missing:
        return None
    return (f"{len(missing)} fewer cell(s) than header columns ({len(row) - len(missing)} of {len(row)}; "
            f"no cell for {', '.join(missing)})")


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if text.startswith("field larger than field limit"):
        return f"a cell longer than {csv.field_size_limit()} characters (the CSV field limit)"
    return text


def _column_twice(names) -> str | None:
    """Columns are read without case or surrounding spaces, so ``license`` and ``License`` are one column:
    given both, the last silently decided (a row's license, its speakers). The problem, or None."""
    seen: dict[str, str] = {}
    for name in names:
        if name is None:
            continue
        folded = str(name).strip().lower()
        if not folded:  # a spreadsheet's trailing empty columns name nothing
            continue
        if folded in seen:
            return f"column {folded!r} given twice ({seen[folded]!r} and {str(name)!r})"
        seen[folded] = str(name)
    return None


def _rows(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs, read as they are needed; raises InputError when the manifest cannot be
    read (rows before a problem found midway have been yielded by then)."""
    suffix = Path(path).suffix.lower()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            if suffix == ".csv":
                reader = csv.DictReader(fh)
                if not reader.fieldnames:
                    raise InputError(path, "empty manifest (no header line)")
                if (twice := _column_twice(reader.fieldnames)) is not None:
                    raise InputError(path, f"header: {twice}")
                stuck = -1  # line_num at the last csv.Error: a second error there reads nothing more
                while True:
                    line = reader.line_num + 1
                    try:
                        row = next(reader)
                    except StopIteration:
                        return
                    except csv.Error as exc:
                        # one bad line (a cell over the field limit) costs that row, not the rows after it;
                        # an error that reads nothing further (the end of the data) stops the manifest
                        if reader.line_num == stuck:
                            raise
                        stuck = reader.line_num
                        yield line, {"__error__": f"malformed CSV line: {_csv_problem(exc)}"}
                        continue
                    if None in row:  # more cells than header columns
                        yield line, {"__error__": f"{len(row[None])} more cell(s) than header columns"}
                        continue
                    if (short := _fewer_cells(row)) is not None:
                        yield line, {"__error__": short}
                        continue
                    yield line, {k.strip().lower(): v for k, v in row.items() if k is not None}
            if suffix == ".jsonl":
                for line, text in enumerate(fh, 1):
                    if not text.strip():
                        continue
                    try:
                        # numbers not strict: NaN in a metadata cell is kept as text; the numbers used are checked
                        obj = jsonfile.loads(text, path, line, strict_numbers=False)
                    except jsonfile.JSONFileError as exc:
                        yield line, {"__error__": exc.reason}
                        continue
                    if not isinstance(obj, dict):
                        yield line, {"__error__": "a JSONL manifest line must be an object"}
                        continue
                    if (twice := _column_twice(obj)) is not None:
                        yield line, {"__error__": twice}
                        continue
                    yield line, {str(k).strip().lower(): v for k, v in obj.items()}
                return
    except FileNotFoundError:
        raise InputError(path, "manifest not found") from None
    except PermissionError:
        raise InputError(path, "permission denied (cannot read the manifest)") from None
    except UnicodeDecodeError:
        raise InputError(path, "manifest is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV: {_csv_problem(exc)}") from None
    raise InputError(path, f"unknown manifest type {suffix!r} (expected .csv or .jsonl)")


def resolve_inside(base_dir: str, value: str, what: str) -> str:
    """Absolute path of ``value`` (relative to ``base_dir``); RowError when it leaves ``base_dir``
    (``..``, an absolute path elsewhere, or a symlink pointing out) or does not exist. An audio URL
    is returned as it is (its probe says whether it exists); a ``file://`` URL is a local path."""
    if remote.is_url(value):
        if what == "transcript":
            raise RowError(f"transcript {value!r} is a URL: gold timings are read from local files only")
        return value
    value = remote.local_path(value)
    joined = os.path.normpath(os.path.join(base_dir, value))
    root = os.path.realpath(base_dir)
    real = os.path.realpath(joined)
    if os.path.commonpath([root, real]) != root:
        raise RowError(f"{what} {value!r} points outside the manifest's folder {base_dir} (refused)")
    if not os.path.exists(joined):
        raise RowError(f"missing file: {what} {value!r} does not exist")
    if os.path.isdir(joined):
        raise RowError(f"{what} {value!r} is a folder, not a file")
    if (problem := special_file(joined)) is not None:  # opening a FIFO would wait for a writer for ever
        raise RowError(f"{what} {value!r}: {problem}")
    return joined


def _number(cells: dict[str, str], key: str) -> float | None:
    text = cells.get(key, "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise RowError(f"{key} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(f"{key} {text!r} is not a finite number")
    return value


def parse_clock(cells: dict[str, str], paired: bool) -> ClockDeclaration | None:
    """The row's declaration of B's clock (``b_offset_s``, ``b_drift_ppm``, ``clock_source``), or None when
    it declares none. A missing one of the two numbers is 0. One file's channels share its clock, so a row
    with one file may only declare 0 and 0 (capture's rows do, with ``clock_source`` measured)."""
    offset, drift = _number(cells, "b_offset_s"), _number(cells, "b_drift_ppm")
    source = cells.get("clock_source", "").lower()
    if offset is None and drift is None:
        if source:
            raise RowError(f"clock_source {source!r} without b_offset_s or b_drift_ppm: declare the numbers")
        return None
    if source and source not in CLOCK_SOURCES:
        raise RowError(f"clock_source {source!r}: expected one of {', '.join(CLOCK_SOURCES)}")
    offset, drift = offset or 0.0, drift or 0.0
    if abs(drift) > MAX_DECLARED_DRIFT_PPM:
        raise RowError(f"b_drift_ppm {drift:g} is beyond +-{MAX_DECLARED_DRIFT_PPM:g} ppm (device clocks differ "
                       "by tens of ppm)")
    if not paired and (offset or drift):
        raise RowError(f"b_offset_s {offset:g} / b_drift_ppm {drift:g} declared for one file: its channels share "
                       "its clock (declare B's clock for paired files, path_a and path_b)")
    return ClockDeclaration(offset_s=offset, drift_ppm=drift, source=source or "declared")


def _row_recording(
    row: dict[str, Any], base_dir: str, config: Config, found: Discovery, note: str, hashes: dict | None,
) -> Recording | None:
    """One row -> a Recording (None when a file failed its probe; that error is already in ``found``)."""
    if "__error__" in row:
        raise RowError(row["__error__"])
    cells = {k: _cell(v) for k, v in row.items() if k != "tags"}
    path, path_a, path_b = cells.get("path", ""), cells.get("path_a", ""), cells.get("path_b", "")
    if path and (path_a or path_b):
        raise RowError("give either path or path_a and path_b, not both")
    if not path and not (path_a and path_b):
        raise RowError("no audio: give path, or path_a and path_b" if not (path_a or path_b)
                       else "a paired row needs both path_a and path_b")

    source_text = cells.get("source_type", "")
    try:
        source_type = SourceType(source_text) if source_text else None
    except ValueError:
        raise RowError(f"unknown source_type {source_text!r} (expected one of {_SOURCE_TYPES})") from None
    try:
        tags = parse_tags(row.get("tags"))
    except ValueError as exc:
        raise RowError(str(exc)) from None
    declared_text = cells.get("channels", "")
    declared = None
    if declared_text:
        try:
            declared = int(float(declared_text)) if float(declared_text).is_integer() else None
        except ValueError:
            declared = None
        if declared is None or declared < 1:
            raise RowError(f"channels {declared_text!r} is not a positive whole number")

    files = [resolve_inside(base_dir, path, "path")] if path else [
        resolve_inside(base_dir, path_a, "path_a"), resolve_inside(base_dir, path_b, "path_b")]
    transcript = resolve_inside(base_dir, cells["transcript"], "transcript") if cells.get("transcript") else None

    clock = parse_clock(cells, paired=not path)

    recording_id = cells.get("recording_id", "")
    if not recording_id:
        stem = Path(files[0]).stem
        hit = match_pair(stem, compile_patterns(config.ingest.paired_patterns)) if len(files) == 2 else None
        recording_id = hit[0] if hit else stem

    infos = []
    for f in files:
        info, err = probe_safely(f, note)
        if err:
            found.errors.append(ErrorRecord(path=err.path, problem=err.problem, recording_id=recording_id))
            return None
        found.infos[f] = info
        infos.append(info)

    speakers = tuple(cells.get(key) or None for key in SPEAKER_COLUMNS)
    last_named = max((i for i, spk in enumerate(speakers) if spk), default=-1)
    metadata = {k: v for k, v in cells.items() if k not in KNOWN_COLUMNS}
    if declared is not None:
        metadata["channels"] = str(declared)

    if len(files) == 2:
        if declared not in (None, 1):
            raise RowError(f"channels {declared} declared for a pair: each file of a pair holds one track")
        for f, info in zip(files, infos):
            if info.channels != 1:
                raise RowError(f"{os.path.basename(f)}: a file of a pair must hold one track, "
                               f"it has {info.channels} channels")
        if source_type is SourceType.MONO:
            raise RowError("source_type mono with two files (path_a, path_b): a pair is two tracks")
        layout = Layout.PAIRED
        tracks = tuple(make_source(f, 0, hashes) for f in files)
        if last_named >= 2:
            raise RowError(f"{SPEAKER_COLUMNS[last_named]} names a speaker on track {TRACK_NAMES[last_named]}, "
                           "but a pair (path_a, path_b) has two tracks")
        track_speakers = speakers[:2]
    else:
        info = infos[0]
        want = declared if declared is not None else _IMPLIED_CHANNELS.get(source_type)
        if want is not None and want != info.channels:
            why = f"{want} declared" if declared is not None else f"source_type {source_type.value} means {want}"
            raise RowError(f"{os.path.basename(files[0])}: {why} channel(s), but the file has {info.channels}")
        if info.channels == 1:
            layout = Layout.MONO
            track_speakers = ()
            for key in SPEAKER_COLUMNS:  # a mono track holds them all: keep who they are
                if cells.get(key):
                    metadata[key] = cells[key]
        else:
            layout = Layout.MULTICHANNEL
            if last_named >= info.channels:
                raise RowError(f"{SPEAKER_COLUMNS[last_named]} names a speaker on track {TRACK_NAMES[last_named]}, "
                               f"but {os.path.basename(files[0])} has {info.channels} channels")
            track_speakers = (speakers + (None,) * info.channels)[: info.channels]
        tracks = tuple(make_source(files[0], c, hashes) for c in range(info.channels))
    if source_type is None:
        source_type = SourceType.MONO if layout is Layout.MONO else SourceType.TWO_TRACK
    return Recording(
        recording_id=recording_id, tracks=tracks, layout=layout, speakers=tuple(track_speakers),
        source_type=source_type, license=cells.get("license") or None, tags=tags, transcript=transcript,
        metadata=metadata, clock=clock,
    )


def add_manifest(path: str, config: Config, out: FoundStream, *, hash_files: bool = True) -> None:
    """Add the recordings of a CSV/JSONL manifest to a discovery, one row at a time: one ErrorRecord per
    unusable row (a duplicate id is found when the discovery finishes)."""
    path = os.path.abspath(str(path))
    base_dir = os.path.dirname(path)
    try:
        for line, row in _rows(path):
            note = f" (manifest {os.path.basename(path)} line {line})"
            found = Discovery()
            try:
                rec = _row_recording(row, base_dir, config, found, note, {} if hash_files else None)
            except RowError as exc:
                rid = _cell(row.get("recording_id")) or None
                found.errors.append(ErrorRecord(path=path, problem=f"line {line}: {exc}", recording_id=rid))
                rec = None
            except InputError as exc:  # e.g. a file that probes fine but cannot be hashed
                found.errors.append(ErrorRecord(path=exc.path, problem=exc.problem + note))
                rec = None
            out.errors.extend(found.errors)
            if rec is not None:
                out.add((rec.recording_id,), Found(rec, found.infos, described=True),
                        Origin(manifest=path, line=line))
    except InputError as exc:
        out.errors.append(ErrorRecord(path=exc.path, problem=exc.problem))


def url_folders(path: str | Path) -> list[str]:
    """The folders (``posixpath.dirname``) of the URLs a manifest's audio columns name, sorted: where the
    discovery errors of its URL rows lie (a rescan replaces them). Empty when it cannot be read."""
    import posixpath

    folders: set[str] = set()
    try:
        for _, row in _rows(os.path.abspath(str(path))):
            for key in ("path", "path_a", "path_b"):
                value = _cell(row.get(key))
                if remote.is_url(value):
                    folders.add(posixpath.dirname(value))
    except InputError:
        pass
    return sorted(folders)


def read_manifest(path: str | Path, config: Config | None = None, *, hash_files: bool = True) -> Discovery:
    """Recordings of a CSV/JSONL manifest, one ErrorRecord per unusable row, and the probes of its files."""
    found = Discovery()
    with FoundStream() as out:
        add_manifest(str(path), config or Config(), out, hash_files=hash_files)
        for item in out.finish():
            found.recordings.append(item.recording)
            found.infos.update(item.infos)
        found.errors = list(out.errors)
    return found
