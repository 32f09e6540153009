"""More pattern runners of the second cohort: track blocks, beginners, camps, one-way habits."""

from __future__ import annotations

from datetime import date, timedelta

from testkit import histories_b_geo as geo
from testkit.histories_b_controls import blocks, runner
from testkit.histories_b_patterns import baseline, habit_chooser
from testkit.histories_b_plan import Builder, Pattern, Plan, Runner, mixed_roads, mondays


def third_week_end(b: Builder, surface_key: str, first: date, weekly_km: float) -> date:
    """Last session of the third consecutive week (from `first`) with >= weekly_km on that route."""
    days = sorted(p.day for p in b.plans if p.route is not None and p.route.key == surface_key
                  and first <= p.day < first + timedelta(21))
    km = sum(p.km for p in b.plans if p.route is not None and p.route.key == surface_key
             and first <= p.day < first + timedelta(21))
    assert km >= 3 * weekly_km, (b.name, km)
    return days[-1]


def track_week(b: Builder, monday: date, track: geo.Route) -> None:
    """Tue/Thu/Sat on the track (anticlockwise, as every outdoor track), Wed and Sun on roads."""
    for d, part in ((1, 6.5), (3, 7.0), (5, 6.0)):
        b.add(monday + timedelta(d), part, "track", route=track, direction=1, name="Pista")
    b.add(monday + timedelta(2), 8.0)
    b.add(monday + timedelta(6), 14.0, "long")


def track_block(seed: int, idx: int) -> Runner:
    b = Builder("p08_track_block_rome", "Europe/Rome", (41.93, 12.47), seed, idx, device="fr265",
                speed=3.3, hour=18.5, relief=15.0, base_alt=40.0)
    track = geo.oval("track400", (41.9335, 12.4655), 40.0, 400.0, 36.8, angle=1.1)
    weeks = mondays(date(2026, 1, 19), 22)
    for k, (mon, km) in enumerate(zip(weeks, blocks(40, 22, step=0.03), strict=True)):
        if 10 <= k <= 14:
            track_week(b, mon, track)
        else:
            b.week(mon, km, (1, 2, 4, 6), long_frac=0.35)
            if k > 14:
                b.add(mon + timedelta(3), 6.0, "track", route=track, direction=1, name="Pista")
    start = third_week_end(b, "track400", weeks[10], 15.0)
    return runner(b, "pattern", "40-44 km/week on roads; weeks 11-15 a track block: Tue 6.5 + Thu 7 + "
                  "Sat 6 km on a 400 m outdoor track, always anticlockwise (19.5 km/week on the track), "
                  "plus Wed 8 and Sun 14 km on roads; then one 6 km track session a week.",
                  baseline(b, weeks[10] + timedelta(1)) + [Pattern(
                      "track_block", start, "warn",
                      "Three weeks of ~20 km/week of anticlockwise bends: the same leg always on the "
                      "inside of the bend. Start: the session that completes the third week.")])


def too_soon(seed: int, idx: int) -> Runner:
    b = Builder("p09_too_soon_cdmx", "America/Mexico_City", (19.41, -99.17), seed, idx, device="fr55",
                speed=2.4, hour=7.0, relief=10.0, base_alt=2240.0)
    weeks = mondays(date(2026, 2, 2), 18)
    for mon, km in zip(weeks[:5], (9.0, 10.0, 11.0, 12.0, 12.0), strict=True):
        b.week(mon, km, (0, 2, 5), long_day=None)
    b.week(weeks[5], 20.0, (0, 2, 4, 6), long_day=None)
    b.week(weeks[6], 35.0, (0, 1, 3, 4, 6), long_frac=0.29)
    for mon, km in zip(weeks[7:], blocks(32, 11), strict=True):
        b.week(mon, km, (0, 1, 3, 4, 6), long_frac=0.3)
    start = b.first_rolling(12.0, 1.45, weeks[5])
    return runner(b, "pattern", "Beginner: 9, 10, 11, 12, 12 km/week (3 runs of 3-4 km), then 20 km (4x5) "
                  "and 35 km (5 runs incl. a 10 km) and ~32-36 km/week after.",
                  baseline(b, weeks[5]) + [Pattern(
                      "too_much_too_soon", start, "warn",
                      "A five-week-old runner going from 12 to 20 and then 35 km a week. Start: first "
                      "day the 7-day total reaches 1.45x the usual 12 km.")])


def camp_week(seed: int, idx: int) -> Runner:
    b = Builder("p10_camp_week_auckland", "Pacific/Auckland", (-36.87, 174.76), seed, idx, device="pace3",
                speed=3.35, hour=6.0, relief=35.0)
    weeks = mondays(date(2025, 9, 8), 24)
    for k, (mon, km) in enumerate(zip(weeks, blocks(55, 24, step=0.02, recovery=0.78), strict=True)):
        if k == 17:
            b.week(mon, 75.0, tuple(range(7)), long_frac=0.25, workout_day=2)
            for d in (1, 3, 5):
                b.add(mon + timedelta(d), 6.7, "recovery", hour=17.0)
        else:
            b.week(mon, km, (0, 1, 3, 4, 6), long_frac=0.3, workout_day=1)
    start = b.first_rolling(56.0, 1.4, weeks[17])
    return runner(b, "pattern", "55-58 km/week (44 every 4th), 5 runs; week 18 a running-camp week: "
                  "every day plus 3 evening doubles, 95 km (+68%); then back to normal.",
                  baseline(b, weeks[17]) + [Pattern(
                      "big_week", start, "warn",
                      "Camp week ~70% above usual. Start: first day the 7-day total reaches 1.4x.")])


def one_way_park(seed: int, idx: int) -> Runner:
    b = Builder("p11_one_way_park_seoul", "Asia/Seoul", (37.527, 126.93), seed, idx, device="fr245",
                speed=2.9, hour=20.5, relief=6.0)
    weeks = mondays(date(2026, 4, 20), 18)
    b.park = b.loop("park_loop", 4.2)
    onset = weeks[3]
    b.chooser = habit_chooser(onset, weeks[-1] + timedelta(6), "park", 1)
    for mon, km in zip(weeks, blocks(27, 18, grow=0.5), strict=True):
        b.week(mon, km, (0, 2, 4, 6), long_frac=0.35)
    return runner(b, "pattern", "27-32 km/week; from week 4 on, ~90% of runs go round the same 4.2 km "
                  "park road anticlockwise (long runs: 3 laps), never the other way.",
                  baseline(b, onset) + [Pattern(
                      "one_way_loop", onset + timedelta(21), "warn",
                      "Three weeks of the same loop in the same direction on nearly every run.")])


def indoor_one_way_chooser(first: date, last: date):
    def choose(b: Builder, plan: Plan) -> tuple[geo.Route, int]:
        if first <= plan.day <= last and plan.kind != "long":
            return b.indoor, 1
        return mixed_roads(b, plan)
    return choose


def indoor_one_way(seed: int, idx: int) -> Runner:
    b = Builder("p12_indoor_one_way_anchorage", "America/Anchorage", (61.19, -149.87), seed, idx,
                device="fr965", speed=3.1, hour=17.0, relief=10.0)
    b.indoor = geo.oval("indoor200", (61.193, -149.868), b.terrain.base, 200.0, 17.5)
    weeks = mondays(date(2025, 11, 10), 18)
    onset, last = weeks[6], weeks[12] - timedelta(1)
    b.chooser = indoor_one_way_chooser(onset, last)
    for k, (mon, km) in enumerate(zip(weeks, blocks(30, 18, step=0.03), strict=True)):
        b.week(mon, km if not 6 <= k < 12 else 32.0, (1, 2, 4, 6), long_frac=0.3)
    for p in b.plans:
        if onset <= p.day <= last and p.kind != "long":
            p.name, p.route, p.direction = "Indoor track", b.indoor, 1
    start = third_week_end(b, "indoor200", onset, 15.0)
    return runner(b, "pattern", "30 km/week on snowy roads, then 6 weeks with three weekday runs (~22 "
                  "km/week) on a 200 m indoor oval that is always run anticlockwise, Sunday long run "
                  "outside; then roads again.",
                  baseline(b, onset) + [Pattern(
                      "track_block", start, "warn",
                      "Three weeks of ~22 km/week on 200 m bends in one direction. Start: the session "
                      "that completes the third week.")])


PATTERNS = (track_block, too_soon, camp_week, one_way_park, indoor_one_way)
