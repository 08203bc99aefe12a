"""`twotrack qualify` (the eight requirements and phase labels) and `twotrack map` (the data map).

Both read a workspace (``-w WS``) or, for notebooks and tests, a CorpusInputs JSON file (``--inputs``).
The verdict is data, not an error: a corpus that fails exits 0 with ``corpus_passed: false``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from ..config import load_config
from ..errors import ConfigError
from .common import handle_errors, load_permissions_option, permissions_option, print_json
from .group import main

MAX_ROWS = 200  # the terminal matrix shows this many recordings; --json has them all
_STYLE = {"fit": "green", "partial": "yellow", "unfit": "red"}


def _console():
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=170, color_system=None)


def _load(ws: str | None, inputs: str | None, purpose: str | None, config_path: str | None,
          reference: str | None, permissions: str | None = None):
    if bool(ws) == bool(inputs):
        raise ConfigError("give exactly one of -w/--workspace or --inputs")
    if inputs and permissions:  # an inputs file carries its verdicts already: the table would change nothing
        raise ConfigError("--permissions judges a workspace's recordings; an --inputs file carries its own "
                          "rights verdicts (give -w WS instead)")
    table = load_permissions_option(permissions)
    cfg = load_config(config_path).qualify
    if purpose:
        cfg = replace(cfg, purpose=purpose)
    if reference:
        cfg = replace(cfg, reference_path=str(reference))
    if inputs:
        from ..qualify import load_inputs

        corpus = load_inputs(inputs)
        corpus = replace(corpus, purpose=cfg.purpose)
        return corpus, cfg, None
    from ..qualify.workspace import inputs_from_workspace
    from ..store import Workspace

    workspace = Workspace(ws)
    return inputs_from_workspace(workspace, cfg.purpose, cfg, permissions=table), cfg, workspace


def _cell(check) -> str:
    from rich.markup import escape

    mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[dim]·[/]"}[check.passed]
    return f"{mark} {escape(check.headline)}" if check.headline else mark


def _render(report, console) -> None:
    from rich.markup import escape as x  # recording ids, corpus names and reasons may hold [brackets]
    from rich.table import Table

    from ..qualify.requirements import NAMES

    matrix = Table(title=f"requirement matrix: {x(str(report.corpus))} (purpose {report.purpose})", show_lines=False)
    matrix.add_column("recording", overflow="fold")
    matrix.add_column("h", justify="right")
    matrix.add_column("type")
    for i in NAMES:
        matrix.add_column(str(i), overflow="fold")
    for p in ("pre", "mid", "post"):
        matrix.add_column(p)
    for rec in report.recordings[:MAX_ROWS]:
        labels = rec.phase_fit.labels()
        matrix.add_row(
            ("[bold]" if rec.qualified else "") + x(rec.recording_id), f"{rec.hours:.3f}", x(rec.data_type.data_type),
            *(_cell(rec.checks[i]) for i in NAMES),
            *(f"[{_STYLE[labels[p]]}]{labels[p]}[/]" for p in ("pre", "mid", "post")),
        )
    console.print(matrix)
    if len(report.recordings) > MAX_ROWS:
        console.print(f"... {len(report.recordings) - MAX_ROWS} more recordings (use --json for all)")
    console.print("columns: " + "; ".join(f"{i} {n}" for i, n in NAMES.items()) + "  (✓ pass, ✗ fail, · not applicable)")

    reqs = Table(title="corpus requirements (all-or-nothing)")
    for col in ("id", "requirement", "verdict", "why"):
        reqs.add_column(col, overflow="fold")
    for r in report.requirements:
        why = x("; ".join(r.reasons[:3]) if r.reasons else _summary(r))
        reqs.add_row(str(r.id), r.name, "[green]pass[/]" if r.passed else "[red]FAIL[/]", why)
    console.print(reqs)

    if report.comparisons:
        ref = Table(title=f"overlap and timing against the reference '{x(str(report.reference))}'")
        for col in ("statistic", "corpus", "reference", "band", "Wasserstein-1", "verdict", "corpus quantiles"):
            ref.add_column(col, overflow="fold")
        for c in report.comparisons:
            fmt = (lambda v: "-" if v is None else (f"{v:.1%}" if c.unit == "fraction" else f"{v:.3f} s"))
            verdict = {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "[dim]info[/]"}[c.passed]
            q = ", ".join(f"{k}:{v:.2f}" for k, v in list(c.corpus_quantiles.items())[:7])
            band = "-" if c.band is None else f"{fmt(c.band[0])} .. {fmt(c.band[1])}"
            w = "-" if c.wasserstein is None else f"{c.wasserstein:.3f} s"
            corpus, reference = comparison_cells(c, fmt)
            ref.add_row(c.statistic, corpus, reference, band, w, verdict, q)
        console.print(ref)

    verdict = "[green]PASSED[/]" if report.corpus_passed else "[red]FAILED[/]"
    failed = [str(r.id) for r in report.requirements if not r.passed]
    console.print(f"corpus verdict: {verdict}" + (f" (fails requirement {', '.join(failed)})" if failed else ""))
    console.print(f"qualified hours: {report.qualified_hours:.3f} of {report.total_hours:.3f} h "
                  f"({sum(r.qualified for r in report.recordings)} of {len(report.recordings)} recordings); "
                  f"{report.hours_passing_recording_checks:.3f} h pass every per-recording check")
    labels = report.phase_fit.labels()
    console.print("corpus phase fit: " + ", ".join(f"{p} [{_STYLE[v]}]{v}[/]" for p, v in labels.items()))
    for p, reasons in report.phase_fit.reasons.items():
        for reason in reasons:
            console.print(f"  {p}: {x(reason)}", highlight=False)


def comparison_cells(c, fmt) -> tuple[str, str]:
    """(corpus, reference) cells of one statistic, each saying which number it is: a distribution's corpus
    value is its median, so the reference beside it is its median too, or, when the reference publishes
    other quantiles only (FTO: q0.301 = 0 s), those quantiles with the corpus value at the same level."""
    if c.unit == "fraction":
        return fmt(c.corpus_value), fmt(c.reference_value)
    corpus = "-" if c.corpus_value is None else f"median {fmt(c.corpus_value)}"
    ref_q = {float(k): v for k, v in c.reference_quantiles.items()}
    if 0.5 in ref_q:
        return corpus, f"median {fmt(ref_q[0.5])}"
    if ref_q:
        ours = {float(k): v for k, v in c.corpus_quantiles.items()}
        cells = [f"q{k:g}: {fmt(v)}" + (f" (corpus {fmt(ours[k])})" if k in ours else "")
                 for k, v in sorted(ref_q.items())[:3]]
        return corpus, ", ".join(cells)
    return corpus, fmt(c.reference_value)


def _summary(r) -> str:
    ev = r.evidence
    if "share_passed" in ev:
        return f"{ev['recordings_passed']} recording(s) pass, {ev['hours_passed']} h"
    if r.id == 4:
        return f"{len(ev['topics'])} topics, {len(ev['registers'])} registers"
    if r.id == 5:
        return f"{ev['unique_speakers']} speakers, largest {ev['largest_speaker_share']:.0%}"
    return ""


def _write_labels(workspace, report) -> str:
    """Store the phase labels where exports read them. Until the Workspace has ``set_phase_labels``
    (requested from the store's owner), they go to WS/qualify/phase_labels.json."""
    labels = {
        rec.recording_id: {**rec.phase_fit.labels(), "qualified": rec.qualified,
                           "data_type": rec.data_type.data_type,
                           "reasons": {p: list(v) for p, v in rec.phase_fit.reasons.items()}}
        for rec in report.recordings
    }
    setter = getattr(workspace, "set_phase_labels", None)
    if callable(setter):
        setter(labels, purpose=report.purpose)
        where = "workspace table phase_labels"
    else:
        path = Path(workspace.folder("qualify")) / "phase_labels.json"
        path.write_text(json.dumps({"purpose": report.purpose, "corpus_passed": report.corpus_passed,
                                    "labels": labels}, indent=1) + "\n")
        where = str(path)
    report_path = Path(workspace.folder("qualify")) / "report.json"
    report_path.write_text(json.dumps(report.to_json(), indent=1, default=str) + "\n")
    return where


_COMMON = [
    click.option("-w", "--workspace", "ws", type=click.Path(file_okay=False), default=None,
                 help="Workspace folder (made by `twotrack scan`)."),
    click.option("--inputs", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="Qualify a CorpusInputs JSON file instead of a workspace (notebooks, tests)."),
    click.option("--purpose", default=None,
                 help="Rights purpose of requirement 7 (default qualify.purpose: commercial-training)."),
    click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="TOML config; its [qualify] table sets the thresholds."),
    click.option("--reference", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="Reference statistics file (default: the built-in published figures)."),
    permissions_option,  # requirement 7's license verdicts read it
    click.option("--json", "as_json", is_flag=True, help="Print JSON (documented in docs/qualify.md)."),
]


def _common(fn):
    for opt in reversed(_COMMON):
        fn = opt(fn)
    return fn


@main.command("qualify", epilog="Exit codes: 0 ok (whatever the verdict); 1 an unreadable --reference or --inputs "
                                 "file; 2 no workspace at WS, or a bad option, config or --permissions file.")
@_common
@click.option("--no-write", is_flag=True, help="Do not write the phase labels into the workspace.")
@handle_errors
def qualify_cmd(ws, inputs, purpose, config_path, reference, permissions, as_json, no_write) -> None:
    """The eight post-training requirements (all-or-nothing), qualified hours and phase labels.

    Prints the requirement matrix (recording x requirement, with the number behind each verdict), the
    corpus verdict, the qualified hours and the pre/mid/post labels, and writes the labels into the
    workspace so exports carry them."""
    from ..qualify import qualify_corpus

    corpus, cfg, workspace = _load(ws, inputs, purpose, config_path, reference, permissions)
    report = qualify_corpus(corpus, cfg)
    where = None
    if workspace is not None and not no_write:
        where = _write_labels(workspace, report)
    if as_json:
        data = report.to_json()
        if where:
            data["labels_written_to"] = where
        print_json(data)
        return
    console = _console()
    _render(report, console)
    if workspace is not None:
        from ..turns.corpus import events_keys

        ek = events_keys(workspace)
        if ek["mixed"]:  # requirements 2 and 3 then judge events made under different rules
            by_key = ", ".join(f"{k} {n}" for k, n in ek["recordings_by_key"].items())
            console.print(f"warning: events were computed under {len(ek['recordings_by_key'])} different stage "
                          f"versions or configs (events key: recordings {by_key}); rescan with one config",
                          highlight=False, markup=False)
    if where:
        console.print(f"phase labels written to {where}", highlight=False)


@main.command("map", epilog="Exit codes: 0 ok; 1 an unreadable --reference or --inputs file; 2 no workspace at WS, "
                             "or a bad option, config or --permissions file.")
@_common
@handle_errors
def map_cmd(ws, inputs, purpose, config_path, reference, permissions, as_json) -> None:
    """The data map: known corpora (hours, channels, license, commercial use, consent, phase fitness),
    each figure with its source; with -w, your corpus as a measured row."""
    from ..qualify.datamap import catalog_rows, measured_row, render_map

    rows = catalog_rows()
    if ws or inputs:
        from ..qualify import qualify_corpus

        corpus, cfg, workspace = _load(ws, inputs, purpose, config_path, reference, permissions)
        report = qualify_corpus(corpus, cfg)
        rows.append(measured_row(report, corpus, str(ws) if ws else ""))
    if as_json:
        print_json({"corpora": rows})
        return
    render_map(rows, _console())
