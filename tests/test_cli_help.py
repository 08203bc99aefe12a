"""docs/cli.md promises that every command's --help ends with its exit codes."""

import click
from click.testing import CliRunner

from twotrack.cli import COMMANDS, main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_command_help_ends_with_its_exit_codes():
    runner = CliRunner()
    missing = []
    assert len(list(_commands(main))) > len(COMMANDS)  # subcommands (consent grant, rights audit, ...) too
    for path, _cmd in _commands(main):
        out = runner.invoke(main, [*path, "--help"]).output
        last = out.strip().split("\n\n")[-1]
        if not last.strip().startswith("Exit codes:"):
            missing.append(" ".join(path))
    assert missing == []
