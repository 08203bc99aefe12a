"""Corpus recipes: one module per corpus layout, kept out of the core.

Each turns a publisher's layout (files found by their publisher's names anywhere under the folders
given) into the rows a manifest gives, the speakers' metadata and gold transcript paths, with one named
error per missing or broken piece (``base``); ``registry.RECIPES`` lists them by their command-line name.

- ``fisher``: Fisher English (audio, transcripts, call tables); its transcripts -> words on tracks A/B.
- ``switchboard``: Switchboard-1 with the ISIP (ms98) word alignments and the caller/conversation tables.
- ``callhome``: CALLHOME American English (LDC97S42 audio, LDC97T14 transcripts).
- ``candor``: CANDOR video calls (stereo mix or per-participant audio, AWS Transcribe words/turns, survey).
- ``ami``: AMI headset channels with the NITE ``words.xml`` annotations (multiparty).
- ``emilia``: Emilia / Emilia-YODAS mono web speech with JSON metadata.

docs/recipes.md says, per corpus, what is read from which file and what each field becomes.

Generic formats (CTM, RTTM, TextGrid, Lhotse supervisions) are read by ``ingest.annotations``, whose
``read_gold`` also dispatches to the readers here. This package imports nothing at load time (the
annotation readers import its modules).
"""
