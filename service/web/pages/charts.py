"""Inline SVG charts rendered on the server: no JavaScript, no build step, nothing from a CDN.

Every function returns `Markup` (safe to embed). Numbers are formatted by us and labels escaped, so
nothing user-supplied reaches the SVG unescaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape


def _scale(values: Sequence[float | None], height: float, pad: float = 2.0) -> list[float | None]:
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    return [None if v is None else height - pad - (v / top) * (height - 2 * pad) for v in values]


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 28,
              label: str = "", css: str = "spark") -> Markup:
    """A polyline of a weekly series; the last point is marked. None means "not shared"."""
    if not values or all(v is None for v in values):
        return Markup(f'<span class="{css} muted" title="not shared">–</span>')
    ys = _scale(values, height)
    step = width / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{y:.1f}" for i, y in enumerate(ys) if y is not None)
    last_x, last_y = (len(ys) - 1) * step, ys[-1] if ys[-1] is not None else height
    title = escape(label)
    return Markup(
        f'<svg class="{css}" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{title}</title>'
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{points}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.2" fill="currentColor"/></svg>')


LEFT, BOTTOM, TOP = 46, 20, 8  # room for the y labels, the date labels and the top tick
KEY = 16  # the strip above a chart that holds its key


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, unit: str, title: str,
              width: int = 640, height: int = 200, scale: float = 1.0,
              css: str = "chart") -> Markup:
    """Vertical bars with y ticks in `unit` and dated x labels; `scale` converts stored units
    (e.g. m → km)."""
    vals = [None if v is None else v * scale for v in values]
    if not vals or all(v is None for v in vals):
        return _empty(title, width, height)
    top = _nice(max((v for v in vals if v is not None), default=0.0))
    bars = _bars(labels, vals, top, width, height, unit)
    return Markup(_frame(title, width, height, css) + bars +
                  _axes(labels, width, height, top, unit) + "</svg>")


def pair_chart(labels: Sequence[str], first: Sequence[float | None],
               second: Sequence[float | None], *, unit: str, title: str, names: tuple[str, str],
               width: int = 640, height: int = 200, scale: float = 1.0) -> Markup:
    """Bars for `first` (e.g. each run) with a line for `second` (e.g. the 30-day longest run)."""
    a = [None if v is None else v * scale for v in first]
    b = [None if v is None else v * scale for v in second]
    if not a:
        return _empty(title, width, height)
    top = _nice(max((v for v in a + b if v is not None), default=0.0))
    # The key gets its own strip above the plot (translated down by KEY), so it never sits on
    # the line or the bars, whatever the data.
    parts = [_frame(title, width, height + KEY, "chart pair"),
             f'<text x="{width - 2}" y="{KEY - 4}" class="lbl key" text-anchor="end">'
             f'bars: {escape(names[0])} · line: {escape(names[1])}</text>',
             f'<g transform="translate(0,{KEY})">', _bars(labels, a, top, width, height, unit)]
    step = (width - LEFT) / len(a)
    line = " ".join(f"{LEFT + i * step + step / 2:.1f},{_y(v, top, height):.1f}"
                    for i, v in enumerate(b) if v is not None)
    if line:
        parts.append(f'<polyline class="ref" fill="none" stroke-width="2" points="{line}">'
                     f'<title>{escape(names[1])}</title></polyline>')
    parts.append(_axes(labels, width, height, top, unit))
    return Markup("".join(parts) + "</g></svg>")


def _y(v: float, top: float, height: int) -> float:
    plot = height - BOTTOM - TOP
    return TOP + plot - (v / top) * plot


def _bars(labels, vals, top: float, width: int, height: int, unit: str) -> str:
    step = (width - LEFT) / len(vals)
    out = []
    for i, (v, lab) in enumerate(zip(vals, labels, strict=True)):
        if v is None:
            continue
        y = _y(v, top, height)
        out.append(f'<rect x="{LEFT + i * step + 1:.1f}" y="{y:.1f}" '
                   f'width="{max(step - 2, 1):.1f}" height="{max(height - BOTTOM - y, 0.5):.1f}">'
                   f'<title>{escape(_date(lab))}: {v:.1f} {escape(unit)}</title></rect>')
    return "".join(out)


def _nice(top: float) -> float:
    """A round axis maximum (1, 2, 2.5 or 5 × 10ⁿ) at or above the data's maximum."""
    if top <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(top))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= top)


def _frame(title: str, width: int, height: int, css: str) -> str:
    t = escape(title)
    return (f'<svg class="{css}" role="img" aria-label="{t}" width="100%" '
            f'viewBox="0 0 {width} {height}"><title>{t}</title>')


def _axes(labels: Sequence[str], width: int, height: int, top: float, unit: str) -> str:
    parts = []
    for frac in (0.0, 0.5, 1.0):  # y ticks with units, and light grid lines
        y = _y(top * frac, top, height)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 4}" y="{y + 3:.1f}" class="lbl" text-anchor="end">'
                     f'{_num(top * frac)} {escape(unit)}</text>')
    n = len(labels)
    step = (width - LEFT) / max(n, 1)
    for i in sorted({round(k * (n - 1) / 4) for k in range(5)} if n > 1 else {0}):
        x = LEFT + i * step + step / 2
        # the end labels hug the plot's edges so they are never cut off
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        x = LEFT if anchor == "start" else width - 1 if anchor == "end" else x
        parts.append(f'<text x="{x:.1f}" y="{height - 5}" class="lbl" text-anchor="{anchor}">'
                     f'{escape(_date(labels[i]))}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{height - BOTTOM}" x2="{width}" y2="{height - BOTTOM}" '
                 'class="axis"/>')
    return "".join(parts)


def _num(v: float) -> str:
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def _date(label: str) -> str:
    """ISO dates as "3 Nov" (the year is on the page); anything else as given."""
    try:
        d = date.fromisoformat(label)
    except (TypeError, ValueError):
        return str(label)
    return f"{d.day} {d.strftime('%b')}"


def _empty(title: str, width: int, height: int) -> Markup:
    return Markup(_frame(title, width, height, "chart empty") +
                  f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="lbl">'
                  f'not shared, or no data yet</text></svg>')
