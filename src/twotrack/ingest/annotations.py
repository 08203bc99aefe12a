"""Gold timings and transcripts -> ``model.Word`` (one timed token or segment on one track).

Readers here: CTM, RTTM, Praat TextGrid (long and short text format), Lhotse supervisions JSONL(.gz);
the corpus-specific ones (Fisher transcripts, Switchboard ISIP ms98 word alignments) live in
``recipes``. Each returns ``list[Word]`` sorted by (recording, track, start); ``read_gold`` dispatches
on the file (every format above) and groups by recording id. A line that cannot be read is an
``InputError`` naming the file and the line: gold data is trusted to score everything downstream, so
it is read strictly rather than skipped silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from .. import jsonfile
from ..errors import InputError
from ..model import Segment, Word
from ..recipes.ami import read_ami_words
from ..recipes.callhome import read_callhome
from ..recipes.candor import read_candor_turns, read_candor_words
from ..recipes.fisher import FISHER_LINE, read_fisher
from ..recipes.switchboard import SWB_ID, read_swb
from . import textlines as tl


# --------------------------------------------------------------------------------------------
# CTM and RTTM (NIST)
# --------------------------------------------------------------------------------------------


def read_ctm(path: str | Path) -> list[Word]:
    """``<recording> <channel> <start> <duration> <word> [<confidence>]`` per line; ``;;`` comments.

    The channel is ``A``/``B`` or ``1``/``2`` (track 0/1); the recording id is the first column.
    """
    p = str(path)
    words = []
    for line_no, line in tl.lines(tl.open_text(p)):
        if line.startswith(";;"):
            continue
        parts = line.split()
        if len(parts) < 5:
            raise InputError(p, f"line {line_no}: a CTM line needs 5 fields (id chan start dur word), got {len(parts)}")
        start = tl.number(p, line_no, parts[2], "start")
        dur = tl.number(p, line_no, parts[3], "duration")
        if dur < 0:
            raise InputError(p, f"line {line_no}: negative duration {dur}")
        words.append(tl.word(p, line_no, parts[0], tl.track(p, line_no, parts[1]), start, start + dur, parts[4]))
    return tl.by_time(words)


def read_rttm(path: str | Path, speaker_tracks: Mapping[str, int] | None = None) -> list[Word]:
    """``SPEAKER <file> <chan> <start> <dur> <NA> <NA> <speaker> <NA> <NA>`` lines (others ignored).

    RTTM says who speaks, not on which track: speakers map to tracks by ``speaker_tracks`` when given,
    else by order of first appearance in each file (first speaker -> track 0). ``Word.text`` is empty,
    ``Word.speaker`` is the label.
    """
    p = str(path)
    words = []
    order: dict[str, dict[str, int]] = {}
    for line_no, line in tl.lines(tl.open_text(p)):
        if line.startswith(("#", ";;")):
            continue
        parts = line.split()
        if parts[0] != "SPEAKER":
            continue
        if len(parts) < 8:
            raise InputError(p, f"line {line_no}: a SPEAKER line needs at least 8 fields, got {len(parts)}")
        rid, speaker = parts[1], parts[7]
        start = tl.number(p, line_no, parts[3], "start")
        dur = tl.number(p, line_no, parts[4], "duration")
        if dur < 0:
            raise InputError(p, f"line {line_no}: negative duration {dur}")
        if speaker_tracks is not None:
            if speaker not in speaker_tracks:
                raise InputError(p, f"line {line_no}: speaker {speaker!r} is not in the speaker-to-track mapping")
            track = int(speaker_tracks[speaker])
        else:
            seen = order.setdefault(rid, {})
            track = seen.setdefault(speaker, len(seen))
        words.append(tl.word(p, line_no, rid, track, start, start + dur, "", speaker))
    return tl.by_time(words)


# --------------------------------------------------------------------------------------------
# Praat TextGrid
# --------------------------------------------------------------------------------------------

# Values in both text formats: quoted strings ("" escapes a quote), numbers, <exists>/<absent> flags.
# Long-format labels (`xmin =`, `intervals [3]:`) are words and bracketed indices: dropped.
_TG_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(<exists>|<absent>)|(\[\d*\])|([A-Za-z_][\w?]*)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)')


def _textgrid_values(text: str) -> list:
    values: list = []
    for m in _TG_TOKEN.finditer(text):
        string, flag, _index, _label, number = m.groups()
        if string is not None:
            values.append(string.replace('""', '"'))
        elif flag is not None:
            values.append(flag)
        elif number is not None:
            values.append(float(number))
    return values


def read_textgrid(path: str | Path, recording_id: str | None = None, tiers: list[str] | None = None) -> list[Word]:
    """Interval tiers of a Praat TextGrid (long or short text format, UTF-8 or UTF-16).

    One interval tier per track, in file order (or in the order of ``tiers`` when given, by name);
    point tiers are ignored; empty intervals are skipped. The recording id is the file stem unless
    given; ``Word.speaker`` is the tier name.
    """
    p = str(path)
    rid = recording_id or Path(p).stem
    vals = _textgrid_values(tl.open_text(p))
    pos = 0

    def take(kind: type, what: str):
        nonlocal pos
        if pos >= len(vals):
            raise InputError(p, f"TextGrid ends early (expected {what})")
        value = vals[pos]
        if not isinstance(value, kind):
            raise InputError(p, f"malformed TextGrid: expected {what}, found {value!r}")
        pos += 1
        return value

    if take(str, "'ooTextFile'") != "ooTextFile" or take(str, "'TextGrid'") != "TextGrid":
        raise InputError(p, "not a Praat TextGrid (no 'ooTextFile' / 'TextGrid' header)")
    take(float, "xmin")
    take(float, "xmax")
    if take(str, "<exists>") != "<exists>":
        return []
    n_tiers = int(take(float, "tier count"))
    found: list[tuple[str, list[tuple[float, float, str]]]] = []
    for _ in range(n_tiers):
        kind = take(str, "tier class")
        name = take(str, "tier name")
        take(float, "tier xmin")
        take(float, "tier xmax")
        n = int(take(float, "item count"))
        if kind == "IntervalTier":
            items = []
            for _ in range(n):
                xmin, xmax, label = take(float, "interval xmin"), take(float, "interval xmax"), take(str, "interval text")
                items.append((xmin, xmax, label))
            found.append((name, items))
        elif kind == "TextTier":
            for _ in range(n):
                take(float, "point time")
                take(str, "point mark")
        else:
            raise InputError(p, f"malformed TextGrid: unknown tier class {kind!r}")
    if tiers is not None:
        by_name = dict(found)
        missing = [t for t in tiers if t not in by_name]
        if missing:
            raise InputError(p, f"no interval tier named {', '.join(map(repr, missing))}")
        found = [(t, by_name[t]) for t in tiers]
    words = []
    for track, (name, items) in enumerate(found):
        for xmin, xmax, label in items:
            text = " ".join(label.split())
            if text:
                words.append(tl.word(p, 0, rid, track, xmin, xmax, text, name or None))
    return tl.by_time(words)


# --------------------------------------------------------------------------------------------
# Lhotse
# --------------------------------------------------------------------------------------------


def _alignment_items(p: str, line_no: int, items) -> list[tuple[str, float, float]]:
    """Lhotse ``AlignmentItem``: a list ``[symbol, start, duration, score?]`` (>= 1.8) or a dict (older).
    Its start is relative to the recording, not the supervision."""
    out = []
    for item in items:
        if isinstance(item, dict):
            symbol, start, dur = item.get("symbol"), item.get("start"), item.get("duration")
        elif isinstance(item, (list, tuple)) and len(item) >= 3:
            symbol, start, dur = item[0], item[1], item[2]
        else:
            raise InputError(p, f"line {line_no}: unreadable alignment item {item!r}")
        if symbol is None or start is None or dur is None:
            raise InputError(p, f"line {line_no}: alignment item {item!r} lacks symbol/start/duration")
        out.append((str(symbol), float(start), float(dur)))
    return out


def read_lhotse_supervisions(path: str | Path) -> list[Word]:
    """Lhotse ``SupervisionSet`` JSONL (optionally gzipped): one segment per line, or its words when the
    supervision carries ``alignment.word``. ``channel`` is the track (0 when absent)."""
    p = str(path)
    words = []
    for line_no, line in tl.lines(tl.open_text(p)):
        # numbers not strict: a NaN start or duration is refused by tl.number below, one in a custom field costs nothing
        sup = jsonfile.loads(line, p, line_no, strict_numbers=False)  # a JSONFileError names the file and line
        if not isinstance(sup, dict) or "recording_id" not in sup or "start" not in sup or "duration" not in sup:
            raise InputError(p, f"line {line_no}: a supervision needs recording_id, start and duration")
        channel = sup.get("channel", sup.get("channel_id", 0))
        if isinstance(channel, list):
            if len(channel) != 1:
                raise InputError(p, f"line {line_no}: supervision {sup.get('id')!r} spans channels {channel}; "
                                    "a track needs exactly one")
            channel = channel[0]
        try:
            track = int(channel if channel is not None else 0)
        except (TypeError, ValueError):
            raise InputError(p, f"line {line_no}: channel {channel!r} is not a number") from None
        rid, speaker = str(sup["recording_id"]), sup.get("speaker")
        start = tl.number(p, line_no, str(sup["start"]), "start")
        dur = tl.number(p, line_no, str(sup["duration"]), "duration")
        aligned = (sup.get("alignment") or {}).get("word")
        if aligned:
            for symbol, w_start, w_dur in _alignment_items(p, line_no, aligned):
                words.append(tl.word(p, line_no, rid, track, w_start, w_start + w_dur, symbol, speaker))
        else:
            words.append(tl.word(p, line_no, rid, track, start, start + dur, sup.get("text") or "", speaker))
    return tl.by_time(words)


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


def _first_content_line(text: str, comment: tuple[str, ...] = ("#", ";;")) -> str:
    return next((line for _, line in tl.lines(text) if not line.startswith(comment)), "")


def detect_format(path: str | Path) -> str:
    """``ctm``, ``rttm``, ``textgrid``, ``fisher``, ``swb`` or ``lhotse`` from the name, else the content."""
    p = str(path)
    name = Path(p).name.lower()
    for ext, fmt in ((".ctm", "ctm"), (".rttm", "rttm"), (".textgrid", "textgrid"), (".words.xml", "ami"),
                     (".jsonl", "lhotse"), (".jsonl.gz", "lhotse")):
        if name.endswith(ext):
            return fmt
    text = tl.open_text(p)
    if not text.strip():
        raise InputError(p, "empty annotation file (no lines)")
    if "\x00" in text[:4096]:  # open_text reads any bytes as latin-1: a NUL says they were never text
        raise InputError(p, "not a text file (binary data, or UTF-16 without a byte-order mark); expected CTM, "
                              "RTTM, TextGrid, Fisher, Switchboard or Lhotse")
    first = _first_content_line(text)
    if first.startswith('File type = "ooTextFile"') or first.startswith('"ooTextFile"'):
        return "textgrid"
    if first.startswith("{"):
        return "lhotse"
    parts = first.split()
    if parts and parts[0] == "SPEAKER":
        return "rttm"
    if FISHER_LINE.match(first):
        return "fisher"
    if parts and SWB_ID.match(parts[0]) and len(parts) >= 4:
        return "swb"
    if len(parts) >= 5:
        try:
            float(parts[2]), float(parts[3])
            return "ctm"
        except ValueError:
            pass
    raise InputError(p, "unknown annotation format (expected CTM, RTTM, TextGrid, Fisher, Switchboard or Lhotse)")


READERS: dict[str, Callable[[str | Path], list[Word]]] = {
    "ctm": read_ctm, "rttm": read_rttm, "textgrid": read_textgrid, "fisher": read_fisher, "swb": read_swb,
    "lhotse": read_lhotse_supervisions, "callhome": read_callhome, "ami": read_ami_words,
    "candor-words": read_candor_words, "candor-turns": read_candor_turns,
}


def read_words(path: str | Path, fmt: str | None = None) -> list[Word]:
    """Every Word of one annotation file (format detected when ``fmt`` is None)."""
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise InputError(path, f"unknown annotation format {fmt!r} (known: {', '.join(READERS)})")
    return READERS[fmt](path)


#: File endings ``read_gold`` takes from a folder (other files there are left alone).
GOLD_EXTENSIONS = (".ctm", ".rttm", ".textgrid", ".jsonl", ".jsonl.gz")


def read_gold(path: str | Path, fmt: str | None = None) -> dict[str, list[Word]]:
    """Words grouped by recording id (CTM first column, RTTM file id, TextGrid / Fisher file stem,
    Switchboard call id, Lhotse recording_id), from one annotation file or from every file with a
    ``GOLD_EXTENSIONS`` ending in a folder (recursively, hidden entries skipped)."""
    p = Path(path)
    if p.is_dir():
        sources = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(GOLD_EXTENSIONS)
                         and not any(part.startswith(".") for part in f.relative_to(p).parts))
    else:
        sources = [p]
    out: dict[str, list[Word]] = {}
    for source in sources:
        for word in read_words(source, fmt):
            out.setdefault(word.recording_id, []).append(word)
    if len(sources) > 1:
        out = {rid: tl.by_time(words) for rid, words in out.items()}
    return out


# --------------------------------------------------------------------------------------------
# The gold a recording carries (manifest ``transcript`` or a recipe's per-track files)
# --------------------------------------------------------------------------------------------


def gold_id(rec, by_id: Mapping[str, list[Word]]) -> str | None:
    """Which recording of a gold file is ``rec``: its id, the id's last path component, a track file's
    stem, or the only one (None when none fits). ``recording_gold`` and the exports' ``GoldWords`` both
    pick a recording's words with it."""
    rid = rec.recording_id
    candidates = [rid, rid.replace("\\", "/").rsplit("/", 1)[-1]]
    for t in rec.tracks:
        name = Path(t.path).name
        candidates += [name.split(".", 1)[0], Path(t.path).stem]
    for c in candidates:
        if c in by_id:
            return c
    return next(iter(by_id)) if len(by_id) == 1 else None


def has_gold(rec) -> bool:
    """Whether a recording names gold (a transcript, or per-track transcripts)."""
    return bool(rec.transcript) or any(getattr(rec, "track_transcripts", ()) or ())


#: Recording metadata naming the stretch its transcript covers, ``"start-end"`` in seconds: CALLHOME's
#: transcripts cover 10 (evaltest: 5) minutes of calls up to 30 minutes long (``recipes.callhome``).
TRANSCRIBED_SPAN_KEY = "transcribed_span_s"


def transcribed_span(metadata: Mapping[str, str] | None) -> Segment | None:
    """The stretch a recording's transcript covers, from its ``TRANSCRIBED_SPAN_KEY`` metadata (``"383-983"``);
    None when it names none or the value is not ``start-end`` with end after start (then the transcript is
    taken to cover the whole recording)."""
    text = str((metadata or {}).get(TRANSCRIBED_SPAN_KEY, "")).strip()
    a, sep, b = text.partition("-")
    try:
        start, end = float(a), float(b)
    except ValueError:
        return None
    ok = sep and math.isfinite(start) and math.isfinite(end) and end > start >= 0
    return Segment(start, end) if ok else None


def recording_gold(rec) -> list[Word]:
    """The gold words of one ``Recording``, keyed to its id: each per-track transcript's words on that
    track (``track_transcripts[i]`` -> track i), else the words of ``transcript`` that belong to it.
    Empty when it names none; ``InputError`` when a named file cannot be read."""
    from dataclasses import replace

    rid = rec.recording_id
    per_track = getattr(rec, "track_transcripts", ()) or ()
    if any(per_track):
        words = []
        for track, path in enumerate(per_track):
            if path:
                words += [replace(w, recording_id=rid, track=track) for w in read_words(path)]
        return tl.by_time(words)
    if not rec.transcript:
        return []
    by_id = read_gold(rec.transcript, (rec.metadata or {}).get("transcript_format") or None)
    key = gold_id(rec, by_id)
    if key is None:
        raise InputError(rec.transcript, f"no words for recording {rid!r} (ids in the file: "
                                         f"{', '.join(sorted(by_id)[:5])})")
    return [w if w.recording_id == rid else replace(w, recording_id=rid) for w in by_id[key]]


def utterance_level(words_by_track: Mapping[int, list[Word]]) -> bool:
    """True when the timed entries are utterances, not words (some entry holds several words: Fisher
    lines, Lhotse supervisions without an alignment, TextGrid phrase intervals)."""
    return any(len(w.text.split()) > 1 for ws in words_by_track.values() for w in ws)
