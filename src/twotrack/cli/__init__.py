"""The command line: a thin shell over library functions.

Exit codes: 0 ok; 1 some recordings or files failed (the rest were processed); 2 usage or config error.
Each command lives in its own module below and registers itself on ``main`` (``group.py``).
"""

from __future__ import annotations

from .group import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main  # noqa: F401 - the CLI's public names

# Command modules register themselves on import; keep this list in flow order.
from . import info  # noqa: F401
from . import scan  # noqa: F401
from . import recipes  # noqa: F401
from . import evaluate  # noqa: F401
from . import stats  # noqa: F401
from . import show  # noqa: F401
from . import errors  # noqa: F401
from . import rights  # noqa: F401
from . import qualify  # noqa: F401
from . import export  # noqa: F401
from . import show_web  # noqa: F401
from . import collapse  # noqa: F401
from . import capture  # noqa: F401
