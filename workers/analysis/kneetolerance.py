"""Knee load over a history: each run's knee-km, the daily acute load and the personal tolerance,
and the `knee_load` finding (DESIGN §1; method and reasoning in docs/decisions.md, "knee load").

* Acute load decays by `DECAY` (6/7) a day: a steady daily load L settles at 7L, so the acute load
  reads in "knee-km per week" and compares with a weekly tolerance; half-life 4.5 days, a run
  weighs 21% after 10 days (Garmin: a run's effect "is gone after 10 days").
* Tolerance is set once per calendar week (Monday, local time) from the weeks before it, in the
  same units: what the acute load peaked at in the runner's usual training weeks (recovery weeks
  and holidays left out) with headroom, or a share of their best month of the past year, whichever
  is larger; never under a floor, and none at all before `knee_min_history_days` (28) of history
  and `min_history_runs` runs (`tolerance`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np

from workers.analysis import kneeload as kl
from workers.analysis import spikes
from workers.analysis.config import Thresholds
from workers.analysis.history import DAY_S, Finding, History, from_day_number
from workers.analysis.load import date_finding, fires

DECAY = 6.0 / 7.0
LONG_WEEKS = 51  # the long-term look-back (kept inside the rules' one-year horizon)
RECENT_WEEKS = 4
CADENCE_BASELINE_DAYS = 56


def monday_of(day: int) -> int:
    """Day number of the Monday of `day`'s local week (day 0, 1970-01-01, was a Thursday): the
    tolerance is set once per training week, as Garmin's Running Tolerance is."""
    return day - (day + 3) % 7


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
    cadence, paces = CadenceWindow(h), EasyWindow(h, speeds)
    extras = np.array([kl.descent_extra_m(k) if k.method != "none" else 0.0 for k in profiles])
    for i, k in enumerate(profiles):
        change = cadence.change(i) if k.method == "samples" else None
        cadence.add(i)
        usual = paces.before(i)
        if k.method == "none" and k.load_km is not None:
            km[i] = k.load_km
            conf.append("stored")
            continue
        easy[i] = usual if usual is not None else (k.speed_mps or np.nan)
        novel = kl.novel_descent_m(extras[i], accustomed(h, i, extras))
        km[i] = (kl.run_load_m(k, None if np.isnan(easy[i]) else easy[i], change) + novel) / 1e3
        conf.append(k.confidence or "low")
    return km, conf, easy


class EasyWindow:
    """The runner's easy speed before each run: the median running speed of their runs (races
    left out) in the previous 90 days, kept sorted as the window slides (None with fewer than
    3: the run's own speed is used, a neutral weight)."""

    def __init__(self, h: History, speeds: list[float | None]) -> None:
        self.h, self.speeds, self.lo, self.hi = h, speeds, 0, 0
        self.sorted: list[float] = []

    def before(self, i: int) -> float | None:
        while self.hi < i:
            if (new := self.speeds[self.hi]) is not None:
                bisect.insort(self.sorted, new)
            self.hi += 1
        oldest = self.h.t[i] - kl.EASY_WINDOW_DAYS * DAY_S
        while self.lo < self.hi and self.h.t[self.lo] < oldest:
            if (old := self.speeds[self.lo]) is not None:
                del self.sorted[bisect.bisect_left(self.sorted, old)]
            self.lo += 1
        n = len(self.sorted)
        if n < kl.EASY_MIN_RUNS:
            return None
        mid = n // 2
        return self.sorted[mid] if n % 2 else 0.5 * (self.sorted[mid - 1] + self.sorted[mid])


def accustomed(h: History, i: int, extras: np.ndarray) -> float:
    """The largest descent load of the runner's runs in the 30 days before run i."""
    lo = int(np.searchsorted(h.t, h.t[i] - kl.NOVEL_WINDOW_DAYS * DAY_S, side="left"))
    return float(extras[lo:i].max()) if i > lo else 0.0


class CadenceWindow:
    """The runner's cadence per speed band over their last runs (at most 10, within 8 weeks),
    kept as running sums so each run costs a few dictionary updates."""

    def __init__(self, h: History) -> None:
        self.h = h
        self.members: list[int] = []
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


def weekly_peaks(s: KneeSeries, monday: int, weeks: int) -> np.ndarray:
    """The highest acute load on a run day of each of the `weeks` calendar weeks before `monday`,
    most recent first (a week without runs: 0, so what lingers from the week before is not read
    as training)."""
    out = np.zeros(weeks)
    for k in range(1, weeks + 1):
        lo, hi = max(monday - 7 * k - s.first, 0), min(monday - 7 * k + 7 - s.first, s.acute.size)
        if hi > lo:
            ran = s.daily[lo:hi] > 0
            out[k - 1] = float(s.acute[lo:hi][ran].max()) if ran.any() else 0.0
    return out


def training_weeks(recent: np.ndarray) -> np.ndarray:
    """The upper half of the recent weekly peaks: the runner's training weeks. The lower half
    holds the recovery week of a 3:1 block (-20 to -30%, above any "week off" floor), a week cut
    short by a cold, a taper; reading them as the base sank the tolerance under an ordinary build
    week (issue 22/23, set B). No floor to choose: half of six weeks is three training weeks."""
    if not recent.size or recent.max() <= 0:
        return np.zeros(0)
    return np.sort(recent)[::-1][: (recent.size + 1) // 2]


def tolerance(h: History, s: KneeSeries, monday: int, cfg: Thresholds) -> dict | None:
    """The tolerance for the week starting `monday`, in acute-load units, from the weeks before it
    (None before `knee_min_history_days` of history and `min_history_runs` runs):
    * usual: the mean weekly peak of the runner's recent training weeks (the upper half of the
      last `knee_base_weeks`: a recovery week, a sick week, a holiday is not a base), times
      `knee_recent_headroom`;
    * long-term: the best 4-week mean of weekly peaks in the past 51 weeks, times
      `knee_long_share` (capacity lost in a break: after weeks off it is what remains);
    * never under `knee_tolerance_floor_km`."""
    if len(h) == 0 or h.day[0] > monday - cfg.knee_min_history_days:
        return None
    if h.days(int(h.day[0]), monday - 1).stop < cfg.min_history_runs:
        return None
    span = max((monday - int(h.day[0])) // 7, 1)
    peaks = weekly_peaks(s, monday, min(LONG_WEEKS, span))
    kept = training_weeks(peaks[: cfg.knee_base_weeks])
    usual = float(kept.mean()) if kept.size else 0.0
    months = np.convolve(peaks, np.ones(RECENT_WEEKS) / RECENT_WEEKS, mode="valid")
    best = float(months.max()) if months.size else usual
    kept_months = months[: max(cfg.knee_kept_weeks - RECENT_WEEKS + 1, 0)]
    kept_best = float(kept_months.max()) if kept_months.size else 0.0
    value = max(cfg.knee_tolerance_floor_km, cfg.knee_recent_headroom * usual,
                cfg.knee_long_share * best, cfg.knee_kept_share * kept_best)
    return {"km": value, "usual_peak_km": usual, "usual_weeks": int(kept.size),
            "best_month_peak_km": best, "best_recent_month_peak_km": kept_best,
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
                "week": s.week_sum(day - 6, day), "session": session(h, s, day, cfg)}

    def level(m: dict) -> int:
        if m["value"] > cfg.knee_caution_ratio or m["session"].get("speaks", False):
            return 2
        return int(m["value"] > cfg.knee_info_ratio)

    now = fires(h, today, measure, level, ("knee_load", cfg), d - cfg.load_refractory_days)
    if now is None:
        return None
    severity = "caution" if level(now) == 2 else "info"
    runs = contributors(h, s, d)
    evidence = {"acute_knee_km": now["acute"], "session": now["session"],
                "last_7_days_knee_km": now["week"],
                "tolerance_knee_km": now["tol"]["km"],
                "usual_peak_knee_km": now["tol"]["usual_peak_km"],
                "best_month_peak_knee_km": now["tol"]["best_month_peak_km"],
                "runs": runs, "decay_per_day": round(DECAY, 4),
                "evidence": "joint-load biomechanics (weights); load-management consensus"}
    # value/threshold name what triggered: the acute load vs the tolerance, or (only that) one
    # run vs the biggest of the previous 30 days.
    by_session = severity == "caution" and now["value"] <= cfg.knee_caution_ratio
    evidence["trigger"] = "session" if by_session else "acute"
    value = now["session"]["ratio"] if by_session else now["value"]
    threshold = (cfg.knee_session_ratio if by_session else
                 cfg.knee_caution_ratio if severity == "caution" else cfg.knee_info_ratio)
    return date_finding(h, d, "knee_load", severity, value, threshold,
                        message(now, runs, severity), evidence, h.days(d - 6, d))


def session(h: History, s: KneeSeries, day: int, cfg: Thresholds) -> dict:
    """The day's biggest run in knee-km vs the biggest of the previous 30 days (Frandsen's
    single-session comparison, knee-weighted; ratio 0 when there is nothing to compare). It
    `speaks` above `knee_session_ratio` only when its tier (Frandsen's >10/30/100%) is above the
    tier the distance spike rule gives the same run: a marathon after a taper is a distance spike
    whose knee-km ratio is the same tier, and the spike rule's caution is the message; what knee
    load adds is the run whose descent or speed makes it a bigger spike than its distance."""
    today = h.days(day, day)
    if today.stop <= today.start:
        return {"ratio": 0.0}
    i = today.start + int(np.argmax(s.run_km[today]))
    window = h.before(i, cfg.spike_window_days)
    prior = float(s.run_km[window].max()) if window.stop > window.start else 0.0
    ratio = s.run_km[i] / prior if prior > 0 and s.run_km[i] >= cfg.knee_session_min_km else 0.0
    knee_tier, by_distance = spike_tier(float(ratio), cfg), distance_tier(h, i, cfg)
    return {"ratio": float(ratio), "knee_km": float(s.run_km[i]), "previous_max_knee_km": prior,
            "activity": h.items[i].id, "tier": knee_tier, "distance_tier": by_distance,
            "speaks": bool(ratio > cfg.knee_session_ratio and knee_tier > by_distance)}


def spike_tier(r: float, cfg: Thresholds) -> int:
    """0 none, 1 small (>10%), 2 moderate (>30%), 3 large (>100%): Frandsen's tiers."""
    return sum(r > t for t in (cfg.spike_small, cfg.spike_moderate, cfg.spike_large))


def distance_tier(h: History, i: int, cfg: Thresholds) -> int:
    """The tier of run i's own distance finding (spike, or a comeback ramp), 0 when it has none."""
    f = spikes.single_run_spike(h, i, cfg)
    return spike_tier(f.value or 0.0, cfg) if f is not None and f.severity != "info" else 0


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
    tol, one = now["tol"], now["session"]
    where = ("above" if now["value"] > 1.0 else "close to" if now["value"] > 0.9 else "within")
    made = "; ".join(f"{r['date']}: {r['distance_km']:.1f} km -> {r['knee_km']:.1f} knee-km"
                     + (f" ({r['loss_m']} m down)" if r["loss_m"] >= 100 else "") for r in runs)
    return (
        f"Knee load {now['acute']:.0f} knee-km (last 7 days {now['week']:.0f}) is {where} "
        f"your tolerance of {tol['km']:.0f} (your usual weeks peak at "
        f"{tol['usual_peak_km']:.0f}, your best month this past year at "
        f"{tol['best_month_peak_km']:.0f}). It came mostly from {made}. "
        + (f"Today's run alone weighed {one['knee_km']:.0f} knee-km, {one['ratio']:.1f}x your "
           f"biggest of the previous 30 days ({one['previous_max_knee_km']:.0f}); one session "
           "much bigger than recent ones is the pattern most linked with injury (Frandsen et "
           "al. 2025, measured in distance). " if one["ratio"] > 1.0 else "")
        + ("That is a bigger jump than its distance alone: the descent or the pace makes the "
           "difference (applying the distance finding to knee-km is our extrapolation). "
           if one.get("speaks") else "")
        + "A knee-km is an "
        "easy flat km at your usual pace; descents, fast running and longer steps weigh more, "
        "walking less (joint-load studies: Gottschall & Kram 2005, Kuster 1993, Willson 2014). "
        "The tolerance follows load-management practice, not a validated injury threshold."
    )


def load_view(h: History, cfg: Thresholds, last_day: int, weeks: int = 12) -> dict:
    """What the API, the pages and the report show: `weeks` calendar weeks (Monday, local) up to
    `last_day` with their knee-km, distance, highest acute load and tolerance, the days of those
    weeks, and today's acute load against this week's tolerance."""
    s = series(h)
    first_monday = monday_of(last_day) - 7 * (weeks - 1)
    out_weeks, out_days = [], []
    for k in range(weeks):
        monday = first_monday + 7 * k
        tol = h.memo(("knee_tolerance", cfg), monday, lambda m: tolerance(h, s, m, cfg))
        last = min(monday + 6, last_day)
        sel = h.days(monday, last)
        acutes = [s.at(s.acute, d) for d in range(monday, last + 1)]
        out_weeks.append({
            "start": from_day_number(monday).isoformat(),
            "knee_load_km": round(s.week_sum(monday, last), 2),
            "distance_m": round(float(h.dist[sel].sum()), 1), "runs": sel.stop - sel.start,
            "peak_acute_km": round(max(acutes), 2),
            "tolerance_km": None if tol is None else round(tol["km"], 2)})
        out_days += [{"date": from_day_number(d).isoformat(),
                      "knee_load_km": round(s.week_sum(d, d), 2), "acute_km": round(a, 2),
                      "tolerance_km": out_weeks[-1]["tolerance_km"]}
                     for d, a in zip(range(monday, last + 1), acutes, strict=True)]
    now: dict[str, Any] = out_days[-1] if out_days else {"acute_km": 0.0, "tolerance_km": None}
    return {"unit": "knee_km", "weeks": out_weeks, "days": out_days,
            "current": {"acute_km": now["acute_km"], "tolerance_km": now["tolerance_km"],
                        "ratio": None if not now["tolerance_km"] else
                        round(now["acute_km"] / now["tolerance_km"], 3)},
            "low_confidence_runs": sum(1 for c in s.confidence if c == "low"),
            "decay_per_day": round(DECAY, 4)}
