"""`twotrack collapse -w WS`: what mono + diarization would lose on the workspace's two-track recordings."""

from __future__ import annotations

import math
import shutil
import sys
from typing import Any

import click

from ..errors import ConfigError
from .common import handle_errors, print_json
from .group import main

EXIT_HELP = ("Exit codes: 0 ok; 1 some recordings failed (the others were scored); 2 no workspace, unknown "
             "recording, a stored results.json that cannot be merged, or the collapse extra is not installed.")


def _pct(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def _ms(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{1000 * x:.0f} ms"


def _render(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape as x  # recording ids and reasons may hold [brackets]
    from rich.table import Table

    table = Table(title="mono + diarization against the two-track truth")
    for col in ("recording", "DER", "missed", "FA", "conf.", "DER w/o ovl", "onsets ±50ms", "overlaps",
                "backch.", "wrong spk", "FTO W1"):
        table.add_column(col, justify="left" if col == "recording" else "right")
    for r in out["recordings"]:
        if r["error"]:
            table.add_row(x(r["recording_id"]), x(f"failed: {r['error']}"), *[""] * 9)
            continue
        d, t = r["der"], r["turn_taking"]
        tracks = list(r.get("tracks") or [])  # two of more tracks: say which were mixed
        name = r["recording_id"] + (f" ({', '.join(tracks)})" if tracks and tracks != ["A", "B"] else "")
        table.add_row(x(name), _pct(d["der"]), _pct(d["missed"]), _pct(d["false_alarm"]),
                      _pct(d["confusion"]), _pct(r["der_without_overlap"]["der"]), _pct(t["onset_hit_rate"]),
                      _pct(t["overlap_recall"]), _pct(t["backchannel_recall"]),
                      _pct(t["transfer_wrong_speaker_share"]), _ms(t["fto_wasserstein_s"]))
    console = Console(width=max(140, shutil.get_terminal_size().columns))
    console.print(table)
    for s in out["skipped"]:
        console.print(f"skipped {x(s['recording_id'])}: {x(s['reason'])}")
    for k in out["this_run"].get("kept") or ():
        console.print(f"failed this run, its stored result kept: {x(k['recording_id'])}: {x(k['error'])}")
    summary = out["summary"]
    console.print(summary["sentence"])
    mixed = summary.get("diarizers") or {}
    if len(mixed) > 1:  # a merge pooled results of different diarizers into one figure
        console.print("the summary pools " + str(len(mixed)) + " diarizers: "
                      + x(", ".join(f"{k} ({v} recording(s))" for k, v in mixed.items())))
    if summary.get("stale"):
        console.print(f"not in the summary (rescanned since they were collapsed: their audio or activity changed; "
                      f"run them again): {x(', '.join(summary['stale']))}")
    if summary.get("not_pooled"):
        console.print(f"not in the summary (stored before per-recording parts were kept; run them again): "
                      f"{x(', '.join(summary['not_pooled']))}")
    if summary["recordings"]:
        console.print(f"time: {summary['processing_s']:.1f} s, {summary['seconds_per_audio_hour']:.0f} s per hour "
                      f"of audio; results in {out['path']}")


@main.command(epilog=EXIT_HELP)
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False), help="Workspace folder.")
@click.option("--recordings", "-r", multiple=True, metavar="ID",
              help="Only these recordings (repeatable; an id or its last path part).")
@click.option("--hypothesis", type=click.Path(exists=True), default=None,
              help="Score an external diarizer's RTTM (a file or a folder of .rttm) instead of running ours.")
@click.option("--speakers", type=int, default=None,
              help="Speakers per recording for the diarizer (default: its tracks with speech, 2 for a dialogue; 0: estimate).")
@click.option("--overlap-margin", type=float, default=0.0, show_default=True,
              help="Mark both speakers where their scores are this close (a crude overlap guess; 0 = off).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/collapse.md).")
@handle_errors
def collapse(ws, recordings, hypothesis, speakers, overlap_margin, as_json):
    """Mix each two-track recording to mono, diarize the mix, and score it against the per-track activity:
    diarization error (missed, false alarm, confusion; with and without overlap) and turn-taking damage
    (onsets within 50 ms, overlaps and backchannels recovered, FTO shift, transfers to the wrong speaker)."""
    from ..collapse import missing_requirements

    missing = missing_requirements()
    if missing:
        click.echo("error: `twotrack collapse` needs the collapse extra, missing here: " + "; ".join(missing), err=True)
        sys.exit(2)

    from ..collapse.run import CollapseConfig, DiarizeConfig, collapse_workspace, jsonable, scan_config
    from ..store import Workspace

    workspace = Workspace(ws)
    scan = scan_config(workspace)
    n_spk = 0 if speakers is None else (None if speakers == 0 else speakers)
    try:
        diar = DiarizeConfig(activity=scan.activity, overlap_margin=overlap_margin)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    cfg = CollapseConfig(diarize=diar, turns=scan.turns, n_speakers=n_spk)

    def progress(res) -> None:
        if not as_json:
            state = f"failed: {res.error}" if res.error else f"{res.seconds:.1f} s"
            click.echo(f"collapse: {res.recording_id} {state}", err=True)

    out = collapse_workspace(workspace, recordings, hypothesis, cfg, progress)
    out.pop("results")
    if as_json:
        print_json(jsonable(out))
    else:
        _render(out)
    if out["this_run"]["failed"]:  # stored failures of recordings not run now are listed, not this run's
        sys.exit(1)
