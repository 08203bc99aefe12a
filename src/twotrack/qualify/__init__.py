"""Qualification: what a corpus is fit for.

- ``inputs``: the plain records qualification reads (``CorpusInputs``), built by hand or from a workspace.
- ``requirements``: the eight post-training requirements, all-or-nothing, with evidence (``qualify_corpus``).
- ``phases``: pre/mid/post x fit/partial/unfit labels from the data type, confirmed by measurement.
- ``reference``: reference statistics of real conversation (with provenance) and distances to them.
- ``datamap``: a catalog of known corpora, each figure with its source.
"""

from .inputs import CorpusInputs, RecordingInputs, RecordingStats, Verdict, load_inputs
from .phases import PhaseFit, TypeFinding, measured_type
from .reference import Reference, build_reference, load_reference, save_reference, wasserstein_from_quantiles
from .requirements import NAMES, QualifyReport, qualify_corpus

__all__ = [
    "CorpusInputs", "RecordingInputs", "RecordingStats", "Verdict", "load_inputs",
    "PhaseFit", "TypeFinding", "measured_type",
    "Reference", "build_reference", "load_reference", "save_reference", "wasserstein_from_quantiles",
    "NAMES", "QualifyReport", "qualify_corpus",
]
