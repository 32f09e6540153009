"""Load rules: distance spikes, weekly progression, ACWR context, and descent load (DESIGN §1).

Activity rules look at one run against the runs before it. Date rules (weekly_jump, acwr,
weekly_descent) fire on a day with a run when the number is over its threshold today but was not
on the previous day with a run: one finding per excursion instead of one per day, and
re-evaluating a date is deterministic.
"""

from __future__ import annotations

import numpy as np

from workers.analysis.config import Thresholds
from workers.analysis.history import Finding, History, from_day_number, km, ratio

FRANDSEN = "Frandsen et al., BJSM 2025"


def single_run_spike(h: History, i: int, cfg: Thresholds) -> Finding | None:
    today = h.dist[i]
    if today <= 0:
        return None
    window = h.before(i, cfg.spike_window_days)
    previous = h.dist[window]
    previous = previous[previous > 0]
    if previous.size == 0:
        return return_to_running(h, i, cfg)
    longest = float(previous.max())
    r = today / longest
    tiers = ((cfg.spike_large, "high"), (cfg.spike_moderate, "caution"),
             (cfg.spike_small, "caution"))
    tier = next(((t, sev) for t, sev in tiers if r > t), None)
    if tier is None:
        return None
    threshold, severity = tier
    pct = (r - 1) * 100
    message = (
        f"Today's {km(today)} is {pct:.0f}% longer than your longest run of the last "
        f"{cfg.spike_window_days} days ({km(longest)}). Runs more than {(threshold - 1) * 100:.0f}% "
        f"longer than the recent longest are linked with higher injury risk ({FRANDSEN})."
    )
    evidence = {"distance_m": today, "longest_previous_m": longest, "window_days": cfg.spike_window_days,
                "runs_in_window": int(previous.size)}
    return finding(h, i, "single_run_spike", severity, r, threshold, message, evidence, window)


def return_to_running(h: History, i: int, cfg: Thresholds) -> Finding | None:
    """No run in the window: a ratio is undefined, so say what it means instead.

    Only when an earlier run exists: at the very start of a history we cannot tell a comeback
    from missing data."""
    earlier = np.flatnonzero(h.dist[:i] > 0)
    if earlier.size == 0:
        return None
    gap_days = float((h.t[i] - h.t[earlier[-1]]) / 86_400.0)
    message = (
        f"First run in {gap_days:.0f} days ({km(h.dist[i])}). After a break, distance is best built "
        f"up gradually: single runs much longer than your recent longest are linked with higher "
        f"injury risk ({FRANDSEN})."
    )
    evidence = {"distance_m": float(h.dist[i]), "days_since_last_run": round(gap_days, 1)}
    return finding(h, i, "return_to_running", "info", round(gap_days, 1),
                   float(cfg.spike_window_days), message, evidence, slice(earlier[-1], i))


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
    source = h.items[i].metrics.elevation.altitude_source
    severity = "caution" if source == "barometric" else "info"  # GPS altitude: lower confidence
    message = (
        f"This run descended {loss:.0f} m ({steep:.1f} km steeper than -10%); the most in one run "
        f"over the previous {cfg.downhill_window_days} days was {max_loss:.0f} m ({max_steep:.1f} km). "
        "Unaccustomed downhill running loads the knee more (Orchard 1996; Gottschall & Kram 2005); "
        "muscles adapt to descents after repeated exposure."
    )
    if source != "barometric":
        message += " Altitude here comes from GPS, which is less reliable."
    evidence = {"loss_m": loss, "max_previous_loss_m": max_loss, "km_grade_le_minus10": steep,
                "max_previous_km_grade_le_minus10": max_steep, "altitude_source": source,
                "triggered_by": [k for k, v in (("loss", by_loss), ("steep_km", by_steep)) if v]}
    return finding(h, i, "downhill_novel", severity, r, cfg.downhill_ratio, message, evidence,
                   window)


def weekly_jump(h: History, d: int, today: slice, cfg: Thresholds) -> Finding | None:
    def measure(day: int) -> dict | None:
        if h.day[0] > day - 20:
            return None  # the base week is not fully inside the history
        recent, base = h.days(day - 6, day), h.days(day - 20, day - 14)
        acute, base_m = float(h.dist[recent].sum()), float(h.dist[base].sum())
        if base_m <= cfg.weekly_jump_min_base_m:
            return None
        return {"value": acute / base_m, "acute": acute, "base": base_m, "sel": (recent, base)}

    now = fires(h, today, measure, lambda m: m["value"] > cfg.weekly_jump_ratio,
                ("weekly_jump", cfg))
    if now is None:
        return None
    r, acute, base_m = now["value"], now["acute"], now["base"]
    message = (
        f"Your last 7 days total {km(acute)}, {(r - 1) * 100:.0f}% more than the 7 days two weeks "
        f"earlier ({km(base_m)}). Increases above {(cfg.weekly_jump_ratio - 1) * 100:.0f}% over two "
        "weeks were linked with more knee and hip overuse injuries in novice runners "
        "(Nielsen et al., JOSPT 2014; a trend, not significant)."
    )
    evidence = {"last_7_days_m": acute, "base_7_days_m": base_m,
                "base_start": from_day_number(d - 20).isoformat()}
    return date_finding(h, d, "weekly_jump", "caution", r, cfg.weekly_jump_ratio, message,
                        evidence, *now["sel"])


def acwr(h: History, d: int, today: slice, cfg: Thresholds) -> Finding | None:
    def measure(day: int) -> dict | None:
        if h.day[0] > day - cfg.acwr_min_history_days + 1:
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

    now = fires(h, today, measure, lambda m: m["value"] > cfg.acwr_ratio, ("acwr", cfg))
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
                "ewma_acute_days": cfg.ewma_acute_days, "ewma_chronic_days": cfg.ewma_chronic_days}
    return date_finding(h, d, "acwr", "info", now["value"], cfg.acwr_ratio, message, evidence,
                        *now["sel"])


def ewma_pair(h: History, d: int, cfg: Thresholds) -> tuple[float, float]:
    """Acute and chronic EWMA (lambda = 2/(N+1), Williams 2017) of daily distance, started at zero
    on the first day of history (or a year back: older days weigh less than 1e-11)."""
    first = max(int(h.day[0]), d - 364)
    sel = h.days(first, d)
    daily = np.bincount(h.day[sel] - first, weights=h.dist[sel], minlength=d - first + 1)
    age = np.arange(daily.size)[::-1]
    la, lc = 2.0 / (cfg.ewma_acute_days + 1), 2.0 / (cfg.ewma_chronic_days + 1)
    return float((daily * la * (1 - la) ** age).sum()), float((daily * lc * (1 - lc) ** age).sum())


def weekly_descent(h: History, d: int, today: slice, cfg: Thresholds) -> Finding | None:
    def measure(day: int) -> dict | None:
        if h.day[0] > day - cfg.descent_min_history_days + 1:
            return None
        recent, base = h.days(day - 6, day), h.days(day - 34, day - 7)
        if not h.terrain[base].any():
            return None  # no outdoor run with altitude in the base weeks: nothing to compare
        acute, weekly = float(h.loss[recent].sum()), float(h.loss[base].sum()) / 4.0
        value = acute / max(weekly, cfg.descent_floor_m)
        return {"value": value, "acute": acute, "weekly": weekly, "sel": (recent, base)}

    def met(m: dict) -> bool:
        return m["value"] > cfg.weekly_descent_ratio and m["acute"] > cfg.weekly_descent_min_m

    now = fires(h, today, measure, met, ("weekly_descent", cfg))
    if now is None:
        return None
    r, acute, weekly = now["value"], now["acute"], now["weekly"]
    compared = (f"{r:.1f}x your weekly average of {weekly:.0f} m" if weekly >= cfg.descent_floor_m
                else f"after weeks with almost no descent ({weekly:.0f} m a week)")
    message = (
        f"You descended {acute:.0f} m in the last 7 days, {compared} over the 4 weeks before. "
        "Downhill running loads the knee (Orchard 1996); a sudden rise in descent is worth "
        "spreading out (expert opinion)."
    )
    evidence = {"loss_7d_m": acute, "weekly_mean_loss_m": weekly, "base_days": "8-35"}
    return date_finding(h, d, "weekly_descent", "caution", r, cfg.weekly_descent_ratio, message,
                        evidence, *now["sel"])


def fires(h: History, today: slice, measure, met, key: tuple) -> dict | None:
    """The measurement for today's date if it meets the rule and did not on the previous day
    with a run (one finding per excursion, also when the excursion began on a rest day).
    Measurements are memoised on the History under `key` + day: evaluating every date of a
    history then measures each day once."""
    now = h.memo(key, int(h.day[today.start]), measure)
    if now is None or not met(now):
        return None
    if today.start > 0:
        before = h.memo(key, int(h.day[today.start - 1]), measure)
        if before is not None and met(before):
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
