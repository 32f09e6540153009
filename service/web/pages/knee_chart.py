"""The knee-load chart: twelve weeks of knee-km (bars) against the tolerance band, the same on /me
and on a club member's page (when the member shares `load`). Self-contained: one data function
(`service.domain.knee_load.athlete_load`) and the partial template `_knee_load.html`."""

from __future__ import annotations

from markupsafe import Markup, escape

from service.domain.knee_load import athlete_load
from service.web.pages.charts import LEFT, TOP, _axes, _bars, _empty, _frame, _nice, _y

BAND_LOW = 0.95  # the knee_load rule's info ratio: the band is "close to the tolerance"


def knee_chart(view: dict, whose: str, width: int = 640, height: int = 220) -> Markup:
    """Bars: each week's knee-km; shaded band and line: that week's tolerance (from 95% of it to
    it); dots: the week's highest acute load, the number the warning compares."""
    weeks = view.get("weeks") or []
    title = f"{whose.capitalize()} weekly knee load against {whose} tolerance"
    if not any(w["knee_load_km"] for w in weeks):
        return Markup(str(_empty(title, width, height)).replace('class="chart empty"',
                                                                 'class="kneechart empty"'))
    labels = [w["start"] for w in weeks]
    bars = [w["knee_load_km"] for w in weeks]
    tol = [w["tolerance_km"] for w in weeks]
    peaks = [w["peak_acute_km"] for w in weeks]
    top = _nice(max([v for v in bars + tol + peaks if v is not None], default=1.0))
    step = (width - LEFT) / len(weeks)
    parts = [_frame(title, width, height, "kneechart"), _band(tol, top, step, height),
             _bars(labels, bars, top, width, height, "knee-km"), _dots(peaks, tol, top, step, height),
             _axes(labels, width, height, top, "knee-km"),
             f'<text x="{width - 2}" y="{TOP + 2}" class="lbl key" text-anchor="end">bars: '
             'knee-km a week · band: tolerance · dots: highest acute load</text>']
    return Markup("".join(parts) + "</svg>")


def _band(tol: list, top: float, step: float, height: int) -> str:
    out = []
    for i, t in enumerate(tol):
        if t is None:
            continue
        y_hi, y_lo = _y(t, top, height), _y(BAND_LOW * t, top, height)
        x = LEFT + i * step
        out.append(f'<rect class="band" x="{x:.1f}" y="{y_hi:.1f}" width="{step:.1f}" '
                   f'height="{max(y_lo - y_hi, 1.5):.1f}"><title>tolerance {t:.0f} knee-km'
                   '</title></rect>'
                   f'<line class="tol" x1="{x:.1f}" y1="{y_hi:.1f}" x2="{x + step:.1f}" '
                   f'y2="{y_hi:.1f}"/>')
    return "".join(out)


def _dots(peaks: list, tol: list, top: float, step: float, height: int) -> str:
    out = []
    for i, (p, t) in enumerate(zip(peaks, tol, strict=True)):
        if not p:
            continue
        over = t is not None and p > t
        out.append(f'<circle class="peak{" over" if over else ""}" cx="{LEFT + (i + .5) * step:.1f}" '
                   f'cy="{_y(p, top, height):.1f}" r="3.5"><title>highest acute load '
                   f'{escape(f"{p:.0f}")} knee-km{" (above tolerance)" if over else ""}'
                   '</title></circle>')
    return "".join(out)



def knee_section(s, athlete_id: str, as_of, whose: str, deployment: dict | None = None) -> dict:
    """What `_knee_load.html` needs: the chart, the numbers, and whose they are."""
    view = athlete_load(s, athlete_id, as_of, 12, deployment)
    return {"chart": knee_chart(view, whose), "view": view, "whose": whose}
