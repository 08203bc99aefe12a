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
_HEADER = re.compile(r"^#\s*(fe_\d\d_\d{5})\.sph\b", re.IGNORECASE)


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


# --------------------------------------------------------------------------------------------
# The recipe: LDC2004S13/LDC2005S13 audio + LDC2004T19/LDC2005T19 transcripts and call tables
# --------------------------------------------------------------------------------------------

FISHER_PATTERNS = {
    # .sph as published; some copies name the same SPHERE files .wav (the ingest reads SPHERE by its header,
    # whatever the name) or hold them converted to .wav/.flac.
    "audio": r"fe_03_\d{5}\.(?:sph|wav|flac)",
    "transcript": r"fe_03_\d{5}\.txt",
    "calldata": r".*_calldata\.tbl",
    "pindata": r"fe_03_pindata\.tbl",
}
#: The sides of a call as the transcripts name them (channel 0, channel 1).
SIDES = ("A", "B")
_SEX = {"m": "male", "f": "female"}
#: How far (s) one side's utterance may start inside an earlier utterance of the same side before the
#: transcript is taken as mis-timed. One telephone side is one speaker: their utterances follow each other,
#: so a start far inside an earlier one is a typing error in the times (lhotse's fisher_english.py repairs
#: one such line of fe_03_11487, written 31.09 for 231.09); small overlaps from segmentation are tolerated.
SAME_SIDE_OVERLAP_S = 1.0


def _call_id(path: str) -> str:
    return Path(path).stem.split("_")[-1]  # fe_03_00001.sph -> 00001


def speaker_id(pin: str, sex: str) -> str | None:
    """``fisher-<PIN>-<m|f>``: a PIN with its side's sex. Some participants shared a PIN, so one PIN appears
    as male in some calls and female in others (kaldi egs/sre08/v1/local/make_fisher.pl says so and keeps a
    male and a female version of each PIN); the sex splits those apart. ``fisher-<PIN>`` when the sex is not
    m or f; None without a PIN."""
    if not pin:
        return None
    return f"fisher-{pin}-{sex}" if sex in _SEX else f"fisher-{pin}"


def _column(header: list[str], name: str, fallback: int) -> int:
    upper = [h.upper() for h in header]
    return upper.index(name) if name in upper else fallback


def read_calldata(path: str, prepared) -> dict[str, tuple[int, dict[str, str]]]:
    """``*_calldata.tbl`` (CSV; header ``CALL_ID,DATE_TIME,TOPICID,SIG_GRADE,CNV_GRADE,APIN,ASX.DL,
    APHNUM,APHSET,APHTYP,BPIN,BSX.DL,BPHNUM,BPHSET,BPHTYP``): call id -> (line, fields by name)."""
    from .base import BAD_TABLE, read_csv_rows

    rows = read_csv_rows(path, prepared, header=False)
    if not rows:
        return {}
    header = rows[0][1] if rows[0][1] and rows[0][1][0].upper() == "CALL_ID" else []
    names = ("CALL_ID", "DATE_TIME", "TOPICID", "SIG_GRADE", "CNV_GRADE", "APIN", "ASX.DL", "APHNUM", "APHSET",
             "APHTYP", "BPIN", "BSX.DL", "BPHNUM", "BPHSET", "BPHTYP")
    cols = {n: _column(header, n, i) for i, n in enumerate(names)}
    out = {}
    for line, cells in rows[1:] if header else rows:
        if len(cells) <= max(cols["BSX.DL"], cols["BPIN"]):
            prepared.error(BAD_TABLE, path, f"line {line}: {len(cells)} cells, expected {len(names)}")
            continue
        fields = {n: cells[i] for n, i in cols.items() if i < len(cells)}
        out[fields["CALL_ID"].zfill(5)] = (line, fields)
    return out


#: ``fe_03_pindata.tbl`` columns after the PIN, by position (the LDC's fe_03_readme.txt: "speaker-ID, demographic
#: information as provided by the speaker, and a list of call-sides"; its example row
#: ``2637,F,54,16,English,WA,2,06972_A/m.a;08175_A/f.a`` is PIN, sex, age, years of education, native language,
#: where raised, number of calls, calls): the speaker metadata each becomes. ``NA`` is an unanswered field.
PINDATA_FIELDS = (("sex", 1), ("age", 2), ("education_years", 3), ("native_language", 4), ("raised_in", 5))


def read_pindata(path: str, prepared) -> dict[str, tuple[int, dict[str, str]]]:
    """``fe_03_pindata.tbl`` (CSV, a header row naming ``PIN`` first): ``<PIN>/<sex>`` (PIN without leading zeros,
    sex ``male``/``female`` or empty) -> (line, the enrolment's answers by ``PINDATA_FIELDS``, ``NA`` left out). A
    PIN enrolled once per sex is two people, each read; a PIN enrolled again with the same sex and other answers
    is an ``unreadable table`` error naming both lines (the first is kept). A row that is not a PIN with at least
    six fields is an ``unreadable table`` error; the other rows are read."""
    from .base import BAD_TABLE, read_csv_rows

    out: dict[str, tuple[int, dict[str, str]]] = {}
    for line, cells in read_csv_rows(path, prepared, header=False):
        if cells[0].upper() == "PIN":
            continue
        if len(cells) < 6 or not cells[0].isdigit():
            prepared.error(BAD_TABLE, path, f"line {line}: expected 'PIN, sex, age, years of education, native "
                                            f"language, where raised, ...', got {','.join(cells)[:60]!r}")
            continue
        fields = {key: cells[i] for key, i in PINDATA_FIELDS if cells[i] and cells[i].upper() != "NA"}
        if "sex" in fields:
            fields["sex"] = _SEX.get(fields["sex"][:1].lower(), fields["sex"])
        key = f"{cells[0].lstrip('0') or '0'}/{fields.get('sex', '')}"
        first = out.get(key)
        if first is None:
            out[key] = (line, fields)
        elif first[1] != fields:
            prepared.error(BAD_TABLE, path, f"line {line}: PIN {cells[0]} enrolled again as {fields.get('sex', '?')} "
                                            f"with other answers (first: line {first[0]}); this row is ignored")
    return out


def enrolment(pins: dict[str, tuple[str, int, dict[str, str]]], pin: str, sex: str) -> dict[str, str]:
    """What a PIN's holder gave at enrolment (age, years of education, native language, where raised), for a call
    side whose audited sex is the enrolled one. The LDC's readme warns that whoever answered a dial-out call
    need not be the PIN's holder (its example: PIN 2637, a woman of 54, audited male in one call): a side audited
    as the other sex is another person, and gets none of it (unless that person enrolled on the PIN too)."""
    row = pins.get(f"{pin.lstrip('0') or '0'}/{_SEX.get(sex, '')}") if sex in _SEX else None
    if row is None:
        return {}
    return {k: v for k, v in row[2].items() if k != "sex"}


def check_fisher_transcript(path: str, recording_id: str, prepared) -> bool:
    """Whether a transcript can serve as gold: every line ``<start> <end> <A|B>: text``; the first
    problem is a named error (``unknown channel`` for a side other than A/B)."""
    from .base import BAD_TRANSCRIPT, UNKNOWN_CHANNEL, read_transcript_text, times_in_order

    text = read_transcript_text(path, recording_id, prepared)
    if text is None:
        return False
    latest: dict[str, tuple[float, int]] = {}  # side -> (latest end so far, its line)
    for line_no, line in tl.lines(text):
        if line.startswith("#"):
            # the first line names the call's audio (# fe_03_00001.sph; kaldi's fisher_data_prep.sh insists
            # it matches the file's name): a transcript filed under another call's name is not this call's gold
            named = _HEADER.match(line)
            if named and named.group(1).lower() != recording_id.lower():
                prepared.error(BAD_TRANSCRIPT, path, f"line {line_no}: the header names {named.group(1)}, not "
                                                     f"{recording_id}; no gold for this call", recording_id)
                return False
            continue
        m = FISHER_LINE.match(line)
        if not m:
            prepared.error(BAD_TRANSCRIPT, path, f"line {line_no}: expected '<start> <end> <A|B>: text', "
                                                 f"got {line[:60]!r}; no gold for this call", recording_id)
            return False
        if m.group(3).upper() not in SIDES:
            prepared.error(UNKNOWN_CHANNEL, path, f"line {line_no}: side {m.group(3)!r} (a call has sides A and "
                                                  f"B); no gold for this call", recording_id)
            return False
        if not times_in_order(prepared, path, line_no, m.group(1), m.group(2), recording_id, "call"):
            return False
        side, start, end = m.group(3).upper(), float(m.group(1)), float(m.group(2))
        before, before_line = latest.get(side, (0.0, 0))
        if start < before - SAME_SIDE_OVERLAP_S:
            prepared.error(BAD_TRANSCRIPT, path, f"line {line_no}: side {side}'s utterance starts at {start:g} s, "
                                                 f"{before - start:.2f} s inside its line {before_line} (which ends at "
                                                 f"{before:g} s): one side's utterances cannot overlap, a time is "
                                                 f"mistyped; no gold for this call", recording_id)
            return False
        if end >= before:
            latest[side] = (end, line_no)
    return True


def prepare_fisher(paths, options):
    """Fisher English Parts 1 and 2 under ``paths``: every ``fe_03_NNNNN.sph`` becomes a two-track
    recording ``fe_03_NNNNN`` with its transcript ``fe_03_NNNNN.txt`` as gold (utterance times: IPU-level
    gold) and, from the ``*_calldata.tbl`` row of its call, the topic and each side's PIN and sex (speaker
    ``fisher-<PIN>-<m|f>``) with dialect; ``fe_03_pindata.tbl`` adds the enrolment's age, education, native
    language and home state to a side audited as the PIN's enrolled sex."""
    from .base import (Prepared, by_key, checked_gold, merge_tables, table_missing,
                       rows_without_audio, table_row, transcripts_without_audio, two_channel_recording)

    prepared = Prepared()
    files = prepared.index(paths, FISHER_PATTERNS, "fe_03_NNNNN.sph, fe_03_NNNNN.txt, *_calldata.tbl")
    audio = by_key(files.get("audio", ()), _call_id, "duplicate audio", prepared)
    trans = by_key(files.get("transcript", ()), _call_id, "duplicate transcript", prepared)
    calls = merge_tables(files.get("calldata", ()), read_calldata, prepared)
    enrolled = merge_tables(files.get("pindata", ()), read_pindata, prepared)
    if not files.get("calldata"):
        table_missing(prepared, paths, "no *_calldata.tbl under this path: speakers, sex, dialect and topics stay "
                                       "unknown")
    for call in sorted(audio):
        rid = f"fe_03_{call}"
        transcript = checked_gold(prepared, trans.get(call), audio[call], rid, f"no {rid}.txt under the given folders",
                                  lambda path: check_fisher_transcript(path, rid, prepared))
        speakers: tuple[str | None, str | None] = (None, None)
        tags = {"corpus": "fisher-english", "register": "spontaneous-telephone"}
        metadata: dict[str, str] = {}
        row = table_row(prepared, calls, call, audio[call], rid, f"call {call} has no row in the *_calldata.tbl "
                                                                 f"tables found: speakers and topic unknown")
        if row is not None:
            table, line, f = row
            pins = []
            for side in SIDES:
                pin = f.get(f"{side}PIN", "").strip()
                sex, _, dialect = f.get(f"{side}SX.DL", "").strip().lower().partition(".")
                spk = speaker_id(pin, sex)
                pins.append(spk)
                if spk:
                    prepared.speaker(spk, sex=_SEX.get(sex, sex), dialect=dialect, pin=pin, corpus="fisher-english",
                                     **enrolment(enrolled, pin, sex))
            speakers = (pins[0], pins[1])
            if f.get("TOPICID"):
                tags["topic"] = f["TOPICID"]
            metadata = {k.lower(): v for k, v in f.items() if k in ("DATE_TIME", "SIG_GRADE", "CNV_GRADE") and v}
            metadata["call_table"] = f"{table}:{line}"
        two_channel_recording(prepared, audio[call], rid, speakers=speakers, tags=tags, metadata=metadata,
                              transcript=transcript, license=options.get("license"))
    transcripts_without_audio(prepared, trans, audio, lambda call: f"fe_03_{call}.sph", lambda call: f"fe_03_{call}")
    rows_without_audio(prepared, calls, audio, "call", lambda call: f"fe_03_{call}.sph", lambda call: f"fe_03_{call}")
    return prepared
