"""The export formats by name: what ``twotrack export --format`` accepts and ``run.run_export`` looks up."""

from __future__ import annotations

from .base import Exporter
from .lhotse import LhotseExporter
from .moshi import MoshiExporter
from .parquet import ParquetExporter

#: Format name -> exporter class.
FORMATS: dict[str, type[Exporter]] = {
    "moshi": MoshiExporter,
    "lhotse": LhotseExporter,
    "parquet": ParquetExporter,
}
