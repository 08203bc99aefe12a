"""`twotrack info`: what the header probe finds per file (format, codec, channels, rate, length, tracks)."""

from __future__ import annotations

import sys

import click

from .common import handle_errors, print_json
from .group import EXIT_SOME_FAILED, main


def _table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.markup import escape as x  # paths, ids and errors may hold [brackets]
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(show_lines=False, header_style="bold")
    for name, justify in (("path", "left"), ("recording", "left"), ("format", "left"), ("codec", "left"),
                          ("ch", "right"), ("rate", "right"), ("duration", "right"), ("tracks", "left"),
                          ("repairs / error", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for r in rows:
        note = f"[red]{x(r['error'])}[/red]" if r["error"] else x("; ".join(r["repairs"]))
        table.add_row(
            x(r["path"]), x(r["recording_id"] or ""), r["format"] or "", r["codec"] or "",
            "" if r["channels"] is None else str(r["channels"]),
            "" if r["sample_rate"] is None else f"{r['sample_rate']}",
            "" if r["duration_s"] is None else f"{r['duration_s']:.2f} s",
            ",".join(r["tracks"]), note,
        )
    console.print(table)
    failed = sum(1 for r in rows if r["error"])
    console.print(f"{len(rows)} file(s), {failed} with errors")


@main.command(epilog="Exit codes: 0 every file probed; 1 some files could not be read (the others are listed); "
                      "2 usage error.")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects, one per file.")
@handle_errors
def info(paths: tuple[str, ...], as_json: bool) -> None:
    """Probe audio files, folders or manifests (header only, nothing decoded).

    Per file: path, format, codec, channels, sample rate, duration, tracks, repairs made and the error
    (null when fine). Exit 1 when some file failed; the others are still listed.
    """
    from ..ingest.inventory import describe

    rows = describe(paths)
    if as_json:
        print_json(rows)
    else:
        _table(rows)
    if any(r["error"] for r in rows):
        sys.exit(EXIT_SOME_FAILED)
