"""The ``twotrack`` click group and the exit codes; the command modules import ``main`` from here.

Exit codes: 0 ok; 1 some recordings or files failed (the rest were processed); 2 usage or config error.
"""

from __future__ import annotations

import click

from .. import __version__

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


class LazyGroup(click.Group):
    """A group whose commands' modules are imported when a command is looked up, not when the group is.

    ``twotrack scan`` then loads only what the scan needs before it starts its first worker (every
    command's libraries, DuckDB and pyarrow among them, took about 0.2 s before); ``--help`` still lists
    every command. ``names`` is the listing order; ``load(name)`` imports the module that registers
    ``name`` on this group (``cli/__init__.py`` sets both)."""

    names: tuple[str, ...] = ()

    @staticmethod
    def load(name: str) -> None:
        """Import the module of command ``name`` (replaced by ``cli/__init__.py``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.names) + sorted(set(self.commands) - set(self.names))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.names:
            self.load(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:
            # click suggests among the commands loaded so far, and a lazy group has loaded none of them
            raise click.exceptions.NoSuchCommand(exc.command_name, possibilities=self.list_commands(ctx),
                                                 ctx=ctx) from None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 ok, 1 some recordings failed (the others were processed), 2 usage or config error.",
)
@click.version_option(__version__, prog_name="twotrack")
def main() -> None:
    """twotrack: qualify two-track conversational speech data for full-duplex training."""
