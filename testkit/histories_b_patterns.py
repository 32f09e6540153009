"""Pattern runners of the second cohort: each carries one risky training pattern (expect a warning)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import numpy as np

from testkit import histories_b_geo as geo
from testkit.histories_b_controls import blocks, runner
from testkit.histories_b_plan import Builder, Pattern, Plan, Runner, mixed_roads, mondays


def baseline(b: Builder, onset: date) -> list[Pattern]:
    """Quiet from day 30 until the day before the pattern begins (if that window exists)."""
    start = b.first_day() + timedelta(30)
    if start >= onset:
        return []
    return [Pattern("baseline", start, "quiet", "Ordinary training before the pattern.",
                    onset - timedelta(1))]


def habit_chooser(first: date, last: date, route_attr: str, direction: int):
    """The same route in the same direction on ~90% of runs between `first` and `last`."""
    def choose(b: Builder, plan: Plan) -> tuple[geo.Route, int]:
        if first <= plan.day <= last and (plan.kind != "long" or b.rng.random() < 0.8):
            if b.rng.random() < 0.92:
                return getattr(b, route_attr), direction
        return mixed_roads(b, plan)
    return choose


def one_way_loop(seed: int, idx: int) -> Runner:
    b = Builder("p01_one_way_loop_dublin", "Europe/Dublin", (53.332, -6.262), seed, idx, device="fr265",
                speed=3.0, hour=7.0)
    weeks = mondays(date(2026, 2, 16), 20)
    b.park = b.loop("park_loop", 6.2)
    onset, end = weeks[8], weeks[16] - timedelta(1)
    b.chooser = habit_chooser(onset, end, "park", -1)
    for mon, km in zip(weeks, blocks(32, 20), strict=True):
        b.week(mon, km, (1, 3, 4, 6), long_frac=0.35)
    start = onset + timedelta(21)
    return runner(b, "pattern", "Mixed routes for 8 weeks, then 8 weeks round the same 6.2 km park road loop "
                  "clockwise on ~90% of runs (long runs: 2 laps), then mixed again; 32-36 km/week.",
                  baseline(b, onset) + [Pattern(
                      "one_way_loop", start, "warn",
                      "Three weeks of the same loop, same direction, nearly every run: the same leg is "
                      "always on the high side of the camber. Switch direction or route.")])


def comeback_ramp(seed: int, idx: int) -> Runner:
    b = Builder("p02_comeback_ramp_oakland", "America/Los_Angeles", (37.80, -122.27), seed, idx,
                device="fr245", speed=3.1, hour=17.8, relief=25.0)
    weeks = mondays(date(2026, 5, 11), 18)
    for mon, km in zip(weeks[:10], blocks(38, 10), strict=True):
        b.week(mon, km, (1, 3, 5, 6), long_frac=0.35)
    last = weeks[9] + timedelta(6)
    first_back = last + timedelta(23)  # 22 whole days without a run
    for d, km in ((0, 5.0), (2, 6.0), (4, 19.0)):
        b.add(first_back + timedelta(d), km, "long" if km > 10 else "easy")
    for mon, km in zip(weeks[14:], (26, 30, 33, 36), strict=True):
        b.week(mon, km, (1, 3, 5, 6))
    big = first_back + timedelta(4)
    return runner(b, "pattern", "~38-42 km/week (long runs ~14 km) for 10 weeks, 22 days off, then 5 km, "
                  "6 km and 19 km within five days (Tue, Thu, Sat); then 26-36 km/week.",
                  baseline(b, last + timedelta(1)) + [
                      Pattern("return_first_run", first_back, "warn_info",
                              "First run after 22 days off: a note to build back gently."),
                      Pattern("comeback_ramp", big, "warn",
                              "19 km on the fifth day back from three weeks off: longer than any run "
                              "before the break, on legs that lost their conditioning.")])


def rolling_jump(seed: int, idx: int) -> Runner:
    b = Builder("p03_monday_straddle_paris", "Europe/Paris", (48.853, 2.349), seed, idx, device="pace3",
                speed=3.1, hour=12.4)
    weeks = mondays(date(2025, 10, 6), 20)
    for k, (mon, km) in enumerate(zip(weeks, blocks(40, 20, step=0.0, recovery=0.78), strict=True)):
        if k not in (10, 11):
            b.week(mon, km, (1, 3, 5, 6), long_frac=0.3)
    a, c = weeks[10], weeks[11]
    for day, km in ((a + timedelta(1), 8), (a + timedelta(3), 8), (a + timedelta(5), 12),
                    (a + timedelta(6), 14), (c, 10), (c + timedelta(1), 8), (c + timedelta(2), 10),
                    (c + timedelta(5), 8), (c + timedelta(6), 6)):
        b.add(day, km, "long" if km >= 12 else "easy")
    start = b.first_rolling(40.0, 1.4, a + timedelta(3))
    return runner(b, "pattern", "40 km/week (31 in every 4th week) on Tue/Thu/Sat/Sun; in weeks 11-12 "
                  "each Mon-Sun week is 42 km but Thu-Wed holds 8+12+14+10+8+10 = 62 km.",
                  baseline(b, a + timedelta(3)) + [Pattern(
                      "rolling_week_jump", start, "warn",
                      "62 km in seven days (Thu-Wed) on a 40 km/week base: +55%, hidden by the "
                      "Monday split. Start: first day the 7-day total reaches 1.4x the usual.")])


def single_long(seed: int, idx: int) -> Runner:
    b = Builder("p04_single_long_singapore", "Asia/Singapore", (1.302, 103.835), seed, idx, device="fr55",
                speed=2.8, hour=19.2, relief=8.0)
    weeks = mondays(date(2026, 6, 8), 18)
    for k, (mon, km) in enumerate(zip(weeks, blocks(35, 18, step=0.03), strict=True)):
        if k == 6:
            km *= 0.85  # back from the fever
        if k == 10:
            for d in (1, 3, 4):
                b.add(mon + timedelta(d), 6.0)
            b.add(mon + timedelta(6), 21.5, "long")
        else:
            b.week(mon, km, (1, 3, 4, 6), long_frac=0.36)
    b.drop(weeks[5] + timedelta(1), weeks[5] + timedelta(4))  # 4 days of fever
    day = weeks[10] + timedelta(6)
    prev = max(p.km for p in b.plans if day - timedelta(30) <= p.day < day)
    return runner(b, "pattern", f"35-38 km/week, long runs ~13 km; week 11 a {21.5} km long run "
                  f"({21.5 / prev:.2f}x the longest of the previous 30 days, {prev:.1f} km), weekly "
                  "total ~40 km; a 4-day fever in week 6.",
                  baseline(b, day) + [Pattern(
                      "single_long_run", day, "warn",
                      f"One run {21.5 / prev:.1f}x longer than anything in the last month.")])


def big_week(seed: int, idx: int) -> Runner:
    b = Builder("p05_big_week_toronto", "America/Toronto", (43.66, -79.39), seed, idx, device="fr965",
                speed=3.15, hour=6.5)
    weeks = mondays(date(2025, 6, 2), 22)
    for k, (mon, km) in enumerate(zip(weeks, blocks(45, 22, step=0.0, recovery=0.78), strict=True)):
        if k == 13:
            b.week(mon, 68.0, tuple(range(7)), long_frac=0.25)
            b.add(mon + timedelta(2), 8.0, hour=18.0)
        else:
            b.week(mon, km, (0, 1, 3, 5, 6), long_frac=0.3)
    onset = weeks[13]
    start = b.first_rolling(45.0, 1.4, onset)
    return runner(b, "pattern", "45 km/week (35 every 4th week), 5 runs; week 14 a 76 km week (7 days + a "
                  "double, +69%), then back to 45.",
                  baseline(b, onset) + [Pattern(
                      "big_week", start, "warn",
                      "A week ~70% bigger than usual. Start: first day the 7-day total reaches 1.4x.")])


def alpine_course(b: Builder) -> geo.Route:
    rng = np.random.default_rng([b.seed, b.index, 9])
    return geo.profile_course("alpine25", (46.02, 7.75), rng, 25_000.0,
                              [(0, 1620), (10, 2850), (14, 2100), (17, 2450), (25, 1620)])


def mountain_race(seed: int, idx: int) -> Runner:
    b = Builder("p06_mountain_race_amsterdam", "Europe/Amsterdam", (52.364, 4.88), seed, idx,
                device="fr265", speed=3.2, hour=7.5, relief=1.5, base_alt=2.0)
    weeks = mondays(date(2026, 3, 2), 24)
    for k, (mon, km) in enumerate(zip(weeks, blocks(44, 24), strict=True)):
        if k == 19:
            for d, part in ((1, 8.0), (3, 6.0)):
                b.add(mon + timedelta(d), part)
        else:
            b.week(mon, km if k != 20 else 24.0, (1, 3, 5, 6), long_frac=0.35)
    day = weeks[19] + timedelta(5)
    b.add(day, 25.0, "race", route=alpine_course(b), direction=1, sport="TrailRun",
          name="Matterhorn Ultraks 25K", hour=8.0, tz="Europe/Zurich")
    return runner(b, "pattern", "Flat Dutch runner (<20 m climbing per run), 44-50 km/week; on a Saturday "
                  "in week 20 a 25 km alpine trail race: ~1,580 m up and ~1,580 m down.",
                  baseline(b, day) + [Pattern(
                      "mountain_race", day, "warn",
                      "1,500+ m of descent in one go on legs that never descend: expect sore quads and "
                      "kneecap load; warn before and after.")])


def valley_out(b: Builder) -> geo.Route:
    rng = np.random.default_rng([b.seed, b.index, 11])
    base = geo.wiggly_out("zakopane_valley", (49.27, 19.95), geo.Terrain(0.0, []), rng, 1.2, 7600.0)
    z = np.interp(base.s, [0.0, 2500.0, 6000.0, base.length], [910.0, 1010.0, 1230.0, 1385.0])
    return dataclasses.replace(base, z=z + np.convolve(rng.normal(0, 1.2, z.size), np.ones(7) / 3, "same"))


def tatra_week(b: Builder, monday: date) -> date:
    """A holiday week in Zakopane: two flat meadow loops and one run up a valley and back."""
    valley = valley_out(b)
    flat = geo.wiggly_loop("zakopane_meadows", (49.29, 19.96), geo.Terrain(905.0, [(12.0, 600.0, 0, 0)]),
                           b.rng, (300.0, 0.0), 4000.0, surface="road")
    b.add(monday + timedelta(1), 8.0, route=flat, direction=1, name="Zakopane easy")
    b.add(monday + timedelta(3), 15.2, "long", route=valley, direction=1, name="Dolina up and down")
    b.add(monday + timedelta(6), 9.0, route=flat, direction=-1, name="Zakopane shakeout")
    return monday + timedelta(3)


def novel_descent(seed: int, idx: int) -> Runner:
    b = Builder("p07_novel_descent_warsaw", "Europe/Warsaw", (52.23, 21.01), seed, idx, device="fr55",
                speed=3.0, hour=18.0, relief=2.0, base_alt=100.0)
    weeks = mondays(date(2026, 5, 18), 20)
    for k, (mon, km) in enumerate(zip(weeks, blocks(34, 20, step=0.05, every=3), strict=True)):
        if k != 12:
            b.week(mon, km, (1, 3, 5, 6))
    hol = weeks[12]
    day = tatra_week(b, hol)
    return runner(b, "pattern", "Flat Warsaw runner, 34-37 km/week in 3-week blocks; holiday week 13 in "
                  "the Tatras: Thursday 15.2 km out-and-back up a valley, ~470 m up and ~470 m down (the "
                  "other two holiday runs are flat meadow loops).",
                  baseline(b, hol + timedelta(1)) + [Pattern(
                      "novel_descent", day, "warn",
                      "First big descent (~470 m) on a runner whose runs never drop more than ~20 m.")])


PATTERNS = (one_way_loop, comeback_ramp, rolling_jump, single_long, big_week, mountain_race, novel_descent)
