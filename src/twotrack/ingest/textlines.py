"""Shared pieces of the annotation readers (``ingest.annotations`` and the corpus ``recipes``): open a
text file whatever its encoding, read a number or a channel strictly, build a checked ``Word``. Every
problem is an ``InputError`` naming the file and the line."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from ..errors import InputError, file_access
from ..model import Word, track_index


#: An annotation file is read whole (about 2.5 times its size in memory, decoded): larger ones, or a gzip that
#: unpacks beyond this (a few kilobytes can claim gigabytes), are refused instead of exhausting memory.
MAX_TEXT_BYTES = 1 << 30


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def open_text(path: str | Path) -> str:
    """A text file's content: gzip undone, UTF-16/UTF-8 BOMs honoured, latin-1 when not UTF-8."""
    p = str(path)
    with file_access(p, "annotation file"), open(p, "rb") as fh:
        raw = fh.read(MAX_TEXT_BYTES + 1)
    if len(raw) > MAX_TEXT_BYTES:
        raise InputError(p, f"annotation file larger than {_size(MAX_TEXT_BYTES)}: not read (it is held in memory "
                            "whole); split it, e.g. one transcript per recording")
    if raw[:2] == b"\x1f\x8b":
        try:  # read through a bounded window: a small gzip can unpack to many gigabytes
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                raw = gz.read(MAX_TEXT_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise InputError(p, f"corrupt gzip: {exc}") from None
        if len(raw) > MAX_TEXT_BYTES:
            raise InputError(p, f"annotation file unpacks to more than {_size(MAX_TEXT_BYTES)}: not read (it is held "
                                "in memory whole); split it, e.g. one transcript per recording")
    for bom, codec in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig")):
        if raw.startswith(bom):
            return raw.decode(codec)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # old LDC transcripts; every byte maps to a character


def number(path: str, line_no: int, text: str, what: str) -> float:
    """``text`` as a finite float, or an ``InputError`` naming the file, the line and ``what``."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(path, f"line {line_no}: {what} {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(path, f"line {line_no}: {what} {text!r} is not a finite number")
    return value


def word(path: str, line_no: int, rid: str, track: int, start: float, end: float, text: str,
          speaker: str | None = None) -> Word:
    """A ``Word`` whose times are checked (non-negative start, end not before start)."""
    if end < start:
        raise InputError(path, f"line {line_no}: ends ({end}) before it starts ({start})")
    if start < 0:
        raise InputError(path, f"line {line_no}: negative start time {start}")
    return Word(recording_id=rid, track=track, start=start, end=end, text=text, speaker=speaker)


def track(path: str, line_no: int, name: str) -> int:
    """Track index of a channel name (``A``/``B`` or ``1``/``2``)."""
    try:
        return track_index(name)
    except ValueError:
        raise InputError(path, f"line {line_no}: unknown channel {name!r} (expected A/B or 1/2)") from None


def by_time(words: list[Word]) -> list[Word]:
    """Words in the order every reader returns: recording, track, start, end."""
    return sorted(words, key=lambda w: (w.recording_id, w.track, w.start, w.end))


def lines(text: str):
    """(line number from 1, stripped line) of every non-blank line."""
    for line_no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped:
            yield line_no, stripped
