"""Words on every track: per-track transcripts with word times (recogniser, re-timing, crosstalk filter)
and forced alignment of given text. docs/words.md.

Entry points: ``transcribe_recording`` (the scan's words stage), ``transcribe_tracks`` (recognise),
``align_text`` (text without word times); the ``*_blocks`` forms read a
stream of blocks instead of arrays (memory flat in the recording's length), ``WordsConfig`` (the ``[words]`` config section), ``WordsResult``.
"""

from .align import AlignResult, align_text, align_text_blocks
from .config import WordsConfig
from .models import BUNDLED, ModelHashError, load_model, resolve_model
from .recording import (align_transcript, align_transcript_blocks, transcribe_recording, transcribe_recording_blocks,
                        transcript_spans)
from .transcribe import WordsResult, transcribe_blocks, transcribe_tracks

__all__ = ["AlignResult", "BUNDLED", "ModelHashError", "WordsConfig", "WordsResult", "align_text", "load_model",
           "resolve_model", "transcribe_tracks", "transcribe_recording", "transcript_spans", "align_transcript",
           "align_text_blocks", "align_transcript_blocks", "transcribe_blocks", "transcribe_recording_blocks"]
