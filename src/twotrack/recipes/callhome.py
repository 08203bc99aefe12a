"""CALLHOME American English (audio LDC97S42, transcripts LDC97T14).

Audio ``data/{train,devtest,evltest}/en_NNNN.sph`` (two channels, 8 kHz mu-law, shorten-compressed; the
LDC spells the evaluation folder ``evltest``); transcripts ``transcrpt/{train,devtest,evaltest}/en_NNNN.txt``
(the ``en_`` prefix is the LDC's; bare ``NNNN`` names, as some copies are renamed, are read too) with lines
``<start> <end> <A|B>[n]: text`` (``A1``/``B2`` when several people share a side's telephone; a line
without times continues the previous one). Each transcript covers 10 minutes (train, devtest) or 5
(evaltest) of a call up to 30 minutes long: the span is kept as metadata. The transcripts' ``callinfo.tbl``
(the LDC's audit: each talker's sex, age, accent) gives each side's sex when present. Speakers are the two
sides of a call; the calls have no assigned topic.
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
#: TalkBank's CA conversion of the corpus (talkbank.org/ca/access/CallHome, eng/): ``NNNN.cha`` beside the media
#: ``NNNN.wav``; read when the LDC transcript of the call is absent.
CALLHOME_PATTERNS = {"audio": r"(?:en_)?\d{4}\.(?:sph|wav|flac)", "transcript": r"(?:en_)?\d{4}\.txt",
                     "cha": r"\d{4}\.cha", "callinfo": r"callinfo\.tbl"}
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


#: A CHAT media bullet: ``\x15<start ms>_<end ms>\x15`` closing a timed utterance.
_BULLET = re.compile(r"\x15(\d+)_(\d+)\x15")
_CHAT_UTTERANCE = re.compile(r"^\*([A-Za-z0-9]+):\s*(.*)$")


def _cha_lines(path: str):
    """(line number, start, end, speaker code, text) of every timed utterance of a CHAT file: ``*A:\ttext
    \x15start_end\x15`` (milliseconds), an utterance continuing on tab-indented lines; ``@`` headers and
    ``%`` dependent tiers are skipped, as are utterances without a bullet (no time)."""
    out: list[list] = []
    current: list | None = None
    for line_no, raw in enumerate(tl.open_text(path).splitlines(), 1):
        if raw[:1] in ("\t", " ") and current is not None:
            current[1] += " " + raw.strip()
            continue
        current = None
        m = _CHAT_UTTERANCE.match(raw.strip())
        if m:
            current = [line_no, m.group(2), m.group(1)]
            out.append(current)
    timed = []
    for line_no, text, code in out:
        b = _BULLET.search(text)
        if b:
            timed.append([line_no, int(b.group(1)) / 1000, int(b.group(2)) / 1000, code,
                          _BULLET.sub(" ", text).strip()])
    return timed


def _timed(path: str):
    return _cha_lines(path) if path.lower().endswith(".cha") else _lines(path)


#: CALLHOME transcription markup (the LDC's conventions, as datasets_turntaking's CALLHOME reader quotes them)
#: that the words stage's tag rule (``[...]`` and ``<...>`` are not words) would misread: ``{laugh}`` (a sound
#: made by the talker) would be aligned as the word "laugh"; ``<Spanish hola>`` (speech in another language)
#: would lose its words; the Hub5 2000 references in CALLHOME format (LDC2002T43, quoted by lhotse's eval2000
#: recipe) write ``<contraction e_form="[we=>we]['re=>are]">we're``, which left a stray "we".
_SOUND = re.compile(r"\{([^{}]*)\}")
_OTHER_LANGUAGE = re.compile(r"<(?:[A-Za-z]+|\?)\s+([^<>=]*)>")
_CONTRACTION = re.compile(r'<contraction\s+e_form="[^"]*">')
#: Marks around spoken words that would stay in the words' spelling (the aligner keeps a transcript's spelling,
#: and exports take it): ``%um`` (non-lexeme), ``&Mary`` (proper name), ``+probably+`` (mispronounced),
#: ``**poodle-ish**`` (idiosyncratic), ``//quit it//`` (aside), ``#text#`` (simultaneous speech on the channel).
#: A mark opens a word wherever no letter or digit comes before it: ``((&Mary))`` (a guessed name) loses its ``&``
#: as ``&Mary`` does, while ``AT&T``, ``50%`` and ``2+2`` keep their signs.
_WORD_MARKS = ((re.compile(r"(?<!\w)[%&](?=\w)"), ""), (re.compile(r"(?<![\w+])\+([^+\s][^+]*?)\+(?![\w+])"), r"\1"),
               (re.compile(r"\*\*([^*]+)\*\*"), r"\1"), (re.compile(r"//([^/]*)//"), r"\1"), (re.compile("#"), ""))


def callhome_text(text: str) -> str:
    """A CALLHOME line's text in the words stage's terms: ``{sound}`` -> ``[sound]`` (a tag, not a word),
    ``<Language words>`` -> ``words`` (spoken: aligned as speech), a ``<contraction e_form=..>`` tag dropped
    (its word stays), the marks around spoken words (``_WORD_MARKS``) dropped. ``[noise]``, ``[[comment]]`` and
    ``((guess))`` are left: the aligner reads them so."""
    text = _SOUND.sub(r"[\1]", _CONTRACTION.sub("", text))
    while True:  # innermost first: <Spanish hola <English yes> amigo> is three spoken words, not one tag
        inner = _OTHER_LANGUAGE.sub(r"\1", text)
        if inner == text:
            break
        text = inner
    for mark, keep in _WORD_MARKS:
        text = mark.sub(keep, text)
    return " ".join(text.split())


#: CHAT (TalkBank's ``.cha``) main-line codes the words stage's tag rule would misread (the CHAT manual,
#: talkbank.org/manuals/CHAT.html): ``<I want> [/]`` brackets the spoken words a code after it is about (the
#: aligner dropped them as a tag; the LDC language rule above would take ``I`` for a language name); ``&=laughs`` is
#: an event, not a word; ``&-uh`` a filler and ``&+fr`` a fragment are spoken; ``xxx``/``yyy``/``www`` stand for
#: speech not transcribed, not words; ``0is`` is a word not said.
_CHAT_CODES = ((re.compile(r"<([^<>]*)>"), r" \1 "), (re.compile(r"&=(\S+)"), r"[\1]"),
               (re.compile(r"(?<!\S)&[-+](?=\w)"), ""),
               (re.compile(r"(?<!\S)(?:xxx|yyy|www)(?!\S)"), "[untranscribed]"), (re.compile(r"(?<!\S)0\S+"), ""))


def chat_text(text: str) -> str:
    """A CHAT utterance's text in the words stage's terms (``_CHAT_CODES``); ``[/]``-style codes stay tags."""
    for code, keep in _CHAT_CODES:
        text = code.sub(keep, text)
    return " ".join(text.split())


def read_callhome(path: str | Path, recording_id: str | None = None) -> list[Word]:
    """CALLHOME transcript segments -> ``Word`` on the side's track (``A``/``A1`` -> 0, ``B``/``B2`` -> 1);
    lines whose end is not after their start are left out (the release has some). A ``.cha`` file is
    TalkBank's CHAT version: its ``*A:``/``*B:`` utterances with their media bullets."""
    p = str(path)
    rid = recording_id or f"callhome-{call_number(p)}"
    words = []
    clean = chat_text if p.lower().endswith(".cha") else callhome_text
    for line_no, start, end, label, text in _timed(p):
        side = label[0].upper() if re.fullmatch(r"[A-Za-z]\d*", label) else label
        if side not in SIDES:  # a side letter with an optional talker number: A, A1, B2 (not a name like BOB)
            raise InputError(p, f"line {line_no}: unknown channel {label!r} (expected A or B)")
        if end > start:
            words.append(tl.word(p, line_no, rid, SIDES.index(side), start, end, clean(text), label.upper()))
    return tl.by_time(words)


#: ``#Starting at 383 Ending at 983``: the stretch of the call the transcript covers (the header's words).
_SPAN = re.compile(r"^#\s*Starting at\s+(\d+(?:\.\d+)?)\s+Ending at\s+(\d+(?:\.\d+)?)", re.IGNORECASE)
#: A callinfo.tbl talker line: ``en_4065 taA sex=female age=adult ... accent="..."`` (``taB1``: a second
#: talker on side B).
_TALKER = re.compile(r"^(?:[a-z]{2}_)?(\d{4})\s+ta([A-Za-z])(\d*)\b(.*)$")
_FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
_SEX = {"f": "female", "female": "female", "m": "male", "male": "male"}


def transcribed_span(path: str) -> tuple[float, float] | None:
    """The stretch (s) a transcript covers: the ``#Starting at .. Ending at ..`` header's, widened to every timed
    line (else its first start to its last end). The LDC transcribed 10 minutes of each train/devtest call and 5
    of each evaltest call (of calls up to 30 minutes): outside the span there is speech but no gold. The header
    is not a bound on the lines: a CALLHOME-format transcript lhotse's eval2000 recipe quotes (``#Starting at
    121``) opens with a line at 116.17 s, and LDC97T14's en_6467 (``#Starting at 383``) marks ``# 327 393 #BEGIN``;
    a transcribed line left outside the span would be recognised again over its aligned words and not scored."""
    try:
        text = tl.open_text(path)
    except InputError:
        return None
    header = None
    for _, line in tl.lines(text):
        m = _SPAN.match(line)
        if m:
            header = float(m.group(1)), float(m.group(2))
            break
    try:
        # a line of no length is not read as gold (``read_callhome``): it widens nothing
        times = [(start, end) for _, start, end, _, _ in _timed(path) if end > start]
    except InputError:
        times = []
    if header is not None:
        times.append(header)
    return (min(s for s, _ in times), max(e for _, e in times)) if times else None


def read_callinfo(path: str, prepared) -> dict[str, dict[str, dict[str, str]]]:
    """``callinfo.tbl`` (the LDC's audit of each call, as the CALLHOME German/Mandarin/Japanese/Spanish
    docs' callinfo.txt describe it): call -> side -> {sex, age, accent} of its first talker (``taA``), and
    ``talkers`` when more people spoke on that side (``taA1``, ...). Other lines (``siA`` channel quality,
    totals) are not read; a talker line without fields is an ``unreadable table`` error."""
    from .base import BAD_TABLE

    try:
        text = tl.open_text(path)
    except InputError as exc:
        prepared.error(BAD_TABLE, path, exc.problem)
        return {}
    out: dict[str, dict[str, dict[str, str]]] = {}
    for line_no, line in tl.lines(text):
        m = _TALKER.match(line)
        if not m:
            continue
        call, side, extra, rest = m.group(1), m.group(2).upper(), m.group(3), m.group(4)
        fields = {k.lower(): v.strip('"') for k, v in _FIELD.findall(rest)}
        if not fields:
            prepared.error(BAD_TABLE, path, f"line {line_no}: talker line without key=value fields: {line[:60]!r}")
            continue
        meta = out.setdefault(call, {}).setdefault(side, {})
        if extra:
            meta["talkers"] = str(max(int(meta.get("talkers", "1")), int(extra) + 1))
            continue
        sex = fields.get("sex", "").lower()
        meta.update({k: v for k, v in (("sex", _SEX.get(sex, sex)), ("age", fields.get("age", "")),
                                       ("accent", fields.get("accent", ""))) if v})
    return out


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
    from .base import (NOT_IN_TABLE, Prepared, by_key, checked_gold, transcripts_without_audio,
                       two_channel_recording)

    prepared = Prepared()
    files = prepared.index(paths, CALLHOME_PATTERNS, "en_NNNN.sph, en_NNNN.txt, NNNN.cha, callinfo.tbl")
    audio = by_key(files.get("audio", ()), call_number, "duplicate audio", prepared)
    trans = by_key(files.get("transcript", ()), call_number, "duplicate transcript", prepared)
    for call, cha in by_key(files.get("cha", ()), call_number, "duplicate transcript", prepared).items():
        trans.setdefault(call, cha)  # the LDC's transcript first
    talkers: dict[str, dict[str, dict[str, str]]] = {}
    for table in files.get("callinfo", ()):
        for call, sides in read_callinfo(table, prepared).items():
            talkers.setdefault(call, sides)
    for call in sorted(audio):
        rid = f"callhome-{call}"
        transcript = checked_gold(prepared, trans.get(call), audio[call], rid, f"no en_{call}.txt (or {call}.cha) under the given "
                                                                            "folders",
                                  lambda path: check_callhome_transcript(path, rid, prepared))
        split = Path(audio[call]).parent.name.lower().replace("evltest", "evaltest")
        metadata = {"split": split} if split in ("train", "devtest", "evaltest") else {}
        if transcript:
            metadata["transcript_format"] = "callhome"
            span = transcribed_span(transcript)
            if span:
                metadata["transcribed_span_s"] = f"{span[0]:g}-{span[1]:g}"
        if talkers and call not in talkers:
            prepared.error(NOT_IN_TABLE, audio[call], f"call {call} has no talker lines in callinfo.tbl: the sides' "
                                                      "sex unknown", rid)
        for side in ("A", "B"):
            prepared.speaker(f"{rid}-{side}", corpus="callhome-english", side=side,
                             **talkers.get(call, {}).get(side, {}))
        two_channel_recording(
            prepared, audio[call], rid, speakers=(f"{rid}-A", f"{rid}-B"),
            tags={"corpus": "callhome-english", "register": "spontaneous-telephone"}, metadata=metadata,
            transcript=transcript, license=options.get("license"))
    transcripts_without_audio(prepared, trans, audio, lambda call: f"en_{call}.sph", lambda call: f"callhome-{call}")
    return prepared
