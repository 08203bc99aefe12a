"""`twotrack stats -w WS`: corpus tables (turns.corpus.workspace_stats)."""

from __future__ import annotations

from typing import Any

import click

from .common import handle_errors, print_json
from .group import main

EXIT_HELP = "Exit codes: 0 ok; 2 no workspace at WS (or a newer schema)."


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def _render(d: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape as x  # the workspace path, tag values and speaker ids may hold [brackets]
    from rich.table import Table

    console = Console(soft_wrap=True)
    rec = d["recordings"]
    console.print(f"[bold]{x(d['workspace'])}[/bold]: {rec['total']} recording(s), {d['hours']:.2f} h "
                  f"({rec['ok']} ok, {rec['partial']} partial, {rec['failed']} failed), {d['speakers']} speaker(s), "
                  f"{d['errors']} error(s)")
    if d["isolation"] or d["recordings_without_checks"]:
        iso = x(", ".join(f"{k} {v}" for k, v in d["isolation"].items()) or "none")
        console.print(f"isolation: {iso}" + (f"; no checks for {d['recordings_without_checks']}"
                                              if d["recordings_without_checks"] else ""))
    ek = d.get("events_keys") or {}
    if ek.get("mixed"):
        by_key = ", ".join(f"{k} {n}" for k, n in ek["recordings_by_key"].items())
        console.print(f"[yellow]warning:[/] events were computed under {len(ek['recordings_by_key'])} different "
                      f"stage versions or configs (events key: recordings {x(by_key)}); the statistics below pool "
                      "them: rescan the corpus with one config (twotrack scan PATH -w WS) to make them comparable")
    t = d["turns"]
    if not t:
        console.print("no turn-taking statistics: no recording has events (mono recordings, recordings of more "
                      "than two talking tracks such as a meeting's headsets, and copied channels have none; or the "
                      "events stage never ran)")
        return
    # the turn statistics cover only recordings with events (not mono, failed or copied-channel ones): say so,
    # or rates per minute read as if over the hours of the first line
    console.print(f"turn-taking statistics over {t['recordings']} of {rec['total']} recording(s) "
                  f"({t['hours']:.2f} of {d['hours']:.2f} h): those with events")
    share = x(", ".join(f"{k} {_pct(v)}" for k, v in t["speech_share"].items()))
    console.print(f"speech share per track: {share}; overlap share of speech: {_pct(t['overlap_share_of_speech'])}")

    counts = Table(title="events", show_edge=False)
    counts.add_column("kind")
    counts.add_column("count", justify="right")
    counts.add_column("per minute", justify="right")
    for name, n in t["counts"].items():
        counts.add_row(name, str(n), _num(t["per_minute"][name]))
    console.print(counts)

    fto = t["fto"]
    q = fto["quantiles"]
    console.print(f"FTO (s): n {fto['n']}, mean {_num(fto['mean'], '.3f')}, "
                  + ", ".join(f"p{k} {_num(v, '.3f')}" for k, v in q.items())
                  + f", overlapping transfers {_pct(fto['share_overlap'])}")
    hist = fto.get("histogram")
    if hist and fto["n"]:
        peak = max(hist["counts"]) or 1
        edges = hist["edges"]
        for i, c in enumerate(hist["counts"]):
            if c:
                console.print(f"  [{edges[i]:+.1f}, {edges[i + 1]:+.1f})  {'#' * max(1, round(30 * c / peak))} {c}",
                              highlight=False)
        if hist["below"] or hist["above"]:
            console.print(f"  below {edges[0]:+.1f}: {hist['below']}, above {edges[-1]:+.1f}: {hist['above']}")

    for title, key in (("by " + str(d.get("group_by")), "by_group"), ("by speaker", "by_speaker")):
        groups = t.get(key) or {}
        if not groups:
            continue
        table = Table(title=x(title), show_edge=False)
        for col in ("", "recordings", "hours", "speech", "overlap/speech", "IPU/min", "FTO p50 (s)"):
            table.add_column(col, justify="right" if col else "left")
        for g, s in groups.items():
            sp = s["speech_share"]
            sp_txt = _pct(sp) if not isinstance(sp, dict) else ", ".join(_pct(v) for v in sp.values())
            table.add_row(x(str(g)), str(s["recordings"]), _num(s["hours"]), sp_txt, _pct(s["overlap_share_of_speech"]),
                          _num(s["per_minute"]["ipu"], ".1f"), _num(s["fto"]["quantiles"].get("50"), ".3f"))
        console.print(table)


@main.command(epilog=EXIT_HELP)
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False), help="Workspace folder.")
@click.option("--group-by", default="register", show_default=True,
              help="Tag key whose values make the per-group breakdown (e.g. register, topic).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/cli.md).")
@click.option("--as-reference", "as_reference", default=None, type=click.Path(dir_okay=False),
              help="Also write the corpus as a measured reference file (docs/qualify.md) for "
                   "`twotrack qualify --reference`.")
@click.option("--wordless", "with_wordless", is_flag=True,
              help="Also pool speech without words over the recordings that have words (reads every stored result "
                   "and transcript: about 50 ms a recording; `twotrack show` gives it for one).")
@handle_errors
def stats(ws, group_by, as_json, as_reference, with_wordless):
    """Corpus tables: hours, recordings, speakers, isolation verdicts, speech and overlap shares,
    event counts per minute, FTO quantiles and histogram, per-group and per-speaker breakdowns."""
    from ..store import Workspace
    from ..turns.corpus import workspace_stats

    workspace = Workspace(ws)
    data = workspace_stats(workspace, group_by=group_by or None)
    data["missing_sources"] = _missing(workspace)
    data["words"] = _words(workspace)
    data["wordless"] = _wordless(workspace) if with_wordless else None
    data["outdated"] = _outdated(workspace)
    if as_json:
        print_json(data)
    else:
        _render(data)
        _render_outdated(data["outdated"])
        _render_words(data["words"])
        _render_wordless(data["wordless"])
        _render_missing(data["missing_sources"])
    if as_reference:
        _write_reference(workspace, as_reference, quiet=as_json)


def _outdated(workspace) -> dict[str, int]:
    """stage -> how many recordings' stored results this twotrack would compute differently under the very
    config they were computed with (their run's ``stage_keys`` differ from this version's keys of that run's
    ``config``: an older (or newer) stage version); only stages with some. Results of a run whose config
    this version cannot read, or of no recorded run, are not counted."""
    import json

    from ..config import Config
    from ..run.keys import stage_keys
    from ..store import queries

    ours: dict[int, dict[str, str]] = {}
    theirs: dict[int, dict[str, str]] = {}
    for run in queries.runs(workspace):
        stored = queries.recorded_stage_keys(run["stage_keys"])
        try:
            config = Config.from_dict(json.loads(run["config"]))
        except (TypeError, ValueError, AttributeError):  # not a run this version can read: not judged
            continue
        if stored is not None:
            ours[run["run_id"]], theirs[run["run_id"]] = stage_keys(config, {}), stored
    out: dict[str, int] = {}
    for stage, by_rid in queries.result_runs(workspace).items():
        n = sum(1 for run_id in by_rid.values()
                if run_id in ours and stage in ours[run_id] and theirs[run_id].get(stage) != ours[run_id][stage])
        if n:
            out[stage] = n
    return out


def _render_outdated(outdated: dict[str, int]) -> None:
    if not outdated:
        return
    from rich.console import Console

    said = ", ".join(f"{stage} of {n} recording(s)" for stage, n in outdated.items())
    Console(soft_wrap=True).print(
        f"[yellow]warning:[/] stored results another twotrack version computed ({said}): the figures show them as "
        "they are; rescan (twotrack scan PATH -w WS) to recompute them with this version")


def _write_reference(workspace, out: str, quiet: bool) -> None:
    """The workspace's pooled turn-taking statistics as a reference (every quantile measured)."""
    from ..qualify import build_reference, save_reference
    from ..qualify.workspace import inputs_from_workspace

    inputs = inputs_from_workspace(workspace)
    ref = build_reference(inputs, name=workspace.path.name, source=f"twotrack stats on {workspace.path}")
    save_reference(ref, out)
    if not quiet:
        prov = next(iter(ref["statistics"].values()))["provenance"][0]
        click.echo(f"reference written: {out} ({', '.join(ref['statistics'])}; {prov['n_recordings']} recording(s), "
                   f"{prov['hours']:.2f} h)")


def _words(workspace) -> dict[str, Any]:
    """What the words stage stored: recordings with words, words per source, tracks per language."""
    from ..store import queries

    counts = queries.word_counts(workspace)
    by_source: dict[str, int] = {}
    languages: dict[str, int] = {}
    for d in counts.values():
        by_source[d["source"]] = by_source.get(d["source"], 0) + sum(d["tracks"].values())
        for lang in d["languages"].values():
            languages[lang] = languages.get(lang, 0) + 1
    return {"recordings": sum(1 for d in counts.values() if d["tracks"]), "words": sum(by_source.values()),
            "by_source": dict(sorted(by_source.items())), "track_languages": dict(sorted(languages.items())),
            # aligned transcript lines, and those whose text was judged not to fit their audio (words.textfit)
            "aligned_lines": sum(d.get("lines", 0) for d in counts.values()),
            "unfit_lines": sum(d.get("unfit_lines", 0) for d in counts.values()),
            "recordings_with_unfit_lines": sum(1 for d in counts.values() if d.get("unfit_lines")),
            # ... and those the forced alignment found no path through (no words, not measured)
            "not_aligned_lines": sum(d.get("not_aligned_lines", 0) for d in counts.values()),
            "recordings_with_not_aligned_lines": sum(1 for d in counts.values() if d.get("not_aligned_lines"))}


def _render_words(w: dict[str, Any]) -> None:
    if not w["recordings"] and not w["track_languages"]:
        click.echo("words: none stored (twotrack scan --words transcribes every track)")
        return
    src = ", ".join(f"{n} {s}" for s, n in w["by_source"].items())
    langs = ", ".join(f"{lang} {n}" for lang, n in w["track_languages"].items())
    click.echo(f"words: {w['words']} on {w['recordings']} recording(s) ({src}); tracks per language: {langs}")
    if w.get("unfit_lines"):
        click.echo(f"transcript lines whose text does not fit their audio: {w['unfit_lines']} of "
                   f"{w['aligned_lines'] - w.get('not_aligned_lines', 0)} aligned, on "
                   f"{w['recordings_with_unfit_lines']} recording(s) (twotrack show RECORDING lists them)")
    if w.get("not_aligned_lines"):
        click.echo(f"transcript lines not aligned to their audio at all: {w['not_aligned_lines']} of "
                   f"{w['aligned_lines']}, on {w['recordings_with_not_aligned_lines']} recording(s) (no word times; "
                   "twotrack show RECORDING lists them)")


def _wordless(workspace) -> dict[str, Any]:
    """Speech without words over the recordings that have words (turns.wordless): pooled per track."""
    from ..export.context import GoldWords
    from ..store import queries
    from ..turns.wordless import pooled, read_wordless

    gold = GoldWords(workspace=workspace)
    return pooled(read_wordless(r, gold) for r in queries.results(workspace))


def _render_wordless(w: dict[str, Any] | None) -> None:
    if not w or not w["recordings"]:
        return
    parts = [f"{name} {100 * f['share']:.2f}%" for name, f in w["tracks"].items() if f["share"] is not None]
    al = w["all"]
    if al["share"] is None:
        return
    src = ", ".join(f"{n} {s}" for s, n in w["sources"].items())
    click.echo(f"speech without words: {100 * al['share']:.2f}% of {al['speech_s'] / 60:.1f} min detected speech "
               f"({', '.join(parts)}) over {w['recordings']} recording(s) with words ({src}): IPUs no word "
               f"touches within {w['tolerance_s']:g} s (laughter, breath, other sounds; twotrack show lists them)")


def _missing(workspace) -> dict[str, list[str]]:
    """recording_id -> source files gone since the scan (ingest/missing.py)."""
    from ..ingest.missing import missing_sources
    from ..store import queries

    return missing_sources(queries.recordings(workspace))


def _render_missing(missing: dict[str, list[str]]) -> None:
    if not missing:
        return
    click.echo(f"missing source files: {len(missing)} recording(s) still counted above; exports skip them "
               "(restore the files, or rescan where they went):")
    for rid, paths in missing.items():
        click.echo(f"  {rid}: {', '.join(paths)}")
