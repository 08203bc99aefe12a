"""Errors that name the file and the problem; a corpus run records them and goes on."""

from __future__ import annotations

import os
from contextlib import contextmanager


class TwotrackError(Exception):
    """Base of every error twotrack raises on purpose."""


class InputError(TwotrackError):
    """Bad input: a file, header, manifest row or annotation that cannot be used as it is."""

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(TwotrackError):
    """A configuration or usage problem (exit code 2 on the command line)."""


@contextmanager
def file_access(path: object, what: str = "file", doing: str = "cannot open"):
    """Turn the operating system's refusals while touching ``path`` into one InputError each.

    ``what`` names the kind of file in the messages ("audio file", "manifest"); ``doing`` prefixes any
    other OS error ("cannot open", "cannot read the file to hash it"). A FIFO or a device at ``path`` is
    refused before anything opens it: a FIFO blocks its reader until a writer comes, ``/dev/zero`` never ends.
    """
    from .paths import special_file  # paths imports nothing of twotrack; here only to keep errors.py light

    if isinstance(path, (str, os.PathLike)) and (problem := special_file(os.fspath(path))) is not None:
        raise InputError(path, problem)
    try:
        yield
    except FileNotFoundError:
        raise InputError(path, "file not found" if what == "file" else f"{what} not found") from None
    except PermissionError:
        raise InputError(path, f"permission denied (the {what} is not readable by this user)") from None
    except IsADirectoryError:
        raise InputError(path, f"is a directory, not a{'n' if what[0] in 'aeiou' else ''} {what}") from None
    except OSError as exc:
        raise InputError(path, f"{doing}: {exc.strerror or exc}") from None
