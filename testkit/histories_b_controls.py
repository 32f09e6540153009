"""Control runners of the second cohort: sensible training, expected quiet after their first 30 days."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from testkit import histories_b_geo as geo
from testkit.histories_b_plan import Builder, Pattern, Plan, Runner, mixed_roads, mondays


def blocks(base: float, n: int, step: float = 0.06, recovery: float = 0.72, every: int = 4,
           grow: float = 0.0) -> list[float]:
    """Weekly km: (every-1) building weeks of +step each, then a recovery week; next block +grow."""
    out = []
    for k in range(n):
        pos = k % every
        level = base + grow * (k // every)
        peak = level * (1 + step * (every - 2))
        out.append(peak * recovery if pos == every - 1 else level * (1 + step * pos))
    return out


def quiet(b: Builder, kind: str, note: str, start: date | None = None) -> Pattern:
    return Pattern(kind, start or b.first_day() + timedelta(30), "quiet", note)


def runner(b: Builder, kind: str, description: str, patterns: list[Pattern]) -> Runner:
    return Runner(b.name, kind, b.tz, description, b.build(), patterns)


def ordinary(seed: int, idx: int) -> Runner:
    b = Builder("c01_ordinary_london", "Europe/London", (51.462, -0.168), seed, idx, device="fr265",
                speed=3.05, hour=6.8)
    weeks = mondays(date(2026, 1, 5), 24)
    for k, (mon, km) in enumerate(zip(weeks, blocks(34, 24, grow=2.0), strict=True)):
        days = (1, 2, 3, 5, 6) if k % 4 == 2 else (1, 3, 5, 6)
        km = km - 10.0 if k == 14 else km * 0.8 if k == 10 else km  # race week; back from a cold
        b.week(mon, km, days, long_day=None if k == 14 else 6, workout_day=3)
    b.add(weeks[14] + timedelta(6), 10.0, "race", name="Clapham Common 10K")
    b.drop(weeks[9] + timedelta(1), weeks[9] + timedelta(5))  # a cold: Tue-Sat off
    return runner(b, "control", "4-5 runs/week, 34 -> 49 km/week in 4-week blocks with a recovery week "
                  "(-28%), a 5-day cold in week 10 (next week -20%), a 10 km race in week 15.",
                  [quiet(b, "recovery_weeks", "Sensible blocks with recovery weeks; nothing to warn about.")])


def taper_half(seed: int, idx: int) -> Runner:
    b = Builder("c02_taper_half_nyc", "America/New_York", (40.781, -73.966), seed, idx, device="fr965",
                speed=3.2, hour=6.3)
    weeks = mondays(date(2026, 3, 2), 22)
    vols = [34, 37, 40, 28, 38, 41, 44, 31, 42, 45, 48, 34, 46, 49, 38]
    for mon, km in zip(weeks, vols, strict=False):
        b.week(mon, km, (1, 2, 4, 6), long_frac=0.36, workout_day=2)
    race_week = weeks[15]
    for d, km in ((1, 6.0), (3, 5.0), (5, 3.5)):
        b.add(race_week + timedelta(d), km)
    race = b.add(race_week + timedelta(6), 21.1, "race", name="Brooklyn Half", hour=7.0)
    race.route, race.direction = b.loop("race_half", 21.1), 1
    for d, km in ((2, 5.0), (4, 6.0), (6, 7.0)):  # the easy week after
        b.add(weeks[16] + timedelta(d), km, "recovery")
    for mon, km in zip(weeks[17:], (30, 35, 38, 40, 30), strict=True):
        b.week(mon, km, (1, 2, 4, 6), long_frac=0.33)
    return runner(b, "control", "Half-marathon build to 49 km/week (long runs to ~18 km), 2-week taper "
                  "(38 km, then 15 km + the 21.1 km race), an easy 18 km week after, then 30-40 km.",
                  [quiet(b, "taper_race", "Textbook taper, race and easy week; the race is not a jump.")])


def holiday(seed: int, idx: int) -> Runner:
    b = Builder("c03_holiday_berlin", "Europe/Berlin", (52.515, 13.39), seed, idx, device="fr245",
                speed=2.95, hour=18.5)
    weeks = mondays(date(2026, 5, 4), 22)
    vols = blocks(35, 22)
    for k, (mon, km) in enumerate(zip(weeks, vols, strict=True)):
        if k == 11:
            for d, part in ((1, 5.0), (3, 6.0), (6, 7.0)):
                b.add(mon + timedelta(d), part)
        elif k == 12:
            b.week(mon, 26, (1, 3, 5, 6), long_frac=0.3)
        elif k == 13:
            b.week(mon, 32, (1, 3, 5, 6))
        elif k != 10:
            b.week(mon, km, (1, 3, 5, 6))
    b.drop(weeks[9] + timedelta(5), weeks[10] + timedelta(6))  # 9 days on a beach, no running
    return runner(b, "control", "35 km/week, a 9-day holiday without running (Sat-Sun of weeks 10-11), "
                  "then 18, 26, 32 km before the usual 35.",
                  [quiet(b, "holiday_resume", "Resumed gradually after a holiday; nothing to warn about.")])


def weekly_alternating(b: Builder, plan: Plan) -> tuple[geo.Route, int]:
    route, _ = mixed_roads(b, plan)
    return route, (1 if plan.day.isocalendar().week % 2 == 0 else -1)


def hilly(seed: int, idx: int) -> Runner:
    b = Builder("c04_hilly_boulder", "America/Denver", (40.015, -105.27), seed, idx, device="fenix7",
                speed=2.95, hour=6.5, relief=90.0, base_alt=1650.0, pause_per_km=0.2)
    b.chooser = weekly_alternating
    weeks = mondays(date(2026, 6, 1), 24)
    for k, (mon, km) in enumerate(zip(weeks, blocks(38, 24, grow=1.0), strict=True)):
        b.week(mon, km, (1, 2, 4, 6) if k % 2 else (1, 3, 4, 5, 6), workout_day=4)
    return runner(b, "control", "Hilly streets (~90 m, up to ~270 m climbing per run), ~40 km/week; "
                  "every loop is run clockwise one ISO week and anticlockwise the next.",
                  [quiet(b, "hilly_alternating", "Hills every run, but steady and both directions.")])


def alternate_each_run(b: Builder, plan: Plan) -> tuple[geo.Route, int]:
    """The 5 km loop, flipping direction each time it is run; a third of long runs go elsewhere."""
    b.longs = getattr(b, "longs", 0) + (plan.kind == "long")
    if plan.kind == "long" and b.longs % 3 == 0:
        return b.outs[b.longs % 4], 1
    b.laps = getattr(b, "laps", 0) + 1
    return b.loops[1], (1 if b.laps % 2 else -1)


def same_loop(seed: int, idx: int) -> Runner:
    b = Builder("c05_same_loop_sydney", "Australia/Sydney", (-33.885, 151.26), seed, idx, device="pace3",
                speed=3.1, hour=6.0, relief=12.0)
    b.chooser = alternate_each_run
    weeks = mondays(date(2026, 2, 2), 22)
    for mon, km in zip(weeks, blocks(30, 22, grow=1.0), strict=True):
        b.week(mon, round(km / 5.0) * 5.0, (0, 2, 3, 5, 6), long_frac=0.3)
    lap = b.loops[1].length / 1000.0
    for p in b.plans:  # whole laps: 1, 2 or 3 times round
        p.km = round(max(1, round(p.km / lap)) * lap, 2)
    b.drop(weeks[13] + timedelta(2), weeks[13] + timedelta(8))  # flu: 7 days
    return runner(b, "control", "The same 5 km road loop nearly every run, direction alternating run by "
                  "run; a third of long runs are out-and-backs; 25-40 km/week; 7 days of flu in week 14.",
                  [quiet(b, "same_loop_alternating", "Same loop, but the camber is balanced run to run.")])


def trail_chooser(b: Builder, plan: Plan) -> tuple[geo.Route, int]:
    by_len = sorted(b.trails, key=lambda r: abs(r.length - plan.km * 1000.0))
    if abs(by_len[0].length / 1000.0 - plan.km) < 2.5:
        return by_len[0], int(b.rng.choice([1, -1]))
    return b.trail_outs[plan.day.toordinal() % len(b.trail_outs)], 1


def trail(seed: int, idx: int) -> Runner:
    b = Builder("c06_trail_chamonix", "Europe/Paris", (45.924, 6.87), seed, idx, device="fenix7",
                speed=2.85, hour=7.5, base_alt=1050.0, sport="TrailRun")
    b.terrain = geo.random_terrain(b.rng, 1050.0, 480.0, n=14, span=5000.0, sigma=(900.0, 2000.0))
    centres = b.rng.uniform(-2500, 2500, (7, 2))
    b.trails = [geo.wiggly_loop(f"trail{k}", b.home, b.terrain, b.rng, tuple(centres[k]), km * 1000.0)
                for k, km in enumerate((7.0, 9.0, 11.0, 13.0, 16.0, 19.0, 22.0))]
    b.trail_outs = [geo.wiggly_out(f"trail_out{k}", b.home, b.terrain, b.rng, k * 1.6, 14_000.0)
                    for k in range(4)]
    b.chooser = trail_chooser
    weeks = mondays(date(2026, 4, 6), 26)
    for mon, km in zip(weeks, blocks(42, 26, step=0.04, every=5, grow=1.0), strict=True):
        b.week(mon, km, (1, 3, 5, 6), long_frac=0.36)
    return runner(b, "control", "TrailRun on alpine trails, 42-50 km/week with recovery weeks; every run "
                  "climbs and descends (a few hundred metres), similar week to week.",
                  [quiet(b, "trail_steady", "Lots of descent, but it is this runner's normal.")])


def indoor_alternating(b: Builder, plan: Plan) -> tuple[geo.Route, int]:
    if plan.kind == "long":
        return mixed_roads(b, plan)
    return b.indoor, (1 if plan.day.toordinal() % 2 == 0 else -1)  # the hall flips direction daily


def indoor(seed: int, idx: int) -> Runner:
    b = Builder("c07_indoor_oslo", "Europe/Oslo", (59.925, 10.735), seed, idx, device="pace3",
                speed=3.3, hour=17.5, relief=20.0)
    b.indoor = geo.oval("indoor200", (59.9285, 10.7342), b.terrain.base, 200.0, 17.5)
    b.chooser = indoor_alternating
    weeks = mondays(date(2025, 11, 3), 20)
    for mon, km in zip(weeks, blocks(34, 20), strict=True):
        # Tue, Wed, Fri: the hall's daily flip gives 2:1 one week and 1:2 the next (weeks have 7 days).
        b.week(mon, km, (1, 2, 4, 6), long_frac=0.38)
    for p in b.plans:
        if p.kind != "long":
            p.name = "Indoor track"
    return runner(b, "control", "Winter: three runs a week on a 200 m indoor oval whose direction the hall "
                  "switches every day (odd dates clockwise), Sunday long run outdoors; 34-38 km/week.",
                  [quiet(b, "indoor_track_alternating", "Tight bends, but both directions in turn.")])


def irregular(seed: int, idx: int) -> Runner:
    b = Builder("c08_irregular_tokyo", "Asia/Tokyo", (35.672, 139.70), seed, idx, device="fr965",
                speed=3.15, hour=6.0)
    rng = np.random.default_rng([seed, idx, 7])
    weeks = mondays(date(2025, 9, 1), 26)
    last_long = weeks[0] - timedelta(7)
    for k, mon in enumerate(weeks):
        km = 44.0 * (0.75 if k % 4 == 3 else 0.82 if k == 17 else 1.0) * float(rng.uniform(0.94, 1.06))
        n = int(rng.integers(3, 8))
        long_day = int(rng.choice([d for d in (2, 4, 5, 6) if (mon + timedelta(d) - last_long).days >= 5]))
        last_long = mon + timedelta(long_day)
        long_km = km * 0.3
        b.add(last_long, long_km, "long")
        others = sorted(rng.choice([d for d in range(7) if d != long_day] * 2, n - 1, replace=False))
        for d, part in zip(others, rng.dirichlet(np.full(n - 1, 6.0)) * (km - long_km), strict=True):
            b.add(mon + timedelta(int(d)), max(part, 3.0))
    b.drop(weeks[15] + timedelta(3), weeks[16] + timedelta(2))  # a stomach bug: 7 days
    return runner(b, "control", "3 to 7 runs a week (double days when busy), 44 km/week (33 in every 4th), "
                  "long run on Wed/Fri/Sat/Sun at least 5 days apart; a 7-day illness in weeks 16-17.",
                  [quiet(b, "irregular", "Messy calendar, steady load: nothing to warn about.")])


def marathon_volumes(level: float = 40.0, cap: float = 76.0) -> list[float]:
    """3 weeks of +8% then a 25% cutback; the next block starts at the old peak; 2 taper weeks."""
    vols: list[float] = []
    while len(vols) < 24:
        peak = min(level * 1.16, cap)
        vols += [level, min(level * 1.08, cap), peak, peak * 0.75]
        level = peak
    return vols + [57.0, 42.0]


def marathon(seed: int, idx: int) -> Runner:
    b = Builder("c09_marathon_chicago", "America/Chicago", (41.921, -87.633), seed, idx, device="fr965",
                speed=3.25, hour=5.8)
    weeks = mondays(date(2026, 3, 30), 29)
    for mon, km in zip(weeks, marathon_volumes(), strict=False):
        double = km >= 60
        b.week(mon, km - (6 if double else 0), (0, 1, 3, 4, 6), long_frac=min(0.34, 32.0 / km),
               workout_day=1)
        if double:
            b.add(mon + timedelta(3), 6.0, hour=18.2)
    for d, km in ((1, 8.0), (2, 6.0), (4, 5.0)):
        b.add(weeks[26] + timedelta(d), km)
    race = b.add(weeks[26] + timedelta(6), 42.2, "race", name="Chicago Marathon", hour=7.5)
    race.route, race.direction = b.outs[2], 1
    for d, km in ((2, 4.0), (4, 5.0), (6, 6.0)):
        b.add(weeks[27] + timedelta(d), km, "recovery")
    b.week(weeks[28], 25.0, (1, 3, 5, 6), long_frac=0.3)
    return runner(b, "control", "Marathon build 40 -> 76 km/week, +8%/week for 3 weeks then a 25% cutback, "
                  "long runs capped at 32 km, evening doubles in 60+ km weeks, 3-week taper, the marathon, "
                  "then a 15 km recovery week.",
                  [quiet(b, "marathon_build", "Gradual build with cutbacks; the marathon follows a taper.")])


def beginner(seed: int, idx: int) -> Runner:
    b = Builder("c10_beginner_saopaulo", "America/Sao_Paulo", (-23.587, -46.657), seed, idx, device="fr55",
                speed=2.35, hour=19.0)
    weeks = mondays(date(2026, 1, 12), 24)
    level = 9.0
    for k, mon in enumerate(weeks):
        km = level * 0.8 if k % 4 == 3 else level
        b.week(mon, km, (0, 2, 5), long_day=5, long_frac=0.4 if k > 3 else 0.34)
        level = level if k % 4 == 3 else level * 1.055
    return runner(b, "control", "New runner: 3 runs of 3 km (9 km/week), +5.5%/week with a lighter 4th "
                  "week, reaching ~22 km/week (runs of 6-9 km) after 24 weeks.",
                  [quiet(b, "beginner_slow", "Slow, steady beginner progression.")])


def comeback_sensible(seed: int, idx: int) -> Runner:
    b = Builder("c11_comeback_bengaluru", "Asia/Kolkata", (12.972, 77.594), seed, idx, device="fr245",
                speed=2.9, hour=6.0, relief=15.0, base_alt=900.0)
    weeks = mondays(date(2025, 7, 7), 28)
    for mon, km in zip(weeks[:8], blocks(35, 8), strict=True):
        b.week(mon, km, (1, 3, 5, 6))
    back = [(3, 3, 3), (4, 4, 4), (5, 5, 5), (4, 4.5, 4.5, 5), (5, 5, 4, 6), (4, 4, 4, 4.5),
            (5, 5, 5, 7), (5, 6, 5, 8), (6, 6, 5, 9), (5, 5, 4, 6), (6, 6, 6, 10), (6, 7, 6, 11)]
    for mon, runs in zip(weeks[16:], back, strict=True):
        for d, km in zip((1, 3, 5, 6) if len(runs) == 4 else (1, 3, 5), runs, strict=True):
            b.add(mon + timedelta(d), km, "long" if km >= 7 else "easy")
    first_back = weeks[16] + timedelta(1)
    last_before = max(p.day for p in b.plans if p.day < first_back)
    return runner(b, "control", "35 km/week for 8 weeks, then 8 weeks off (injury), then back with 3x3 km "
                  "and +1-3 km/week to 29 km/week with a lighter week.",
                  [Pattern("baseline", b.first_day() + timedelta(30), "quiet",
                           "Ordinary weeks before the injury.", last_before),
                   Pattern("return_first_run", first_back, "warn_info",
                           f"First run after {(first_back - last_before).days - 1} days off: worth a note."),
                   quiet(b, "comeback_sensible", "Resumed sensibly after 8 weeks off: no caution.",
                         first_back + timedelta(1))])


def high_volume(seed: int, idx: int) -> Runner:
    b = Builder("c12_high_volume_nairobi", "Africa/Nairobi", (-1.29, 36.82), seed, idx, device="fr965",
                speed=3.9, hour=6.2, relief=30.0, base_alt=1700.0, pause_per_km=0.15)
    weeks = mondays(date(2025, 8, 4), 21)
    for mon, km in zip(weeks, blocks(92, 21, step=0.03, recovery=0.8, every=3), strict=True):
        b.week(mon, km - 18.0, tuple(range(7)), long_frac=0.3, workout_day=1)
        for d in (1, 3, 4):
            b.add(mon + timedelta(d), 6.0, "recovery", hour=17.5)
    return runner(b, "control", "Experienced runner: 7 days + 3 evening doubles, ~92-95 km/week with an "
                  "80% week every 3rd week, at altitude.",
                  [quiet(b, "high_volume", "High but long-established volume.")])


def modest_track(seed: int, idx: int) -> Runner:
    b = Builder("c13_modest_track_madrid", "Europe/Madrid", (40.42, -3.69), seed, idx, device="fr265",
                speed=3.3, hour=19.5, relief=12.0, base_alt=650.0)
    track = geo.oval("track400", (40.4245, -3.6880), 650.0, 400.0, 36.8)
    weeks = mondays(date(2026, 4, 13), 20)
    for mon, km in zip(weeks, blocks(31, 20, step=0.04, every=5), strict=True):
        b.week(mon, km, (0, 2, 6), long_frac=0.42)
        b.add(mon + timedelta(3), 7.0, "track", route=track, direction=1, name="Track intervals")
    return runner(b, "control", "One 7 km track session a week (400 m, anticlockwise as every outdoor track) "
                  "plus three road runs, 38-44 km/week in 5-week blocks: ~7 km/week on the track.",
                  [quiet(b, "modest_track", "Weekly track session well under a one-direction block.")])


CONTROLS = (ordinary, taper_half, holiday, hilly, same_loop, trail, indoor, irregular, marathon,
            beginner, comeback_sensible, high_volume, modest_track)
