"""Exposure rules: route repetition, track direction, GCT balance, cadence, shoes (DESIGN §1).

These rest on expert opinion or vendor zones rather than injury cohorts, and their messages say so.
Route habit and track direction are persistent exposures: they alert when the exposure starts and
remind while it lasts (`exposure_fires`), instead of firing once and going quiet for months.
"""

from __future__ import annotations

import numpy as np

from workers.analysis.config import Thresholds
from workers.analysis.history import History, km
from workers.analysis.load import date_finding, enough_history, finding, run_days


def route_repetition(h: History, d: int, today: slice, cfg: Thresholds):
    """Route habit (rule id kept for the contract): the share of road distance that is net one-way
    exposure on segments run in several different weeks: on each segment, the metres run one way
    minus the metres run the other way. Running a loop alternately both ways is the remedy, not a
    habit (issue 22). A GPS trace cannot measure road camber or which side of the road a runner
    is on; the same stretch the same way, run after run, is what it can see."""
    def measure(day: int) -> dict | None:
        window = h.days(day - cfg.repetition_window_days + 1, day)
        road = window.start + np.flatnonzero(h.road[window])
        return repeated_share(h, day, road, cfg)

    now, reminder = exposure_fires(h, today, measure,
                                   lambda m: m["value"] > cfg.repetition_share,
                                   ("route_repetition", cfg), cfg)
    if now is None:
        return None
    share, total_m = now["value"], now["road_m"]
    message = (
        f"{'Still: ' if reminder else ''}{share * 100:.0f}% of your {km(total_m)} of road running "
        f"in the last {cfg.repetition_window_days} days was the same route in the same direction "
        f"(after taking off the times you ran it the other way), in {cfg.repetition_min_weeks} "
        "or more different weeks. Why it matters: most roads slope to the side (camber) so that "
        "rain runs off, and the same stretch the same way keeps the same slope under your feet "
        "run after run. Which foot is lower depends on which side of the road you run on, which "
        "GPS cannot see. Common advice for outer-knee pain (expert opinion, BMJ Best Practice): "
        "run the route in the other direction on some days, vary your routes, or choose flatter "
        "paths."
    )
    evidence = {"road_m": total_m, "repeated_share": round(share, 3),
                "weeks_with_runs": now["weeks"], "runs": int(now["runs"].size),
                "reminder": reminder, "evidence": "expert opinion"}
    return date_finding(h, d, "route_repetition", "caution", share, cfg.repetition_share, message,
                        evidence, now["runs"])


def exposure_fires(h: History, today: slice, measure, met, key: tuple, cfg: Thresholds
                   ) -> tuple[dict | None, bool]:
    """Persistent exposure: (measurement, is_reminder) when today should speak, else (None, _).

    A new alert when the exposure is met today and was not on any run day of the previous
    `exposure_refractory_days` (a one-day dip does not re-alert). While it continues, a reminder
    on the first run day of each `reminder_days` period (periods counted from 1970-01-01, so the
    answer for a date never depends on where evaluation started) once every run day of the last
    `exposure_refractory_days` met it: the first reminder comes 2 to 6 weeks after the alert (4 on
    average: requiring the whole period, as before, made it 4 to 8), then every 4 weeks. Never one
    alert per day, never silence for months."""
    d = int(h.day[today.start])
    now = h.memo(key, d, measure)
    if now is None or not met(now):
        return None, False

    def was_met(day: int) -> bool:
        m = h.memo(key, int(day), measure)
        return m is not None and met(m)

    recent = run_days(h, d - cfg.exposure_refractory_days, d - 1)
    if not any(was_met(x) for x in recent):
        return now, False
    period = run_days(h, d - cfg.reminder_days, d - 1)
    new_period = period.size and int(period[-1]) // cfg.reminder_days != d // cfg.reminder_days
    if new_period and all(was_met(x) for x in recent):
        return now, True
    return None, False


SECTOR_BITS = 3  # routes.segment_keys: cell << 3 | heading sector (0-5)
HALF_TURN = 3  # sector s and s + 3 are the same road run the other way


def repeated_share(h: History, d: int, idx: np.ndarray, cfg: Thresholds) -> dict | None:
    """Net one-way share of road metres: per road segment (cell and axis, either direction) run in
    >= N different weeks (counted back from day d), |metres one way - metres the other way|,
    summed and divided by all road metres of the window."""
    if idx.size == 0:
        return None
    parts = [h.keys(int(i)) for i in idx]
    keys = np.concatenate([p[0] for p in parts])
    metres = np.concatenate([p[1] for p in parts])
    if keys.size == 0 or metres.sum() < cfg.repetition_min_road_km * 1000:
        return None
    weeks = np.concatenate([np.full(p[0].size, (d - h.day[i]) // 7)
                            for p, i in zip(parts, idx, strict=True)])
    sector = keys & ((1 << SECTOR_BITS) - 1)
    axis = (keys >> SECTOR_BITS << SECTOR_BITS) | (sector % HALF_TURN)
    sign = np.where(sector >= HALF_TURN, -1.0, 1.0)
    owners, inverse = np.unique(axis, return_inverse=True)
    week_sets = np.unique(inverse * 8 + weeks)  # weeks 0..3 fit in the low bits
    week_counts = np.bincount(week_sets // 8, minlength=owners.size)
    net = np.abs(np.bincount(inverse, weights=sign * metres, minlength=owners.size))
    one_way = float(net[week_counts >= cfg.repetition_min_weeks].sum())
    return {"value": one_way / float(metres.sum()), "road_m": float(metres.sum()),
            "weeks": int(np.unique(weeks).size), "runs": idx}


def sorted_unique(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def track_direction(h: History, d: int, today: slice, cfg: Thresholds):
    """One-direction track running. Expert opinion only (no study links track direction to knee
    injury), so the DESIGN's >5 km/week is context (info); a caution needs a block of more than
    `track_caution_km_per_week`, the figure chosen on set A (bench/cohort.py: one weekly session
    7.2 km/week vs a three-session block 21.6) and judged on set B (docs/decisions.md)."""
    weeks = cfg.track_window_days / 7.0

    def measure(day: int) -> dict | None:
        window = h.days(day - cfg.track_window_days + 1, day)
        cw, ccw = float(h.track_cw[window].sum()), float(h.track_ccw[window].sum())
        if (cw + ccw) / weeks <= cfg.track_km_per_week:
            return None
        return {"value": max(cw, ccw) / (cw + ccw), "cw": cw, "ccw": ccw, "window": window}

    def one_way(m: dict) -> bool:
        return m["value"] > cfg.track_one_direction_share

    def block(m: dict) -> bool:
        caution = cfg.track_caution_km_per_week
        return one_way(m) and bool(caution) and (m["cw"] + m["ccw"]) / weeks > caution

    key = ("track_direction", cfg)
    severity = "caution"
    now, reminder = exposure_fires(h, today, measure, block, key, cfg)
    measured = h.memo(key, d, measure)
    if now is None and (measured is None or not block(measured)):
        severity = "info"  # a light habit: context, told and reminded at its own level
        now, reminder = exposure_fires(h, today, measure, one_way, key, cfg)
    if now is None:
        return None
    return track_finding(h, d, now, reminder, severity, weeks, cfg)


def track_finding(h: History, d: int, now: dict, reminder: bool, severity: str, weeks: float,
                  cfg: Thresholds):
    share, cw, ccw, window = now["value"], now["cw"], now["ccw"], now["window"]
    way = "counter-clockwise" if ccw >= cw else "clockwise"
    per_week = (cw + ccw) / weeks
    message = (
        f"{'Still: ' if reminder else ''}{share * 100:.0f}% of your {cw + ccw:.1f} km on a track "
        f"in the last {cfg.track_window_days} days ({per_week:.1f} km a week) ran {way}. The "
        "inside leg takes the bend every lap; alternating direction on some days is common advice "
        "(expert opinion; track running was more common in runners with outer-knee pain, Messier "
        "1995, a case-control study; no study links track direction itself to injury)."
    )
    evidence = {"track_km_cw": round(cw, 2), "track_km_ccw": round(ccw, 2),
                "km_per_week": round(per_week, 2), "reminder": reminder,
                "evidence": "expert opinion"}
    on_track = window.start + np.flatnonzero((h.track_cw[window] + h.track_ccw[window]) > 0)
    threshold = (cfg.track_caution_km_per_week if severity == "caution" else
                 cfg.track_one_direction_share)
    value = per_week if severity == "caution" else share
    return date_finding(h, d, "track_direction", severity, value, threshold, message, evidence,
                        on_track)


def gct_asymmetry(h: History, i: int, cfg: Thresholds):
    today = balance_of(h, i)
    if today is None:
        return None
    window = h.before(i, cfg.gct_baseline_days)
    prior = [(j, b) for j in range(window.start, window.stop) if (b := balance_of(h, j)) is not None]
    red = [j for j, b in prior if not cfg.gct_low_pct <= b <= cfg.gct_high_pct]
    values = np.array([b for _, b in prior])
    settled = len(prior) >= cfg.gct_min_baseline_runs and enough_history(h, int(h.day[i]), cfg)
    baseline = float(values.mean()) if settled else None
    shift = None if baseline is None else today - baseline
    is_red = not cfg.gct_low_pct <= today <= cfg.gct_high_pct
    if is_red and len(red) + 1 >= cfg.gct_min_red_runs:
        threshold = cfg.gct_high_pct if today > cfg.gct_high_pct else cfg.gct_low_pct
        value, what = today, (f"outside {cfg.gct_low_pct}-{cfg.gct_high_pct}% on {len(red) + 1} "
                              f"flat runs in the last {cfg.gct_baseline_days // 7} weeks")
    elif shift is not None and abs(shift) >= cfg.gct_shift_pp:
        threshold, value = cfg.gct_shift_pp, abs(shift)
        what = f"{abs(shift):.1f} points away from your {cfg.gct_baseline_days // 7}-week average"
    else:
        return None
    message = (
        f"Left ground-contact time balance on flat parts was {today:.1f}% today, {what} "
        f"({'no' if baseline is None else f'{baseline:.1f}%'} baseline). Garmin marks more than "
        f"{cfg.gct_high_pct}% either side as red; this is a vendor zone, not validated against "
        "injuries."
    )
    evidence = {"balance_left_pct": today, "baseline_pct": baseline, "red_runs": len(red) + is_red,
                "baseline_runs": len(prior)}
    return finding(h, i, "gct_asymmetry", "caution", value, threshold, message, evidence,
                   np.array([j for j, _ in prior], dtype=int))


def balance_of(h: History, i: int) -> float | None:
    m = h.items[i].metrics
    return None if m.manual else m.dynamics.gct_balance_left_pct


def cadence_drop(h: History, i: int, cfg: Thresholds):
    m = h.items[i].metrics
    bands = m.dynamics.cadence_by_speed
    if m.manual or not bands or not enough_history(h, int(h.day[i]), cfg):
        return None
    window = h.before(i, cfg.cadence_baseline_days)
    base_idx = [j for j in range(window.start, window.stop)
                if not h.items[j].metrics.manual and h.items[j].metrics.dynamics.cadence_by_speed]
    if len(base_idx) < cfg.cadence_min_baseline_runs:
        return None
    base = band_table([h.items[j].metrics.dynamics.cadence_by_speed for j in base_idx])
    matched = [(s, spm, base[b]) for b, s, spm in bands if s >= 60 and b in base and base[b][0] >= 120]
    seconds = sum(s for s, _, _ in matched)
    if seconds < cfg.cadence_min_matched_s:
        return None
    today = sum(s * spm for s, spm, _ in matched) / seconds
    usual = sum(s * b[1] for s, _, b in matched) / seconds
    drop = (1 - today / usual) * 100 if usual > 0 else 0.0
    if drop < cfg.cadence_drop_pct:
        return None
    message = (
        f"At the same speeds, your cadence was {today:.0f} steps/min today vs {usual:.0f} over the "
        f"last {cfg.cadence_baseline_days // 7} weeks ({drop:.1f}% lower). Longer, slower steps "
        "raise knee loading; a 5-10% higher step rate lowers it (Heiderscheit et al. 2011)."
    )
    evidence = {"cadence_spm": round(today, 1), "baseline_spm": round(usual, 1),
                "matched_seconds": round(seconds), "baseline_runs": len(base_idx)}
    return finding(h, i, "cadence_drop", "info", drop, cfg.cadence_drop_pct, message, evidence,
                   np.array(base_idx, dtype=int))


def band_table(tables: list[list[list[float]]]) -> dict[float, tuple[float, float]]:
    """Speed band -> (seconds, seconds-weighted cadence) over several runs."""
    acc: dict[float, list[float]] = {}
    for table in tables:
        for band, secs, spm in table:
            slot = acc.setdefault(band, [0.0, 0.0])
            slot[0] += secs
            slot[1] += secs * spm
    return {band: (s, w / s) for band, (s, w) in acc.items() if s > 0}


def shoe_mileage(h: History, i: int, cfg: Thresholds):
    gear = h.items[i].metrics.gear_id
    if not gear:
        return None
    same = h.gear[: i + 1] == gear
    total_km = float(h.dist[: i + 1][same].sum()) / 1000.0
    before_km = total_km - float(h.dist[i]) / 1000.0
    tiers = ((cfg.shoe_caution_km, "caution"), (cfg.shoe_info_km, "info"))
    tier = next(((t, sev) for t, sev in tiers if before_km < t <= total_km), None)
    if tier is None:
        return None  # remind once, on the run that crosses a mark
    threshold, severity = tier
    message = (
        f"This pair of shoes ({gear}) has now carried you {total_km:.0f} km. Common advice is to "
        f"replace running shoes around 500-800 km (expert opinion); rotating two or more pairs was "
        "linked with fewer injuries (Malisoux et al. 2015)."
    )
    evidence = {"gear_id": gear, "total_km": round(total_km, 1), "runs": int(same.sum())}
    return finding(h, i, "shoe_mileage", severity, total_km, threshold, message, evidence,
                   np.flatnonzero(same))
