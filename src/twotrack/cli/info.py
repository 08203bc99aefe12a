"""`twotrack info`: what the header probe finds per file (filled in by the ingest work)."""

from __future__ import annotations

import click

from . import main


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def info(paths: tuple[str, ...], as_json: bool) -> None:
    """Probe audio files or folders (header only, no decoding)."""
    raise click.ClickException("not implemented yet")
