"""The corpus report: one self-contained HTML file (``twotrack report -w WS -o report.html``).

Everything is inside the file: CSS inline, charts as inline SVG drawn by ``svg.py`` with labelled axes
and the reference statistics overlaid, no script, no font, image or link that leaves the file, so it
opens offline and prints. Sections: summary; turn-taking against the reference (FTO histogram; gap,
pause and overlap durations; overlap share per recording; events per minute); mono + diarization
(``twotrack collapse``: the corpus sentence, scores per recording, the true two lanes above the
diarized two lanes); the eight requirements
with the corpus verdict and qualified hours; phase labels; rights verdicts and withdrawals; the data
map; the per-recording table with details. A section whose stage has no data says so plainly.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..config import Config
from ..model import FrameGrid, track_index, track_name
from ..qualify.requirements import NAMES
from ..timeline import Timeline
from . import data, glossary
from .render import fmt_duration, templates
from .svg import ACCENT, LaneRow, RefBand, RefLine, bars_with_points, hbars, histogram, lanes, log_map

#: Above this many recordings the overlap-share chart is a histogram instead of one bar per recording.
MAX_BARS = 60
#: Duration histograms: (distribution, title, upper edge s, bin width s, reference statistic key).
DURATION_PLOTS = (
    ("gap", "Gap durations (silence between speakers)", 2.0, 0.05, "gap_s"),
    ("pause", "Pause durations (silence within a turn)", 2.0, 0.05, "pause_s"),
    ("overlap", "Overlap durations (both speak)", 2.0, 0.05, None),
    ("ipu", "IPU durations", 6.0, 0.2, "ipu_s"),
)
PER_MINUTE = (("ipu", "IPU"), ("turn", "turn"), ("pause", "pause"), ("gap", "gap"), ("overlap", "overlap"),
              ("backchannel", "backch."), ("interruption", "interr."), ("floor_transfer", "transfer"))


def _slug(text: str, used: set[str]) -> str:
    base = "rec-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x")
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


def _median(x: np.ndarray) -> float | None:
    return float(np.median(x)) if x.size else None


def _provenance(stat) -> list[str]:
    out = []
    for p in getattr(stat, "provenance", ()) or ():
        bits = [p.get("figure"), p.get("paper"), p.get("location")]
        text = "; ".join(str(b) for b in bits if b)
        if p.get("status"):
            text += f" [{p['status']}]"
        out.append(text)
    return out


# ---------------------------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------------------------


def _reference_overlay(stat, n: int, bin_w: float, corpus_median: float | None, unit_label: str = "s"):
    """Lines, bands and an implied-density curve for a reference distribution on a count histogram."""
    lines: list[RefLine] = []
    bands: list[RefBand] = []
    curve = None
    if stat is not None:
        levels, values = stat.levels_values()
        if len(levels) >= 5 and n > 0:
            # Many quantiles: the density they imply (probability per second between neighbours),
            # scaled to this histogram's counts per bin.
            dl, dv = np.diff(levels), np.diff(values)
            ok = dv > 1e-9
            heights = np.where(ok, dl / np.where(ok, dv, 1.0), 0.0) * n * bin_w
            curve = (values.tolist(), heights.tolist(), "reference (from its quantiles)")
        else:
            for lv, v in zip(levels, values):
                what = "median" if abs(lv - 0.5) < 1e-9 else f"{lv:.1%} below"
                lines.append(RefLine(float(v), f"reference {what}: {v:g} {unit_label}"))
        if stat.mode is not None:
            bands.append(RefBand(stat.mode[0], stat.mode[1], f"reference mode {stat.mode[0]:g}–{stat.mode[1]:g} s"))
    if corpus_median is not None:
        lines.append(RefLine(corpus_median, f"corpus median: {corpus_median:.3f} s", ACCENT, dash=False))
    return lines, bands, curve


def fto_chart(snap: data.Snapshot) -> tuple[str | None, str, list[str]]:
    """(svg, note, sources) of the FTO histogram against the reference."""
    if not snap.turns.available:
        return None, snap.turns.note, []
    fto = snap.turns.data["corpus"]["fto"]
    hist = fto["histogram"]
    n = int(fto["n"])
    if n == 0:
        return None, "no floor transfers were found, so there is no FTO distribution to draw", []
    stat = snap.reference.data.statistics.get("fto_s") if snap.reference.available else None
    edges = hist["edges"]
    lines, bands, curve = _reference_overlay(stat, n, edges[1] - edges[0], fto["quantiles"]["50"])
    share = fto.get("share_overlap")
    ref_share = snap.reference.data.statistics.get("overlap_transfer_share") if snap.reference.available else None
    note = f"{n} transfers; {hist['below']} below −2 s and {hist['above']} above +2 s are not drawn"
    if share is not None:
        note += f"; {share:.1%} in overlap (FTO < 0)"
        if ref_share is not None and ref_share.value is not None:
            note += f", reference {ref_share.value:.1%}"
    svg = histogram(edges, hist["counts"], title="Floor-transfer offsets (FTO) against the reference",
                      xlabel="FTO (s): next speaker's start minus previous speaker's end; negative = overlap",
                      ylabel="transfers (count per 0.1 s bin)", lines=lines, bands=bands, curve=curve, note=note)
    sources = _provenance(stat) + (_provenance(ref_share) if ref_share is not None else [])
    if not snap.reference.available:
        sources = [f"no reference overlaid: {snap.reference.note}"]
    return svg, note, sources


def duration_charts(snap: data.Snapshot) -> list[dict[str, Any]]:
    if not snap.turns.available:
        return []
    dist = snap.turns.data["distributions"]
    out = []
    for name, title, hi, bw, ref_key in DURATION_PLOTS:
        x = np.asarray(dist.get(name, np.zeros(0)), np.float64)
        x = x[np.isfinite(x)]
        if x.size == 0:
            out.append({"name": name, "title": title, "svg": None,
                        "note": f"no {name} events in the corpus, so there is no distribution to draw", "sources": []})
            continue
        edges = np.round(np.arange(0.0, hi + bw / 2, bw), 6)
        counts, _ = np.histogram(x, bins=edges)
        above = int((x > hi).sum())
        stat = snap.reference.data.statistics.get(ref_key) if (ref_key and snap.reference.available) else None
        lines, bands, curve = _reference_overlay(stat, int(x.size), bw, _median(x))
        note = f"{x.size} {name}s, median {np.median(x):.3f} s" + (f"; {above} longer than {hi:g} s not drawn" if above else "")
        if stat is None:
            note += "; no reference figure for this distribution"
        svg = histogram(edges.tolist(), counts.tolist(), title=title, xlabel=f"{name} duration (s)",
                          ylabel=f"{name}s (count per {bw:g} s bin)", lines=lines, bands=bands, curve=curve,
                          note=note, height=260)
        out.append({"name": name, "title": title, "svg": svg, "note": note, "sources": _provenance(stat)})
    return out


def overlap_chart(snap: data.Snapshot, cfg: Config) -> tuple[str | None, str]:
    rows = [r for r in snap.rows if r["overlap_share"] is not None]
    if not snap.turns.available:
        return None, snap.turns.note
    if not rows:
        return None, "no recording has an overlap share (it needs turn-taking events on two tracks)"
    ref = snap.reference.data.statistics.get("overlap_speech_share") if snap.reference.available else None
    lines = [RefLine(ref.value, f"reference {ref.value:.1%}")] if ref is not None and ref.value is not None else []
    lo, hi = cfg.qualify.band_overlap_speech_share
    bands = [RefBand(lo, hi, f"accepted band {lo:.0%}–{hi:.0%}")]
    corpus = snap.turns.data["corpus"]["overlap_share_of_speech"]
    note = (f"corpus {corpus:.1%}" if corpus is not None else "corpus: not measured") + \
        " (overlapped time / time in which at least one speaker speaks)"
    if len(rows) <= MAX_BARS:
        svg = hbars([r["recording_id"] for r in rows], [r["overlap_share"] for r in rows],
                      title="Overlap share of speech per recording", xlabel="overlap share of speech (%)",
                      lines=lines, bands=bands)
    else:
        vals = np.asarray([r["overlap_share"] for r in rows])
        top = max(0.3, float(vals.max()) * 1.05)
        edges = np.linspace(0.0, top, 31)
        counts, _ = np.histogram(np.clip(vals, 0, top), bins=edges)
        svg = histogram(edges.tolist(), counts.tolist(), title="Overlap share of speech across recordings",
                          xlabel="overlap share of speech (fraction)", ylabel="recordings",
                          lines=lines, bands=bands, bar_label="recordings", note=note)
    return svg, note


def per_minute_chart(snap: data.Snapshot) -> tuple[str | None, str]:
    if not snap.turns.available:
        return None, snap.turns.note
    corpus = snap.turns.data["corpus"]["per_minute"]
    per = [r["per_minute"] for r in snap.rows if r["per_minute"]]
    pts = [[p[k] for p in per if p.get(k) is not None] for k, _ in PER_MINUTE] if len(per) <= 400 else []
    svg = bars_with_points([lab for _, lab in PER_MINUTE], [corpus.get(k) for k, _ in PER_MINUTE], pts,
                             title="Turn-taking events per minute", ylabel="events per minute",
                             xlabel="event kind (bar: whole corpus; dots: one recording each)")
    return svg, "no published reference rates are built in: the bars are this corpus only"


def datamap_chart(snap: data.Snapshot) -> tuple[str | None, list[dict[str, Any]]]:
    if not snap.datamap.available:
        return None, []
    rows = snap.datamap.data
    types = list(dict.fromkeys(r["data_type"] for r in rows))
    pts = []
    for r in rows:
        h = r["hours"]["value"]
        if isinstance(h, (int, float)) and h > 0:
            short = r["name"].split(" (")[0]
            pts.append((float(h), types.index(r["data_type"]), short if len(short) < 28 else short[:26] + "…",
                        bool(r.get("measured"))))
    if not pts:
        return None, rows
    svg = log_map(pts, types, title="Data map: corpus sizes by data type (catalog and this corpus)",
                    xlabel="hours of audio (log scale)")
    return svg, rows


# ---------------------------------------------------------------------------------------------
# collapse: mono + diarization against the two tracks
# ---------------------------------------------------------------------------------------------

#: Columns of the collapse table: (key, header, where in a results.json score entry, unit).
COLLAPSE_COLUMNS = (
    ("der", "DER", ("der", "der"), "pct"),
    ("missed", "missed", ("der", "missed"), "pct"),
    ("false_alarm", "false alarm", ("der", "false_alarm"), "pct"),
    ("confusion", "confusion", ("der", "confusion"), "pct"),
    ("der_without_overlap", "DER without overlap", ("der_without_overlap", "der"), "pct"),
    ("onset_hit_rate", "onsets within ±50 ms", ("turn_taking", "onset_hit_rate"), "pct"),
    ("overlap_recall", "overlaps recovered", ("turn_taking", "overlap_recall"), "pct"),
    ("backchannel_recall", "backchannels recovered", ("turn_taking", "backchannel_recall"), "pct"),
    ("transfer_wrong_speaker_share", "transfers to the wrong speaker", ("turn_taking", "transfer_wrong_speaker_share"),
     "pct"),
    ("fto_wasserstein_s", "FTO shift (Wasserstein-1)", ("turn_taking", "fto_wasserstein_s"), "ms"),
)
LANE_COLOURS = ("#3b6ea5", "#237a4b")  # track A, track B (the explorer's colours)
DISAGREE = "#b3261e"


def fmt_score(value: Any, unit: str) -> str:
    """A collapse figure for a table cell ('–' where it cannot be measured, e.g. no overlaps to recover)."""
    if value is None or not isinstance(value, (int, float)) or not np.isfinite(value):
        return "–"
    return f"{1000 * value:.0f} ms" if unit == "ms" else f"{100 * value:.1f}%"


def collapse_cells(entry: dict[str, Any]) -> list[dict[str, str]]:
    """The table cells of one results.json entry (a recording's scores or the corpus summary)."""
    cells = []
    for key, _, (group, name), unit in COLLAPSE_COLUMNS:
        value = (entry.get(group) or {}).get(name)
        cells.append({"key": key, "text": fmt_score(value, unit)})
    return cells


def disagreement(truth: data.Lanes, diarized: data.Lanes, t1: float, hop: float = 0.01) -> list[tuple[float, float]]:
    """Spans in [0, t1] where the diarized lanes differ from the true ones on any track (missed speech,
    false alarm or the wrong speaker), on a 10 ms grid."""
    grid = FrameGrid(hop)
    n = int(np.ceil(t1 / hop))
    tr = {t: Timeline.from_bounds(s, e) for t, s, e in truth}
    dz = {t: Timeline.from_bounds(s, e) for t, s, e in diarized}
    bad = np.zeros(n, bool)
    for t in set(tr) | set(dz):
        bad |= tr.get(t, Timeline()).to_mask(n, grid) != dz.get(t, Timeline()).to_mask(n, grid)
    found = Timeline.from_mask(bad, grid)
    return list(zip(found.starts.tolist(), np.minimum(found.ends, t1).tolist()))


def lane_chart(rid: str, entry: dict[str, Any], truth: data.Lanes, diarized: data.Lanes,
               max_s: float = data.COLLAPSE_CHART_S) -> str:
    """The true two lanes above the diarized two lanes (and where they disagree) on one time axis."""
    dur = float(entry.get("duration_s") or 0.0) or max([float(e.max()) for _, _, e in truth + diarized if e.size],
                                                        default=1.0)
    t1 = min(dur, max_s)
    by_track = {v: k for k, v in (entry.get("mapping") or {}).items()}
    # a colour per track of the pair by its place in it: by the letter's parity, A and C (or B and D) of a
    # 4-channel file were one colour
    order = {t: i for i, t in enumerate(sorted({t for t, _, _ in truth} | {t for t, _, _ in diarized}))}

    def colour(t: int) -> str:
        return LANE_COLOURS[order.get(t, t) % 2]

    rows = []
    for t, s, e in truth:
        name = track_name(t)
        rows.append(LaneRow(f"{name} true (track {name})", list(zip(s.tolist(), e.tolist())),
                              colour(t), cls=f"lane true track-{name}"))
    for t, s, e in diarized:
        name = track_name(t)
        spk = by_track.get(name)
        rows.append(LaneRow(f"{name} diarized" + (f" ({spk})" if spk else ""), list(zip(s.tolist(), e.tolist())),
                              colour(t), hollow=True, cls=f"lane diarized track-{name}"))
    rows.append(LaneRow("disagree", disagreement(truth, diarized, t1), DISAGREE, cls="lane disagree"))
    der = (entry.get("der") or {}).get("der")
    note = (f"DER {fmt_score(der, 'pct')}" + (f"; first {t1:.0f} s of {dur:.0f} s shown" if dur > t1 + 1e-6 else "")
            + "; top: each track's own voice activity; middle: the mono mix diarized, mapped to the tracks; "
              "red: where they differ")
    shown = [t for t, _, _ in truth] or [0, 1]  # the pair's own letters (C, D of a 4-channel file)
    legend = [*[("box", colour(t), f"track {track_name(t)}") for t in shown],
              ("band", LANE_COLOURS[0], "diarized (mono mix)"), ("box", DISAGREE, "disagree")]
    return lanes(rows, t0=0.0, t1=t1, title=f"{rid}: true lanes above diarized lanes", note=note, legend=legend,
                   gap_after=(len(truth) - 1, len(truth) + len(diarized) - 1))


def collapse_section(snap: data.Snapshot) -> dict[str, Any] | None:
    """What the report's collapse section shows, or None when collapse has not run (the note says why)."""
    if not snap.collapse.available:
        return None
    c = snap.collapse.data
    rows = []
    for r in c["recordings"]:
        tracks = list(r.get("tracks") or [])
        rows.append({"recording_id": r["recording_id"], "diarizer": r.get("diarizer"),
                     # a recording collapsed as two of its tracks (the talking pair of a 4-channel file)
                     "tracks": ", ".join(tracks) if tracks and tracks != ["A", "B"] else "",
                     "n_speakers": r.get("n_speakers"), "mapping": r.get("mapping") or {},
                     "error": r.get("error"), "cells": [] if r.get("error") else collapse_cells(r)})
    charts = []
    for rid, truth in c["truth"].items():
        entry = c["by_id"][rid]
        used = [track_index(t) for t in entry.get("tracks") or ()]
        if used:  # the truth of the tracks that were mixed (not the unused channels beside them)
            truth = [lane for lane in truth if lane[0] in used]
        charts.append({"recording_id": rid, "svg": lane_chart(rid, entry, truth, c["lanes"].get(rid, []))})
    summary = c["summary"]
    n_ok = sum(1 for r in rows if not r["error"])
    return {
        "sentence": summary.get("sentence", ""), "summary": summary, "corpus_cells": collapse_cells(summary),
        "rows": rows, "charts": charts, "skipped": c["skipped"], "path": c["path"], "written_at": c["written_at"],
        "columns": [(k, h) for k, h, _, _ in COLLAPSE_COLUMNS],
        "diarizers": sorted({r["diarizer"] for r in rows if r["diarizer"]}),
        "more": max(0, n_ok - len(charts)),
    }


# ---------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------


def _matrix(snap: data.Snapshot) -> list[dict[str, Any]]:
    """Rows of the requirement matrix with each cell's mark and headline number."""
    if not snap.qualify.available:
        return []
    rep = snap.qualify.data["report"]
    out = []
    for rec in rep.recordings:
        cells = []
        for i in sorted(rec.checks):
            c = rec.checks[i]
            cells.append({"id": i, "passed": c.passed, "headline": c.headline, "reasons": list(c.reasons)})
        out.append({"recording_id": rec.recording_id, "hours": rec.hours, "type": rec.data_type.data_type,
                    "qualified": rec.qualified, "cells": cells, "phase": rec.phase_fit.labels(),
                    "phase_reasons": {p: list(v) for p, v in rec.phase_fit.reasons.items()}})
    return out


def render_report(snap: data.Snapshot, config: Config | None = None) -> str:
    """The report's HTML for a snapshot (``data.snapshot``)."""
    cfg = config or Config()
    env = templates()
    used: set[str] = set()
    anchors = {r["recording_id"]: _slug(r["recording_id"], used) for r in snap.rows}
    fto_svg, fto_note, fto_sources = fto_chart(snap)
    ov_svg, ov_note = overlap_chart(snap, cfg)
    pm_svg, pm_note = per_minute_chart(snap)
    map_svg, map_rows = datamap_chart(snap)
    # Lookups by id made once: a search per row of every recording made the report quadratic
    # (4,000 recordings: minutes).
    recs: dict[str, Any] = {}
    for x in snap.recordings:
        recs.setdefault(x.recording_id, x)
    quals: dict[str, Any] = {}
    if snap.qualify.available:
        for q in snap.qualify.data["json"]["recordings"]:
            quals.setdefault(q["recording_id"], q)
    details = {}
    for r in snap.rows:
        rec = recs.get(r["recording_id"])
        details[r["recording_id"]] = {
            "consent": data.consent_of(snap, rec) if rec is not None else [],
            "qual": quals.get(r["recording_id"]),
        }
    css = (Path(__file__).parent / "static" / "report.css").read_text()
    html = env.get_template("report.html").render(
        snap=snap, version=__version__, css=css, ov=snap.overview.data if snap.overview.available else None,
        fto_svg=fto_svg, fto_note=fto_note, fto_sources=fto_sources, durations=duration_charts(snap),
        ov_svg=ov_svg, ov_note=ov_note, pm_svg=pm_svg, pm_note=pm_note, map_svg=map_svg, map_rows=map_rows,
        matrix=_matrix(snap), qual=snap.qualify.data["json"] if snap.qualify.available else None,
        comparisons=snap.qualify.data["report"].comparisons if snap.qualify.available else (),
        anchors=anchors, details=details, verdicts=_verdicts(snap), allowed_hours=_allowed_hours(snap),
        hms=fmt_duration, cfg=cfg.qualify,
        names=_requirement_names(), col=collapse_section(snap), **glossary.context(cfg),
    )
    return html


def _verdicts(snap: data.Snapshot) -> dict[str, dict[str, Any]]:
    """Per purpose, each recording's rights verdict by id (the first, as a search in order would find)."""
    if not snap.rights.available:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for p, vs in snap.rights.data["purposes"].items():
        by_id = out[p] = {}
        for v in vs:
            by_id.setdefault(v.recording_id, v)
    return out


def _allowed_hours(snap: data.Snapshot) -> dict[str, float]:
    """Per purpose, the hours of the recordings it allows (recordings of unknown duration count 0)."""
    if not snap.rights.available:
        return {}
    out = {}
    for p, vs in snap.rights.data["purposes"].items():
        ok = {v.recording_id for v in vs if v.allowed}
        out[p] = sum(r["duration_s"] for r in snap.rows
                     if r["recording_id"] in ok and r["duration_s"] is not None) / 3600
    return out


def _requirement_names() -> dict[int, str]:
    return dict(NAMES)


def build_report(workspace, config: Config | None = None, *, permissions=None) -> str:
    """The report of ``workspace`` (a path or ``store.Workspace``) as HTML text; ``permissions``: the
    permissions table the rights verdicts read (None: the packaged one)."""
    return render_report(data.snapshot(data.open_workspace(workspace), config, permissions=permissions), config)


def write_report(workspace, out: str | os.PathLike, config: Config | None = None, *, permissions=None) -> Path:
    """Write the report to ``out`` (atomically: a half-written report never replaces a good one)."""
    html = build_report(workspace, config, permissions=permissions)
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


__all__ = ["build_report", "render_report", "write_report", "fto_chart", "duration_charts", "overlap_chart",
           "per_minute_chart", "datamap_chart", "collapse_section", "lane_chart", "disagreement"]
