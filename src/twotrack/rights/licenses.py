"""SPDX license expressions and what they permit.

Parsing and validation use the ``license-expression`` package (the SPDX license list it vendors) plus the
project's registered ``LicenseRef-`` ids (those in the permissions table). What a license *permits* comes
from ``permissions.json`` beside this module, whose entries cite their sources.

Expression semantics: ``A AND B`` -- both licenses apply, so every term must allow the use;
``A OR B`` -- the user may pick either, so the use is allowed when any choice allows it.
``X WITH exception`` is judged as ``X``. A valid SPDX id with no entry in the table permits nothing
(it is treated like ``LicenseRef-Unknown``, with that reason).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from license_expression import (
    ExpressionError, LicenseSymbol, LicenseWithExceptionSymbol, Licensing, get_spdx_licensing,
)

from .. import jsonfile
from ..errors import InputError
from ..model import Record
from ..paths import special_file

UNKNOWN_LICENSE = "LicenseRef-Unknown"
#: LicenseRef- ids the project registers (also every LicenseRef- key of a loaded permissions table).
PROJECT_LICENSE_REFS = (
    "LicenseRef-LDC-Non-Member-Agreement",
    "LicenseRef-Proprietary-Contract",
    UNKNOWN_LICENSE,
)

#: The permission fields a purpose can require, and the duties a license can carry.
PERMISSION_FIELDS = ("commercial_use", "derivatives", "share_derivatives", "redistribution")
DUTY_FIELDS = ("attribution", "share_alike")

#: How a missing permission reads in a reason.
_TERM_TEXT = {
    "commercial_use": "no commercial use",
    "derivatives": "no derivatives (adapted material may not be made)",
    "share_derivatives": "adapted material may not be shared",
    "redistribution": "no redistribution",
}


@dataclass(frozen=True)
class Permissions(Record):
    """One row of the permissions table."""

    license_id: str
    name: str = ""
    commercial_use: bool = False
    derivatives: bool = False
    share_derivatives: bool = False
    redistribution: bool = False
    attribution: bool = False
    share_alike: bool = False
    ai_training: str = ""
    sources: tuple[str, ...] = ()
    read: bool = False

    def allows(self, permission: str) -> bool:
        if permission not in PERMISSION_FIELDS:
            raise ValueError(f"unknown permission {permission!r} (known: {', '.join(PERMISSION_FIELDS)})")
        return bool(getattr(self, permission))

    @property
    def duties(self) -> tuple[str, ...]:
        return tuple(d for d in DUTY_FIELDS if getattr(self, d))


def _entries_from(data: Mapping, origin: str) -> dict[str, Permissions]:
    licenses = data.get("licenses") if isinstance(data, Mapping) else None
    if not isinstance(licenses, Mapping):
        raise InputError(origin, "a permissions table needs a 'licenses' object keyed by SPDX id")
    known = {f.name for f in fields(Permissions)}
    out = {}
    for key, entry in licenses.items():
        if not isinstance(entry, Mapping):
            raise InputError(origin, f"entry {key!r} is not an object")
        unknown = [k for k in entry if k not in known]
        if unknown:
            raise InputError(origin, f"entry {key!r}: unknown field(s) {', '.join(unknown)}")
        for flag in PERMISSION_FIELDS + DUTY_FIELDS:
            if flag in entry and not isinstance(entry[flag], bool):
                raise InputError(origin, f"entry {key!r}: {flag} must be true or false")
        out[key] = Permissions.from_dict({**entry, "license_id": key})
    return out


@functools.lru_cache(maxsize=1)
def _default_bytes() -> bytes:
    return resources.files(__package__).joinpath("permissions.json").read_bytes()


@functools.lru_cache(maxsize=1)
def _default_table() -> dict[str, Permissions]:
    return _entries_from(json.loads(_default_bytes().decode("utf-8")), "twotrack/rights/permissions.json")


def builtin_sha256() -> str:
    """sha256 of the packaged permissions.json (it may change with a twotrack release)."""
    return hashlib.sha256(_default_bytes()).hexdigest()


class PermissionsTable(Mapping[str, Permissions]):
    """The permissions every verdict reads: the packaged table with a team's file (``--permissions FILE``)
    over it, and which file that was. A read-only mapping of license id -> Permissions, so it goes wherever
    a table goes; ``record()`` is what an export writes down (and an audit compares) of it."""

    def __init__(self, entries: Mapping[str, Permissions], path: str | None = None, sha256: str | None = None):
        self._entries = dict(entries)
        self.path = path  # absolute path of the team's file; None: the packaged table alone
        self.sha256 = sha256  # of the file's bytes as read (the bytes that were parsed)

    def __getitem__(self, key: str) -> Permissions:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"PermissionsTable({len(self)} licenses, path={self.path!r})"

    def record(self) -> dict[str, Any]:
        """``{"path", "sha256", "builtin_sha256"}``: the file that decided (None, None without one) and the
        packaged table's hash."""
        return {"path": self.path, "sha256": self.sha256, "builtin_sha256": builtin_sha256()}

    def describe(self) -> str:
        """One line for people: which table decided."""
        if self.path is None:
            return "the built-in permissions table"
        return f"the built-in permissions table with {self.path} (sha256 {self.sha256[:12]}) over it"


#: ``PermissionsTable.record()`` of a table handed over in code (a plain mapping, no file behind it).
IN_CODE = "(a table given in code)"


def table_record(permissions: Mapping[str, Permissions] | None) -> dict[str, Any]:
    """What decided, for export.json and reports: a loaded table's ``record()``; None is the packaged table
    alone; a plain mapping is named as such, hashed over its entries."""
    if isinstance(permissions, PermissionsTable):
        return permissions.record()
    if permissions is None:
        return {"path": None, "sha256": None, "builtin_sha256": builtin_sha256()}
    text = json.dumps({k: v.to_dict() for k, v in sorted(permissions.items())}, sort_keys=True, default=list)
    return {"path": IN_CODE, "sha256": hashlib.sha256(text.encode()).hexdigest(), "builtin_sha256": builtin_sha256()}


def _over_builtin(entries: dict[str, Permissions], builtin: Mapping[str, Permissions], path: Path) -> dict[str, Permissions]:
    """A team's entries keyed as the packaged table spells the same id. SPDX ids ignore case, and the verdict
    looks a license up by the parser's spelling first: ``cc-by-4.0`` kept as typed sat beside ``CC-BY-4.0``,
    and the packaged entry decided. Two entries of one id in the team's file are refused (which would decide?)."""
    ours = {k.lower(): k for k in builtin}
    out: dict[str, Permissions] = {}
    seen: dict[str, str] = {}
    for key, entry in entries.items():
        if (other := seen.get(key.lower())) is not None:
            raise InputError(path, f"entries {other!r} and {key!r} name the same license (SPDX ids ignore case)")
        seen[key.lower()] = key
        canonical = ours.get(key.lower(), key)
        if canonical.lower().startswith("licenseref-"):  # SPDX's spelling of the prefix: cards link it as it reads
            canonical = "LicenseRef-" + canonical[len("licenseref-"):]
        out[canonical] = replace(entry, license_id=canonical)
    return out


def load_permissions(path: str | os.PathLike | None = None) -> PermissionsTable:
    """The packaged table, with the entries of the user's file (same shape) added or replacing ours.
    InputError naming the file when it cannot be read or is not a permissions table."""
    table = dict(_default_table())
    if path is None:
        return PermissionsTable(table)
    p = Path(path)
    if (problem := special_file(str(p))) is not None:  # a FIFO would block the read for ever
        raise InputError(p, f"cannot read permissions table: {problem}")
    try:
        raw = p.read_bytes()  # hashed and parsed from the same bytes: the recorded hash is of what decided
    except OSError as exc:
        raise InputError(p, f"cannot read permissions table: {exc.strerror or exc}") from None
    table.update(_over_builtin(_entries_from(jsonfile.loads(raw, p), str(p)), table, p))  # a JSONFileError names the file
    return PermissionsTable(table, str(p.absolute()), hashlib.sha256(raw).hexdigest())


@functools.lru_cache(maxsize=8)
def _licensing(extra_refs: tuple[str, ...]) -> Licensing:
    spdx = get_spdx_licensing()
    symbols = list(spdx.known_symbols.values())
    known = {s.key.lower() for s in symbols}
    for ref in extra_refs:
        if ref.lower() not in known:
            symbols.append(LicenseSymbol(ref))
            known.add(ref.lower())
    return Licensing(symbols)


def licensing(permissions: Mapping[str, Permissions] | None = None) -> Licensing:
    """SPDX licensing plus the project's LicenseRef- ids (and those of the given permissions table)."""
    refs = set(PROJECT_LICENSE_REFS)
    if permissions is not None:
        refs |= {k for k in permissions if k.lower().startswith("licenseref-")}
    return _licensing(tuple(sorted(refs)))


def parse_license(expression: str, *, source: object = "license", permissions=None):
    """Parse and validate an SPDX expression; InputError(source, reason) when it is not valid."""
    text = (expression or "").strip()
    if not text:
        raise InputError(source, "empty license expression")
    lic = licensing(permissions)
    try:
        parsed = lic.parse(text, validate=True, strict=True)
    except ExpressionError as exc:
        problem = str(exc)
        unknown = [k for k in _unknown_keys(lic, text)]
        refs = [k for k in unknown if k.lower().startswith("licenseref-")]
        if refs:
            problem += f" ({', '.join(refs)}: not a registered LicenseRef; add it to a permissions table: --permissions FILE)"
        raise InputError(source, f"invalid license expression {text!r}: {problem}") from None
    except Exception as exc:  # the parser raises assorted errors on odd input; never crash a corpus
        raise InputError(source, f"invalid license expression {text!r}: {exc}") from None
    if parsed is None:
        raise InputError(source, "empty license expression")
    return parsed


def _unknown_keys(lic: Licensing, text: str) -> list[str]:
    try:
        return list(lic.unknown_license_keys(lic.parse(text)))
    except Exception:
        return []


def validate_license(expression: str | None, permissions=None) -> str | None:
    """None when valid, else the reason."""
    try:
        parse_license(expression or "", permissions=permissions)
        return None
    except InputError as exc:
        return exc.problem


def normalise_license(expression: str, permissions=None) -> str:
    """Canonical spelling (``cc-by-4.0 or cc0-1.0`` -> ``CC-BY-4.0 OR CC0-1.0``)."""
    return parse_license(expression, permissions=permissions).render()


def license_keys(expression: str, permissions=None) -> list[str]:
    """The license ids an expression names (exceptions excluded)."""
    return licensing(permissions).license_keys(parse_license(expression, permissions=permissions))


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseVerdict(Record):
    """Whether an expression allows a set of permissions; reasons name the license and the term."""

    expression: str | None
    allowed: bool
    reasons: tuple[str, ...] = ()
    duties: tuple[str, ...] = ()  # e.g. "attribution (CC-BY-4.0)"
    licenses: tuple[str, ...] = ()  # the licenses relied on (the chosen branch of an OR)


def _symbol_verdict(key: str, needs: Sequence[str], table: Mapping[str, Permissions]) -> LicenseVerdict:
    entry = table.get(key) or table.get(key.lower())
    if entry is None:
        return LicenseVerdict(key, False, (f"license {key}: no entry in the permissions table, so it permits nothing (as {UNKNOWN_LICENSE})",), (), (key,))
    missing = [n for n in needs if not entry.allows(n)]
    if missing:
        if key == UNKNOWN_LICENSE:
            return LicenseVerdict(key, False, (f"license {key}: unknown license permits nothing",), (), (key,))
        return LicenseVerdict(key, False, tuple(f"license {key}: {_TERM_TEXT[m]}" for m in missing), (), (key,))
    duties = tuple(f"{d.replace('_', '-')} ({key})" for d in entry.duties)
    return LicenseVerdict(key, True, (), duties, (key,))


def _evaluate(node, lic: Licensing, needs, table) -> LicenseVerdict:
    if isinstance(node, LicenseWithExceptionSymbol):  # X WITH exception is judged as X
        return _symbol_verdict(node.license_symbol.key, needs, table)
    if isinstance(node, LicenseSymbol):
        return _symbol_verdict(node.key, needs, table)
    kids = [_evaluate(a, lic, needs, table) for a in node.args]
    if isinstance(node, lic.AND):
        ok = all(k.allowed for k in kids)
        reasons = tuple(r for k in kids for r in k.reasons)
        duties = tuple(dict.fromkeys(d for k in kids for d in k.duties))
        used = tuple(dict.fromkeys(x for k in kids for x in k.licenses))
        return LicenseVerdict(node.render(), ok, reasons, duties if ok else (), used)
    if isinstance(node, lic.OR):
        for k in kids:
            if k.allowed:  # the first choice that allows the use is the one to take
                return LicenseVerdict(node.render(), True, (), k.duties, k.licenses)
        reasons = (f"no choice of {node.render()} allows it:",) + tuple(f"  {r}" for k in kids for r in k.reasons)
        return LicenseVerdict(node.render(), False, reasons, (), tuple(x for k in kids for x in k.licenses))
    raise InputError("license", f"unsupported license expression node {node!r}")


def evaluate_license(
    expression: str | None, needs: Sequence[str], permissions: Mapping[str, Permissions] | None = None
) -> LicenseVerdict:
    """Does ``expression`` permit every permission in ``needs``? Never raises on bad input: an invalid or
    missing expression is a blocked verdict with the reason."""
    table = permissions if permissions is not None else _default_table()
    for n in needs:
        if n not in PERMISSION_FIELDS:
            raise ValueError(f"unknown permission {n!r} (known: {', '.join(PERMISSION_FIELDS)})")
    if expression is None or not str(expression).strip():
        return LicenseVerdict(None, False, (f"no license declared: treated as {UNKNOWN_LICENSE}, which permits nothing",))
    try:
        parsed = parse_license(str(expression), permissions=table)
    except InputError as exc:
        return LicenseVerdict(str(expression), False, (exc.problem,))
    lookup = {**table, **{k.lower(): v for k, v in table.items()}}  # ids are case-insensitive in SPDX
    verdict = _evaluate(parsed, licensing(table), tuple(needs), lookup)
    return LicenseVerdict(parsed.render(), verdict.allowed, verdict.reasons, verdict.duties, verdict.licenses)
