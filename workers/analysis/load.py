"""Load rules: distance spikes, comebacks, weekly load, ACWR context and descent load (DESIGN §1).

Severity follows the strength of the evidence (docs/decisions.md, issue 11):
* single_run_spike keeps Frandsen's tiers: a 12% and a 40% spike are both cautions (HRR 1.64 and
  1.52), more than double is high (HRR 2.28). A comeback after a break is `return_to_running`:
  comparing the first runs back with an empty 30-day window would turn every easy jog into an alarm.
* weekly_jump compares the last 7 days with a chronic base of several training weeks, so a
  recovery week, a taper or a holiday is never the base (Nielsen's one-week base fired after every
  easy week on realistic histories); it is context (info) and a caution only above the ratio
  bench/cohort.py shows to separate real jumps from normal variation.
* acwr is context only (contested; inverse in runners).
* Ratio rules need enough history (`min_history_days`, `min_history_runs`) before they speak.

Weekly rules use calendar weeks (Monday, local time): this week so far vs the usual week. Date rules
fire on a day with a run when their level rises above what it was on the earlier run days of the
same week (ACWR: of the last `load_refractory_days`): one finding per excursion (one more only if it
escalates from info to caution), so one bad week yields one message instead of one per run.
"""

from __future__ import annotations

import numpy as np

from workers.analysis.config import Thresholds
from workers.analysis.history import DAY_S, Finding, History, from_day_number, km, ratio

FRANDSEN = ("Frandsen et al., BJSM 2025: cohort study of 5,200 runners; any running injury, "
            "not knee-specific; observational")
NIELSEN = ("Nielsen et al., JOSPT 2014: 874 novice runners; a trend for knee and hip overuse "
           "injuries that was not statistically significant")
EXPERT = "expert opinion"


def single_run_spike(h: History, i: int, cfg: Thresholds) -> Finding | None:
    today = float(h.dist[i])
    if today <= 0:
        return None
    prev = previous_run(h, i)
    if prev is None:
        return None  # the very first run: a comeback cannot be told from missing data
    gap_days = (h.t[i] - h.t[prev]) / DAY_S
    if gap_days >= cfg.break_min_days:
        return first_run_back(h, i, prev, gap_days, cfg)
    if not enough_history(h, int(h.day[i]), cfg):
        return None  # "your longest of the last 30 days" needs 30 days to exist (report says so)
    window = h.before(i, cfg.spike_window_days)
    previous = h.dist[window]
    longest = float(previous.max()) if previous.size else 0.0
    pre_break = comeback_reference(h, i, cfg)
    basis = "recent"
    if pre_break is not None and pre_break[0] > longest:
        longest, basis = pre_break[0], "before_break"
    if longest <= 0:
        return None
    return spike_finding(h, i, today, longest, basis, window, cfg)


def spike_finding(h: History, i: int, today: float, longest: float, basis: str, window: slice,
                  cfg: Thresholds) -> Finding | None:
    r = today / longest
    tiers = ((cfg.spike_large, "high"), (cfg.spike_moderate, "caution"),
             (cfg.spike_small, "caution"))
    tier = next(((t, sev) for t, sev in tiers if r > t), None)
    if tier is None:
        return None
    threshold, severity = tier
    than = (f"your longest run of the last {cfg.spike_window_days} days ({km(longest)})"
            if basis == "recent" else f"your longest run before your break ({km(longest)})")
    message = (
        f"{race_prefix(h, i)}Today's {km(today)} is {(r - 1) * 100:.0f}% longer than {than}. "
        f"Runs more than {(threshold - 1) * 100:.0f}% longer than the recent longest were linked "
        f"with more running injuries ({FRANDSEN}).{race_suffix(h, i)}"
    )
    evidence = {"distance_m": today, "longest_previous_m": longest,
                "window_days": cfg.spike_window_days, "compared_with": basis,
                "runs_in_window": int(window.stop - window.start), "race": bool(h.race[i]),
                "evidence": "strong"}
    return finding(h, i, "single_run_spike", severity, r, threshold, message, evidence, window)


def first_run_back(h: History, i: int, prev: int, gap_days: float,
                   cfg: Thresholds) -> Finding | None:
    """The first run after a break: `return_to_running` with a build-up plan, unless it is longer
    than the longest run before the break (then it is a spike against that, whatever the gap)."""
    before = pre_break_longest(h, prev, cfg) if gap_days <= cfg.break_lookback_days else None
    today = float(h.dist[i])
    if before is not None and today > cfg.spike_small * before[0]:
        return spike_finding(h, i, today, before[0], "before_break", before[1], cfg)
    plan = ("build back up over a few weeks, keeping each run within about 10% of the longest "
            "run since you came back" if before is None else
            f"build back towards your {km(before[0])} longest over a few weeks, keeping each run "
            f"within about 10% of the longest since you came back")
    message = (
        f"{race_prefix(h, i)}First run in {gap_days:.0f} days ({km(today)}). Welcome back. A "
        f"gradual return is the usual advice: {plan}. Single runs much longer than the recent "
        f"longest were linked with more running injuries ({FRANDSEN}); the rule for a return "
        f"after a break is {EXPERT}."
    )
    evidence = {"distance_m": today, "days_since_last_run": round(gap_days, 1),
                "longest_before_break_m": None if before is None else before[0],
                "evidence": "strong (spike) / expert opinion (return)"}
    return finding(h, i, "return_to_running", "info", round(gap_days, 1),
                   float(cfg.break_min_days), message, evidence, slice(prev, i))


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


def race_prefix(h: History, i: int) -> str:
    return "Race: " if h.race[i] else ""


def race_suffix(h: History, i: int) -> str:
    if not h.race[i]:
        return ""
    return " A race is meant to be a big effort; the days after it are when recovery counts."


def downhill_novel(h: History, i: int, cfg: Thresholds) -> Finding | None:
    if not h.terrain[i]:
        return None
    window = h.before(i, cfg.downhill_window_days)
    prior = window.start + np.flatnonzero(h.terrain[window])
    if prior.size == 0:
        return None  # no terrain baseline to be novel against
    loss, steep = float(h.loss[i]), float(h.steep10[i])
    max_loss, max_steep = float(h.loss[prior].max()), float(h.steep10[prior].max())
    by_loss = loss > cfg.downhill_ratio * max_loss and loss > cfg.downhill_min_loss_m
    by_steep = steep > cfg.downhill_ratio * max_steep and steep >= cfg.downhill_steep_min_km
    if not (by_loss or by_steep):
        return None
    r = loss / max(max_loss, cfg.descent_floor_m)
    elevation = h.items[i].metrics.elevation
    source = elevation.altitude_source
    # Caution needs a descent big enough to matter (the cohort separates mountain races from a
    # hilly road loop at this size) and a figure we trust, or a ratio too large to be noise.
    sure = source == "barometric" or r >= cfg.downhill_uncertain_caution_ratio
    severity = "caution" if sure and loss > cfg.downhill_caution_min_loss_m else "info"
    message = (
        f"{race_prefix(h, i)}This run descended {loss:.0f} m ({steep:.1f} km steeper than -10%); "
        f"the most in one run over the previous {cfg.downhill_window_days} days was "
        f"{max_loss:.0f} m ({max_steep:.1f} km). {altitude_confidence(source)} Unaccustomed "
        "downhill running loads the knee more (lab and mechanism studies: Orchard 1996, "
        "Gottschall & Kram 2005); the threshold is expert opinion. Muscles adapt to descents "
        f"after repeated exposure.{race_suffix(h, i)}"
    )
    evidence = {"loss_m": loss, "max_previous_loss_m": max_loss, "km_grade_le_minus10": steep,
                "max_previous_km_grade_le_minus10": max_steep, "altitude_source": source,
                "device_loss_m": elevation.device_loss_m, "engine_loss_m": elevation.engine_loss_m,
                "triggered_by": [k for k, v in (("loss", by_loss), ("steep_km", by_steep)) if v],
                "evidence": "moderate mechanism, expert threshold"}
    return finding(h, i, "downhill_novel", severity, r, cfg.downhill_ratio, message, evidence,
                   window)


ALTITUDE_WORDS = {
    "barometric": "Measured by the watch's barometer (usually within a few percent).",
    "strava": ("Altitude corrected by Strava against its elevation data (usually within about "
               "10%)."),
    "gps": ("Altitude from GPS, which is less reliable (often 10-25% off), but the difference "
            "here is large."),
}


def altitude_confidence(source: str) -> str:
    return ALTITUDE_WORDS.get(source, ALTITUDE_WORDS["gps"])


def enough_history(h: History, day: int, cfg: Thresholds) -> bool:
    """Ratio rules need `min_history_days` of history and `min_history_runs` runs up to `day`."""
    if h.day[0] > day - cfg.min_history_days + 1:
        return False
    return h.days(int(h.day[0]), day).stop >= cfg.min_history_runs


def monday_of(day: int) -> int:
    """Day number of the Monday of `day`'s week (day 0, 1970-01-01, was a Thursday)."""
    return day - (day + 3) % 7


def weekly_blocks(h: History, day: int, values: np.ndarray, weeks: int) -> list[float]:
    """Sums of `values` over the calendar weeks (Monday local) before `day`'s week, most recent
    first; only weeks entirely inside the history."""
    monday, out = monday_of(day), []
    for k in range(1, weeks + 1):
        first = monday - 7 * k
        if first < h.day[0]:
            break
        out.append(float(values[h.days(first, first + 6)].sum()))
    return out


def chronic_base(blocks: list[float], cfg: Thresholds) -> tuple[float, int] | None:
    """Mean of the most recent training weeks: blocks under `weekly_base_floor` of the biggest
    (recovery week, taper, holiday, weeks off) are not a base. (mean, weeks used)."""
    if not blocks or max(blocks) <= 0:
        return None
    kept = [b for b in blocks if b >= cfg.weekly_base_floor * max(blocks)][: cfg.weekly_base_recent]
    return (float(np.mean(kept)), len(kept)) if kept else None


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
        acute = float(h.dist[h.days(monday_of(day), day)].sum())
        return {"value": acute / base[0], "acute": acute, "base": base[0], "weeks": base[1]}

    def level(m: dict) -> int:
        return 2 if m["value"] > cfg.weekly_jump_caution_ratio else int(
            m["value"] > cfg.weekly_jump_ratio)

    now = fires(h, today, measure, level, ("weekly_jump", cfg), monday_of(d))
    if now is None:
        return None
    r, acute, base_m = now["value"], now["acute"], now["base"]
    severity = "caution" if level(now) == 2 else "info"
    message = (
        f"This week so far you ran {km(acute)}, {(r - 1) * 100:.0f}% more than your usual "
        f"training week ({km(base_m)}, the average of {now['weeks']} recent normal weeks; "
        f"recovery weeks and weeks off are left out). Weekly increases above 30% were linked with "
        f"knee and hip overuse injuries only weakly ({NIELSEN}; a larger cohort found no link for "
        f"week-to-week change, {FRANDSEN.split(':')[0]})."
    )
    evidence = {"week_to_date_m": acute, "base_weekly_m": base_m, "base_weeks": now["weeks"],
                "week_start": from_day_number(monday_of(d)).isoformat(),
                "evidence": "moderate-weak"}
    threshold = cfg.weekly_jump_caution_ratio if severity == "caution" else cfg.weekly_jump_ratio
    return date_finding(h, d, "weekly_jump", severity, r, threshold, message, evidence,
                        h.days(monday_of(d) - 7 * cfg.weekly_base_weeks, d))


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
        if not h.terrain[h.days(monday_of(day) - 7 * cfg.weekly_base_weeks, day - 1)].any():
            return None  # no outdoor run with altitude in the base weeks: nothing to compare
        weekly = descent_base(h, day, cfg)
        if weekly is None:
            return None
        acute = float(h.loss[h.days(monday_of(day), day)].sum())
        value = acute / max(weekly, cfg.descent_floor_m)
        return {"value": value, "acute": acute, "weekly": weekly}

    def level(m: dict) -> int:
        if not (m["value"] > cfg.weekly_descent_ratio and m["acute"] > cfg.weekly_descent_min_m):
            return 0
        return 2 if m["acute"] > cfg.weekly_descent_caution_m else 1

    now = fires(h, today, measure, level, ("weekly_descent", cfg), monday_of(d))
    if now is None:
        return None
    r, acute, weekly = now["value"], now["acute"], now["weekly"]
    severity = "caution" if level(now) == 2 else "info"
    compared = (f"{r:.1f}x your usual week's {weekly:.0f} m" if weekly >= cfg.descent_floor_m
                else f"after weeks with almost no descent ({weekly:.0f} m a week)")
    message = (
        f"You descended {acute:.0f} m this week so far, {compared} (your recent training weeks; "
        "weeks off are left out). Downhill running loads the knee (Orchard 1996, a mechanism "
        "study); that a sudden rise in weekly descent matters is expert opinion."
    )
    evidence = {"loss_week_to_date_m": acute, "weekly_usual_loss_m": weekly,
                "evidence": "expert opinion"}
    threshold = cfg.weekly_descent_ratio
    return date_finding(h, d, "weekly_descent", severity, r, threshold, message, evidence,
                        h.days(monday_of(d) - 7 * cfg.weekly_base_weeks, d))


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
