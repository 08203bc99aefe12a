"""The data map: known corpora beside the user's own, each figure with its source.

The catalog (``data/catalog.json``) lists hours, channels, license (SPDX id or LicenseRef),
commercial use, consent documentation and a data type per corpus; every figure carries its source
and whether it was read there. Phase fitness is computed here from the data type with the phase
matrix (``phases.py``), then post-training is lowered to partial where commercial use or consent is
not documented as yes. ``measured_row`` turns a qualify report into a row measured by twotrack.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

from ..errors import InputError
from .inputs import CorpusInputs
from .phases import FIT, PARTIAL, PHASES, REAL_DYADIC, type_phase_fit
from .requirements import QualifyReport

CATALOG = "catalog.json"
FIGURES = ("hours", "channels", "license", "commercial_use", "consent")


def load_catalog() -> dict[str, Any]:
    text = resources.files("twotrack.qualify").joinpath("data").joinpath(CATALOG).read_text()
    data = json.loads(text)
    if data.get("format") != "twotrack-catalog/1" or not isinstance(data.get("corpora"), list):
        raise InputError(CATALOG, "not a twotrack catalog")
    for row in data["corpora"]:
        for key in FIGURES:
            fig = row.get(key)
            if not isinstance(fig, dict) or "status" not in fig or "value" not in fig:
                raise InputError(CATALOG, f"{row.get('id')}: figure {key!r} needs a value and a status")
            if fig["status"] == "unknown" and fig["value"] is not None:
                raise InputError(CATALOG, f"{row.get('id')}: {key} is marked unknown but has a value")
    return data


def row_phase_fit(row: dict[str, Any]) -> dict[str, Any]:
    """Phase labels of a catalog row: the matrix of its data type, with rights lowering post-training."""
    fit = type_phase_fit(row["data_type"])
    labels = fit.labels()
    reasons = {p: list(fit.reasons.get(p, ())) for p in PHASES}
    if row["data_type"] in REAL_DYADIC:
        reasons["post"] = ["when it passes the eight requirements: " + reasons["post"][0]]
        commercial = row["commercial_use"]["value"]
        consent = row["consent"]["value"]
        if labels["post"] == FIT and (commercial != "yes" or consent in (None, "none documented")):
            labels["post"] = PARTIAL
            reasons["post"].append(f"rights not documented for commercial training "
                                   f"(commercial use: {commercial or 'unknown'}, consent: {consent or 'unknown'})")
    return {"labels": labels, "reasons": reasons}


def catalog_rows() -> list[dict[str, Any]]:
    rows = []
    for row in load_catalog()["corpora"]:
        fit = row_phase_fit(row)
        rows.append(dict(row, phase_fit=fit["labels"], phase_reasons=fit["reasons"], measured=False))
    return rows


def measured_row(report: QualifyReport, inputs: CorpusInputs, workspace: str = "") -> dict[str, Any]:
    """The user's corpus as a row of the map, every figure measured by twotrack."""
    src = f"measured by twotrack qualify{(' on ' + workspace) if workspace else ''}"
    total = inputs.hours
    tracks = Counter(r.n_tracks for r in inputs.recordings)
    licenses = Counter(r.license or "unknown" for r in inputs.recordings)
    rights_h = sum(r.hours for r in inputs.recordings if r.rights.allowed)
    consent_h = sum(r.hours for r in inputs.recordings if r.consent.allowed)
    types = Counter(rec.data_type.data_type for rec in report.recordings)

    def fig(value, note):
        return {"value": value, "status": "measured", "source": src, "note": note}

    def share(h: float) -> str:
        """Share of hours as text; a part never rounds to 0 % or 100 % (beside "partly" it would contradict it)."""
        x = h / total if total > 0 else 0.0
        if x <= 0 or x >= 1:
            return f"{x:.0%}"
        return f"{min(max(round(100 * x, 1), 0.1), 99.9):g}%"

    return {
        "id": "measured:" + (inputs.name or "corpus"),
        "name": f"{inputs.name or 'your corpus'} (measured)",
        "data_type": types.most_common(1)[0][0] if types else "unknown",
        "hours": fig(round(total, 4), f"{len(inputs.recordings)} recordings; qualified {report.qualified_hours:.4f} h"),
        "channels": fig(tracks.most_common(1)[0][0] if tracks else None,
                        ", ".join(f"{n} track(s): {c} recording(s)" for n, c in sorted(tracks.items()))),
        "license": fig(" / ".join(sorted(licenses)) if licenses else None,
                       ", ".join(f"{k}: {v}" for k, v in sorted(licenses.items()))),
        "commercial_use": fig("yes" if total > 0 and rights_h >= total else ("no" if rights_h == 0 else "partly"),
                              f"{share(rights_h)} of hours allowed for {report.purpose}"),
        "consent": fig(f"{share(consent_h)} of hours",
                       "hours whose every speaker has documented consent for the consent scope"),
        "phase_fit": report.phase_fit.labels(),
        "phase_reasons": {p: list(v) for p, v in report.phase_fit.reasons.items()},
        "measured": True,
        "corpus_passed": report.corpus_passed,
    }


def render_map(rows: list[dict[str, Any]], console) -> None:
    """A terminal table of the map with numbered sources below it."""
    from rich.table import Table

    sources: dict[str, int] = {}

    def cell(row, key, fmt=str):
        figure = row[key]
        value = figure.get("value")
        text = ("varies" if figure.get("status") == "template" else "unknown") if value is None else fmt(value)
        src = figure.get("source")
        if src:
            n = sources.setdefault(src, len(sources) + 1)
            text += f" [{n}]"
        if figure.get("status") in ("secondary", "derived", "template"):
            text += f" ({figure['status']})"
        return text

    table = Table(title="twotrack data map", show_lines=False)
    for col in ("corpus", "type", "hours", "channels", "license", "commercial", "consent", "pre", "mid", "post"):
        table.add_column(col, overflow="fold")
    style = {"fit": "green", "partial": "yellow", "unfit": "red"}
    for row in rows:
        labels = row["phase_fit"]
        table.add_row(
            ("[bold]" if row.get("measured") else "") + row["name"],
            row["data_type"],
            cell(row, "hours", lambda v: f"{v:,}" if isinstance(v, (int, float)) else str(v)),
            cell(row, "channels"), cell(row, "license"), cell(row, "commercial_use"), cell(row, "consent"),
            *(f"[{style.get(labels[p], '')}]{labels[p]}" for p in PHASES),
        )
    console.print(table)
    for src, n in sources.items():
        console.print(f"[{n}] {src}", highlight=False, soft_wrap=True)
    console.print("Phase labels come from twotrack's phase matrix by data type (not from the sources); "
                  "post-training is partial where rights are not documented. See docs/qualify.md.")
