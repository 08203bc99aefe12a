"""Emilia and Emilia-YODAS (Amphion): single-speaker web speech segments with JSON metadata.

Two published layouts are read: the original release's per-batch index ``<LANG>/<LANG>_B00000.jsonl``
whose lines name each segment's audio (``wav``: a path relative to the index's folder) with ``id``,
``text``, ``duration``, ``speaker``, ``language`` and ``dnsmos``; and the Hugging Face (WebDataset)
layout unpacked, where each ``<id>.mp3`` has a ``<id>.json`` beside it with the same fields. Every
segment is one mono recording (data type ``mono``: the map's pre-training row), its speaker the
release's speaker id (one speaker per segment), its text kept as metadata (no word times: no gold).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import jsonfile
from ..errors import InputError

EMILIA_PATTERNS = {
    "index": r"[A-Z]{2}_B\d+\.jsonl",
    # amphion/Emilia-Dataset on the Hugging Face Hub: <LANG>/<LANG>-B000000.tar WebDataset shards (and
    # Emilia-YODAS/<LANG>/...), each holding <id>.mp3 + <id>.json; before the WebDataset change the Hub held
    # per-batch <LANG>/*.tar.gz archives of the original layout. Read once unpacked.
    "shard": r"[A-Z]{2}[-_]B\d+\.tar(?:\.gz)?(?:\.\d+)?",
    "meta": r".+\.json",
    "audio": r".+\.(mp3|wav|flac)",
}


def _segment(prepared, audio: str, meta: dict, where: str):
    from ..model import Layout, Recording, SourceType, TrackSource
    from .base import probe_into

    rid = str(meta.get("id") or Path(audio).stem)
    info = probe_into(prepared, audio, rid)
    if info is None:
        return None
    speaker = str(meta["speaker"]) if meta.get("speaker") else None
    if speaker:
        prepared.speaker(f"emilia-{speaker}", corpus="emilia", language=meta.get("language"))
    metadata = {k: str(meta[k]).strip() for k in ("text", "duration", "dnsmos") if meta.get(k) not in (None, "")}
    metadata["metadata_file"] = where
    tags = {"corpus": "emilia"}
    if meta.get("language"):
        tags["language"] = str(meta["language"])
    return Recording(recording_id=rid, tracks=(TrackSource(audio, 0),), layout=Layout.MONO,
                     speakers=(f"emilia-{speaker}",) if speaker else (), source_type=SourceType.MONO,
                     tags=tags, metadata=metadata)


def prepare_emilia(paths, options):
    """Every Emilia segment under ``paths`` (jsonl index or json sidecar) -> a mono recording."""
    from .base import (AUDIO_WITHOUT_TRANSCRIPT, BAD_AUDIO, BAD_METADATA, TRANSCRIPT_WITHOUT_AUDIO, Prepared)

    prepared = Prepared()
    files = prepared.index(paths, EMILIA_PATTERNS, "<LANG>_B00000.jsonl with its audio, <id>.mp3 with "
                                                       "<id>.json")
    used: set[str] = set()
    license = options.get("license") or "CC-BY-NC-4.0"

    found = {Path(f).stem for f in files.get("audio", ())}
    indexes = {Path(f).stem for f in files.get("index", ())}
    for shard in files.get("shard", ()):
        if not _unpacked(shard, found, indexes):
            prepared.error(BAD_AUDIO, shard, "a packed Emilia archive, not read packed: unpack it where it lies "
                                             f"(tar -xf {Path(shard).name} -C <folder>) and scan the folder")
    seen: dict[str, str] = {}

    def add(rec, where: str) -> None:
        if rec is None:
            return
        if rec.recording_id in seen:  # the same segment in both layouts, or two copies
            prepared.error("duplicate audio", where, f"a second copy of segment {rec.recording_id!r} (first: "
                                                     f"{seen[rec.recording_id]}); this one is ignored", rec.recording_id)
            return
        seen[rec.recording_id] = where
        prepared.recordings.append(_licensed(rec, license))

    for index in files.get("index", ()):
        base = os.path.dirname(index)
        try:
            with open(index, "rb") as fh:
                lines = fh.read().decode("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            prepared.error(BAD_METADATA, index, f"cannot be read as UTF-8 JSON lines ({exc}); its segments are "
                                                "not scanned")
            continue
        for line_no, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:  # numbers not strict: the metadata is kept as text, NaN there (an unmeasured dnsmos) costs nothing
                meta = jsonfile.loads(text, index, line_no, strict_numbers=False)
            except jsonfile.JSONFileError as exc:
                prepared.error(BAD_METADATA, index, f"line {line_no}: {exc.reason}")
                continue
            wav = meta.get("wav") if isinstance(meta, dict) else None
            if not isinstance(wav, str):
                prepared.error(BAD_METADATA, index, f"line {line_no}: not a JSON object with 'wav'")
                continue
            audio = os.path.normpath(os.path.join(base, wav))
            if not os.path.commonpath([os.path.realpath(base), os.path.realpath(audio)]) == os.path.realpath(base):
                prepared.error(BAD_METADATA, index, f"line {line_no}: wav {wav!r} leaves the index's folder")
                continue
            if not os.path.isfile(audio):
                prepared.error(TRANSCRIPT_WITHOUT_AUDIO, index, f"line {line_no}: {wav} not found",
                               str(meta.get("id") or ""))
                continue
            used.add(audio)
            add(_segment(prepared, audio, meta, f"{index}:{line_no}"), f"{index}:{line_no}")
    sidecars = {os.path.splitext(f)[0]: f for f in files.get("meta", ())}
    for audio in files.get("audio", ()):
        if audio in used:
            continue
        meta_path = sidecars.pop(os.path.splitext(audio)[0], None)
        if meta_path is None:
            prepared.error(AUDIO_WITHOUT_TRANSCRIPT, audio, f"no {Path(audio).stem}.json beside it and no jsonl "
                                                            "index names it", Path(audio).stem)
            continue
        try:
            meta = jsonfile.load(meta_path, "metadata file", strict_numbers=False)
        except InputError as exc:  # cannot be read, or not usable JSON
            prepared.error(BAD_METADATA, meta_path, exc.problem, Path(audio).stem)
            continue
        if not isinstance(meta, dict):
            prepared.error(BAD_METADATA, meta_path, "not a JSON object", Path(audio).stem)
            continue
        add(_segment(prepared, audio, meta, meta_path), meta_path)
    for stem, meta_path in sorted(sidecars.items()):
        prepared.error(TRANSCRIPT_WITHOUT_AUDIO, meta_path, f"no {Path(stem).name}.mp3 beside it", Path(stem).name)
    return prepared


def _unpacked(archive: str, audio_stems: set[str], index_stems: set[str]) -> bool:
    """Whether a packed archive's content was found unpacked under the paths: a per-batch ``.tar.gz`` when its
    ``<LANG>_B00000.jsonl`` index was; a WebDataset ``.tar`` shard when every audio member's stem was (its
    member list is read from the uncompressed tar's headers)."""
    import tarfile

    name = Path(archive).name
    if ".tar.gz" in name.lower():
        return name[: name.lower().index(".tar")] in index_stems
    try:
        with tarfile.open(archive) as tar:
            stems = [Path(n).stem for n in tar.getnames() if n.lower().endswith((".mp3", ".wav", ".flac"))]
    except (tarfile.TarError, OSError):
        return False
    return bool(stems) and all(s in audio_stems for s in stems)


def _licensed(rec, license: str):
    from dataclasses import replace

    return replace(rec, license=license)
