"""The ``twotrack`` click group and the exit codes; the command modules import ``main`` from here.

Exit codes: 0 ok; 1 some recordings or files failed (the rest were processed); 2 usage or config error.
"""

from __future__ import annotations

import click

from .. import __version__

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 ok, 1 some recordings failed (the others were processed), 2 usage or config error.",
)
@click.version_option(__version__, prog_name="twotrack")
def main() -> None:
    """twotrack: qualify two-track conversational speech data for full-duplex training."""
