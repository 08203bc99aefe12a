"""`twotrack capture serve -w WS`: the capture server (library call: ``twotrack.capture.create_app``)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import handle_errors, load_permissions_option, permissions_option
from .group import main


@main.group("capture", epilog="Exit codes: those of its command (`twotrack capture serve --help`).")
def capture() -> None:
    """Record two-track conversations in the browser, with consent first (docs/capture.md)."""


@capture.command("serve", epilog="Exit codes: 0 stopped; 1 the address could not be bound; 2 a bad workspace, "
                  "another capture server already serves it, or a --permissions file that cannot be read.")
@click.option("-w", "--workspace", "ws", required=True, type=click.Path(file_okay=False),
              help="Workspace folder (created when missing); recordings go to WS/capture/.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Browsers allow the microphone only on localhost or over HTTPS: "
                   "for other machines put a TLS proxy in front (docs/capture.md).")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-scan", is_flag=True, help="Do not scan recordings after assembly.")
@permissions_option
@handle_errors
def serve(ws: str, host: str, port: int, no_scan: bool, permissions: str | None) -> None:
    """Start the capture server: open http://HOST:PORT/ to create a session and get its two join links.
    Stop it with Ctrl-C (sessions, chunks and recordings stay in the workspace)."""
    from ..capture.server import create_app
    from .listen import bind_or_exit, serve_on, url

    sock = bind_or_exit(host, port)  # first: a busy port ends here, before the workspace is made
    table = load_permissions_option(permissions)  # a bad table: exit 2 before the workspace is made
    lock = _one_server(Path(ws))  # held while this process serves (closed at exit)
    app = create_app(ws, scan=not no_scan, permissions=table)
    click.echo(f"twotrack capture for {Path(ws).absolute()} at {url(host, sock)} (Ctrl-C stops it)")
    serve_on(app, sock, host)
    lock.close()


def _one_server(ws: Path):
    """An exclusive lock on WS/capture/.serve.lock, or exit 2 naming the process that holds it. Two servers
    on one workspace would each keep their own in-memory locks and chunk counters over the same session
    files: two participants finishing on the two servers overwrite each other's session.json."""
    import fcntl
    import os

    path = ws / "capture" / ".serve.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")
    except OSError as exc:
        raise click.UsageError(f"{path}: cannot use the workspace ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip()
        fh.close()
        raise click.UsageError(f"another capture server already serves {ws} (pid {holder or '?'}): one server "
                               "per workspace; stop it or use another workspace") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh
