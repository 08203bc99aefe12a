"""Export: the recordings a purpose allows, in the format a trainer reads, traceable to sources and consent.

    base.py       options, one recording's inputs (ExportItem), the Exporter interface, the run's summary
    state.py      the export folder: .twotrack/export.json in memory (State), file entries, atomic writes, the lock
    context.py    what a run knows beyond one recording: rights snapshot, gold words, qualification
    run.py        choosing recordings by rights, keys, incremental reruns, the run loop
    registry.py   format name -> exporter class
    split.py      where to cut long recordings (silences of both tracks, never inside an IPU)
    audio.py      stream a recording's tracks into WAV/FLAC pieces (memory: one block)
    moshi.py      kyutai-labs/moshi-finetune layout: stereo WAV (ch0 = main speaker), train.jsonl, alignments
    lhotse.py     recordings.jsonl.gz + supervisions.jsonl.gz (one supervision per IPU, events in custom)
    parquet.py    Parquet shards: stereo FLAC bytes + activity, events, words, checks, qualification, rights
    croissant.py  croissant.json (Croissant 1.0 + RAI) in every export folder: record sets reach the content
    card.py       README.md, the dataset card: Hub front matter (license, language, configs) and a body from
                  the workspace (corpus, qualification, rights basis, duties, measurements)

``export(workspace, out, "moshi", "commercial-training")`` is what ``twotrack export`` runs.
"""

from __future__ import annotations

from .base import ExportItem, ExportOptions, ExportSummary, Exporter
from .lhotse import LhotseExporter
from .moshi import MoshiExporter
from .parquet import ParquetExporter
from .registry import FORMATS
from .run import run_export


def export(workspace, out, fmt: str, purpose: str, options: ExportOptions | None = None, *, permissions=None,
           **kw) -> ExportSummary:
    """Export ``workspace`` to ``out`` in format ``fmt`` for ``purpose`` (options as keywords or an
    ``ExportOptions``; ``permissions``: a permissions table file or ``PermissionsTable``); see
    ``run.run_export``."""
    if kw:
        options = ExportOptions(**{**(options.to_dict() if options else {}), **kw})
    return run_export(workspace, out, fmt, purpose, options, permissions=permissions)


__all__ = ["FORMATS", "ExportItem", "ExportOptions", "ExportSummary", "Exporter", "export", "run_export",
           "MoshiExporter", "LhotseExporter", "ParquetExporter"]
