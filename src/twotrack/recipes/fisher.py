"""Fisher English (LDC2004T19, LDC2005T19): the transcripts' time-stamped segments -> ``model.Word``.

``ingest.annotations.read_gold`` detects this format by its first line; call ``read_fisher`` directly
to give the recording id.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..ingest import textlines as tl
from ..model import Word


FISHER_LINE = re.compile(r"^(\S+)\s+(\S+)\s+([A-Za-z]\d*):\s*(.*)$")


def read_fisher(path: str | Path, recording_id: str | None = None) -> list[Word]:
    """Fisher transcripts: ``<start> <end> <A|B>: <text>`` per line, ``#`` comments, blank lines.

    Each line is one segment on the track its speaker letter names; the recording id is the file stem
    (``fe_03_00001.txt`` -> ``fe_03_00001``) unless given.
    """
    p = str(path)
    rid = recording_id or Path(p).stem
    words = []
    for line_no, line in tl.lines(tl.open_text(p)):
        if line.startswith("#"):
            continue
        m = FISHER_LINE.match(line)
        if not m:
            raise InputError(p, f"line {line_no}: expected '<start> <end> <A|B>: text', got {line[:60]!r}")
        start = tl.number(p, line_no, m.group(1), "start")
        end = tl.number(p, line_no, m.group(2), "end")
        words.append(tl.word(p, line_no, rid, tl.track(p, line_no, m.group(3)), start, end, m.group(4).strip()))
    return tl.by_time(words)
