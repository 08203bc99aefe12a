"""`twotrack show RECORDING -w WS`: one recording's checks, events and a two-lane text timeline."""

from __future__ import annotations

import math
import shutil
from typing import Any

import click
import numpy as np

from ..errors import ConfigError
from ..model import FRAMES, TEXT_NOT_ALIGNED, TEXT_UNFIT, Event, EventKind, RecordingResult, TrackActivity, track_name
from .common import handle_errors, print_json
from .group import main

EXIT_HELP = "Exit codes: 0 ok; 2 no workspace at WS, or no (or more than one) recording matches RECORDING."

#: Marks on the event lane, strongest first (one character per column).
EVENT_MARKS = ((EventKind.INTERRUPTION, "x"), (EventKind.FLOOR_TRANSFER, "^"), (EventKind.BACKCHANNEL, "b"),
               (EventKind.OVERLAP_BETWEEN, "o"), (EventKind.OVERLAP_WITHIN, "o"))


def resolve(ids: list[str], query: str) -> str:
    """The recording id ``query`` names: exact, else the only id ending in ``/query`` (``clean/d1`` for ``d1``)."""
    if query in ids:
        return query
    hits = [i for i in ids if i.endswith("/" + query)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise ConfigError(f"{query!r} matches several recordings: {', '.join(hits)}")
    raise ConfigError(f"no recording {query!r} in the workspace (`twotrack stats` or the recordings table list them)")


def lane(activity: TrackActivity | None, start_s: float, step_s: float, width: int) -> str:
    """One character per ``step_s`` seconds: '█' mostly speech, '▄' some speech, '·' none."""
    if activity is None:
        return " " * width
    n = max(1, int(round(step_s / FRAMES.hop_s)))
    first = FRAMES.boundary(start_s)
    mask = np.zeros(width * n, bool)
    for seg in activity.segments:
        a, b = seg.to_frames()
        a, b = max(a - first, 0), min(b - first, width * n)
        if b > a:
            mask[a:b] = True
    share = mask.reshape(width, n).mean(axis=1)
    return "".join("█" if s >= 0.5 else "▄" if s > 0 else "·" for s in share)


def event_lane(events: tuple[Event, ...], start_s: float, step_s: float, width: int) -> str:
    chars = [" "] * width
    rank = {kind: i for i, (kind, _) in enumerate(EVENT_MARKS)}
    best = [len(EVENT_MARKS)] * width
    for ev in events:
        if ev.kind not in rank:
            continue
        col = int(math.floor((ev.start - start_s) / step_s))
        if 0 <= col < width and rank[ev.kind] < best[col]:
            best[col] = rank[ev.kind]
            chars[col] = EVENT_MARKS[rank[ev.kind]][1]
    return "".join(chars)


def timeline(result: RecordingResult, width: int, step_s: float | None = None, start_s: float = 0.0,
             end_s: float | None = None) -> list[str]:
    """Text lines: per block of ``width`` columns, a time ruler, one lane per track, and the event lane."""
    end_s = min(end_s if end_s is not None else result.duration_s, result.duration_s)
    span = max(end_s - start_s, 0.0)
    if span <= 0:
        return ["(no audio)"]
    if step_s is None:  # fit into at most 6 blocks, never finer than 0.1 s
        step_s = max(0.1, math.ceil(span / (6 * width) * 10) / 10)
    by_track = {a.track: a for a in result.activity}
    n_tracks = max(result.recording.n_tracks, len(by_track))
    out = []
    t = start_s
    while t < end_s - 1e-9:
        cols = min(width, int(math.ceil((end_s - t) / step_s)))
        ruler = [" "] * cols
        tick = 10 if step_s * 10 >= 1 else 20
        for c in range(0, cols, tick):
            label = f"{t + c * step_s:.0f}s" if step_s * tick >= 1 else f"{t + c * step_s:.1f}s"
            for i, ch in enumerate(label):
                if c + i < cols:
                    ruler[c + i] = ch
        out.append("     " + "".join(ruler))
        for k in range(n_tracks):
            out.append(f"  {track_name(k)}  " + lane(by_track.get(k), t, step_s, cols))
        if result.events:
            out.append("  ev " + event_lane(result.events, t, step_s, cols))
        out.append("")
        t += cols * step_s
    out.append(f"one column = {step_s:g} s; █ speech, ▄ some speech, · silence; "
               "events: ^ floor transfer, x interruption, b backchannel, o overlap")
    return out


def words_dict(stored) -> dict[str, Any]:
    """``words`` ({track: "A"|"B", start, end, word, probability} sorted by start), their ``words_source``
    and ``languages`` (track name -> {language, probability, model}) of ``queries.words``."""
    if stored is None:
        return {"words": [], "words_source": None, "languages": {}, "lines": [], "unfit_lines": 0,
                "not_aligned_lines": 0}
    return {
        "words": [{"track": track_name(w.track), "start": round(w.start, 3), "end": round(w.end, 3), "word": w.text,
                   "probability": None if w.probability is None else round(w.probability, 4)} for w in stored.words],
        "words_source": stored.source,
        "languages": {track_name(t): {"language": lang, "probability": None if p is None else round(p, 4), "model": m}
                      for t, (lang, p, m) in sorted(stored.languages.items())},
        # aligned transcript lines: each one's text fit (words.textfit), whether its words were kept, why not
        "lines": [{"track": track_name(ln["track"]), "start": round(ln["start"], 3), "end": round(ln["end"], 3),
                   "text": ln["text"], "fit": None if ln["fit"] is None else round(ln["fit"], 3),
                   "coverage": None if ln["coverage"] is None else round(ln["coverage"], 3),
                   "kept": ln["kept"], "reason": ln["reason"]} for ln in stored.lines],
        "unfit_lines": len(stored.unfit),
        "not_aligned_lines": len(stored.not_aligned),
    }


def clock_dict(result: RecordingResult) -> dict[str, Any]:
    """The recording's clock (``ingest.clock.recording_clock``): ``status`` measured, declared, unknown or
    shared, and the values (``offset_ms``, ``drift_ppm``, ``declared``, ``measured``) with a note or reason."""
    from ..ingest.clock import recording_clock

    return dict(recording_clock(result.recording, result.checks, int(result.sample_rate or 0),
                                float(result.duration_s or 0.0)).entry)


def show_dict(result: RecordingResult, row: dict[str, Any], stages: list[dict[str, Any]],
              words=None, wordless: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stable JSON of ``twotrack show --json`` (docs/cli.md); ``words``: ``queries.words`` of it;
    ``wordless``: ``turns.wordless.read_wordless`` of it (None: no words at all)."""
    from ..usage import speech_per_track, track_uses

    rec = result.recording
    uses = track_uses(rec, speech_per_track(result.activity) if result.activity else None)
    return {
        "recording_id": rec.recording_id,
        "status": row["status"],
        "layout": rec.layout.value,
        "source_type": rec.source_type.value,
        "duration_s": result.duration_s,
        "sample_rate": result.sample_rate,
        "license": rec.license,
        "tags": rec.tags,
        "tracks": [{"track": i, "name": track_name(i), "path": t.path, "channel": t.channel, "sha256": t.sha256,
                    "speaker": rec.speakers[i] if i < len(rec.speakers) else None,
                    "used": uses[i].used, "use": uses[i].why()} for i, t in enumerate(rec.tracks)],
        "checks": result.checks.to_dict() if result.checks is not None else None,
        "clock": clock_dict(result),
        "activity": [{"track": a.track, "detector": a.detector, "speech_s": round(a.speech_s, 6),
                      "segments": [[s.start, s.end] for s in a.segments]} for a in result.activity],
        "events": [e.to_dict() for e in result.events],
        "stages": [{"stage": s["stage"], "status": s["status"], "note": s["note"], "seconds": s["seconds"],
                    "stage_key": s["stage_key"]} for s in stages],
        "errors": [e.to_dict() for e in result.errors],
        **words_dict(words),
        "wordless": wordless,
    }


def _fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.2f}{unit}"
    return f"{x}{unit}"


def _render(d: dict[str, Any], result: RecordingResult, width: int, step_s: float | None, start_s: float,
            end_s: float | None, max_events: int) -> None:
    from rich.console import Console
    from rich.markup import escape as x  # every value from the data: ids, paths, notes may hold [brackets]
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]{x(d['recording_id'])}[/bold]  {d['status']}, {d['layout']}, {d['duration_s']:.2f} s at "
                  f"{d['sample_rate']} Hz, license {x(d['license'] or '-')}")
    for t in d["tracks"]:
        use = ""  # a track without a speaker: unused (needs no consent) or someone unknown (blocks)
        if t["speaker"] is None and "use" in t and d["layout"] != "mono":  # a mono track's people are in metadata
            use = f" ({x(t['use'])}" + ("; needs no consent, left out of exports)" if not t["used"]
                                        else "; blocks every purpose)")
        console.print(f"  track {t['name']}: {x(t['path'])} (channel {t['channel']}), speaker {x(t['speaker'] or '-')}"
                      + use)
    c = d["checks"]
    if c is None:
        console.print("checks: not stored" + "".join(f" ({x(s['note'])})" for s in d["stages"]
                                                     if s["stage"] == "checks" and s["note"]))
    else:
        console.print(f"checks: isolation [bold]{c['isolation']}[/bold]; bleed {_fmt(c['bleed_db'], ' dB')} "
                      f"({c.get('bleed_direction') or '-'}) at lag {_fmt(c['bleed_lag_ms'], ' ms')}; offset "
                      f"{_fmt(c['offset_ms'], ' ms')}; drift {_fmt(c['drift_ppm'], ' ppm')}; duplicate channels "
                      f"{'yes' if c['duplicate_channels'] else 'no'}; codec {x(c.get('codec') or '-')}")
        for reason in c.get("reasons") or []:
            console.print(f"  - {x(reason)}")
        if c.get("tracks"):
            q = Table(show_edge=False)
            for col in ("track", "SNR dB", "bandwidth Hz", "clipping", "DC", "speech share", "digital silence"):
                q.add_column(col, justify="right")
            for tq in c["tracks"]:
                q.add_row(track_name(tq["track"]), _fmt(tq.get("snr_db")), _fmt(tq.get("effective_bandwidth_hz")),
                          _fmt(tq.get("clipping_share")), _fmt(tq.get("dc_offset")), _fmt(tq.get("speech_share")),
                          "yes" if tq.get("digital_silence") else "no")
            console.print(q)
    ck = d["clock"]
    values = (f"B offset {ck['offset_ms']:+.1f} ms, drift {ck['drift_ppm']:+.2f} ppm; "
              if ck.get("offset_ms") is not None else "")
    console.print(f"clock: [bold]{ck['status']}[/bold] ({x(values + (ck.get('note') or ck.get('reason') or ''))})")
    for s in d["stages"]:
        if s["status"] not in ("ok",):
            console.print(f"stage {s['stage']}: {s['status']} {x(s['note'] or '')}")
    for e in d["errors"]:
        stage = x(f"[{e['stage']}]")
        console.print(f"[red]error[/red] {stage} {x(e['path'])}: {x(e['problem'])}")
    for a in d["activity"]:
        console.print(f"activity {track_name(a['track'])}: {len(a['segments'])} segments, {a['speech_s']:.1f} s "
                      f"speech ({a['detector']})")
    for name, lang in d["languages"].items():
        mine = [w["word"] for w in d["words"] if w["track"] == name]
        head = " ".join(mine[:12]) + (" ..." if len(mine) > 12 else "")
        console.print(f"words {name}: {len(mine)} ({d['words_source']}, language {lang['language']}): {x(head)}")
    if d.get("wordless") is not None:
        w = d["wordless"]
        span = f" in the transcribed {w['span_s'][0]:g}-{w['span_s'][1]:g} s" if w.get("span_s") else ""
        for t in w["tracks"]:
            if t["share"] is None and t["track"] > 1:
                continue  # a later track without speech (an unused channel): nothing to measure
            share = "-" if t["share"] is None else f"{100 * t['share']:.1f}%"
            console.print(f"speech without words {t['name']}: {t['wordless_s']:.1f} of {t['speech_s']:.1f} s ({share}) "
                          f"in {len(t['wordless_ipus'])} IPU(s) no {x(w['source'] or '')} word touches "
                          f"(+-{w['tolerance_s']:g} s)" + span)
        if w.get("note"):
            console.print(f"  [yellow]{x(w['note'])}[/yellow]")
    if d["unfit_lines"]:
        console.print(f"[yellow]transcript lines whose text does not fit their audio: {d['unfit_lines']} of "
                      f"{len(d['lines'])}[/yellow]")
        for ln in (ln for ln in d["lines"] if (ln["reason"] or "").startswith(TEXT_UNFIT)):
            console.print(f"  {ln['track']} {ln['start']:.2f}-{ln['end']:.2f} s: {x(ln['text'][:60])} ({x(ln['reason'])})")
    if d.get("not_aligned_lines"):
        console.print(f"[yellow]transcript lines not aligned to their audio (no path through their text): "
                      f"{d['not_aligned_lines']} of {len(d['lines'])}[/yellow]")
        for ln in (ln for ln in d["lines"] if (ln["reason"] or "").startswith(TEXT_NOT_ALIGNED)):
            console.print(f"  {ln['track']} {ln['start']:.2f}-{ln['end']:.2f} s: {x(ln['text'][:60])}")
    if d["events"]:
        table = Table(title=f"events ({len(d['events'])})", show_edge=False)
        for col in ("start", "end", "kind", "track", "from", "value"):
            table.add_column(col, justify="right" if col != "kind" else "left")
        shown = d["events"][:max_events] if max_events else d["events"]
        for e in shown:
            table.add_row(f"{e['start']:.2f}", f"{e['end']:.2f}", e["kind"],
                          "-" if e["track"] is None else track_name(e["track"]),
                          "-" if e["from_track"] is None else track_name(e["from_track"]),
                          "-" if e["value"] is None else f"{e['value']:+.3f}")
        console.print(table)
        if max_events and len(d["events"]) > max_events:
            console.print(f"... {len(d['events']) - max_events} more (--events 0 shows all)")
    for line in timeline(result, width, step_s, start_s, end_s):
        console.print(line, soft_wrap=True)


@main.command(epilog=EXIT_HELP)
@click.argument("recording")
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False), help="Workspace folder.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/cli.md).")
@click.option("--events", "max_events", type=click.IntRange(min=0), default=40, show_default=True,
              help="Events listed in the table (0: all).")
@click.option("--step", "step_s", type=click.FloatRange(min=0.01), default=None,
              help="Seconds per timeline column (default: fit the recording into a few blocks).")
@click.option("--start", "start_s", type=click.FloatRange(min=0), default=0.0, help="Timeline start (s).")
@click.option("--end", "end_s", type=click.FloatRange(min=0), default=None, help="Timeline end (s).")
@handle_errors
def show(recording, ws, as_json, max_events, step_s, start_s, end_s):
    """One recording: checks with their numbers, the events table, and a two-lane text timeline.

    RECORDING is a recording id, or the last part of one when that is unique (d01 for clean/d01).
    """
    from ..export.context import GoldWords
    from ..store import Workspace, queries
    from ..turns.wordless import read_wordless

    workspace = Workspace(ws)
    rows = {r["recording_id"]: r for r in queries.recording_table(workspace)}
    rid = resolve(sorted(rows), recording)
    result = queries.result(workspace, rid)
    data = show_dict(result, rows[rid], queries.stage_table(workspace, rid), queries.words(workspace, rid),
                     read_wordless(result, GoldWords(keep=1, workspace=workspace)))
    if as_json:
        print_json(data)
        return
    width = max(20, min(120, shutil.get_terminal_size((100, 24)).columns - 6))
    _render(data, result, width, step_s, start_s, end_s, max_events)
