"""Breaks in training: where the last one was and what the runner did before it (DESIGN §1).

A gap of `break_min_days` or more is a break. The first run back is `return_to_running`, not a
spike against an empty window, and for `comeback_days` after it the longest run and the usual week
from before the break still count as the reference, so rebuilding towards them is neither a spike
nor a weekly jump (no cliff at 30 days). Used by the spike rule (spikes.py) and the weekly base
(load.py).
"""

from __future__ import annotations

import numpy as np

from workers.analysis.config import Thresholds
from workers.analysis.history import DAY_S, History


def previous_run(h: History, i: int) -> int | None:
    earlier = np.flatnonzero(h.dist[:i] > 0)
    return int(earlier[-1]) if earlier.size else None


def pre_break_longest(h: History, last: int, cfg: Thresholds) -> tuple[float, slice] | None:
    """Longest run in the spike window ending with `last`, the final run before a break."""
    lo = int(np.searchsorted(h.t, h.t[last] - cfg.spike_window_days * DAY_S, side="left"))
    sel = slice(lo, last + 1)
    longest = float(h.dist[sel].max())
    return (longest, sel) if longest > 0 else None


def comeback_reference(h: History, i: int, cfg: Thresholds) -> tuple[float, slice] | None:
    """While a comeback is under way (a break ended within `comeback_days`), the longest run
    before the break still counts: rebuilding towards it is not a spike (no cliff at 30 days)."""
    p = last_break(h, int(h.day[i]), cfg)
    return None if p is None else pre_break_longest(h, p, cfg)



def last_break(h: History, d: int, cfg: Thresholds) -> int | None:
    """Index of the last run before a break whose comeback began within `comeback_days` of `d`."""
    upto = h.days(int(h.day[0]), d).stop
    pos = np.flatnonzero(h.dist[:upto] > 0)
    if pos.size < 2:
        return None
    gaps = np.diff(h.t[pos]) / DAY_S
    recent = h.day[pos[1:]] >= d - cfg.comeback_days
    breaks = np.flatnonzero((gaps >= cfg.break_min_days) & recent)
    if breaks.size == 0 or gaps[breaks[-1]] > cfg.break_lookback_days:
        return None
    return int(pos[breaks[-1]])
