"""Corpus recipes: one module per corpus layout, kept out of the core.

- ``fisher``: Fisher English transcripts -> words on tracks A/B.
- ``switchboard``: Switchboard ISIP (ms98) word alignments -> words on tracks A/B.

Generic formats (CTM, RTTM, TextGrid, Lhotse supervisions) are read by ``ingest.annotations``, whose
``read_gold`` also dispatches to the readers here.
"""
