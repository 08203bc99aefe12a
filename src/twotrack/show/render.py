"""The Jinja environment and cell formatters shared by the static report and the web explorer.

Both render the templates in ``show/templates/``; neither imports the other for them.
"""

from __future__ import annotations

import json
import math
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..qualify.requirements import NAMES
from .data import json_default


def templates() -> Environment:
    env = Environment(loader=PackageLoader("twotrack.show", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["hms"] = fmt_duration
    env.filters["pct"] = lambda v, nd=1: "–" if v is None else f"{100 * v:.{nd}f}%"
    env.filters["num"] = lambda v, nd=2: "–" if v is None else f"{v:.{nd}f}"
    env.filters["val"] = fmt_value
    env.filters["tojson_safe"] = lambda v: json.dumps(v, default=json_default).replace("</", "<\\/")
    env.globals.update(req_names=dict(NAMES))  # the glossary's texts follow the config: glossary.context
    return env


def fmt_value(v: Any) -> str:
    """A measurement for a table cell: '–' for none, integers without decimals, others to 3 digits."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.1f}"


def fmt_duration(seconds: float | None) -> str:
    """``3725.4`` -> ``1:02:05``; ``68.3`` -> ``1:08``."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
