"""`twotrack eval --gold PATH [AUDIO_OR_FOLDER...] [-w WORKSPACE]`: detected activity against gold timings."""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import evaluate as ev
from ..errors import ConfigError
from ..model import track_name
from .common import handle_errors, print_json
from .group import main
from .scan import cli_config, config_options

ROW = ("ipu_onset_hit_rate", "ipu_offset_hit_rate", "frame_precision", "frame_recall", "frame_f1", "fto_mae_s",
       "n_gold_ipus")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(result: dict[str, Any]) -> str:
    head = ["recording", *ROW]
    rows = [[rid, *(_fmt(m.get(k)) for k in ROW)] for rid, m in result["recordings"].items()]
    rows.append(["overall", *(_fmt(result.get(k)) for k in ROW)])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [head, *rows]]
    lines.append(f"onset/offset hits within +-{result['tolerance_s'] * 1000:.0f} ms; IPUs merged across pauses "
                 f"< {result['pause_threshold_s']:.2f} s")
    if result["unmatched_recordings"]:
        lines.append("no gold for: " + ", ".join(result["unmatched_recordings"]))
    if result.get("unmatched_gold"):
        lines.append("gold without a recording (not scored): " + ", ".join(result["unmatched_gold"]))
    # gold on a track the recording does not have (a mono file against two-channel gold) is left out of the
    # rates above, which would otherwise read as if every gold IPU had been scored
    for rid, m in result["recordings"].items():
        missing = m.get("gold_tracks_not_detected")
        if missing:
            names = ", ".join(track_name(int(t)) for t in missing)
            lines.append(f"{rid}: gold on track(s) {names}, which the recording does not have: not scored "
                         f"(its IPUs are not among the {m['n_gold_ipus']} counted)")
        if m.get("tracks_without_gold"):
            lines.append(f"{rid}: track(s) {', '.join(m['tracks_without_gold'])} have no gold file: not scored")
    return "\n".join(lines)


@main.command("eval", epilog="Exit codes: 0 ok; 1 some recordings or gold files could not be read (the others "
                              "were scored); 2 usage or config error, or nothing to evaluate.")
@click.option("--gold", "gold_path", default=None, type=click.Path(exists=True),
              help="Gold timings: a CTM/RTTM/TextGrid file or a folder of them. Without it, -w WORKSPACE uses "
                   "the gold its recordings name (a manifest's transcript, a recipe's transcripts).")
@click.argument("paths", nargs=-1)
@click.option("-w", "--workspace", default=None, type=click.Path(exists=True, file_okay=False),
              help="Evaluate the activity stored in this workspace instead of detecting it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_options
@handle_errors
def evaluate(gold_path: str | None, paths: tuple[str, ...], workspace: str | None, as_json: bool,
             config_file: str | None, overrides: tuple[str, ...]) -> None:
    """Compare detected voice activity with gold word or segment times.

    Reports, per recording and overall, the share of gold IPU onsets (offsets) with a detected one within
    +-50 ms, frame precision/recall/F1 at 10 ms, and the FTO error on matched floor transfers. Gold is
    matched to recordings by recording id (a single audio file's id is its stem).
    """
    if bool(paths) == bool(workspace):
        raise ConfigError("give audio files/folders to detect, or -w WORKSPACE to read stored activity (one of them)")
    cfg = cli_config(config_file, overrides)
    errors = []
    if gold_path:
        gold = ev.read_gold(gold_path)
    elif workspace:
        gold, errors = ev.gold_from_workspace(workspace)
        if not gold:
            raise ConfigError(f"no recording in {workspace} names gold (a manifest transcript or a recipe's "
                              "transcripts): give --gold PATH")
    else:
        raise ConfigError("give --gold PATH (or -w WORKSPACE whose recordings name their gold)")
    if workspace:
        activity, durations = ev.activity_from_workspace(workspace)
    else:
        activity, durations, errors = ev.detect_recordings(paths, cfg)
    # a workspace's recordings may say which stretch their gold covers (CALLHOME): scored there only
    scored = ev.scored_spans_from_workspace(workspace) if workspace else None
    # and which of their tracks have no gold file (a recipe's per-track transcripts): left out, not scored as silent
    unscored = ev.unscored_tracks_from_workspace(workspace) if workspace else None
    result = ev.evaluate_activity(activity, gold, durations, cfg.turns, scored=scored, unscored=unscored)
    result["errors"] = [e.to_dict() for e in errors]
    if as_json:
        print_json(result)
    else:
        click.echo(_table(result))
        for e in errors:
            click.echo(f"error: {e.path}: {e.problem}", err=True)
    if errors:
        sys.exit(1)
