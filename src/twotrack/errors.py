"""Errors that name the file and the problem; a corpus run records them and goes on."""

from __future__ import annotations


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
