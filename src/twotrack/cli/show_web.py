"""`twotrack report -w WS -o report.html` (one self-contained HTML file) and `twotrack serve -w WS` (the web
explorer). Both only read the workspace; the library calls are ``twotrack.show.write_report`` and
``twotrack.show.create_app``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from ..config import load_config
from .common import handle_errors, load_permissions_option, permissions_option
from .group import main

_WS = click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False, exists=True),
                   help="Workspace folder made by `twotrack scan`.")
_CONFIG = click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
                       help="TOML config (the [qualify] table sets the purpose, bands and reference).")


def _workspace(ws: str):
    from ..store import Workspace

    return Workspace(ws)


@main.command("report", epilog="Exit codes: 0 written; 2 no workspace at WS, or a bad config or --permissions file "
                              "(nothing written).")
@_WS
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="HTML file to write (self-contained: opens offline, prints).")
@_CONFIG
@permissions_option
@handle_errors
def report(ws: str, out: str, config_file: str | None, permissions: str | None) -> None:
    """Write the corpus report: summary, turn-taking plots against the reference, the eight requirements,
    phase labels, rights and withdrawals, the data map and a table of every recording."""
    from ..show.report import write_report

    config, table = load_config(config_file), load_permissions_option(permissions)
    path = write_report(_workspace(ws), out, config, permissions=table)
    click.echo(f"report written: {path.absolute()} ({path.stat().st_size / 1024:.0f} KiB)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command("serve", epilog="Exit codes: 0 stopped; 1 the address could not be bound; 2 no workspace at WS, or a bad "
                             "config or --permissions file.")
@_WS
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The explorer has no login: keep it on the loopback address unless the "
                   "network is trusted.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where waveform peaks are cached (default ~/.cache/twotrack/peaks or $TWOTRACK_CACHE/peaks).")
@_CONFIG
@permissions_option
@handle_errors
def serve(ws: str, host: str, port: int, cache_dir: str | None, config_file: str | None,
          permissions: str | None) -> None:
    """Start the web explorer (read-only): the corpus table, a two-lane timeline per recording with waveform,
    activity and events, audio playback of any region, checks, consent and qualification; JSON under /api/,
    API documentation at /docs. Stop it with Ctrl-C."""
    from ..show.app import create_app
    from .listen import bind_or_exit, serve_on, url

    sock = bind_or_exit(host, port)  # first: a busy port ends here, before any banner
    app = create_app(_workspace(ws), config=load_config(config_file), permissions=load_permissions_option(permissions),
                     cache_dir=Path(cache_dir) if cache_dir else None)
    if not _is_loopback(host):
        click.echo(f"warning: listening on {host}: anyone who can reach it can read this workspace and its audio",
                   err=True)
    click.echo(f"twotrack explorer for {Path(ws).absolute()} at {url(host, sock)} (Ctrl-C stops it)")
    serve_on(app, sock, host)
