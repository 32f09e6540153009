"""Knee load over a history: each run's knee-km, the daily acute load and the personal tolerance,
and the `knee_load` finding (DESIGN §1; method and reasoning in docs/decisions.md, "knee load").

* Acute load decays by `DECAY` (6/7) a day: a steady daily load L settles at 7L, so the acute load
  reads in "knee-km per week" and compares with a weekly tolerance; half-life 4.5 days, a run
  weighs 21% after 10 days (Garmin: a run's effect "is gone after 10 days").
* Tolerance is set once per calendar week (Monday, local time) from the weeks before it: the
  larger of 1.3 x the last 4 weeks' mean and the best 4-week mean of the past 51 weeks, the latter
  bounded by (recent + half of it) so a long break brings it down; never under a floor, and none
  at all before `knee_min_history_days` (28) of history and `min_history_runs` runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workers.analysis import kneeload as kl
from workers.analysis.config import Thresholds
from workers.analysis.history import DAY_S, Finding, History, from_day_number
from workers.analysis.load import date_finding, fires, monday_of

DECAY = 6.0 / 7.0
LONG_WEEKS = 51  # the long-term look-back (kept inside the rules' one-year horizon)
RECENT_WEEKS = 4
CADENCE_BASELINE_DAYS = 56


@dataclass(slots=True)
class KneeSeries:
    run_km: np.ndarray  # per history item
    confidence: list[str]
    easy_mps: np.ndarray  # the easy speed each run was weighed against (nan: unknown)
    first: int  # day number of daily[0]
    daily: np.ndarray  # knee-km per local day, first .. last run day
    acute: np.ndarray  # decayed acute load per day (knee-km per week)

    def at(self, values: np.ndarray, day: int) -> float:
        """values[day], decayed forward past the last run day (acute) or 0 outside."""
        i = day - self.first
        if i < 0 or values.size == 0:
            return 0.0
        if i < values.size:
            return float(values[i])
        return float(values[-1]) * DECAY ** (i - values.size + 1) if values is self.acute else 0.0

    def week_sum(self, monday: int, last: int) -> float:
        lo, hi = max(monday - self.first, 0), min(last - self.first + 1, self.daily.size)
        return float(self.daily[lo:hi].sum()) if hi > lo else 0.0


def series(h: History) -> KneeSeries:
    """The history's knee series, computed once per History (memo)."""
    return h.memo(("knee_series",), 0, lambda _day: build_series(h))


def build_series(h: History) -> KneeSeries:
    km, conf, easy = run_loads(h)
    if len(h) == 0:
        return KneeSeries(km, conf, easy, 0, np.zeros(0), np.zeros(0))
    first = int(h.day[0])
    daily = np.bincount(h.day - first, weights=km, minlength=int(h.day[-1]) - first + 1)
    return KneeSeries(km, conf, easy, first, daily, decayed(daily))


def decayed(daily: np.ndarray) -> np.ndarray:
    out = np.empty_like(daily)
    acc = 0.0
    for i, value in enumerate(daily.tolist()):
        acc = acc * DECAY + value
        out[i] = acc
    return out


def run_loads(h: History) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Knee-km of every run (history order), its confidence and the easy speed used. One pass in
    time order: the easy pace and the cadence baseline are sliding windows over earlier runs."""
    n = len(h)
    km, easy = np.zeros(n), np.full(n, np.nan)
    conf: list[str] = []
    profiles = [kl.knee_of(item.metrics) for item in h.items]
    speeds = [None if p.speed_mps is None or h.race[i] else p.speed_mps
              for i, p in enumerate(profiles)]
    cadence = CadenceWindow(h)
    for i, k in enumerate(profiles):
        change = cadence.change(i) if k.method == "samples" else None
        cadence.add(i)
        if k.method == "none" and k.load_km is not None:
            km[i] = k.load_km
            conf.append("stored")
            continue
        easy[i] = easy_speed(h, i, speeds, k)
        km[i] = kl.run_load_m(k, None if np.isnan(easy[i]) else easy[i], change) / 1000.0
        conf.append(k.confidence or "low")
    return km, conf, easy


def easy_speed(h: History, i: int, speeds: list[float | None], k: kl.KneeMetrics) -> float:
    """The runner's easy speed before run i: the median running speed of their runs (races left
    out) in the previous 90 days; with fewer than 3, the run's own (a neutral weight)."""
    lo = int(np.searchsorted(h.t, h.t[i] - kl.EASY_WINDOW_DAYS * DAY_S, side="left"))
    prior = sorted(v for v in speeds[lo:i] if v is not None)
    if len(prior) >= kl.EASY_MIN_RUNS:
        mid = len(prior) // 2
        return prior[mid] if len(prior) % 2 else 0.5 * (prior[mid - 1] + prior[mid])
    return float(k.speed_mps) if k.speed_mps else np.nan


class CadenceWindow:
    """The runner's cadence per speed band over their last runs (at most 10, within 8 weeks),
    kept as running sums so each run costs a few dictionary updates."""

    def __init__(self, h: History) -> None:
        self.h, self.members = h, []
        self.sums: dict[float, list[float]] = {}

    def _apply(self, j: int, sign: float) -> None:
        for band, secs, spm in self.h.items[j].metrics.dynamics.cadence_by_speed:
            slot = self.sums.setdefault(band, [0.0, 0.0])
            slot[0] += sign * secs
            slot[1] += sign * secs * spm

    def add(self, j: int) -> None:
        if self.h.items[j].metrics.dynamics.cadence_by_speed:
            self.members.append(j)
            self._apply(j, 1.0)
            if len(self.members) > kl.CADENCE_BASELINE_RUNS:
                self._apply(self.members.pop(0), -1.0)

    def change(self, i: int) -> float | None:
        """Run i's cadence vs the window's at the same speeds, as a fraction (None: too little
        matched running or fewer than 3 runs)."""
        oldest = self.h.t[i] - CADENCE_BASELINE_DAYS * DAY_S
        while self.members and self.h.t[self.members[0]] < oldest:
            self._apply(self.members.pop(0), -1.0)
        bands = self.h.items[i].metrics.dynamics.cadence_by_speed
        if len(self.members) < 3 or not bands:
            return None
        matched = [(s, spm, self.sums[b][1] / self.sums[b][0]) for b, s, spm in bands
                   if b in self.sums and self.sums[b][0] >= 120]
        seconds = sum(s for s, _, _ in matched)
        if seconds < kl.CADENCE_MIN_MATCHED_S:
            return None
        today = sum(s * spm for s, spm, _ in matched) / seconds
        usual = sum(s * u for s, _, u in matched) / seconds
        return today / usual - 1.0 if usual > 0 else None


def weekly_loads(s: KneeSeries, monday: int, weeks: int) -> np.ndarray:
    """Knee-km of the `weeks` calendar weeks before `monday`, most recent first (weeks before the
    history count as empty; callers check the history is long enough)."""
    return np.array([s.week_sum(monday - 7 * k, monday - 7 * k + 6) for k in range(1, weeks + 1)])


def tolerance(h: History, s: KneeSeries, monday: int, cfg: Thresholds) -> dict | None:
    """The tolerance for the week starting `monday`, from the weeks before it; None before the
    history is `knee_min_history_days` long with `min_history_runs` runs."""
    if len(h) == 0 or h.day[0] > monday - cfg.knee_min_history_days:
        return None
    if h.days(int(h.day[0]), monday - 1).stop < cfg.min_history_runs:
        return None
    weeks = weekly_loads(s, monday, LONG_WEEKS)
    span = (monday - int(h.day[0])) // 7  # whole weeks of history before this one
    weeks = weeks[: max(span, RECENT_WEEKS)]
    recent = float(weeks[:RECENT_WEEKS].mean())
    months = np.convolve(weeks, np.ones(RECENT_WEEKS) / RECENT_WEEKS, mode="valid")
    best = float(months.max()) if months.size else recent
    value = max(cfg.knee_tolerance_floor_km, cfg.knee_recent_headroom * recent,
                min(best, recent + cfg.knee_long_share * best))
    return {"km": value, "recent_weekly_km": recent, "best_month_weekly_km": best,
            "week_start": from_day_number(monday).isoformat()}


def knee_load(h: History, d: int, today: slice, cfg: Thresholds) -> Finding | None:
    s = series(h)

    def measure(day: int) -> dict | None:
        tol = h.memo(("knee_tolerance", cfg), monday_of(day),
                     lambda m: tolerance(h, s, m, cfg))
        if tol is None:
            return None
        acute = s.at(s.acute, day)
        return {"value": acute / tol["km"], "acute": acute, "tol": tol,
                "week": s.week_sum(monday_of(day), day)}

    def level(m: dict) -> int:
        return 2 if m["value"] > cfg.knee_caution_ratio else int(m["value"] > cfg.knee_info_ratio)

    now = fires(h, today, measure, level, ("knee_load", cfg), monday_of(d))
    if now is None:
        return None
    severity = "caution" if level(now) == 2 else "info"
    runs = contributors(h, s, d)
    evidence = {"acute_knee_km": now["acute"], "week_knee_km": now["week"],
                "tolerance_knee_km": now["tol"]["km"],
                "recent_weekly_knee_km": now["tol"]["recent_weekly_km"],
                "best_month_weekly_knee_km": now["tol"]["best_month_weekly_km"],
                "runs": runs, "decay_per_day": round(DECAY, 4),
                "evidence": "joint-load biomechanics (weights); load-management consensus"}
    threshold = cfg.knee_caution_ratio if severity == "caution" else cfg.knee_info_ratio
    return date_finding(h, d, "knee_load", severity, now["value"], threshold,
                        message(now, runs, severity), evidence, h.days(d - 6, d))


def contributors(h: History, s: KneeSeries, d: int, top: int = 3) -> list[dict]:
    """The runs of the last 7 days that weigh most in today's acute load."""
    sel = h.days(d - 6, d)
    idx = list(range(sel.start, sel.stop))
    idx.sort(key=lambda i: -s.run_km[i] * DECAY ** (d - int(h.day[i])))
    return [{"activity": h.items[i].id, "date": from_day_number(int(h.day[i])).isoformat(),
             "distance_km": round(float(h.dist[i]) / 1000.0, 1),
             "knee_km": round(float(s.run_km[i]), 1), "loss_m": round(float(h.loss[i]))}
            for i in idx[:top]]


def message(now: dict, runs: list[dict], severity: str) -> str:
    tol = now["tol"]
    where = "above" if severity == "caution" else "close to"
    made = "; ".join(f"{r['date']}: {r['distance_km']:.1f} km -> {r['knee_km']:.1f} knee-km"
                     + (f" ({r['loss_m']} m down)" if r["loss_m"] >= 100 else "") for r in runs)
    return (
        f"Knee load {now['acute']:.0f} knee-km (this week so far {now['week']:.0f}) is {where} "
        f"your tolerance of {tol['km']:.0f} knee-km a week (your last 4 weeks averaged "
        f"{tol['recent_weekly_km']:.0f}, your best month this past year "
        f"{tol['best_month_weekly_km']:.0f} a week). It came mostly from {made}. A knee-km is an "
        "easy flat km at your usual pace; descents, fast running and longer steps weigh more, "
        "walking less (joint-load studies: Gottschall & Kram 2005, Kuster 1993, Willson 2014). "
        "The tolerance follows load-management practice, not a validated injury threshold."
    )
