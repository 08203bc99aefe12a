"""Every corpus recipe by its command-line name (``twotrack scan --recipe NAME``, ``twotrack recipes``)."""

from __future__ import annotations

from .base import Prepared, Reads, Recipe
from .fisher import prepare_fisher
from .switchboard import prepare_switchboard

#: Options every recipe takes.
COMMON_OPTIONS = (("license", "SPDX expression (or a registered LicenseRef-) for every recording; the "
                              "publisher's terms depend on your agreement, so none is assumed"),)

RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


register(Recipe(
    name="fisher",
    title="Fisher English Parts 1 and 2 (audio LDC2004S13, LDC2005S13; transcripts LDC2004T19, LDC2005T19)",
    data_type="two-track",
    reads=(
        Reads("fe_03_NNNNN.sph", "the call: 2 channels, 8 kHz; side A = track A, side B = track B"),
        Reads("fe_03_NNNNN.txt", "gold: '<start> <end> <A|B>: text' utterances (IPU-level gold)"),
        Reads("*_calldata.tbl", "topic (TOPICID -> tag topic), per side PIN (speaker fisher-<PIN>) and "
                                "sex.dialect (speaker sex, dialect), DATE_TIME, SIG_GRADE, CNV_GRADE (metadata)"),
    ),
    prepare=prepare_fisher,
    options=COMMON_OPTIONS,
))

register(Recipe(
    name="switchboard",
    title="Switchboard-1 Release 2 (LDC97S62) with the Mississippi State (ISIP ms98) word alignments",
    data_type="two-track",
    reads=(
        Reads("swNNNNN.sph", "the conversation: 2 channels, 8 kHz; side A = track A, side B = track B"),
        Reads("swNNNNA-ms98-a-word.text / ...B...", "gold: hand-corrected word start/end times of side A / B"),
        Reads("conv.tab (conv_tab.csv)", "callers of side A and B (speaker swb-<caller>), topic number (tag "
                                         "topic), talk day (metadata)"),
        Reads("caller.tab (caller_tab.csv)", "per caller: sex, birth year, dialect area, education"),
    ),
    prepare=prepare_switchboard,
    options=COMMON_OPTIONS,
))


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r} (known: {', '.join(sorted(RECIPES))})")
    return RECIPES[name]


def prepare(name: str, paths, options=None) -> Prepared:
    """Run one recipe over ``paths`` (folders or files); see ``base.Prepared``."""
    return get_recipe(name)(paths, options)
