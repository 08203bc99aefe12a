"""Switchboard-1 (LDC97S62): the ISIP (ms98) word alignments or segment transcripts -> ``model.Word``.

``ingest.annotations.read_gold`` detects this format by its first line.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..ingest import textlines as tl
from ..model import Word

#: Switchboard alignment tokens that mark non-speech; they are not words.
SWB_SKIP = frozenset({"[silence]"})

SWB_ID = re.compile(r"^(?P<rec>[^-\s]+?)(?P<side>[AB])-\S+$")


def read_swb(path: str | Path) -> list[Word]:
    """Switchboard ISIP (ms98) word alignments or segment transcripts:
    ``sw2001A-ms98-a-0001 0.000000 0.977625 word`` -> recording ``sw2001``, track A.

    ``[silence]`` tokens are skipped (they are not speech); other bracketed tokens are kept as text.
    """
    p = str(path)
    words = []
    for line_no, line in tl.lines(tl.open_text(p)):
        if line.startswith(("#", ";;")):
            continue
        parts = line.split(None, 3)
        m = SWB_ID.match(parts[0])
        if len(parts) < 4 or not m:
            raise InputError(p, f"line {line_no}: expected 'sw<call><A|B>-ms98-a-<n> <start> <end> <word>', got {line[:60]!r}")
        text = parts[3].strip()
        if text in SWB_SKIP:
            continue
        start = tl.number(p, line_no, parts[1], "start")
        end = tl.number(p, line_no, parts[2], "end")
        words.append(tl.word(p, line_no, m.group("rec"), tl.track(p, line_no, m.group("side")), start, end, text))
    return tl.by_time(words)
