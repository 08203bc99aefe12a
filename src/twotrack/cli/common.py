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
