"""``croissant.json``: a Croissant 1.0 JSON-LD card of an export folder, with the Responsible-AI fields.

The card names the files (manifests, audio files and shards as FileObjects with their sha256; the per-example
JSON files as FileSets by pattern), record sets that reach the content: the audio (the FLAC bytes of a
Parquet row; the file's ``contentUrl`` in the WAV/FLAC layouts, because mlcroissant reads no WAV or FLAC),
each track's text, the word alignments and the turn-taking events; the licenses and the citation, and
the RAI properties that apply: data collection, personal and sensitive information, use cases,
limitations, biases, social impact, release and maintenance. Croissant has no property for consent, so the
consent basis (the purpose, the scopes every speaker gave, the ledger head) is written out in
``rai:dataCollection`` and ``rai:personalSensitiveInformation``. Validated in tests with ``mlcroissant``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from .. import __version__
from ..rights.verdicts import get_purpose
from .base import Exporter, ExportSummary, named_speakers
from .context import Context
from .state import State, atomic_write, exported_licenses, file_entry

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
CARD = "croissant.json"

#: The JSON-LD context of Croissant 1.0 (the spec's, with the RAI namespace).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

#: How a withdrawal reaches an export (said in the RAI fields and the README card).
WITHDRAWAL_POLICY = (
    "Withdrawal policy: a speaker may withdraw or narrow their consent at any time (`twotrack consent "
    "withdraw`); `twotrack rights audit <export> -w <workspace>` then lists exactly the files that hold their "
    "recordings (`--apply` deletes them and rewrites the manifests), and rerunning `twotrack export` brings the "
    "folder and its cards in line with the ledger; copies made before then must be replaced by the new revision."
)

_SIMPLE_SPDX = re.compile(r"^[A-Za-z0-9.+-]+$")


# --------------------------------------------------------------------------------------------
# node builders (the exporters describe themselves with these)
# --------------------------------------------------------------------------------------------


def file_object(id_: str, path: str, encoding: str, sha256: str, description: str = "") -> dict[str, Any]:
    node = {"@type": "cr:FileObject", "@id": id_, "name": id_, "contentUrl": path, "encodingFormat": encoding,
            "sha256": sha256}
    if description:
        node["description"] = description
    return node


def file_set(id_: str, pattern: str, encoding: str, description: str = "") -> dict[str, Any]:
    node = {"@type": "cr:FileSet", "@id": id_, "name": id_, "encodingFormat": encoding, "includes": pattern}
    if description:
        node["description"] = description
    return node


def audio_objects(state: State, suffix: str, encoding: str) -> list[dict[str, Any]]:
    """A FileObject (contentUrl, encoding format, sha256) per exported audio file ending in ``suffix``."""
    return [file_object(rel, rel, encoding, f.get("sha256", ""))
            for rel, f in sorted(state.files.items()) if rel.endswith(suffix) and f.get("recording_ids")]


def cr_field(rs: str, name: str, dtype: str | None, desc: str, source: tuple[str, str] | None = None, *,
             column: str | None = None, json_path: str | None = None, file_property: str | None = None,
             transforms: tuple[dict[str, str], ...] = (), repeated: bool = False,
             sub: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One Croissant field of record set ``rs``, read from ``source`` (("fileObject" | "fileSet", id)) by a
    column, a JSON path or a file property, then through ``transforms`` (e.g. ``{"jsonPath": "text"}``,
    applied to each element of a list); ``sub``: sub-fields (a repeated parent renders a list of records)."""
    node: dict[str, Any] = {"@type": "cr:Field", "@id": f"{rs}/{name}", "name": name, "description": desc}
    if dtype:
        node["dataType"] = dtype
    if repeated:
        node["repeated"] = True
    if source is not None:
        extract = ({"column": column} if column else {"jsonPath": json_path} if json_path
                   else {"fileProperty": file_property})
        src: dict[str, Any] = {source[0]: {"@id": source[1]}, "extract": extract}
        if transforms:
            src["transform"] = list(transforms) if len(transforms) > 1 else transforms[0]
        node["source"] = src
    if sub:
        node["subField"] = sub
    return node


def nested(rs: str, name: str, desc: str, source: tuple[str, str], column: str, path: tuple[str, ...],
           parts: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    """A repeated field over a list in ``column`` (reached by the JSON paths ``path``), one sub-field per
    ``(name, dataType, description, JSON path in each element)``."""
    parent = f"{rs}/{name}"
    return cr_field(rs, name, None, desc, repeated=True, sub=[
        cr_field(parent, sub, dtype, sdesc, source, column=column,
                 transforms=tuple({"jsonPath": p} for p in (*path, key)))
        for sub, dtype, sdesc, key in parts])


#: The sub-fields of a turn-taking event (lists of ``{kind, start, end, track, from_track, value}``).
EVENT_PARTS = [("kind", "sc:Text", "ipu, turn, pause, gap, overlap, backchannel, ...", "kind"),
               ("start", "sc:Float", "Start, seconds from the start of the example.", "start"),
               ("end", "sc:Float", "End, seconds.", "end"),
               ("track", "sc:Text", "Track the event belongs to, if any: A, B (a Moshi example of a multichannel "
                "file names its source tracks, as main_track does: C, D).", "track"),
               ("value", "sc:Float", "Floor-transfer offset or duration, seconds.", "value")]


def record_set(id_: str, description: str, source: tuple[str, str], fields: list[tuple[str, str, str]]
               ) -> dict[str, Any]:
    """``source``: ("fileObject" | "fileSet", id); ``fields``: (name, dataType, description); each field
    is read from the column of the same name."""
    return {
        "@type": "cr:RecordSet", "@id": id_, "name": id_, "description": description,
        "field": [cr_field(id_, name, dtype, desc, source, column=name) for name, dtype, desc in fields],
    }


# --------------------------------------------------------------------------------------------
# the card
# --------------------------------------------------------------------------------------------


def _license_values(licenses: list[str]) -> list[str]:
    out = []
    for lic in licenses:
        out.append(f"https://spdx.org/licenses/{lic}.html" if _SIMPLE_SPDX.match(lic) and not
                   lic.startswith("LicenseRef-") else lic)
    return out


def _count_text(counter: Counter, unit: str = "recording") -> str:
    return ", ".join(f"{k} ({v} {unit}{'s' if v != 1 else ''})" for k, v in sorted(counter.items())) or "none recorded"


def clock_limitation(state: State, exporter: Exporter) -> str:
    """What the card says of the tracks' clocks: how paired files were put on one clock, and whether
    recordings on unknown clocks were let in (``--allow-unknown-clock``)."""
    status = Counter((r.get("clock") or {}).get("status", "unrecorded") for r in state.recordings.values())
    text = ("Paired per-speaker files: track B is re-timed onto track A's clock by the offset and drift the checks "
            "measured from a shared signal, or, where none was measured, by the offset and drift the source "
            "manifest declares (export.json lists each recording's clock: status measured, declared, unknown or "
            f"shared). Clocks of the exported recordings: {_count_text(status)}.")
    unknown = status.get("unknown", 0)
    if exporter.options.allow_unknown_clock:
        text += (f" This export was made with --allow-unknown-clock: {unknown} paired recording(s) whose clock "
                 "nobody measured or declared are included with each file on its own clock, so track B's audio "
                 "and labels can sit hundreds of milliseconds off track A's (export.json clock.unknown_clock_included).")
    else:
        text += " Paired recordings on unknown clocks were left out (export.json skipped lists them)."
    return text


def build_card(out: Path, exporter: Exporter, state: State, ctx: Context, summary: ExportSummary) -> dict[str, Any]:
    purpose = get_purpose(ctx.purpose)
    desc = exporter.describe(state)
    exported = sorted(state.recordings)
    by_id = {r.recording_id: r for r in ctx.recordings}
    recs = [by_id[r] for r in exported if r in by_id]
    licenses = exported_licenses(state)
    speakers = sorted({s for r in recs for s in named_speakers(r)})
    source_types = Counter(r.source_type.value for r in recs)
    registers = Counter(r.tags.get("register", "unknown") for r in recs)
    layouts = Counter(r.layout.value for r in recs)
    words_from = Counter(next((p.get("words_source") for p in state.recordings[rid].get("pieces", [])
                               if p.get("words_source")), None) or "none" for rid in exported)
    duties = sorted({d for rid in exported for d in state.recordings[rid].get("duties", [])})
    hours = summary.hours
    revision = int(state.extra.get("revision", 1))
    created = (state.data.get("created_at") or "")[:10] or None

    n_withdrawals = sum(1 for e in ctx.events if e.action in ("withdraw", "revoke"))
    consent_basis = (
        f"Consent basis: every recording in this export was allowed for the purpose '{purpose.name}' "
        f"({purpose.description}) when the export was made. twotrack keeps a per-speaker consent ledger "
        f"(append-only, hash-chained; statuses in W3C Data Privacy Vocabulary terms: dpv:ConsentGiven, "
        f"dpv:ConsentWithdrawn, dpv:ConsentRevoked, dpv:ConsentExpired). For this purpose every speaker on "
        f"a recording (both speakers of a two-track recording) has the status dpv:ConsentGiven for the "
        f"scopes {', '.join(purpose.consent_scopes) or 'none'}"
        + (f" and has not restricted their consent to {', '.join(purpose.excluded_by)}" if purpose.excluded_by else "")
        + f", and each recording's license permits {', '.join(purpose.license_permissions)} (licenses judged by "
        f"{ctx.permissions_text().replace('`', '')}). "
        f"Ledger head at export: {ctx.ledger_head}. Each speaker's evidence (a signed document's location "
        f"and sha256) is in the ledger, not in this export. Withdrawals honoured: the ledger holds "
        f"{n_withdrawals} withdrawal or revocation event(s); {len(summary.blocked)} recording(s) of the "
        f"workspace are not allowed for this purpose and are not in this export. " + WITHDRAWAL_POLICY
    )
    collection = (
        f"{len(recs)} conversation recording(s), {hours:.3f} h of exported audio, from {len(speakers)} "
        f"speaker(s). Source types: {_count_text(source_types)}. Layouts at source: {_count_text(layouts)}. "
        f"Each speaker was recorded on their own track (two-track capture)"
        + ("; mono files hold the whole conversation on one track" if any(r.is_mono for r in recs) else "")
        + "; the tracks were scanned by "
        f"twotrack {__version__}: decoded, checked for source isolation, voice activity detected per track, "
        f"and turn-taking events (IPUs, turns, pauses, gaps, overlaps, backchannels, floor-transfer offsets) "
        f"extracted. " + consent_basis
    )
    card: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": f"twotrack {exporter.name} export ({ctx.purpose})",
        "description": (desc.get("summary", "") + f" Made from the twotrack workspace '{ctx.workspace.path.name}' "
                        f"for the purpose '{ctx.purpose}'; .twotrack/export.json beside this card lists every file "
                        f"with its sha256 and the recordings it holds; README.md is its dataset card."),
        "url": out.as_uri(),
        "version": f"1.{revision}.0",
        "datePublished": created,
        "license": _license_values(licenses) or ["unknown"],
        "citeAs": (f"@misc{{twotrack_{exporter.name}_export, title={{Two-track conversational speech "
                   f"({exporter.name} export, purpose {ctx.purpose})}}, note={{Made with twotrack {__version__}; "
                   f"consent ledger head {ctx.ledger_head}; cite the source corpora: "
                   f"{'; '.join(licenses) or 'see export.json'}}}}}"),
        "creator": {"@type": "sc:Organization", "name": "twotrack export"},
        "keywords": ["speech", "conversation", "full-duplex", "turn-taking", "two-track", exporter.name],
        "distribution": desc.get("distribution", []),
        "recordSet": desc.get("record_sets", []),
        "rai:dataCollection": collection,
        "rai:dataCollectionType": sorted({"Manual Human Curation" if st != "synthetic" else "Synthetic Data"
                                          for st in source_types} or {"Others"}),
        "rai:dataPreprocessingProtocol": [
            f"Audio decoded from the source files and written as 16-bit PCM at "
            f"{exporter.resolved.get('sample_rate') or 'the source'} Hz"
            + (f"; recordings longer than {exporter.resolved.get('max_duration_s'):g} s split in the middle "
               f"of silences of both tracks, never inside an inter-pausal unit"
               if exporter.resolved.get("max_duration_s") else "") + ".",
            "Voice activity per track by a detector (see export.json config.scan); turn-taking events derived "
            "from the two activity streams.",
        ],
        "rai:dataAnnotationProtocol": [
            f"Word timings per recording: {words_from.get('gold', 0)} from the gold transcript the source manifest "
            f"names, {words_from.get('aligned', 0)} from the manifest's transcript text aligned by twotrack's words "
            f"stage, {words_from.get('aligned+stage', 0)} with a partial transcript aligned and the rest recognised, "
            f"{words_from.get('stage', 0)} recognised by the words stage (a recogniser with forced "
            f"alignment; docs/words.md), {words_from.get('none', 0)} without words. Text keeps the case and "
            f"punctuation of its source. Activity and turn-taking events are automatic."
        ],
        "rai:machineAnnotationTools": ["twotrack " + __version__],
        "rai:personalSensitiveInformation": [
            "Voices are personal data: a voice can identify its speaker, and recordings can carry health, "
            "emotion, accent and other sensitive traits. Speaker ids are the pseudonymous ids of the source "
            "manifest. Conversations may mention personal information; it was not redacted.",
            consent_basis,
        ],
        "rai:dataUseCases": [
            f"Allowed use: {purpose.description} (purpose '{purpose.name}').",
            "Fine-tuning and evaluating full-duplex spoken dialogue models on turn-taking: overlaps, "
            "backchannels, gaps and interruptions between two speakers each on their own channel.",
        ] + ([f"Duties that travel with the data: {'; '.join(duties)}."] if duties else []),
        "rai:dataLimitations": [
            f"Registers: {_count_text(registers)}; conclusions outside these registers are not supported.",
            "Voice activity and turn-taking events are automatic estimates, not hand annotation.",
            clock_limitation(state, exporter),
            "Consent can be withdrawn: this export reflects the consent ledger at the head above only.",
        ],
        "rai:dataBiases": [
            f"{len(speakers)} speaker(s); speaker demographics are whatever the source manifest records "
            "(often nothing), so demographic balance is unknown.",
        ],
        "rai:dataSocialImpact": (
            "Conversational speech can train systems that speak with people in real time, including in "
            "someone's voice; synthesis in a speaker's own voice needs their voice-likeness consent, which "
            "this card does not grant unless the purpose says so."
        ),
        "rai:dataReleaseMaintenancePlan": (
            f"Made with twotrack {__version__} under consent ledger head {ctx.ledger_head}. " + WITHDRAWAL_POLICY
            + " Every file's sha256 is in .twotrack/export.json."
        ),
    }
    return {k: v for k, v in card.items() if v is not None}


def write_croissant(out: Path, exporter: Exporter, state: State, ctx: Context, summary: ExportSummary
                    ) -> dict[str, Any]:
    """Write croissant.json and return its export.json file entry (it holds no recording's data)."""
    card = build_card(out, exporter, state, ctx, summary)
    atomic_write(out / CARD, (json.dumps(card, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return file_entry(out, CARD, [])
