"""Switchboard-1 (LDC97S62): the ISIP (ms98) word alignments or segment transcripts -> ``model.Word``.

``ingest.annotations.read_gold`` detects this format by its first line.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..ingest import textlines as tl
from ..model import Word

#: Switchboard alignment tokens that are not words: ``[silence]``, ``[noise]`` (a non-vocal sound) and the
#: ``<b_aside>`` / ``<e_aside>`` markers that open and close speech to someone in the room (the words
#: between them are kept: the speaker talks on their channel; kaldi's swbd1_data_prep.sh and other ms98
#: readers drop the markers too). ``[laughter]``, ``[laughter-word]`` and ``[vocalized-noise]`` come from
#: the speaker and are kept. Compared lower-cased.
SWB_SKIP = frozenset({"[silence]", "[noise]", "<b_aside>", "<e_aside>"})

SWB_ID = re.compile(r"^(?P<rec>[^-\s]+?)(?P<side>[AB])-\S+$")


def read_swb(path: str | Path) -> list[Word]:
    """Switchboard ISIP (ms98) word alignments or segment transcripts:
    ``sw2001A-ms98-a-0001 0.000000 0.977625 word`` -> recording ``sw2001``, track A.

    ``SWB_SKIP`` tokens (silence, noise, aside markers) are skipped; other bracketed tokens are kept as text.
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
        if text.lower() in SWB_SKIP:
            continue
        start = tl.number(p, line_no, parts[1], "start")
        end = tl.number(p, line_no, parts[2], "end")
        words.append(tl.word(p, line_no, m.group("rec"), tl.track(p, line_no, m.group("side")), start, end, text))
    return tl.by_time(words)


# --------------------------------------------------------------------------------------------
# The recipe: LDC97S62 audio + Mississippi State word alignments + the LDC caller/conversation tables
# --------------------------------------------------------------------------------------------

SWB_PATTERNS = {
    # .sph as published (LDC97S62 swb1_d1..d4/data/sw02001.sph); copies converted to .wav/.flac are read too
    "audio": r"sw0?\d{4,5}\.(?:sph|wav|flac)",
    "words": r"sw\d{4,5}[A-Za-z]-ms98-a-word\.text",
    # the conversation table: conv.tab (conv_tab.csv) as kaldi's swbd1_fix_speakerid.pl reads it, or the LDC's
    # online documentation's call_con_tab.csv (one row per side), as Coquery's Switchboard installer reads it
    "conv": r"conv\.tab|conv_tab\.csv|call_con_tab\.csv|call_con\.tab",
    "caller": r"caller\.tab|caller_tab\.csv",
}
SIDES = ("A", "B")
_ANY_SIDE = re.compile(r"^sw\d+([A-Za-z])-\S+$")
_WORD_FILE = re.compile(r"^sw(\d{4,5})([A-Za-z])-ms98-a-word\.text$", re.IGNORECASE)


def conversation_number(name: str) -> str:
    """``sw02001.sph`` / ``sw2001A-ms98-a-word.text`` / ``2001`` -> ``2001`` (leading zeros dropped)."""
    digits = re.search(r"\d+", Path(name).name)
    return str(int(digits.group(0))) if digits else name


def _numbered_rows(path: str, prepared, min_cells: int, expected: str) -> list[tuple[int, str, list[str]]]:
    """(line, number without leading zeros, cells) of every row of an LDC table (no header) that starts
    with a number and has at least ``min_cells`` cells; any other row is an ``unreadable table`` error
    quoting the ``expected`` first columns."""
    from .base import BAD_TABLE, read_csv_rows

    out = []
    for line, cells in read_csv_rows(path, prepared, header=False):
        if len(cells) < min_cells or not cells[0].isdigit():
            prepared.error(BAD_TABLE, path, f"line {line}: expected '{expected}, ...', got {','.join(cells)[:60]!r}")
            continue
        out.append((line, str(int(cells[0])), cells))
    return out


def read_conv_tab(path: str, prepared) -> dict[str, tuple[int, dict[str, str]]]:
    """``conv.tab`` / ``conv_tab.csv`` (no header; LDC97S62 docs ``conv_doc.txt``): conversation number,
    active flag, caller on side A (from), caller on side B (to), topic number (IVI_NO), class, talk day,
    ... -> conversation -> (line, fields)."""
    rows = _numbered_rows(path, prepared, 5, "conversation, active, caller A, caller B, topic")
    return {conv: (line, {"caller_a": cells[2], "caller_b": cells[3], "topic": cells[4],
                          "talk_day": cells[6] if len(cells) > 6 else ""})
            for line, conv, cells in rows}


def read_call_con_tab(path: str, prepared) -> dict[str, tuple[int, dict[str, str]]]:
    """``call_con_tab.csv`` (no header; LDC97S62 online docs): one row per conversation side -- conversation
    number, side (``"A"``/``"B"``), caller number, phone number, length, topic number (IVI_NO), remarks,
    active -> conversation -> (line of its first row, fields as ``read_conv_tab`` gives them)."""
    from .base import BAD_TABLE

    out: dict[str, tuple[int, dict[str, str]]] = {}
    for line, conv, cells in _numbered_rows(path, prepared, 6, "conversation, side, caller, phone, length, topic"):
        side = cells[1].strip('" ').upper()
        if side not in SIDES:
            prepared.error(BAD_TABLE, path, f"line {line}: side {cells[1]!r} is not A or B")
            continue
        first_line, fields = out.setdefault(conv, (line, {"caller_a": "", "caller_b": "", "topic": "",
                                                          "talk_day": ""}))
        fields[f"caller_{side.lower()}"] = cells[2]
        fields["topic"] = fields["topic"] or cells[5].strip('" ')
    return out


def read_conversation_table(path: str, prepared) -> dict[str, tuple[int, dict[str, str]]]:
    """Either conversation table, by its name."""
    if Path(path).name.lower().startswith("call_con"):
        return read_call_con_tab(path, prepared)
    return read_conv_tab(path, prepared)


def read_caller_tab(path: str, prepared) -> dict[str, dict[str, str]]:
    """``caller.tab`` / ``caller_tab.csv`` (no header; ``caller_doc.txt``): caller number, PIN, target,
    sex, birth year, dialect area, education, ... -> caller -> fields."""
    rows = _numbered_rows(path, prepared, 6, "caller, pin, target, sex, birth year, dialect area")
    return {caller: {"sex": cells[3].strip('"').lower(), "birth_year": cells[4],
                     "dialect": cells[5].strip('"').lower(), "education": cells[6] if len(cells) > 6 else ""}
            for _line, caller, cells in rows}


def check_word_file(path: str, side: str, recording_id: str, prepared) -> bool:
    """Whether a word alignment file can serve as gold for ``side``: every line ``sw<conv><side>-ms98-a-<n>
    <start> <end> <word>``; the first problem is a named error (``unknown channel`` for a line whose id
    names another side)."""
    from .base import BAD_TRANSCRIPT, UNKNOWN_CHANNEL, read_transcript_text, times_in_order

    text = read_transcript_text(path, recording_id, prepared)
    if text is None:
        return False
    for line_no, line in tl.lines(text):
        if line.startswith(("#", ";;")):
            continue
        parts = line.split(None, 3)
        m = SWB_ID.match(parts[0])
        other = _ANY_SIDE.match(parts[0])
        if not m and other:
            prepared.error(UNKNOWN_CHANNEL, path, f"line {line_no}: id {parts[0]!r} names side {other.group(1)!r} "
                                                  f"(a call has sides A and B); no gold for this side", recording_id)
            return False
        if len(parts) < 4 or not m:
            prepared.error(BAD_TRANSCRIPT, path, f"line {line_no}: expected 'sw<conv><A|B>-ms98-a-<n> <start> "
                                                 f"<end> <word>', got {line[:60]!r}; no gold for this side",
                           recording_id)
            return False
        if m.group("side").upper() != side:
            prepared.error(UNKNOWN_CHANNEL, path, f"line {line_no}: id {parts[0]!r} names side "
                                                  f"{m.group('side')!r} in the side-{side} file; no gold for "
                                                  f"this side", recording_id)
            return False
        if not times_in_order(prepared, path, line_no, parts[1], parts[2], recording_id, "side"):
            return False
    return True


def prepare_switchboard(paths, options):
    """Switchboard-1 under ``paths``: every ``swNNNNN.sph`` becomes a two-track recording ``sw0NNNN``
    whose gold is its two Mississippi State word alignments (``swNNNNA-ms98-a-word.text`` on track A,
    ``...B...`` on track B: hand-corrected word times); from ``call_con_tab.csv`` or ``conv.tab`` its topic and
    callers (speaker
    ``swb-<caller>``), from ``caller.tab`` each caller's sex, birth year, dialect area and education."""
    from .base import (NOT_IN_TABLE, TRANSCRIPT_WITHOUT_AUDIO, UNKNOWN_CHANNEL, Prepared, by_key,
                       checked_gold, merge_tables, table_missing, rows_without_audio, same_bytes, table_row,
                       two_channel_recording)

    prepared = Prepared()
    files = prepared.index(paths, SWB_PATTERNS, "swNNNNN.sph, swNNNNA-ms98-a-word.text, "
                                                "call_con_tab.csv or conv.tab, caller_tab.csv")
    audio = by_key(files.get("audio", ()), conversation_number, "duplicate audio", prepared)
    words: dict[str, dict[str, str]] = {}
    for f in files.get("words", ()):
        m = _WORD_FILE.match(Path(f).name)
        conv, side = str(int(m.group(1))), m.group(2).upper()
        if side not in SIDES:
            prepared.error(UNKNOWN_CHANNEL, f, f"side {m.group(2)!r} in the file name (a call has sides A and B)",
                           f"sw0{conv}")
            continue
        first = words.setdefault(conv, {}).setdefault(side, f)
        if first != f and not same_bytes(first, f):
            prepared.error("duplicate transcript", f, f"a second sw{conv}{side}-ms98-a-word.text (first: {first}) "
                                                      "that differs from it; this one is ignored", f"sw0{conv}")
    convs = merge_tables(files.get("conv", ()), read_conversation_table, prepared)
    callers: dict[str, dict[str, str]] = {}
    for table in files.get("caller", ()):
        for caller, fields in read_caller_tab(table, prepared).items():
            callers.setdefault(caller, fields)
    if not convs:
        table_missing(prepared, paths, "no call_con_tab.csv (or conv.tab, conv_tab.csv) under this path: callers "
                                       "and topics stay unknown")
    for conv in sorted(audio, key=int):
        rid = f"sw0{conv}" if len(conv) == 4 else f"sw{conv}"
        sides = words.get(conv, {})
        gold: list[str | None] = []
        for side in SIDES:
            gold.append(checked_gold(prepared, sides.get(side), audio[conv], rid,
                                     f"no sw{conv}{side}-ms98-a-word.text (side {side}) under the given folders",
                                     lambda path: check_word_file(path, side, rid, prepared)))
        speakers: list[str | None] = [None, None]
        tags = {"corpus": "switchboard-1", "register": "spontaneous-telephone"}
        metadata: dict[str, str] = {}
        row = table_row(prepared, convs, conv, audio[conv], rid, f"conversation {conv} has no row in the "
                                                                 f"conversation tables found: callers and topic "
                                                                 f"unknown")
        if row is not None:
            table, line, f = row
            for i, key in enumerate(("caller_a", "caller_b")):
                caller = f[key].lstrip("0") or f[key]
                if not caller:
                    continue
                speakers[i] = f"swb-{caller}"
                meta = callers.get(caller)
                if meta is None and callers:
                    prepared.error(NOT_IN_TABLE, table, f"line {line}: caller {caller} (side {SIDES[i]} of "
                                                        f"conversation {conv}) has no row in caller.tab", rid)
                prepared.speaker(speakers[i], caller=caller, corpus="switchboard-1", **(meta or {}))
            if f["topic"]:
                tags["topic"] = f["topic"]
            metadata = {"talk_day": f["talk_day"]} if f["talk_day"] else {}
            metadata["conv_table"] = f"{table}:{line}"
        two_channel_recording(prepared, audio[conv], rid, speakers=(speakers[0], speakers[1]), tags=tags,
                              metadata=metadata, track_transcripts=tuple(gold) if any(gold) else (),
                              license=options.get("license"))
    for conv in sorted(set(words) - set(audio), key=int):
        for f in words[conv].values():
            prepared.error(TRANSCRIPT_WITHOUT_AUDIO, f, f"no sw0{conv}.sph under the given folders", f"sw0{conv}")
    rows_without_audio(prepared, convs, audio, "conversation", lambda conv: f"sw0{conv}.sph",
                       lambda conv: f"sw0{conv}", order=int)
    return prepared
