"""Cohort benchmark: do the warnings stay quiet on normal training and speak on the real patterns?

Two independent sets (issue 22): thresholds are chosen on set A (built here) and judged on set B
(`testkit/histories_b.py`, written by another author from a plain list of patterns, Strava activity
JSON + streams; `bench/cohort_b.py`). Both are printed the same way (`bench/cohort_judge.py`), then
one table per rule for both sets.

Set A builds deterministic multi-month histories for 17 runners from real activity files in
../shared/data (GPX road runs, a mountain GPX, a FIT track session), each parsed once by the real
parser and then re-dated, rotated and moved to the runner's home, cut or extended to the planned
distance and re-timed at the runner's pace. Every run then goes through the real engine
(`compute_metrics` + `evaluate_dates`).

Nine controls train normally (week-to-week variation within about 12%, recovery weeks, a taper
and a race, holidays, different volumes and frequencies, varied routes, one loop run alternately
both ways, a gradual rebuild after three weeks off, a weekly track night); eight carry one
injected pattern each (a much longer long run, a big weekly jump, a mountain race, a same-loop
habit, one-direction track blocks, comebacks after 2, 4.3 and 8 weeks off that ramp up too fast).

    python bench/cohort.py [--data PATH] [--weeks N] [--only A|B] [--verbose]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from cohort_judge import Case, Expect, per_rule, report

from service.infra.corpus import SHARED_DATA
from workers.analysis import HistoryItem, compute_metrics, evaluate_dates
from workers.analysis.metrics import ActivityMetrics
from workers.parsing import parse_bytes
from workers.parsing.track import Track

START = date(2025, 1, 6)  # a Monday
M_PER_DEG = 111_320.0
ROAD_FILES = (
    "gpx/msimms__20170308_intra_run_club.gpx", "gpx/msimms__20180831_beach_run_runkeeper.gpx",
    "gpx/msimms__20210119_run_garmin_fenix6_sapphire.gpx", "gpx/msimms__run_01_iphone.gpx",
    "gpx/msimms__run_03_garmin.gpx", "gpx/sportslib__6782987395.gpx", "gpx/sportslib__amazfit.gpx",
    "gpx/gc__Move_2014_01_17_09_33_11.gpx",
)
MOUNTAIN_FILE = "gpx/sportslib__6909258631.gpx"
TRACK_FILE = "fit/msimms__20210604_track_run_coros_pace_2.fit"  # no sub_sport: geometry decides


@dataclass
class Template:
    """A parsed real run as local metres along its path."""

    name: str
    xy: np.ndarray
    s: np.ndarray  # cumulative metres
    alt: np.ndarray
    source: str
    device: str | None


@dataclass
class Plan:
    day: int
    km: float
    route: str = "mix"  # mix | habit | track | mountain
    race: bool = False
    hour: int = 7


@dataclass
class Runner:
    name: str
    kind: str  # control | long_run | weekly_jump | mountain | habit | track | comeback
    seed: int
    plans: list[Plan] = field(default_factory=list)
    pattern_day: int | None = None  # first day of the injected pattern
    pattern_rules: tuple[str, ...] = ()
    offset_h: float = 1.0


def load_template(data: Path, rel: str) -> Template:
    track = parse_bytes((data / "activities" / rel).read_bytes(), rel).tracks[0]
    ok = np.isfinite(track.lat) & np.isfinite(track.lon)
    lat, lon = track.lat[ok], track.lon[ok]
    x = (lon - lon[0]) * M_PER_DEG * np.cos(np.radians(lat[0]))
    y = (lat - lat[0]) * M_PER_DEG
    xy = np.column_stack((x, y))
    s = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))))
    alt = track.altitude[ok] if track.altitude.size == ok.size else np.full(ok.sum(), np.nan)
    return Template(rel, xy, s, alt, track.altitude_source, track.device)


def stretch(t: Template, metres: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Path of exactly `metres`: the template's prefix, or the template there and back again."""
    xy, s, alt = t.xy, t.s, t.alt
    while s[-1] < metres:  # run it back the other way (out and back), as runners do
        back = xy[::-1][1:]
        xy = np.vstack((xy, back))
        alt = np.concatenate((alt, alt[::-1][1:]))
        s = np.concatenate((s, s[-1] + (s[-1] - s[::-1][1:])))
    keep = s <= metres
    return xy[keep], s[keep], alt[keep]


def make_track(t: Template, metres: float, when: datetime, pace_s_km: float, angle: float,
               home: tuple[float, float], offset_h: float, race: bool, reverse: bool) -> Track:
    xy, s, alt = stretch(t, metres)
    if reverse:
        xy, alt = xy[::-1], alt[::-1]
        s = s[-1] - s[::-1]
    c, k = np.cos(angle), np.sin(angle)
    x, y = xy[:, 0] * c - xy[:, 1] * k, xy[:, 0] * k + xy[:, 1] * c
    lat = home[0] + y / M_PER_DEG
    lon = home[1] + x / (M_PER_DEG * np.cos(np.radians(home[0])))
    times = when.timestamp() + s * pace_s_km / 1000.0
    n = s.size
    return Track(
        start_time=when, sport="running", device=t.device, timestamps=times, distance=s,
        lat=lat, lon=lon, altitude=alt, altitude_source=t.source,
        speed=np.full(n, 1000.0 / pace_s_km), cadence=np.full(n, 170.0),
        heart_rate=np.full(n, 145.0), stance_time_balance=np.full(n, np.nan),
        utc_offset_s=int(offset_h * 3600), race=race, name="Race" if race else None,
    )


# ---------------------------------------------------------------------------------------------
# Training plans


def week_volumes(rng: np.random.Generator, weeks: int, base_km: float) -> list[float]:
    """Normal training: +-12% noise, every 4th week a recovery week at ~75%."""
    vols = []
    for w in range(weeks):
        v = base_km * rng.uniform(0.9, 1.1)
        if w % 4 == 3:
            v = base_km * rng.uniform(0.7, 0.8)
        vols.append(v)
    return vols


def week_plan(rng: np.random.Generator, week: int, volume: float, runs: int, long_km: float,
              hour: int = 7) -> list[Plan]:
    """`runs` runs adding to about `volume`; the long run (Sunday) stays within +-5% of long_km."""
    days = sorted(rng.choice(6, size=runs - 1, replace=False).tolist()) + [6]
    long_today = min(long_km * rng.uniform(0.95, 1.0), volume * 0.45)
    rest = max(volume - long_today, 3.0 * (runs - 1))
    weights = rng.uniform(0.8, 1.2, runs - 1)
    kms = [min(rest * w / weights.sum(), 0.8 * long_today) for w in weights] + [long_today]
    return [Plan(7 * week + d, round(k, 1), hour=hour) for d, k in zip(days, kms, strict=True)]


def control(name: str, seed: int, weeks: int, base_km: float, runs: int, *, holiday: int | None,
            holiday_weeks: int = 1, race_week: int | None = None, offset_h: float = 1.0,
            hour: int = 7) -> Runner:
    rng = np.random.default_rng(seed)
    vols = week_volumes(rng, weeks, base_km)
    long_km = base_km * 0.33
    plans: list[Plan] = []
    for w, v in enumerate(vols):
        if holiday is not None and holiday <= w < holiday + holiday_weeks:
            continue
        if race_week is not None and w in (race_week - 2, race_week - 1):
            v *= 0.8 if w == race_week - 2 else 0.6  # taper
        week = week_plan(rng, w, v, runs, long_km, hour)
        if race_week == w:  # a 10 km race on Sunday, shorter than the usual long run
            week[-1] = Plan(7 * w + 6, 10.0, race=True, hour=hour)
        plans += week
    return Runner(name, "control", seed, plans, offset_h=offset_h)


def injected(name: str, kind: str, seed: int, weeks: int, base_km: float, runs: int,
             pattern_week: int, **extra) -> Runner:
    rng = np.random.default_rng(seed)
    vols = week_volumes(rng, weeks, base_km)
    long_km = base_km * 0.33
    plans: list[Plan] = []
    for w, v in enumerate(vols):
        plans += inject(kind, rng, w, v, runs, long_km, pattern_week, **extra)
    rules = PATTERN_RULES[kind]
    return Runner(name, kind, seed, plans, pattern_day=7 * pattern_week, pattern_rules=rules)


PATTERN_RULES = {
    "long_run": ("single_run_spike",),
    "weekly_jump": ("weekly_jump", "knee_load"),
    "mountain": ("downhill_novel", "weekly_descent", "knee_load"),
    "habit": ("route_repetition",),
    "track": ("track_direction",),
    "comeback": ("return_to_running",),
}


def inject(kind: str, rng, w: int, v: float, runs: int, long_km: float, pw: int,
           **extra) -> list[Plan]:
    week = week_plan(rng, w, v, runs, long_km)
    if kind == "long_run" and w == pw:
        week[-1] = Plan(7 * w + 6, round(long_km * 1.6, 1))
    elif kind == "weekly_jump" and w == pw:
        # 1.8x the usual week, by running twice as often; no single run longer than usual.
        week = week_plan(rng, w, v * 1.8, 7, long_km)
        week += [Plan(p.day, round(0.7 * p.km, 1), hour=18) for p in week[:2]]
    elif kind == "mountain" and w == pw:
        week[-1] = Plan(7 * w + 6, round(long_km * 1.05, 1), route="mountain", race=True)
    elif kind == "habit" and w >= pw:
        week = [Plan(p.day, p.km, route="habit") for p in week]
    elif kind == "track" and w >= pw:
        track_days = {7 * w + 1, 7 * w + 3, 7 * w + 5}
        week = [p for p in week if p.day not in track_days]
        week += [Plan(d, 7.2, route="track") for d in sorted(track_days)]
    elif kind == "comeback":
        week = comeback_week(week, w, pw, long_km, extra["off_days"])
    return week


def comeback_week(week: list[Plan], w: int, pw: int, long_km: float, off: int) -> list[Plan]:
    """`off` days without a run up to the Monday of week `pw`; back with 0.4 and 0.45 of the usual
    long run two days apart, then 0.9 of it two days later (a ramp of 2x the longest since the
    return, never longer than before the break), then normal weeks at 60-85%."""
    start, stop = 7 * pw - off, 7 * pw
    week = [p for p in week if not start <= p.day < stop]
    if w == pw:
        return [Plan(stop, round(long_km * 0.4, 1)), Plan(stop + 2, round(long_km * 0.45, 1)),
                Plan(stop + 4, round(long_km * 0.9, 1)), Plan(stop + 6, round(long_km * 0.5, 1))]
    if pw < w < pw + 3:
        return [Plan(p.day, round(p.km * (0.6 + 0.12 * (w - pw)), 1)) for p in week]
    return week


def gradual_comeback(name: str, seed: int, weeks: int, base_km: float, runs: int,
                     break_week: int, off_weeks: int = 3) -> Runner:
    """A control: normal weeks, `off_weeks` without running, then the rebuild the advice asks for:
    every run within 8% of the longest run since the return, until the usual plan is reached."""
    rng = np.random.default_rng(seed)
    long_km, plans, longest = base_km * 0.33, [], None
    for w, v in enumerate(week_volumes(rng, weeks, base_km)):
        if break_week <= w < break_week + off_weeks:
            continue
        for p in week_plan(rng, w, v, runs, long_km):
            if w >= break_week + off_weeks:
                km = 5.0 if longest is None else min(p.km, round(1.08 * longest - 0.05, 1))
                longest = max(longest or 0.0, km)
                p = Plan(p.day, km)
            plans.append(p)
    return Runner(name, "control", seed, plans)


def alternating_loop(name: str, seed: int, weeks: int, base_km: float, runs: int) -> Runner:
    """A control: the one-way habit's loop, run every time, alternately one way and the other."""
    plans = control(name, seed, weeks, base_km, runs, holiday=None).plans
    plans = [Plan(p.day, p.km, route="loop_a" if n % 2 else "loop_b", hour=p.hour)
             for n, p in enumerate(plans)]
    return Runner(name, "control", seed, plans)


def track_night(name: str, seed: int, weeks: int, base_km: float, runs: int) -> Runner:
    """A control: the club's weekly track night (one 7.2 km session, always anticlockwise as
    outdoor tracks are run), the rest of the week on the road. Added when set B showed that set A
    had no runner who uses a track normally (docs/decisions.md); it is how most runners use one."""
    plans = control(name, seed, weeks, base_km, runs, holiday=None).plans
    nights = {7 * w + 3 for w in range(weeks)}
    plans = [p for p in plans if p.day not in nights] + [Plan(d, 7.2, route="track")
                                                         for d in sorted(nights)]
    return Runner(name, "control", seed, sorted(plans, key=lambda p: p.day))


def cohort(weeks: int) -> list[Runner]:
    return [
        control("ctl-steady-40k-5x", 101, weeks, 40, 5, holiday=None),
        control("ctl-low-20k-3x", 102, weeks, 20, 3, holiday=6),
        control("ctl-high-65k-6x", 103, weeks, 65, 6, holiday=9, race_week=12),
        control("ctl-holiday-2wk-30k-4x", 104, weeks, 30, 4, holiday=7, holiday_weeks=2),
        control("ctl-la-evening-35k-4x", 105, weeks, 35, 4, holiday=None, offset_h=-8, hour=17),
        control("ctl-race-50k-5x", 106, weeks, 50, 5, holiday=4, race_week=10),
        alternating_loop("ctl-loop-both-ways-30k-4x", 107, weeks, 30, 4),
        gradual_comeback("ctl-gradual-comeback-35k-4x", 108, weeks, 35, 4, break_week=6),
        track_night("ctl-track-night-40k-5x", 109, weeks, 40, 5),
        injected("inj-long-run", "long_run", 201, weeks, 40, 4, pattern_week=9),
        injected("inj-weekly-jump", "weekly_jump", 202, weeks, 35, 4, pattern_week=9),
        injected("inj-mountain-race", "mountain", 203, weeks, 45, 5, pattern_week=10),
        injected("inj-same-loop-10wk", "habit", 204, weeks, 30, 4, pattern_week=5),
        injected("inj-track-ccw", "track", 205, weeks, 35, 5, pattern_week=8),
        injected("inj-comeback-15d", "comeback", 206, weeks, 35, 4, pattern_week=9, off_days=15),
        injected("inj-comeback-30d", "comeback", 207, weeks, 35, 4, pattern_week=9, off_days=30),
        injected("inj-comeback-56d", "comeback", 208, weeks, 35, 4, pattern_week=10,
                 off_days=56),
    ]


# ---------------------------------------------------------------------------------------------
# Running the engine


class Builder:
    def __init__(self, data: Path):
        self.roads = [load_template(data, f) for f in ROAD_FILES]
        self.mountain = load_template(data, MOUNTAIN_FILE)
        self.track = load_template(data, TRACK_FILE)
        self.cache: dict[tuple, ActivityMetrics] = {}

    def history(self, r: Runner) -> list[HistoryItem]:
        rng = np.random.default_rng(r.seed + 1000)
        home = (47.0 + (r.seed % 97) * 0.05, 8.0 + (r.seed % 89) * 0.05)
        pool = [(k % len(self.roads), rng.uniform(0, 2 * np.pi), bool(rng.integers(2)))
                for k in range(int(rng.integers(len(self.roads), 2 * len(self.roads))))]
        pace = rng.uniform(300, 390)
        items = []
        for n, p in enumerate(r.plans):
            template, angle, reverse = self.route(p, pool, rng)
            when = (datetime.combine(START + timedelta(days=p.day), datetime.min.time(), UTC)
                    + timedelta(hours=p.hour - r.offset_h))
            key = (template.name, round(angle, 6), reverse, p.km, home, r.offset_h, p.race)
            if key not in self.cache:
                track = make_track(template, p.km * 1000, when, pace, angle, home, r.offset_h,
                                   p.race, reverse)
                self.cache[key] = compute_metrics(track)
            m = self.cache[key]
            items.append(HistoryItem(f"{r.name}#{n}", "upload", type(m)(**{
                **{f: getattr(m, f) for f in m.__dataclass_fields__}, "start_time": when})))
        return items

    def route(self, p: Plan, pool, rng):
        if p.route in ("habit", "loop_a"):
            return self.roads[6], 0.3, False  # one loop, one direction, every run
        if p.route == "loop_b":
            return self.roads[6], 0.3, True  # the same loop the other way round
        if p.route == "track":
            return self.track, 0.0, False
        if p.route == "mountain":
            return self.mountain, 0.0, False
        k, angle, reverse = pool[int(rng.integers(len(pool)))]
        return self.roads[k], angle, reverse


def set_a(builder: Builder, weeks: int) -> list[Case]:
    out = []
    for r in cohort(weeks):
        history = builder.history(r)
        days = [START + timedelta(days=p.day) for p in r.plans]
        out.append(Case(r.name, r.kind == "control", min(days), max(days),
                        evaluate_dates(history), expectations(r)))
    return out


def expectations(r: Runner) -> list[Expect]:
    if r.kind == "control":
        return []
    start = START + timedelta(days=r.pattern_day)
    if r.kind == "comeback":  # day 1 back: return_to_running; day 5: the ramp
        return [Expect("return_first_run", start, "warn_info", ("return_to_running",)),
                Expect("comeback_ramp", start + timedelta(days=4), "warn", ("return_to_running",))]
    if r.kind == "habit":
        # The habit is defined over >= 3 weeks (DESIGN §1): it exists 21 days after its first
        # run (was +14, one week short of the definition; set B labels it +21 too).
        return [Expect(r.kind, start + timedelta(days=21), "warn", r.pattern_rules, onset=start)]
    if r.kind == "track":
        # A one-direction block, like the route habit, exists once it has lasted three weeks:
        # labelled at the session completing its third week, as set B labels its track blocks.
        return [Expect(r.kind, start + timedelta(days=19), "warn", r.pattern_rules, onset=start)]
    return [Expect(r.kind, start, "warn", r.pattern_rules, onset=start)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--weeks", type=int, default=16)
    parser.add_argument("--only", choices=("A", "B"), help="one set only")
    parser.add_argument("--verbose", action="store_true", help="list every control alert")
    args = parser.parse_args(argv)
    sets = {}
    if args.only in (None, "A"):
        cases = set_a(Builder(args.data), args.weeks)
        sets["A"] = report(f"Set A (bench/cohort.py, {args.weeks} weeks, real files; thresholds "
                           "chosen here)", cases, args.verbose)
    if args.only in (None, "B"):
        from cohort_b import cases as set_b

        sets["B"] = report("Set B (testkit/histories_b.py, written independently; judged only)",
                           set_b(), args.verbose)
    per_rule(sets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
