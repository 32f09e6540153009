"""Training plans for the second synthetic cohort: weeks, days, routes, then rendered runs.

A `Builder` holds one runner's home (street grid + terrain + routes), device and habits. Runner
definitions add planned runs (`week`, `add`, `drop`) and then `build()` renders them in date order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from testkit import histories_b_geo as geo
from testkit.histories_b_render import Device, Spec, activity_json, render_streams, route_position

DEVICES = {
    "fr965": Device("Garmin Forerunner 965", True, False, 2.5),
    "fr265": Device("Garmin Forerunner 265", True, True, 3.0),
    "fenix7": Device("Garmin fenix 7", True, True, 3.0),
    "pace3": Device("COROS PACE 3", True, True, 3.0),
    "fr55": Device("Garmin Forerunner 55", False, True, 4.0),
    "fr245": Device("Garmin Forerunner 245", False, True, 3.5),
    "pacer": Device("Polar Pacer", False, False, 4.0),
}
EXPECT = ("warn", "quiet", "warn_info")


@dataclass
class Run:
    activity: dict
    streams: dict
    truth: dict = field(default_factory=dict)  # planned km, kind, route, direction, true descent


@dataclass
class Pattern:
    kind: str
    start: date
    expect: str  # "warn" | "quiet" | "warn_info"
    note: str
    end: date | None = None  # for "quiet": last day of the quiet window (None: end of history)


@dataclass
class Runner:
    name: str
    kind: str  # "control" | "pattern"
    timezone: str
    description: str
    runs: list[Run]
    patterns: list[Pattern]


@dataclass
class Plan:
    day: date
    km: float
    kind: str = "easy"
    hour: float | None = None
    route: geo.Route | None = None
    direction: int | None = None
    name: str | None = None
    sport: str | None = None
    workout_type: int | None = None
    tz: str | None = None  # where the run happened, when away from home


Chooser = Callable[["Builder", Plan], tuple[geo.Route, int]]


class Builder:
    """One runner: home geography, device, habits, and the list of planned runs."""

    def __init__(self, name: str, tz: str, home: tuple[float, float], seed: int, index: int, *,
                 device: str = "fr265", speed: float = 3.0, hour: float = 7.0, relief: float = 4.0,
                 base_alt: float = 30.0, pause_per_km: float = 0.4, sport: str = "Run") -> None:
        self.name, self.tz, self.home, self.index, self.seed = name, tz, home, index, seed
        self.rng = np.random.default_rng([seed, index, 1])
        self.device, self.speed, self.hour, self.sport = DEVICES[device], speed, hour, sport
        self.pause_per_km = pause_per_km
        hilly = relief >= 50.0  # hills close to home, so that every run meets some
        self.terrain = geo.random_terrain(self.rng, base_alt, relief, n=16 if hilly else 9,
                                          span=3500.0 if hilly else 9000.0,
                                          sigma=(350.0, 1000.0) if hilly else (500.0, 1600.0))
        self.grid = geo.StreetGrid(self.rng, bx=float(self.rng.uniform(110, 190)),
                                   by=float(self.rng.uniform(90, 170)), angle=float(self.rng.uniform(0, 1.5)))
        self.plans: list[Plan] = []
        self.loops = [self.loop(f"loop{k}", km) for k, km in enumerate((3.2, 5.0, 7.5, 10.5, 14.0))]
        self.outs = [geo.grid_out(f"out{h}", home, self.grid, self.terrain, self.rng, h, 26_000.0)
                     for h in range(4)]
        self.chooser: Chooser = mixed_roads

    def loop(self, key: str, km: float, corner: int | None = None) -> geo.Route:
        """A rectangular street loop of about `km` with home at one corner."""
        aspect = float(self.rng.uniform(0.5, 1.6))
        half_m = km * 500.0
        w = max(1, round(half_m / (1 + aspect) / self.grid.bx))
        h = max(1, round(half_m * aspect / (1 + aspect) / self.grid.by))
        corner = int(self.rng.integers(4)) if corner is None else corner
        i0, j0 = (0 if corner in (0, 3) else -w), (0 if corner in (0, 1) else -h)
        return geo.grid_loop(key, self.home, self.grid, self.terrain, i0, j0, w, h)

    # -- planning ---------------------------------------------------------------------------------
    def add(self, day: date, km: float, kind: str = "easy", **kw) -> Plan:
        plan = Plan(day, round(km, 2), kind, **kw)
        self.plans.append(plan)
        return plan

    def week(self, monday: date, km: float, days: tuple[int, ...] = (1, 3, 5, 6), long_day: int | None = 6,
             long_frac: float = 0.32, workout_day: int | None = None) -> None:
        """Spread `km` over weekdays (0 = Monday); the long run takes `long_frac` of the week."""
        n = len(days)
        long_km = km * long_frac if long_day in days and n >= 3 else 0.0
        rest = [d for d in days if d != long_day or long_km == 0.0]
        share = self.rng.uniform(0.85, 1.15, len(rest))
        share = share / share.sum() * (km - long_km)
        for d, part in zip(rest, share, strict=True):
            self.add(monday + timedelta(d), part, "workout" if d == workout_day else "easy")
        if long_km:
            self.add(monday + timedelta(long_day), long_km, "long")

    def drop(self, first: date, last: date) -> None:
        """Illness or holiday: no runs from `first` to `last` inclusive."""
        self.plans = [p for p in self.plans if not first <= p.day <= last]

    def km_by_day(self) -> dict[date, float]:
        out: dict[date, float] = {}
        for p in self.plans:
            out[p.day] = out.get(p.day, 0.0) + p.km
        return out

    def first_rolling(self, base_km: float, factor: float, after: date) -> date:
        """First day on or after `after` whose 7-day total reaches factor x base_km."""
        by_day = self.km_by_day()
        last = max(by_day)
        day = after
        while day <= last:
            if sum(by_day.get(day - timedelta(k), 0.0) for k in range(7)) >= factor * base_km:
                return day
            day += timedelta(1)
        raise ValueError(f"{self.name}: the 7-day total never reaches {factor} x {base_km} km")

    def first_day(self) -> date:
        return min(p.day for p in self.plans)

    # -- rendering --------------------------------------------------------------------------------
    def build(self) -> list[Run]:
        plans = sorted(self.plans, key=lambda p: (p.day, p.hour or 0.0))
        seen: dict[date, int] = {}
        runs = []
        for k, plan in enumerate(plans):
            nth = seen[plan.day] = seen.get(plan.day, 0) + 1
            runs.append(self._render(k, plan, nth))
        return runs

    def _render(self, k: int, plan: Plan, nth: int) -> Run:
        rng = np.random.default_rng([self.seed, self.index, 2, k])
        route, direction = plan.route, plan.direction
        if route is None:
            route, direction = self.chooser(self, plan)
        direction = direction if direction is not None else int(rng.choice([1, -1]))
        start = self._start(plan, nth, rng)
        pace = {"long": 0.95, "recovery": 0.92}.get(plan.kind, 1.0) * float(rng.uniform(0.97, 1.03))
        spec = Spec(plan.km, self.speed * pace, plan.kind, direction, self.pause_per_km)
        streams, summary = render_streams(route, spec, self.device, rng)
        sport = plan.sport or (self.sport if route.surface != "trail" else "TrailRun")
        workout = plan.workout_type if plan.workout_type is not None else (
            {"long": 2, "workout": 3, "track": 3, "race": 1}.get(plan.kind, 0))
        name = plan.name or default_name(start.hour + start.minute / 60.0, sport)
        act_id = 14_000_000_000 + self.index * 100_000 + k
        tz = plan.tz or self.tz
        activity = activity_json(act_id, name, sport, start, tz, self.device, summary, workout)
        return Run(activity, streams, _truth(plan, route, direction, summary))

    def _start(self, plan: Plan, nth: int, rng: np.random.Generator) -> datetime:
        """Local wall-clock start: the runner's habit hour (evening for a second run) +- 30 min."""
        hour = plan.hour if plan.hour is not None else (self.hour if nth == 1 else 18.0)
        hour += float(rng.uniform(-0.5, 0.5))
        start = datetime.combine(plan.day, datetime.min.time()) + timedelta(hours=hour)
        return start.replace(second=int(rng.integers(60)), microsecond=0)


def _truth(plan: Plan, route: geo.Route, direction: int, summary: dict) -> dict:
    """What was planned and the ground truth, for auditing (closed routes are drawn anticlockwise)."""
    down = np.clip(-np.diff(np.interp(_positions(route, plan.km, direction), route.s, route.z)), 0, None)
    way = ("anticlockwise" if direction >= 0 else "clockwise") if route.closed else "out_and_back"
    return {"km": float(plan.km), "kind": plan.kind, "route": route.key, "surface": route.surface,
            "direction": way, "true_descent_m": round(float(down.sum()), 1),
            "recorded_descent_m": summary["descent"]}


def _positions(route: geo.Route, km: float, direction: int) -> np.ndarray:
    s = np.append(np.arange(0.0, km * 1000.0, 25.0), km * 1000.0)
    return route_position(route, s, km * 1000.0, direction)


def default_name(hour: float, sport: str) -> str:
    """Strava's automatic names: 'Morning Run', 'Lunch Run', 'Afternoon Trail Run'…"""
    part = ("Night" if hour < 5 else "Morning" if hour < 11 else "Lunch" if hour < 14
            else "Afternoon" if hour < 17 else "Evening" if hour < 21 else "Night")
    return f"{part} {'Trail Run' if sport == 'TrailRun' else 'Run'}"


def mixed_roads(b: Builder, plan: Plan) -> tuple[geo.Route, int]:
    """An ordinary runner: a loop that fits (1-3 laps, either direction) or an out-and-back."""
    fits = [r for r in b.loops if abs(plan.km * 1000.0 / r.length - round(plan.km * 1000.0 / r.length)) < 0.2
            and 1 <= round(plan.km * 1000.0 / r.length) <= 3]
    if fits and b.rng.random() < 0.55:
        return fits[int(b.rng.integers(len(fits)))], int(b.rng.choice([1, -1]))
    return b.outs[int(b.rng.integers(len(b.outs)))], 1


def mondays(first: date, n: int) -> list[date]:
    first = first - timedelta(first.weekday())
    return [first + timedelta(7 * k) for k in range(n)]
