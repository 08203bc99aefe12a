"""``README.md``: the dataset card of an export folder, as the Hugging Face Hub and ``datasets`` read it.

The YAML front matter carries what the Hub indexes and what ``datasets.load_dataset(folder)`` obeys:
``license`` (Hub license ids; ``other`` with the SPDX expression in ``license_details`` and a License
section when the recordings' licenses are mixed or have no Hub id), ``language`` (from the recordings'
``language`` tags), ``task_categories``, ``size_categories`` (by rows), and ``configs`` whose
``data_files`` name data files only (the exporter's ``hf_configs``), so the folder's own state
(``.twotrack/``) and cards are never read as data. The body is written from the workspace: what the corpus
is, hours, recordings and speakers, the eight requirements and the phase fit of the exported recordings,
the rights basis (consent ledger head, scopes, withdrawals honoured), the attribution duties, the
resampling, the source of the words, and where each measurement is documented. It holds no timestamp, so a
rerun that changes nothing writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from .. import __version__
from ..rights.verdicts import get_purpose
from .base import Exporter, ExportSummary, named_speakers
from .context import Context
from .state import State, atomic_write, exported_licenses, file_entry, resampling

CARD = "README.md"

#: SPDX ids (lower case) that are Hugging Face Hub license ids as they are.
HUB_LICENSES = frozenset({
    "apache-2.0", "mit", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0",
    "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0",
    "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "etalab-2.0",
    "eupl-1.1", "eupl-1.2", "agpl-3.0", "gpl-2.0", "gpl-3.0", "lgpl-2.1", "lgpl-3.0", "isc", "lppl-1.3c",
    "ms-pl", "mpl-2.0", "odc-by", "odbl", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib",
    "pddl",
})
#: SPDX ids whose Hub id is spelt differently.
SPDX_TO_HUB = {"odc-by-1.0": "odc-by", "odbl-1.0": "odbl", "pddl-1.0": "pddl", "cdla-sharing-1.0": "cdla-sharing-1.0"}

#: Where each measurement is defined (twotrack's documentation, relative to its source tree).
MEASURED = (
    ("Decoding and formats", "docs/formats.md"),
    ("Source isolation, bleed, duplicated channels, clock offset and drift", "docs/checks.md"),
    ("Voice activity per track", "docs/activity.md"),
    ("Turn-taking events (IPUs, turns, pauses, gaps, overlaps, backchannels, floor-transfer offsets)",
     "docs/turn-taking.md"),
    ("Words and their times", "docs/words.md"),
    ("The eight requirements and the phase fit", "docs/qualify.md"),
    ("Consent ledger, licenses and verdicts", "docs/rights.md"),
    ("This export's layout and loading", "docs/export.md"),
)

#: How the card names where an example's words came from (``ExportItem.words_source``).
WORD_SOURCES = {"none": "no words", "gold": "gold transcript named by the manifest",
                "aligned": "the manifest's transcript text aligned by the words stage",
                "stage": "recognised by the words stage"}

_ISO_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def hub_license(spdx: str) -> str | None:
    """The Hub license id of one SPDX license id, None when the Hub has none (or it is an expression)."""
    key = spdx.strip().lower()
    key = SPDX_TO_HUB.get(key, key)
    return key if key in HUB_LICENSES else None


def size_category(n: int) -> str:
    """The Hub's size bucket for ``n`` rows."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"),
                         (1_000_000_000, "100M<n<1B")):
        if n < limit:
            return label
    return "n>1T" if n >= 10**12 else "1B<n<10B"


def languages(recordings, *, unrecognised: bool = False) -> list[str]:
    """Language codes from the recordings' ``language`` (or ``lang``) tags: ISO 639 codes (any case: ``EN``
    is ``en``; a region or script kept as written), comma-separated for several; anything else is left out
    of the front matter, and ``unrecognised=True`` gives those instead (the body lists them)."""
    out, other = set(), set()
    for r in recordings:
        for key in ("language", "lang"):
            for code in str(r.tags.get(key) or "").replace(";", ",").split(","):
                code = code.strip()
                base, sep, rest = code.partition("-")
                iso = base.lower() + sep + rest
                if _ISO_LANG.match(iso):
                    out.add(iso)
                elif code:
                    other.add(code)
    return sorted(other if unrecognised else out)


# --------------------------------------------------------------------------------------------
# YAML (the front matter is plain data: JSON-quoted strings are valid YAML scalars)
# --------------------------------------------------------------------------------------------


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(str(v), ensure_ascii=False)


def to_yaml(value: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines += to_yaml(v, indent + 2)
            else:
                lines.append(f"{pad}{k}: {_scalar(v) if not isinstance(v, (dict, list)) else '[]'}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                sub = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines += sub[1:]
            elif isinstance(item, list):
                lines.append(f"{pad}-")
                lines += to_yaml(item, indent + 2)
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


# --------------------------------------------------------------------------------------------
# the card
# --------------------------------------------------------------------------------------------


def _counts(counter: Counter) -> str:
    return ", ".join(f"{k} ({v})" for k, v in sorted(counter.items())) or "none recorded"


def front_matter(exporter: Exporter, state: State, ctx: Context, recs: list, n_rows: int,
                 licenses: list[str], out: Path | None = None) -> dict[str, Any]:
    hub = [hub_license(x) for x in licenses]
    meta: dict[str, Any] = {}
    if licenses and len(licenses) == 1 and hub[0]:
        meta["license"] = hub[0]
    else:
        meta["license"] = "other"
        meta["license_name"] = "twotrack-mixed" if len(licenses) > 1 else "twotrack-spdx"
        meta["license_details"] = " AND ".join(f"({x})" if " " in x else x for x in licenses) or "unknown"
        meta["license_link"] = "README.md#license"
    langs = languages(recs)
    if langs:
        meta["language"] = langs
    tasks = ["audio-to-audio", "voice-activity-detection"]
    if any(p.get("words") or p.get("main_words") for r in state.recordings.values() for p in r.get("pieces", [])):
        tasks.insert(0, "automatic-speech-recognition")
    meta["task_categories"] = tasks
    meta["tags"] = ["speech", "conversation", "full-duplex", "turn-taking", "two-track", "twotrack", exporter.name]
    meta["size_categories"] = [size_category(n_rows)]
    meta["pretty_name"] = f"Two-track conversational speech ({exporter.name} export, {ctx.purpose})"
    # datasets caches a local folder's configs by their definition, not by the files' content: a config that
    # names the content's digest makes a rerun (a withdrawal, new recordings) load afresh, never a stale cache
    digest = content_digest(state, out)
    meta["configs"] = [{**c, "description": f"twotrack {exporter.name} export, content {digest}"}
                       for c in exporter.hf_configs(state)]
    return meta


def content_digest(state: State, out: Path | None = None) -> str:
    """A short digest of the folder's place and every data file's sha256 (the cards excluded): it changes
    when any content does, and differs between two folders of the same name."""
    h = hashlib.sha256(str(out or "").encode())
    for rel in sorted(state.files):
        if rel not in (CARD, "croissant.json"):
            h.update(f"{rel}\0{state.files[rel].get('sha256', '')}\n".encode())
    return h.hexdigest()[:16]


def _qualification_section(report) -> list[str]:
    if report is None:
        return ["The workspace could not be qualified (see the notes in `.twotrack/export.json`)."]
    lines = [
        f"Judged by twotrack over the exported recordings as one corpus, for `{report.purpose}`: "
        f"**{'all eight requirements pass' if report.corpus_passed else 'not every requirement passes'}**; "
        f"{report.qualified_hours:.3f} of {report.total_hours:.3f} h qualify.",
        "",
        "| # | requirement | verdict | why |",
        "|---|---|---|---|",
    ]
    for r in report.requirements:
        why = "; ".join(r.reasons[:2]).replace("|", "/") or "-"
        lines.append(f"| {r.id} | {r.name} | {'pass' if r.passed else 'fail'} | {why} |")
    fit = report.phase_fit
    lines += ["", f"Phase fit (pre-training / mid-training / post-training): **{fit.pre} / {fit.mid} / {fit.post}**."]
    for phase, reasons in sorted((fit.reasons or {}).items()):
        if reasons:
            lines.append(f"- {phase}: {'; '.join(reasons)}")
    return lines


def build_card(out: Path, exporter: Exporter, state: State, ctx: Context, summary: ExportSummary) -> str:
    purpose = get_purpose(ctx.purpose)
    exported = sorted(state.recordings)
    by_id = {r.recording_id: r for r in ctx.recordings}
    recs = [by_id[r] for r in exported if r in by_id]
    licenses = exported_licenses(state)
    speakers = sorted({s for r in recs for s in named_speakers(r)})
    pieces = [p for rid in exported for p in state.recordings[rid].get("pieces", [])]
    duties = Counter(d for rid in exported for d in state.recordings[rid].get("duties", []))
    meta = front_matter(exporter, state, ctx, recs, len(pieces), licenses, out)
    desc = exporter.describe(state)
    revision = int(state.extra.get("revision", 1))

    withdrawals = [e for e in ctx.events if e.action in ("withdraw", "revoke")]
    withdrawn_scopes = sorted({s for e in withdrawals for s in e.scopes})
    blocked = summary.blocked
    blocked_by_consent = sorted(rid for rid, reasons in blocked.items()
                                if any("withdr" in r.lower() or "revok" in r.lower() for r in reasons))
    sources = Counter(p.get("words_source") or "none" for p in pieces)
    odd = languages(recs, unrecognised=True)

    body = [
        f"# {meta['pretty_name']}",
        "",
        f"{desc.get('summary', '')}",
        "",
        f"Made with twotrack {__version__} from the workspace `{ctx.workspace.path.name}` for the purpose "
        f"`{purpose.name}` ({purpose.description}); revision {revision}.",
        "",
        "## What is in it",
        "",
        f"- **{len(recs)} recording(s)**, **{summary.hours:.3f} h** of exported audio in {len(pieces)} "
        f"example(s) (longer recordings are cut in silences of both tracks), **{len(speakers)} speaker(s)**.",
        ("- Each speaker on their own channel (two-track capture)"
         + ("; mono files hold the whole conversation on one channel" if any(r.is_mono for r in recs) else "")
         + ". Source types: ")
        + f"{_counts(Counter(r.source_type.value for r in recs))}; layouts at the source: "
        f"{_counts(Counter(r.layout.value for r in recs))}; registers: "
        f"{_counts(Counter(r.tags.get('register', 'unknown') for r in recs))}.",
        f"- Sample rates written: {_counts(Counter(str(p.get('sample_rate')) + ' Hz' for p in pieces))}.",
        f"- Languages (the recordings' `language` tags): {', '.join(meta.get('language', [])) or 'not recorded'}"
        + (f"; tags that are not ISO 639 codes (left out of the front matter): {', '.join(odd)}" if odd else "")
        + ".",
        f"- Words (examples per source): {_counts(Counter(WORD_SOURCES.get(k, k) for k in sources.elements()))}. "
        "Text keeps the case and punctuation of its source.",
    ]
    # Moshi: moshi-finetune opens <stem>.json for every WAV, so an example exported without words stops it
    no_json = sorted(p["id"] for p in pieces if exporter.name == "moshi" and "alignments" in p and not p["alignments"])
    if no_json:
        body.append(f"- **{len(no_json)} example(s) have no `.json` alignments** (exported with `--allow-no-text`: "
                    f"{', '.join(no_json[:5])}{', ...' if len(no_json) > 5 else ''}). moshi-finetune's trainer "
                    "opens one for every WAV: run its `annotate.py train.jsonl` inside this folder before training.")
    resampled = resampling(state)
    if resampled:
        body += ["", "### Resampled audio", ""]
        for g in resampled:
            body.append(f"- {len(g['recordings'])} recording(s) {'upsampled' if g['upsampled'] else 'downsampled'} "
                        f"from {g['from_hz']} Hz to {g['to_hz']} Hz"
                        + (f" (it holds nothing above {g['from_hz'] / 2000:g} kHz"
                           + (": telephone-band audio" if g['from_hz'] <= 8000 else "") + ")" if g['upsampled'] else "")
                        + f": {', '.join(g['recordings'][:20])}" + (" ..." if len(g['recordings']) > 20 else ""))
        body.append("")
        body.append("`.twotrack/export.json` (`resampled`, and each recording's notes) lists them all.")
    body += ["", "## How to load", "", "```python", f"folder = {json.dumps(str(out))}  # or the Hub repo id",
             exporter.loading(state).rstrip(), "```", "",
             "Decoding audio through `datasets` needs `torchcodec` and FFmpeg's libraries; without them, "
             "`ds.cast_column('audio', datasets.Audio(decode=False))` gives the encoded bytes to read with "
             "`soundfile`. The Croissant description (`croissant.json`) reads with "
             "`mlcroissant.Dataset(jsonld=folder + '/croissant.json')`."]
    body += ["", "## The eight requirements and the phase fit", ""]
    body += _qualification_section(ctx.corpus_qualification(exported))
    body += [
        "", "## Rights basis", "",
        f"- Every recording here was allowed for `{purpose.name}` when the export was made: every speaker on it "
        f"has given consent (W3C DPV `dpv:ConsentGiven`) for the scopes "
        f"{', '.join(f'`{s}`' for s in purpose.consent_scopes) or 'none'}"
        + (f", and none restricted it to {', '.join(f'`{s}`' for s in purpose.excluded_by)}" if purpose.excluded_by else "")
        + f"; each recording's license permits {', '.join(purpose.license_permissions) or 'the purpose'} "
        f"(licenses judged by {ctx.permissions_text()}).",
        f"- Consent ledger head (sha256 hash chain) at export: `{ctx.ledger_head}` "
        f"({len(ctx.events)} event(s)).",
        f"- Withdrawals honoured: {len(withdrawals)} withdrawal/revocation event(s) in the ledger"
        + (f" (scopes {', '.join(f'`{s}`' for s in withdrawn_scopes)})" if withdrawn_scopes else "")
        + f"; {len(blocked)} recording(s) of the workspace are not allowed for this purpose and are not here"
        + (f", {len(blocked_by_consent)} of them because consent was withdrawn or revoked" if blocked_by_consent else "")
        + ".",
        "- Withdrawal policy: consent can be withdrawn at any time. `twotrack rights audit <this folder> -w "
        f"<workspace>{' --permissions <that table>' if getattr(ctx.permissions, 'path', None) else ''}` lists exactly the files holding recordings no longer allowed (`--apply` removes them and "
        "rewrites the manifests); rerunning `twotrack export` brings the whole folder, this card included, in "
        "line with the ledger. Copies made before then must be updated from the new revision.",
        "- Each speaker's evidence (a signed document's location and sha256) stays in the ledger, not in this "
        "folder. Speaker ids are the source manifest's pseudonymous ids.",
        "",
        "## Attribution and other duties",
        "",
    ]
    if duties:
        body += [f"- {d} ({n} recording(s))" for d, n in sorted(duties.items())]
    else:
        body.append("- None recorded by the licenses of these recordings.")
    body += ["", "## License", ""]
    lic_count = Counter(state.recordings[rid].get("license") or "unknown" for rid in exported)
    if meta["license"] == "other":
        body.append(f"The recordings carry different or non-Hub licenses; the folder as a whole is under "
                    f"`{meta['license_details']}` (SPDX), per recording:")
    else:
        body.append(f"Every recording is under `{licenses[0]}` (SPDX):")
    body += [f"- `{k}`: {v} recording(s)" for k, v in sorted(lic_count.items())]
    body += ["", "Per recording, `.twotrack/export.json` lists its license and duties, and every file's sha256.",
             "", "## How it was measured", ""]
    body += [f"- {what}: `{doc}` in twotrack {__version__}" for what, doc in MEASURED]
    body += ["", "Voice activity and turn-taking events are automatic estimates, not hand annotation; the "
             "measured accuracy and the known misses are in those documents.", ""]
    return "---\n" + "\n".join(to_yaml(meta)) + "\n---\n\n" + "\n".join(body)


def write_card(out: Path, exporter: Exporter, state: State, ctx: Context, summary: ExportSummary) -> dict[str, Any]:
    """Write README.md and return its export.json file entry (it holds no recording's data)."""
    atomic_write(out / CARD, build_card(out, exporter, state, ctx, summary).encode("utf-8"))
    return file_entry(out, CARD, [])
