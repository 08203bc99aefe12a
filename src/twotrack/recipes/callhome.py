"""CALLHOME American English (audio LDC97S42, transcripts LDC97T14).

Audio ``data/{train,devtest,evltest}/en_NNNN.sph`` (two channels, 8 kHz mu-law, shorten-compressed; the
LDC spells the evaluation folder ``evltest``); transcripts ``transcrpt/{train,devtest,evaltest}/en_NNNN.txt``
(the ``en_`` prefix is the LDC's; bare ``NNNN`` names, as some copies are renamed, are read too) with lines
``<start> <end> <A|B>[n]: text`` (``A1``/``B2`` when several people share a side's telephone; a line
without times continues the previous one). The release has no caller table with speaker sex and the
calls have no assigned topic: speakers are the two sides of a call, topics stay unknown.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..ingest import textlines as tl
from ..model import Word

CALLHOME_LINE = re.compile(r"^(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+([A-Za-z]+\d*):\s*(.*)$")
#: ``en_4065.sph`` / ``en_4065.txt`` as the LDC names them (also ``4065.*``); audio in any container the ingest
#: reads by content (copies converted to ``.wav``/``.flac`` keep the call number).
CALLHOME_PATTERNS = {"audio": r"(?:en_)?\d{4}\.(?:sph|wav|flac)", "transcript": r"(?:en_)?\d{4}\.txt"}
SIDES = ("A", "B")
#: A line opening with ``#word ... #`` after the first timed line is text, not a comment: the LDC97T14 guide
#: marks simultaneous speech on one channel ``#text#`` (the header's ``#Language: eng`` lines come first).
_SIMULTANEOUS = re.compile(r"^#[^#\s][^#]*#")


def call_number(path: str) -> str:
    """``.../en_4065.sph`` / ``4065.txt`` -> ``4065``."""
    return Path(path).stem.lower().removeprefix("en_")


def _lines(path: str):
    """(line number, start, end, label, text) of every timed line; untimed lines join the one before."""
    out: list[list] = []
    for line_no, line in tl.lines(tl.open_text(path)):
        if line.startswith("#") and not (out and _SIMULTANEOUS.match(line)):
            continue
        m = CALLHOME_LINE.match(line)
        if m:
            out.append([line_no, float(m.group(1)), float(m.group(2)), m.group(3), m.group(4).strip()])
        elif out:
            out[-1][4] = f"{out[-1][4]} {line}".strip()
        else:
            raise InputError(path, f"line {line_no}: expected '<start> <end> <A|B>: text', got {line[:60]!r}")
    return out


def read_callhome(path: str | Path, recording_id: str | None = None) -> list[Word]:
    """CALLHOME transcript segments -> ``Word`` on the side's track (``A``/``A1`` -> 0, ``B``/``B2`` -> 1);
    lines whose end is not after their start are left out (the release has some)."""
    p = str(path)
    rid = recording_id or f"callhome-{call_number(p)}"
    words = []
    for line_no, start, end, label, text in _lines(p):
        side = label[0].upper()
        if side not in SIDES:
            raise InputError(p, f"line {line_no}: unknown channel {label!r} (expected A or B)")
        if end > start:
            words.append(tl.word(p, line_no, rid, SIDES.index(side), start, end, text, label.upper()))
    return tl.by_time(words)


def check_callhome_transcript(path: str, recording_id: str, prepared) -> bool:
    """Whether a transcript can serve as gold (``read_callhome`` reads it); otherwise a named error
    (``unknown channel`` for a side other than A/B)."""
    from .base import BAD_TRANSCRIPT, UNKNOWN_CHANNEL

    try:
        read_callhome(path, recording_id)
    except InputError as exc:
        kind = UNKNOWN_CHANNEL if "unknown channel" in exc.problem else BAD_TRANSCRIPT
        prepared.error(kind, path, f"{exc.problem}; no gold for this call", recording_id)
        return False
    return True


def prepare_callhome(paths, options):
    """Every ``NNNN.sph`` under ``paths`` becomes a two-track recording ``callhome-NNNN`` whose gold is
    its transcript ``NNNN.txt`` (utterance times: IPU-level gold); speakers are the two sides
    (``callhome-NNNN-A``/``-B``), the split (train/devtest/evaltest) is metadata."""
    from .base import Prepared, by_key, checked_gold, index_files, transcripts_without_audio, two_channel_recording

    prepared = Prepared()
    files = index_files(paths, CALLHOME_PATTERNS, prepared.errors)
    audio = by_key(files.get("audio", ()), call_number, "duplicate audio", prepared)
    trans = by_key(files.get("transcript", ()), call_number, "duplicate transcript", prepared)
    for call in sorted(audio):
        rid = f"callhome-{call}"
        transcript = checked_gold(prepared, trans.get(call), audio[call], rid, f"no en_{call}.txt under the given folders",
                                  lambda path: check_callhome_transcript(path, rid, prepared))
        split = Path(audio[call]).parent.name.lower().replace("evltest", "evaltest")
        metadata = {"split": split} if split in ("train", "devtest", "evaltest") else {}
        if transcript:
            metadata["transcript_format"] = "callhome"
        two_channel_recording(
            prepared, audio[call], rid, speakers=(f"{rid}-A", f"{rid}-B"),
            tags={"corpus": "callhome-english", "register": "spontaneous-telephone"}, metadata=metadata,
            transcript=transcript, license=options.get("license"))
    transcripts_without_audio(prepared, trans, audio, lambda call: f"en_{call}.sph", lambda call: f"callhome-{call}")
    return prepared
