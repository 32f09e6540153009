"""Inline SVG charts rendered on the server: no JavaScript, no build step, nothing from a CDN.

Every function returns `Markup` (safe to embed). Numbers are formatted by us and labels escaped, so
nothing user-supplied reaches the SVG unescaped.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, unit: str, title: str,
              width: int = 640, height: int = 180, scale: float = 1.0,
              css: str = "chart") -> Markup:
    """Vertical bars with a max label; `scale` converts stored units (e.g. m → km)."""
    vals = [None if v is None else v * scale for v in values]
    if not vals or all(v is None for v in vals):
        return _empty(title, width, height)
    top = max((v for v in vals if v is not None), default=0.0)
    ys = _scale(vals, height - 16)
    bar = width / len(vals)
    parts = [_frame(title, width, height, css)]
    for i, (y, v, lab) in enumerate(zip(ys, vals, labels, strict=True)):
        if y is None:
            continue
        h = max(height - 16 - y, 0.5)
        parts.append(f'<rect x="{i * bar + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" '
                     f'height="{h:.1f}"><title>{escape(lab)}: {v:.1f} {escape(unit)}'
                     '</title></rect>')
    parts.append(_axis(labels, width, height, top, unit))
    return Markup("".join(parts) + "</svg>")


def pair_chart(labels: Sequence[str], first: Sequence[float | None],
               second: Sequence[float | None], *, unit: str, title: str, names: tuple[str, str],
               width: int = 640, height: int = 180, scale: float = 1.0) -> Markup:
    """Bars for `first` (e.g. each run) with a line for `second` (e.g. the 30-day longest run)."""
    a = [None if v is None else v * scale for v in first]
    b = [None if v is None else v * scale for v in second]
    if not a:
        return _empty(title, width, height)
    top = max((v for v in a + b if v is not None), default=0.0) or 1.0
    ya, yb = _scale(a + [top], height - 16)[:-1], _scale(b + [top], height - 16)[:-1]
    bar = width / len(a)
    parts = [_frame(title, width, height, "chart pair")]
    for i, (y, v, lab) in enumerate(zip(ya, a, labels, strict=True)):
        if y is not None:
            parts.append(f'<rect x="{i * bar + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" '
                         f'height="{max(height - 16 - y, 0.5):.1f}"><title>{escape(lab)}: '
                         f'{v:.1f} {escape(unit)}</title></rect>')
    line = " ".join(f"{i * bar + bar / 2:.1f},{y:.1f}" for i, y in enumerate(yb) if y is not None)
    if line:
        parts.append(f'<polyline class="ref" fill="none" stroke-width="2" points="{line}">'
                     f'<title>{escape(names[1])}</title></polyline>')
    parts.append(_axis(labels, width, height, top, unit))
    return Markup("".join(parts) + "</svg>")


def _frame(title: str, width: int, height: int, css: str) -> str:
    t = escape(title)
    return (f'<svg class="{css}" role="img" aria-label="{t}" width="100%" height="{height}" '
            f'viewBox="0 0 {width} {height}" preserveAspectRatio="none"><title>{t}</title>')


def _axis(labels: Sequence[str], width: int, height: int, top: float, unit: str) -> str:
    first = escape(labels[0]) if labels else ""
    last = escape(labels[-1]) if labels else ""
    return (f'<line x1="0" y1="{height - 15}" x2="{width}" y2="{height - 15}" class="axis"/>'
            f'<text x="2" y="{height - 3}" class="lbl">{first}</text>'
            f'<text x="{width - 2}" y="{height - 3}" class="lbl" text-anchor="end">{last}</text>'
            f'<text x="2" y="10" class="lbl">max {top:.1f} {escape(unit)}</text>')


def _empty(title: str, width: int, height: int) -> Markup:
    return Markup(_frame(title, width, height, "chart empty") +
                  f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="lbl">'
                  f'not shared, or no data</text></svg>')
