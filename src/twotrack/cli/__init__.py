"""The command line: a thin shell over library functions.

Exit codes: 0 ok; 1 some recordings or files failed (the rest were processed); 2 usage or config error.
Each command lives in its own module below and registers itself on ``main``.
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


# Command modules register themselves on import; keep this list in flow order.
from . import info  # noqa: E402,F401
from . import scan  # noqa: E402,F401
from . import evaluate  # noqa: E402,F401
from . import stats  # noqa: E402,F401
from . import show  # noqa: E402,F401
from . import errors  # noqa: E402,F401
from . import rights  # noqa: E402,F401
from . import qualify  # noqa: E402,F401
from . import export  # noqa: E402,F401
from . import show_web  # noqa: E402,F401
from . import collapse  # noqa: E402,F401
from . import capture  # noqa: E402,F401
