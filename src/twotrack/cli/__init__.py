"""The command line: a thin shell over library functions.

Exit codes: 0 ok; 1 some recordings or files failed (the rest were processed); 2 usage or config error.
Each command lives in its own module below and registers itself on ``main`` (``group.py``) when that module
is imported; ``main`` imports a command's module only when the command is looked up (``LazyGroup``), so a
command loads its own libraries and not every other command's.
"""

from __future__ import annotations

from .group import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main  # noqa: F401 - the CLI's public names

#: every command, in flow order (the order ``twotrack --help`` lists them in)
COMMANDS = ("info", "scan", "recipes", "eval", "stats", "show", "errors", "consent", "rights", "qualify", "map",
            "export", "report", "serve", "collapse", "capture")


def load_command(name: str) -> None:
    """Import the module that defines command ``name`` (it registers the command on ``main``)."""
    match name:
        case "info":
            from . import info  # noqa: F401
        case "scan":
            from . import scan  # noqa: F401
        case "recipes":
            from . import recipes  # noqa: F401
        case "eval":
            from . import evaluate  # noqa: F401
        case "stats":
            from . import stats  # noqa: F401
        case "show":
            from . import show  # noqa: F401
        case "errors":
            from . import errors  # noqa: F401
        case "consent" | "rights":
            from . import rights  # noqa: F401
        case "qualify" | "map":
            from . import qualify  # noqa: F401
        case "export":
            from . import export  # noqa: F401
        case "report" | "serve":
            from . import show_web  # noqa: F401
        case "collapse":
            from . import collapse  # noqa: F401
        case "capture":
            from . import capture  # noqa: F401


main.names = COMMANDS
main.load = load_command
