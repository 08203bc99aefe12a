"""Read a JSON document, or one line of a JSON Lines file, that came from outside twotrack.

Python's decoder trips on, or lets through, what a careful reader should not: a document nested past its
recursion depth escapes as a ``RecursionError``; a number of more than 4300 digits fails with advice about
``sys.set_int_max_str_digits``; a key given twice keeps its last value silently (a reader and a hash can
then see different objects); a UTF-8 byte-order mark (Windows editors write one) fails the whole file.
``loads`` turns each into one ``JSONFileError``, an ``InputError`` naming the file, the line of a JSON
Lines file and the problem, and a ``ValueError``, so a reader's ``except ValueError`` branch still serves;
a leading byte-order mark is skipped.

Numbers: ``NaN`` and ``Infinity`` (not JSON) become floats every comparison then gets wrong, ``1e999``
becomes infinity, an integer of 400 digits overflows the float a reader makes of it. With
``strict_numbers`` (the default) each is a JSONFileError too: for files whose numbers are used as they
are (a reference's quantiles, a signalling message relayed to a browser). A reader whose rows may carry
them in fields it keeps as text, and that checks the numbers it uses, passes ``strict_numbers=False``:
``json.dumps`` writes ``NaN`` by default, so manifests, corpus metadata and twotrack's own records can hold it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .errors import InputError, file_access

_BOM = "\ufeff"


class JSONFileError(InputError, ValueError):
    """A JSON document (or JSON Lines line) that cannot be used. ``reason`` is the problem alone, for callers
    that name the file and line their own way; ``line`` is the JSON Lines line, or None for a document."""

    def __init__(self, path: object, reason: str, line: int | None = None):
        self.reason = reason
        self.line = line
        super().__init__(path, reason if line is None else f"line {line}: {reason}")


class _Refused(Exception):
    """Raised inside the decoder's hooks; ``loads`` turns it into a JSONFileError."""


def _digits(text: str) -> int:
    return len(text.lstrip("-"))


def _any_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # over sys.get_int_max_str_digits()
        raise _Refused(f"a number of {_digits(text)} digits (more than {sys.get_int_max_str_digits()})") from None


def _int(text: str) -> int:
    value = _any_int(text)
    if len(text) > sys.float_info.max_10_exp:  # the only ints that can overflow a float when a reader takes one
        try:
            float(value)
        except OverflowError:
            raise _Refused(f"a number of {_digits(text)} digits, beyond a float's range") from None
    return value


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e999: the decoder would give infinity
        raise _Refused(f"number {text[:24]}{'...' if len(text) > 24 else ''} is beyond a float's range")
    return value


def _constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"key {key!r} appears twice in one object")
            seen.add(key)
    return out


_STRICT = dict(parse_int=_int, parse_float=_float, parse_constant=_constant)
_LENIENT = dict(parse_int=_any_int)  # floats and NaN/Infinity as json reads them


def loads(data: str | bytes, path: object, line: int | None = None, *, strict_numbers: bool = True) -> Any:
    """The value of ``data`` (bytes are UTF-8; a leading byte-order mark is skipped), else a JSONFileError
    naming ``path``, ``line`` (a JSON Lines line) and the problem. ``strict_numbers=False`` lets ``NaN``,
    ``Infinity`` and numbers beyond a float through (see the module's text)."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONFileError(path, f"not UTF-8 text (byte {exc.start})", line) from None
    if data.startswith(_BOM) and line in (None, 1):
        data = data[1:]
    try:
        return json.loads(data, object_pairs_hook=_object, **(_STRICT if strict_numbers else _LENIENT))
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if line is not None else f"line {exc.lineno} column {exc.colno}"
        raise JSONFileError(path, f"not valid JSON: {exc.msg} ({where})", line) from None
    except RecursionError:  # [[[[...: the decoder recurses once per level
        raise JSONFileError(path, "not usable JSON: nested too deeply", line) from None
    except _Refused as exc:
        raise JSONFileError(path, f"not usable JSON: {exc}", line) from None


def load(path: str, what: str = "file", *, strict_numbers: bool = True) -> Any:
    """The JSON document in the file ``path``; a file that cannot be opened is an InputError from
    ``file_access`` (``what`` names the kind of file), one that does not parse a JSONFileError."""
    with file_access(path, what), open(path, "rb") as fh:
        raw = fh.read()
    return loads(raw, path, strict_numbers=strict_numbers)
