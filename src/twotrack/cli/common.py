"""Small helpers shared by the command modules: JSON output and error exits."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import ConfigError, TwotrackError


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def fail_usage(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def handle_errors(fn):
    """Turn configuration errors into exit 2 with a message instead of a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            fail_usage(str(exc))
        except TwotrackError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


#: The one --permissions option: every command that gives a rights verdict takes it, with these words.
PERMISSIONS_HELP = ("JSON permissions table (a team's own licenses, e.g. LicenseRef-...) whose entries add to / "
                    "replace the built-in one; give the same FILE to every command that judges rights "
                    "(docs/rights.md).")


def permissions_option(fn):
    import click

    return click.option("--permissions", "permissions", type=click.Path(exists=True, dir_okay=False),
                        default=None, metavar="FILE", help=PERMISSIONS_HELP)(fn)


def load_permissions_option(path: str | None):
    """The table a command's verdicts read: the packaged one, with ``--permissions FILE`` over it. A file that
    cannot be read or is not a permissions table is a usage error naming it (exit 2), raised before the
    command writes anything."""
    from ..errors import InputError
    from ..rights.licenses import load_permissions

    try:
        return load_permissions(path)
    except InputError as exc:
        raise ConfigError(f"--permissions {exc}") from None
