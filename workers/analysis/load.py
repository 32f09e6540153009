"""Load rules over rolling 7-day windows: weekly jump, ACWR context and weekly descent (DESIGN §1).

Severity follows the strength of the evidence (docs/decisions.md, issue 11):
* weekly_jump compares the last 7 days with a chronic base of several training weeks, so a
  recovery week, a taper or a holiday is never the base (Nielsen's one-week base fired after every
  easy week on realistic histories); it is context (info): no ratio separated real jumps from
  normal training on both independent sets of bench/cohort.py (a deployment may set a caution).
* acwr is context only (contested; inverse in runners).
* Ratio rules need enough history (`min_history_days`, `min_history_runs`) before they speak.

Weekly rules use rolling windows: the last 7 days (today included) vs the usual week, the chronic
base of the 7-day blocks before them (issue 22: the same 62 km in seven days must read the same
whether or not the seven days straddle a Monday; calendar weeks are for display, digests and email
grouping only). Date rules fire on a day with a run when their level rises above what it was on the
run days of the last `load_refractory_days`: one finding per excursion (one more only if it
escalates from info to caution), so one bad week yields one message instead of one per run.
The rules about one run (spikes, comebacks, novel descents) are in spikes.py; breaks in breaks.py.
"""

from __future__ import annotations

import numpy as np

from workers.analysis.breaks import last_break
from workers.analysis.config import Thresholds
from workers.analysis.history import Finding, History, from_day_number, km, ratio

FRANDSEN = ("Frandsen et al., BJSM 2025: cohort study of 5,200 runners; any running injury, "
            "not knee-specific; observational")
NIELSEN = ("Nielsen et al., JOSPT 2014: 874 novice runners; a trend for knee and hip overuse "
           "injuries that was not statistically significant")
EXPERT = "expert opinion"


def enough_history(h: History, day: int, cfg: Thresholds) -> bool:
    """Ratio rules need `min_history_days` of history and `min_history_runs` runs up to `day`."""
    if h.day[0] > day - cfg.min_history_days + 1:
        return False
    return h.days(int(h.day[0]), day).stop >= cfg.min_history_runs


def weekly_blocks(h: History, day: int, values: np.ndarray, weeks: int) -> list[float]:
    """Sums of `values` over the 7-day blocks before the 7 days ending on `day` (block k is days
    day-7k-6 .. day-7k), most recent first; only blocks entirely inside the history."""
    out = []
    for k in range(1, weeks + 1):
        first = day - 7 * k - 6
        if first < h.day[0]:
            break
        out.append(float(values[h.days(first, first + 6)].sum()))
    return out


def last_7_days(h: History, day: int) -> slice:
    return h.days(day - 6, day)


def chronic_base(blocks: list[float], cfg: Thresholds) -> tuple[float, int] | None:
    """Mean of the most recent training weeks: blocks under `weekly_base_floor` of the biggest
    (recovery week, taper, holiday, weeks off) are not a base. (mean, weeks used)."""
    if not blocks or max(blocks) <= 0:
        return None
    kept = [b for b in blocks if b >= cfg.weekly_base_floor * max(blocks)][: cfg.weekly_base_recent]
    return (float(np.mean(kept)), len(kept)) if kept else None



def usual_week(h: History, d: int, cfg: Thresholds) -> tuple[float, int] | None:
    """The chronic base for `d`; while rebuilding after a break, the usual week before the break
    counts too (getting back to it is not a jump)."""
    base = chronic_base(weekly_blocks(h, d, h.dist, cfg.weekly_base_weeks), cfg)
    p = last_break(h, d, cfg)
    if p is not None:
        before = chronic_base(weekly_blocks(h, int(h.day[p]) + 7, h.dist,
                                            cfg.weekly_base_weeks), cfg)
        if before is not None and (base is None or before[0] > base[0]):
            base = before
    return base


def weekly_jump(h: History, d: int, today: slice, cfg: Thresholds) -> Finding | None:
    def measure(day: int) -> dict | None:
        if not enough_history(h, day, cfg):
            return None
        base = usual_week(h, day, cfg)
        if base is None or base[0] <= cfg.weekly_jump_min_base_m:
            return None
        acute = float(h.dist[last_7_days(h, day)].sum())
        return {"value": acute / base[0], "acute": acute, "base": base[0], "weeks": base[1]}

    def level(m: dict) -> int:
        caution = cfg.weekly_jump_caution_ratio
        return 2 if caution and m["value"] > caution else int(m["value"] > cfg.weekly_jump_ratio)

    now = fires(h, today, measure, level, ("weekly_jump", cfg), d - cfg.load_refractory_days)
    if now is None:
        return None
    r, acute, base_m = now["value"], now["acute"], now["base"]
    severity = "caution" if level(now) == 2 else "info"
    message = (
        f"In the last 7 days you ran {km(acute)}, {(r - 1) * 100:.0f}% more than your usual "
        f"training week ({km(base_m)}, the average of {now['weeks']} recent normal weeks; "
        f"recovery weeks and weeks off are left out). Weekly increases above 30% were linked with "
        f"knee and hip overuse injuries only weakly ({NIELSEN}; a larger cohort found no link for "
        f"week-to-week change, {FRANDSEN.split(':')[0]})."
    )
    evidence = {"last_7_days_m": acute, "base_weekly_m": base_m, "base_weeks": now["weeks"],
                "window_start": from_day_number(d - 6).isoformat(),
                "evidence": "moderate-weak"}
    threshold = cfg.weekly_jump_caution_ratio if severity == "caution" else cfg.weekly_jump_ratio
    return date_finding(h, d, "weekly_jump", severity, r, threshold, message, evidence,
                        h.days(d - 7 * cfg.weekly_base_weeks - 6, d))


def acwr(h: History, d: int, today: slice, cfg: Thresholds) -> Finding | None:
    def measure(day: int) -> dict | None:
        if not enough_history(h, day, cfg) or h.day[0] > day - cfg.acwr_min_history_days + 1:
            return None
        recent, chronic_sel = h.days(day - 6, day), h.days(day - 27, day - 7)
        # Coverage floor: a run in each of the 3 chronic weeks, else the ratio measures a gap.
        if np.unique((day - 7 - h.day[chronic_sel]) // 7).size < 3:
            return None
        acute, chronic = float(h.dist[recent].sum()), float(h.dist[chronic_sel].sum()) / 3.0
        uncoupled, ew = ratio(acute, chronic), ratio(*ewma_pair(h, day, cfg))
        value = max_or_none(uncoupled, ew)
        return None if value is None else {"value": value, "uncoupled": uncoupled, "ewma": ew,
                                           "acute": acute, "chronic": chronic,
                                           "sel": (recent, chronic_sel)}

    now = fires(h, today, measure, lambda m: int(m["value"] > cfg.acwr_ratio), ("acwr", cfg),
                d - cfg.load_refractory_days)
    if now is None:
        return None
    message = (
        f"Load is rising fast: last 7 days {km(now['acute'])} vs a weekly average of "
        f"{km(now['chronic'])} over the 3 weeks before (ratio {fmt(now['uncoupled'])}; "
        f"exponentially weighted {fmt(now['ewma'])}). The acute:chronic ratio is contested and in "
        "runners was not linked with more injuries (Frandsen et al., BJSM 2025; Impellizzeri "
        "2020): context, not an alarm."
    )
    evidence = {"acute_7d_m": now["acute"], "chronic_weekly_mean_m": now["chronic"],
                "uncoupled": now["uncoupled"], "ewma": now["ewma"],
                "ewma_acute_days": cfg.ewma_acute_days, "ewma_chronic_days": cfg.ewma_chronic_days,
                "evidence": "contested"}
    return date_finding(h, d, "acwr", "info", now["value"], cfg.acwr_ratio, message, evidence,
                        *now["sel"])


EWMA_HORIZON = 3  # x the chronic period: older days weigh under 0.3% (keeps the look-back bounded)


def ewma_pair(h: History, d: int, cfg: Thresholds) -> tuple[float, float]:
    """Acute and chronic EWMA (lambda = 2/(N+1), Williams 2017) of daily distance, started at zero
    on the first day of history or `EWMA_HORIZON` chronic periods back."""
    first = max(int(h.day[0]), d - EWMA_HORIZON * cfg.ewma_chronic_days)
    sel = h.days(first, d)
    daily = np.bincount(h.day[sel] - first, weights=h.dist[sel], minlength=d - first + 1)
    age = np.arange(daily.size)[::-1]
    la, lc = 2.0 / (cfg.ewma_acute_days + 1), 2.0 / (cfg.ewma_chronic_days + 1)
    return float((daily * la * (1 - la) ** age).sum()), float((daily * lc * (1 - lc) ** age).sum())


def weekly_descent(h: History, d: int, today: slice, cfg: Thresholds) -> Finding | None:
    def measure(day: int) -> dict | None:
        if not enough_history(h, day, cfg):
            return None
        if not h.terrain[h.days(day - 7 * cfg.weekly_base_weeks - 6, day - 7)].any():
            return None  # no outdoor run with altitude in the base weeks: nothing to compare
        weekly = descent_base(h, day, cfg)
        if weekly is None:
            return None
        acute = float(h.loss[last_7_days(h, day)].sum())
        value = acute / max(weekly, cfg.descent_floor_m)
        return {"value": value, "acute": acute, "weekly": weekly}

    def level(m: dict) -> int:
        if not (m["value"] > cfg.weekly_descent_ratio and m["acute"] > cfg.weekly_descent_min_m):
            return 0
        caution = cfg.weekly_descent_caution_m
        return 2 if caution and m["acute"] > caution else 1

    now = fires(h, today, measure, level, ("weekly_descent", cfg), d - cfg.load_refractory_days)
    if now is None:
        return None
    r, acute, weekly = now["value"], now["acute"], now["weekly"]
    severity = "caution" if level(now) == 2 else "info"
    compared = (f"{r:.1f}x your usual week's {weekly:.0f} m" if weekly >= cfg.descent_floor_m
                else f"after weeks with almost no descent ({weekly:.0f} m a week)")
    message = (
        f"You descended {acute:.0f} m in the last 7 days, {compared} (your recent training weeks; "
        "weeks off are left out). Downhill running loads the knee (Orchard 1996, a mechanism "
        "study); that a sudden rise in weekly descent matters is expert opinion."
    )
    evidence = {"loss_last_7_days_m": acute, "weekly_usual_loss_m": weekly,
                "evidence": "expert opinion"}
    threshold = cfg.weekly_descent_ratio
    return date_finding(h, d, "weekly_descent", severity, r, threshold, message, evidence,
                        h.days(d - 7 * cfg.weekly_base_weeks - 6, d))


def descent_base(h: History, day: int, cfg: Thresholds) -> float | None:
    """Mean weekly loss over the same training weeks the distance base uses (by distance: a week
    off or a recovery week is not a base for descent either)."""
    dist = weekly_blocks(h, day, h.dist, cfg.weekly_base_weeks)
    loss = weekly_blocks(h, day, h.loss, cfg.weekly_base_weeks)
    if not dist or max(dist) <= 0:
        return None
    kept = [lo for di, lo in zip(dist, loss, strict=True)
            if di >= cfg.weekly_base_floor * max(dist)][: cfg.weekly_base_recent]
    return float(np.mean(kept)) if kept else None


def run_days(h: History, first: int, last: int) -> np.ndarray:
    sel = h.days(first, last)
    return np.unique(h.day[sel])


def fires(h: History, today: slice, measure, level, key: tuple, since: int) -> dict | None:
    """Today's measurement if its level (0 = not met) is above every level on the earlier run days
    from day `since` (the week's Monday, or a refractory period back): one finding per
    excursion, another only if it escalates. Measurements are memoised under `key` + day."""
    d = int(h.day[today.start])
    now = h.memo(key, d, measure)
    current = 0 if now is None else level(now)
    if current <= 0:
        return None
    for prior in run_days(h, since, d - 1):
        before = h.memo(key, int(prior), measure)
        if before is not None and level(before) >= current:
            return None
    return now


def max_or_none(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def finding(h, i, rule, severity, value, threshold, message, evidence, *windows) -> Finding:
    item = h.items[i]
    return Finding(rule, severity, item.id, from_day_number(int(h.day[i])), plain(float(value)),
                   float(threshold), message, plain(evidence), h.source_set(i, *windows))


def date_finding(h, d, rule, severity, value, threshold, message, evidence, *windows) -> Finding:
    return Finding(rule, severity, None, from_day_number(d), plain(float(value)),
                   float(threshold), message, plain(evidence), h.source_set(*windows))


def plain(value):
    """Evidence as JSON-safe Python values: numpy scalars unwrapped, floats rounded and finite."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.integer | bool | np.bool_):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float | np.floating):
        return round(float(value), 3) if np.isfinite(value) else None
    return value
