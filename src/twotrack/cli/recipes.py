"""`twotrack recipes`: the corpus layouts `scan --recipe NAME` reads, and what each reads from which file."""

from __future__ import annotations

import click

from .common import print_json
from .group import main


def recipe_dicts() -> list[dict]:
    """The stable JSON of ``twotrack recipes --json``."""
    from ..recipes.registry import RECIPES

    return [{"name": r.name, "title": r.title, "data_type": r.data_type,
             "reads": [{"file": x.pattern, "becomes": x.what} for x in r.reads],
             "options": [{"name": n, "help": h} for n, h in r.options]} for r in RECIPES.values()]


@main.command("recipes", epilog="Exit codes: 0 ok; 2 usage error.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def recipes(as_json: bool) -> None:
    """List the corpus recipes (`twotrack scan --recipe NAME PATH... -w WS`) with what each reads."""
    data = recipe_dicts()
    if as_json:
        print_json(data)
        return
    for r in data:
        click.echo(f"{r['name']}  [{r['data_type']}]  {r['title']}")
        for x in r["reads"]:
            click.echo(f"    {x['file']}: {x['becomes']}")
        for o in r["options"]:
            click.echo(f"    --recipe-option {o['name']}=...: {o['help']}")
    click.echo("Files are found by these names anywhere under the folders given; docs/recipes.md says more.")
