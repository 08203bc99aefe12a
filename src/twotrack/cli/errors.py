"""`twotrack errors -w WS`: what failed and why (current errors; a fixed file's go away on rescan)."""

from __future__ import annotations

import sys

import click

from .common import handle_errors, print_json
from .group import main

EXIT_HELP = "Exit codes: 0 no errors; 1 the workspace lists errors; 2 no workspace at WS."


def error_dicts(rows: list[dict]) -> list[dict]:
    """The stable JSON of ``twotrack errors --json`` (docs/cli.md)."""
    return [{"recording_id": r["recording_id"], "path": r["path"], "stage": r["stage"], "problem": r["problem"],
             "origin": r["origin"], "run_id": r["run_id"]} for r in rows]


@main.command(epilog=EXIT_HELP)
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False), help="Workspace folder.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (docs/cli.md).")
@handle_errors
def errors(ws, as_json):
    """List every file or recording that failed, with the stage and the problem."""
    from ..store import Workspace, queries

    rows = error_dicts(queries.error_table(Workspace(ws)))
    if as_json:
        print_json(rows)
    elif not rows:
        click.echo("no errors")
    else:
        for r in rows:
            rid = f" ({r['recording_id']})" if r["recording_id"] else ""
            click.echo(f"{r['path']}{rid}: {r['problem']} [{r['stage']}]")
        click.echo(f"{len(rows)} error(s)")
    sys.exit(1 if rows else 0)
