"""Corpus recipes: one module per corpus layout, kept out of the core.

Each turns a publisher's layout (files found by their publisher's names anywhere under the folders
given) into the rows a manifest gives, the speakers' metadata and gold transcript paths, with one named
error per missing or broken piece (``base``); ``registry.RECIPES`` lists them by their command-line name.

- ``fisher``: Fisher English (audio, transcripts, call tables); its transcripts -> words on tracks A/B.
- ``switchboard``: Switchboard-1 with the ISIP (ms98) word alignments and the caller/conversation tables.

Generic formats (CTM, RTTM, TextGrid, Lhotse supervisions) are read by ``ingest.annotations``, whose
``read_gold`` also dispatches to the readers here. This package imports nothing at load time (the
annotation readers import its modules).
"""
