"""The listening socket of `serve` and `capture serve`, bound before anything else happens.

uvicorn binds only when it starts, after the command has printed its banner (and, for `capture serve`,
created the workspace), and exits 3 on a busy port. Binding first lets a busy or unusable address end the
command at once with the documented exit code (1) and a one-line reason; uvicorn then serves on that socket,
so no other process can take the address in between.
"""

from __future__ import annotations

import socket
import sys

import click

#: Exit code for an address that cannot be bound (each command's `--help` epilog and docs/cli.md).
EXIT_NO_ADDRESS = 1


def bind_or_exit(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), as uvicorn would bind it; exit 1 with the reason when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"error: cannot listen on {shown}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_NO_ADDRESS)
    sock.set_inheritable(True)
    return sock


def url(host: str, sock: socket.socket) -> str:
    """The address the socket listens on (the real port when 0 asked for any free one)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}/"


def serve_on(app, sock: socket.socket, host: str) -> None:
    """Run uvicorn on the already bound socket until Ctrl-C."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, host=host, port=sock.getsockname()[1], log_level="warning")).run(sockets=[sock])
