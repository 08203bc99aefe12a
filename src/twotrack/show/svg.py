"""Inline SVG charts drawn by hand: histograms, bar charts, a strip of points, a log-scale map, lanes of
segments on a time axis.

Every chart is a pure function from numbers to an SVG string with a <title>, labelled axes (with units)
and a legend when it overlays a reference. No scripts, no external fonts or images: the report that
embeds them opens offline and prints. Colours are paired with dash patterns so a grey print still
tells the corpus from the reference.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from ..model import Segment
from ..timeline import Timeline

#: Colours (corpus, reference, band, accent) and the dash of the reference lines.
CORPUS = "#3b6ea5"
REFERENCE = "#b5452b"
BAND = "#f1c27d"
ACCENT = "#555555"
REF_DASH = "6 3"

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def _f(x: float) -> str:
    """Short coordinate text."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _t(text: str) -> str:
    return escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values (1-2-5 steps) covering [lo, hi].

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(-2, 2, 5)
    [-2.0, -1.0, 0.0, 1.0, 2.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, target - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw - 1e-12)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(round(v, 10) + 0.0)
        v += step
    return out


def fmt_tick(v: float) -> str:
    """Tick label without trailing zeros (0.25, 1, -0.5)."""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass
class Frame:
    """A plot area inside an SVG of ``width`` x ``height`` with margins for the axes and labels."""

    width: int = 640
    height: int = 300
    left: int = 64
    right: int = 16
    top: int = 40
    bottom: int = 52
    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] = (0.0, 1.0)
    x_log: bool = False
    note_line: bool = False  # reserve a line under the x-axis title for a note
    parts: list[str] = field(default_factory=list)

    @property
    def pw(self) -> float:
        return self.width - self.left - self.right

    @property
    def ph(self) -> float:
        return self.height - self.top - self.bottom

    def _xv(self, v: float) -> float:
        return math.log10(v) if self.x_log else v

    def x(self, v: float) -> float:
        lo, hi = (self._xv(self.x_range[0]), self._xv(self.x_range[1]))
        return self.left + (self._xv(v) - lo) / (hi - lo) * self.pw

    def y(self, v: float) -> float:
        lo, hi = self.y_range
        return self.top + self.ph - (v - lo) / (hi - lo) * self.ph

    def add(self, text: str) -> None:
        self.parts.append(text)

    def text(self, x: float, y: float, s: str, *, anchor: str = "middle", size: int = 11, fill: str = "#222",
             weight: str = "normal", rotate: float | None = None, cls: str = "") -> None:
        rot = f' transform="rotate({_f(rotate)} {_f(x)} {_f(y)})"' if rotate is not None else ""
        c = f' class="{cls}"' if cls else ""
        self.add(f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" '
                 f'font-weight="{weight}"{rot}{c}>{_t(s)}</text>')

    def axes(self, xlabel: str, ylabel: str, *, x_ticks: Sequence[float] | None = None,
             y_ticks: Sequence[float] | None = None, x_tick_fmt=fmt_tick, y_tick_fmt=fmt_tick,
             y_grid: bool = True) -> None:
        """Both axes with ticks, tick labels, grid lines and the axis titles (with units)."""
        x0, x1 = self.left, self.left + self.pw
        y0, y1 = self.top + self.ph, self.top
        xt = list(x_ticks) if x_ticks is not None else nice_ticks(*self.x_range)
        yt = list(y_ticks) if y_ticks is not None else nice_ticks(*self.y_range, target=5)
        self.add('<g class="axis y-axis">')
        for v in yt:
            if not self.y_range[0] - 1e-9 <= v <= self.y_range[1] + 1e-9:
                continue
            y = self.y(v)
            if y_grid:
                self.add(f'<line x1="{_f(x0)}" y1="{_f(y)}" x2="{_f(x1)}" y2="{_f(y)}" stroke="#e3e3e3"/>')
            self.add(f'<line x1="{_f(x0 - 4)}" y1="{_f(y)}" x2="{_f(x0)}" y2="{_f(y)}" stroke="#333"/>')
            self.text(x0 - 6, y + 4, y_tick_fmt(v), anchor="end", size=10)
        self.add(f'<line x1="{_f(x0)}" y1="{_f(y0)}" x2="{_f(x0)}" y2="{_f(y1)}" stroke="#333"/>')
        self.text(16, self.top + self.ph / 2, ylabel, rotate=-90, size=11, cls="axis-label")
        self.add("</g><g class=\"axis x-axis\">")
        for v in xt:
            lo, hi = self.x_range
            if not lo - 1e-9 <= v <= hi + 1e-9:
                continue
            x = self.x(v)
            self.add(f'<line x1="{_f(x)}" y1="{_f(y0)}" x2="{_f(x)}" y2="{_f(y0 + 4)}" stroke="#333"/>')
            self.text(x, y0 + 16, x_tick_fmt(v), size=10)
        self.add(f'<line x1="{_f(x0)}" y1="{_f(y0)}" x2="{_f(x1)}" y2="{_f(y0)}" stroke="#333"/>')
        self.text(self.left + self.pw / 2, self.height - (24 if self.note_line else 10), xlabel, size=11,
                  cls="axis-label")
        self.add("</g>")

    def legend(self, items: Sequence[tuple[str, str, str]]) -> None:
        """One row of (kind, colour, label); kind is 'box', 'line', 'dash', 'band' or 'dot'."""
        x = self.left
        y = 24
        for kind, colour, label in items:
            if kind == "box":
                self.add(f'<rect x="{_f(x)}" y="{_f(y - 9)}" width="12" height="10" fill="{colour}"/>')
            elif kind == "band":
                self.add(f'<rect x="{_f(x)}" y="{_f(y - 9)}" width="12" height="10" fill="{colour}" '
                         f'fill-opacity="0.45" stroke="{colour}"/>')
            elif kind == "dot":
                self.add(f'<circle cx="{_f(x + 6)}" cy="{_f(y - 4)}" r="4" fill="{colour}"/>')
            else:
                dash = f' stroke-dasharray="{REF_DASH}"' if kind == "dash" else ""
                self.add(f'<line x1="{_f(x)}" y1="{_f(y - 4)}" x2="{_f(x + 16)}" y2="{_f(y - 4)}" '
                         f'stroke="{colour}" stroke-width="2"{dash}/>')
            self.text(x + 20, y, label, anchor="start", size=10)
            x += 30 + 6.0 * len(label)

    def svg(self, title: str, desc: str = "", cls: str = "chart") -> str:
        tid = "t" + hashlib.sha1(f"{title}|{desc}|{len(self.parts)}".encode()).hexdigest()[:10]
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" role="img" aria-labelledby="{tid}" '
                f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}" '
                f'style="{FONT};max-width:100%;height:auto">'
                f'<title id="{tid}">{_t(title)}</title>')
        if desc:
            head += f"<desc>{_t(desc)}</desc>"
        head += f'<text x="{self.left}" y="12" font-size="12" font-weight="bold" fill="#222">{_t(title)}</text>'
        return head + "".join(self.parts) + "</svg>"


def _vline(fr: Frame, x: float, colour: str, label: str = "", dash: bool = True, label_row: int = 0) -> None:
    if not fr.x_range[0] <= x <= fr.x_range[1]:
        return
    px = fr.x(x)
    d = f' stroke-dasharray="{REF_DASH}"' if dash else ""
    fr.add(f'<line x1="{_f(px)}" y1="{_f(fr.top)}" x2="{_f(px)}" y2="{_f(fr.top + fr.ph)}" stroke="{colour}" '
           f'stroke-width="2"{d}/>')
    if label:
        anchor = "start" if px < fr.left + fr.pw * 0.7 else "end"
        dx = 4 if anchor == "start" else -4
        fr.text(px + dx, fr.top + 12 + 13 * label_row, label, anchor=anchor, size=10, fill=colour)


def _band(fr: Frame, lo: float, hi: float, colour: str = BAND) -> None:
    a, b = max(lo, fr.x_range[0]), min(hi, fr.x_range[1])
    if b <= a:
        return
    fr.add(f'<rect x="{_f(fr.x(a))}" y="{_f(fr.top)}" width="{_f(fr.x(b) - fr.x(a))}" height="{_f(fr.ph)}" '
           f'fill="{colour}" fill-opacity="0.35"/>')


@dataclass(frozen=True)
class RefLine:
    """A reference value drawn as a dashed vertical line."""

    x: float
    label: str
    colour: str = REFERENCE
    dash: bool = True


@dataclass(frozen=True)
class RefBand:
    lo: float
    hi: float
    label: str
    colour: str = BAND


def histogram(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "count",
    lines: Sequence[RefLine] = (),
    bands: Sequence[RefBand] = (),
    curve: tuple[Sequence[float], Sequence[float], str] | None = None,
    note: str = "",
    width: int = 640,
    height: int = 300,
    bar_label: str = "corpus",
) -> str:
    """Bars for ``counts`` over ``edges`` with reference bands, lines and an optional step curve
    ``(x_edges, heights, label)`` of a reference density scaled to the same y units."""
    n = len(counts)
    if len(edges) != n + 1:
        raise ValueError("edges must have one more value than counts")
    top = max([*counts, *(curve[1] if curve else [])], default=0.0)
    fr = Frame(width=width, height=height + (14 if note else 0), bottom=52 + (14 if note else 0),
               x_range=(float(edges[0]), float(edges[-1])), y_range=(0.0, max(1.0, float(top) * 1.12)),
               note_line=bool(note))
    for b in bands:
        _band(fr, b.lo, b.hi, b.colour)
    fr.axes(xlabel, ylabel)
    fr.add(f'<g class="bars" fill="{CORPUS}">')
    for i, c in enumerate(counts):
        if c <= 0:
            continue
        x0, x1 = fr.x(edges[i]), fr.x(edges[i + 1])
        y = fr.y(c)
        fr.add(f'<rect x="{_f(x0 + 0.5)}" y="{_f(y)}" width="{_f(max(0.5, x1 - x0 - 1))}" '
               f'height="{_f(fr.top + fr.ph - y)}"><title>{_t(fmt_tick(edges[i]))} to '
               f'{_t(fmt_tick(edges[i + 1]))}: {_t(fmt_tick(c))}</title></rect>')
    fr.add("</g>")
    legend: list[tuple[str, str, str]] = [("box", CORPUS, bar_label)]
    if curve is not None:
        xs, hs, label = curve
        pts = []
        for i, h in enumerate(hs):
            a, b = max(xs[i], fr.x_range[0]), min(xs[i + 1], fr.x_range[1])
            if b <= a:
                continue
            pts += [f"{_f(fr.x(a))},{_f(fr.y(h))}", f"{_f(fr.x(b))},{_f(fr.y(h))}"]
        if pts:
            fr.add(f'<polyline class="reference" points="{" ".join(pts)}" fill="none" stroke="{REFERENCE}" '
                   f'stroke-width="2" stroke-dasharray="{REF_DASH}"/>')
            legend.append(("dash", REFERENCE, label))
    for row, ln in enumerate(lines):
        _vline(fr, ln.x, ln.colour, ln.label, ln.dash, label_row=row)
    for b in bands:
        legend.append(("band", b.colour, b.label))
    for ln in lines:
        legend.append(("dash" if ln.dash else "line", ln.colour, ln.label.split(":")[0]))
    fr.legend(legend[:4])
    if note:
        fr.text(fr.left + fr.pw / 2, fr.height - 6, note, size=9, fill="#555", cls="note")
    return fr.svg(title, note)


def hbars(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    xlabel: str,
    lines: Sequence[RefLine] = (),
    bands: Sequence[RefBand] = (),
    x_max: float | None = None,
    value_fmt=lambda v: f"{v:.1%}",
    width: int = 640,
    row_h: int = 18,
) -> str:
    """One horizontal bar per label (None: 'not measured'), with reference lines and bands."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    hi = x_max if x_max is not None else max([*finite, *(ln.x for ln in lines), 0.0]) * 1.15 or 1.0
    label_w = min(260, max(80, int(6.2 * max((len(s) for s in labels), default=8))))
    height = 40 + 52 + row_h * max(1, len(labels))
    fr = Frame(width=width, height=height, left=label_w + 8, x_range=(0.0, hi), y_range=(0.0, float(max(1, len(labels)))))
    for b in bands:
        _band(fr, b.lo, b.hi, b.colour)
    fr.axes(xlabel, "", y_ticks=[], x_tick_fmt=lambda v: value_fmt(v) if value_fmt else fmt_tick(v))
    fr.add(f'<g class="bars" fill="{CORPUS}">')
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = fr.top + i * row_h
        fr.text(fr.left - 6, y + row_h * 0.7, lab, anchor="end", size=10)
        if v is None or not math.isfinite(v):
            fr.text(fr.left + 4, y + row_h * 0.7, "not measured", anchor="start", size=10, fill="#666")
            continue
        w = fr.x(min(v, hi)) - fr.left
        fr.add(f'<rect x="{_f(fr.left)}" y="{_f(y + 3)}" width="{_f(max(w, 0.5))}" height="{_f(row_h - 6)}">'
               f'<title>{_t(lab)}: {_t(value_fmt(v))}</title></rect>')
        fr.text(fr.left + w + 4, y + row_h * 0.7, value_fmt(v), anchor="start", size=9, fill="#333")
    fr.add("</g>")
    for row, ln in enumerate(lines):
        _vline(fr, ln.x, ln.colour, "", ln.dash, label_row=row)
    legend = [("box", CORPUS, "recording")]
    legend += [("band", b.colour, b.label) for b in bands]
    legend += [("dash" if ln.dash else "line", ln.colour, ln.label) for ln in lines]
    fr.legend(legend[:4])
    return fr.svg(title)


def bars_with_points(
    categories: Sequence[str],
    values: Sequence[float | None],
    points: Sequence[Sequence[float]] = (),
    *,
    title: str,
    ylabel: str,
    xlabel: str = "",
    width: int = 640,
    height: int = 300,
    bar_label: str = "corpus",
    point_label: str = "one recording",
) -> str:
    """A bar per category (the corpus value) with each recording's value as a dot over it."""
    all_vals = [v for v in values if v is not None] + [p for ps in points for p in ps]
    top = max(all_vals, default=1.0) * 1.12 or 1.0
    n = max(1, len(categories))
    fr = Frame(width=width, height=height, x_range=(0.0, float(n)), y_range=(0.0, top), bottom=70)
    fr.axes(xlabel, ylabel, x_ticks=[])
    slot = fr.pw / n
    fr.add(f'<g class="bars" fill="{CORPUS}">')
    for i, (cat, v) in enumerate(zip(categories, values)):
        cx = fr.left + slot * (i + 0.5)
        fr.text(cx, fr.top + fr.ph + 14, cat, size=10)
        # The corpus value goes under the label: above the bar it would collide with the dots.
        fr.text(cx, fr.top + fr.ph + 27, "n/a" if v is None else f"{v:.1f}", size=9, fill="#444", weight="bold")
        if v is None:
            continue
        y = fr.y(v)
        fr.add(f'<rect x="{_f(cx - slot * 0.3)}" y="{_f(y)}" width="{_f(slot * 0.6)}" '
               f'height="{_f(fr.top + fr.ph - y)}" fill-opacity="0.75"><title>{_t(cat)}: {v:.2f}</title></rect>')
    fr.add("</g>")
    if points:
        fr.add(f'<g class="points" fill="{ACCENT}" fill-opacity="0.8">')
        for i, ps in enumerate(points):
            cx = fr.left + slot * (i + 0.5)
            for j, p in enumerate(ps):
                jitter = ((j * 7919) % 11 - 5) / 5 * slot * 0.18
                fr.add(f'<circle cx="{_f(cx + jitter)}" cy="{_f(fr.y(p))}" r="2.5"/>')
        fr.add("</g>")
    fr.legend([("box", CORPUS, bar_label)] + ([("dot", ACCENT, point_label)] if points else []))
    return fr.svg(title)


def _hours_tick(v: float) -> str:
    """0.1, 1, 10, 100, 1k, 10k, 100k, 1M."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def log_map(
    points: Sequence[tuple[float, int, str, bool]],
    rows: Sequence[str],
    *,
    title: str,
    xlabel: str,
    width: int = 640,
) -> str:
    """Corpora placed by size: x = hours on a log scale, y = a category row; highlighted points are
    the user's corpus. ``points`` are (hours, row index, label, highlighted)."""
    xs = [p[0] for p in points if p[0] and p[0] > 0]
    lo = 10 ** math.floor(math.log10(min(xs))) if xs else 0.01
    hi = 10 ** math.ceil(math.log10(max(xs))) if xs else 1e5
    if hi <= lo:
        hi = lo * 10
    row_h = 58
    label_w = min(220, max(90, int(6.2 * max((len(r) for r in rows), default=8))))
    height = 40 + 52 + row_h * max(1, len(rows))
    fr = Frame(width=width, height=height, left=label_w + 8, x_range=(lo, hi), y_range=(0.0, float(len(rows))),
               x_log=True)
    decades = [10.0 ** k for k in range(int(round(math.log10(lo))), int(round(math.log10(hi))) + 1)]
    fr.axes(xlabel, "", x_ticks=decades, y_ticks=[], x_tick_fmt=_hours_tick)
    for i, r in enumerate(rows):
        y = fr.top + (i + 0.5) * row_h
        fr.text(fr.left - 6, y + 4, r, anchor="end", size=10)
        fr.add(f'<line x1="{_f(fr.left)}" y1="{_f(y)}" x2="{_f(fr.left + fr.pw)}" y2="{_f(y)}" stroke="#eee"/>')
    # Labels: greedy placement in slots above/below the point, so neighbours on a row do not overlap.
    slots = (-8, 16, -19, 27)
    taken: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for hours, row, label, mine in sorted(points, key=lambda p: (p[1], p[0])):
        if not hours or hours <= 0:
            continue
        x = fr.x(min(max(hours, lo), hi))
        y = fr.top + (row + 0.5) * row_h
        colour = REFERENCE if mine else CORPUS
        fr.add(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{6 if mine else 4}" fill="{colour}" stroke="#fff">'
               f'<title>{_t(label)}: {hours:g} h</title></circle>')
        half = 2.8 * len(label) + 2
        extent = (x - half, x + half)
        for k, dy in enumerate(slots):
            used = taken.setdefault((row, k), [])
            if all(extent[1] < a or extent[0] > b for a, b in used):
                used.append(extent)
                break
        fr.text(x, y + dy, label, size=9, fill=colour, weight="bold" if mine else "normal")
    fr.legend([("dot", CORPUS, "known corpus (catalog)"), ("dot", REFERENCE, "this corpus (measured)")])
    return fr.svg(title)


@dataclass(frozen=True)
class LaneRow:
    """One row of a lane chart: segments ``(start, end)`` in seconds drawn as bars in ``colour``;
    ``hollow`` rows are drawn lighter with an outline, so a grey print still tells them apart."""

    label: str
    segments: Sequence[tuple[float, float]]
    colour: str = CORPUS
    hollow: bool = False
    cls: str = "lane"


def merge_runs(segments: Sequence[tuple[float, float]], t0: float, t1: float,
               min_gap: float) -> list[tuple[float, float]]:
    """Segments clipped to [t0, t1], sorted, with neighbours closer than ``min_gap`` joined (a gap under
    a pixel cannot be seen; joining them bounds the SVG's size by its width, not by the segment count).
    Every run starts at a segment's start and ends at a segment's end (or a window edge)."""
    runs = Timeline(segments).crop(Segment(t0, t1)).support(min_gap)
    return list(zip(runs.starts.tolist(), runs.ends.tolist()))


def lanes(
    rows: Sequence[LaneRow],
    *,
    t0: float,
    t1: float,
    title: str,
    xlabel: str = "time (s)",
    ylabel: str = "lane",
    note: str = "",
    legend: Sequence[tuple[str, str, str]] = (),
    width: int = 900,
    row_h: int = 22,
    gap_after: Sequence[int] = (),
) -> str:
    """Rows of speech segments on one time axis (e.g. the true two lanes above the diarized two lanes).
    ``gap_after``: indices of rows followed by a little space (to group the rows)."""
    label_w = min(200, max(70, int(6.4 * max((len(r.label) for r in rows), default=8))))
    spaces = [0.0]
    for i in range(len(rows)):
        spaces.append(spaces[-1] + row_h + (8 if i in gap_after else 0))
    plot_h = max(spaces[-1], float(row_h))
    fr = Frame(width=width, height=int(40 + plot_h + 52 + (14 if note else 0)), left=label_w + 30,
               bottom=52 + (14 if note else 0), x_range=(float(t0), float(max(t1, t0 + 1e-3))),
               y_range=(0.0, 1.0), note_line=bool(note))
    fr.axes(xlabel, ylabel, y_ticks=[], y_grid=False)
    px_s = (fr.x_range[1] - fr.x_range[0]) / max(fr.pw, 1.0)
    for i, row in enumerate(rows):
        y = fr.top + spaces[i]
        fr.text(fr.left - 6, y + row_h * 0.68, row.label, anchor="end", size=10)
        fr.add(f'<rect x="{_f(fr.left)}" y="{_f(y + 1)}" width="{_f(fr.pw)}" height="{_f(row_h - 2)}" fill="#f4f6f9"/>')
        fill = f'fill="{row.colour}"'
        if row.hollow:
            fill += f' fill-opacity="0.45" stroke="{row.colour}" stroke-width="1"'
        fr.add(f'<g class="{_t(row.cls)}" data-label="{_t(row.label)}" {fill}>')
        for a, b in merge_runs(row.segments, fr.x_range[0], fr.x_range[1], px_s):
            x0, x1 = fr.x(a), fr.x(b)
            fr.add(f'<rect x="{_f(x0)}" y="{_f(y + 3)}" width="{_f(max(x1 - x0, 0.6))}" height="{_f(row_h - 6)}" '
                   f'data-start="{a:.3f}" data-end="{b:.3f}">'
                   f'<title>{_t(row.label)}: {a:.2f}–{b:.2f} s</title></rect>')
        fr.add("</g>")
    if legend:
        fr.legend(legend[:4])
    if note:
        fr.text(fr.left + fr.pw / 2, fr.height - 6, note, size=9, fill="#555", cls="note")
    return fr.svg(title, note)
