"""Rules about one run against the runner's recent runs: distance spikes, the first run back after
a break, and a novel descent (DESIGN §1).

Severity follows the strength of the evidence (docs/decisions.md, issue 11): single_run_spike
keeps Frandsen's tiers: a 12% and a 40% spike are both cautions (HRR 1.64 and 1.52), more than
double is high (HRR 2.28). A comeback after a break is `return_to_running`: comparing the first
runs back with an empty 30-day window would turn every easy jog into an alarm (breaks.py).
"""

from __future__ import annotations

import numpy as np

from workers.analysis.breaks import comeback_reference, last_break, pre_break_longest, previous_run
from workers.analysis.config import Thresholds
from workers.analysis.history import DAY_S, Finding, History, km
from workers.analysis.load import EXPERT, FRANDSEN, enough_history, finding


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
    ramp = comeback_ramp(h, i, cfg)
    if ramp is not None:
        return ramp
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



def comeback_ramp(h: History, i: int, cfg: Thresholds) -> Finding | None:
    """While rebuilding after a break: a run above the longest run since the return by the spike
    tiers is a caution (`return_to_running`), once two runs are back to compare with. A step held
    for a week (the longest since the return first reached `ramp_step_days` or more ago) is how
    return-to-running progressions advance (3, 4, 5 km a week apart is the textbook rebuild), so
    only a step taken before the last one was held, or one of more than double, is a ramp. The
    ramp ends when the runner is back at the pre-break longest (or `comeback_days` after the
    return). A run above the pre-break longest itself is left to the spike rule."""
    p = last_break(h, int(h.day[i]), cfg)
    if p is None:
        return None
    back = np.flatnonzero(h.dist[p + 1:i] > 0) + p + 1
    if back.size < 2:
        return None  # one run back is no reference for a ramp
    since, today = float(h.dist[back].max()), float(h.dist[i])
    before = pre_break_longest(h, p, cfg) if (h.t[back[0]] - h.t[p]) / DAY_S <= (
        cfg.break_lookback_days) else None
    if before is not None and (since >= before[0] or today > cfg.spike_small * before[0]):
        return None  # rebuilt, or longer than before the break: the spike rule speaks
    r = today / since if since > 0 else 0.0
    # The step was reached by the first run within the small tier of it: 3.01 and 3.02 km are
    # one step (GPS distance varies by a few percent), not a new one two days later.
    held = int(h.day[i]) - int(h.day[back[np.argmax(h.dist[back] * cfg.spike_small >= since)]])
    if r <= cfg.spike_small or (held >= cfg.ramp_step_days and r <= cfg.spike_large):
        return None
    return ramp_finding(h, i, back, since, r, held, before, cfg)


def ramp_finding(h: History, i: int, back: np.ndarray, since: float, r: float, held: int,
                 before: tuple[float, slice] | None, cfg: Thresholds) -> Finding:
    days = (h.t[i] - h.t[back[0]]) / DAY_S
    target = "" if before is None else f" Your longest before the break was {km(before[0])}."
    message = (
        f"{race_prefix(h, i)}Today's {km(float(h.dist[i]))} is {(r - 1) * 100:.0f}% longer than "
        f"your longest run since you came back {days:.0f} days ago ({km(since)}, {held} days "
        f"ago).{target} "
        "Return-to-running guidance is to build up gradually, each run within about 10% of the "
        "longest since the return; a big jump soon after a break is the case clinicians describe "
        f"(clinical return-to-running guidance, {EXPERT}; not the cohort study behind the "
        f"spike rule).{race_suffix(h, i)}"
    )
    evidence = {"distance_m": float(h.dist[i]), "longest_since_return_m": since,
                "runs_since_return": int(back.size), "days_since_return": round(days, 1),
                "longest_since_return_days_ago": held,
                "longest_before_break_m": None if before is None else before[0],
                "evidence": "clinical return-to-running guidance (expert opinion)"}
    return finding(h, i, "return_to_running", "caution", r, cfg.spike_small, message, evidence,
                   back)


def race_prefix(h: History, i: int) -> str:
    return "Race: " if h.race[i] else ""


def race_suffix(h: History, i: int) -> str:
    if not h.race[i]:
        return ""
    return " A race is meant to be a big effort; the days after it are when recovery counts."


def downhill_novel(h: History, i: int, cfg: Thresholds) -> Finding | None:
    if not h.terrain[i] or not enough_history(h, int(h.day[i]), cfg):
        return None  # "the most in 30 days" needs 30 days to exist, like the spike rule
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
