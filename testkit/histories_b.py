"""Cohort B: synthetic runner histories written from a plain list of knee-risk patterns.

An independent validation set: written without looking at the analysis engine or its thresholds.
Every run is a Strava API v3 DetailedActivity (JSON dict) plus its streams in `key_by_type` form
(time, latlng, distance, altitude, velocity_smooth, grade_smooth, cadence, moving), sampled every
second (Forerunner 965, Polar Pacer) or every 1-5 s ("smart recording": the others), on a street grid,
trails, a 400 m outdoor track or a 200 m indoor oval around the runner's home. `device_name` tells
the altitude source: Forerunner 965/265, fenix 7 and COROS PACE 3 are barometric (slow drift of a
metre or two); Forerunner 55/245 and Polar Pacer are not (Strava-corrected elevation, wobbling ~2 m).

Expectations (`Pattern.expect`):
* "warn": at least a caution within 7 days of `start` (the first day a careful coach would speak up);
* "quiet": nothing at caution or above from `start` to `end` (end None = end of the history);
* "warn_info": an informational note is right on `start` (first run after a long break).
Each pattern runner also has a "baseline" quiet window from its day 30 to the day before its pattern.

CONTROLS (kind "control"; quiet from day 30 on):
c01 London, 24 wk from 2026-01-05: 4-5 runs/wk, 34 -> 49 km/wk in 4-week blocks (+6%/wk, 4th week
    -28%), 5-day cold (wk 10) and a -20% week after it, a 10 km race (wk 15, in the weekly total).
c02 New York, 22 wk from 2026-03-02: build to 49 km/wk, long runs to ~18 km, taper 38 km then 15 km +
    half marathon 21.1 km (race, workout_type 1), easy week of 18 km, then 30-40 km/wk.
c03 Berlin, 22 wk from 2026-05-04: 35 km/wk, 9 days of holiday without running, back 18, 26, 32 km.
c04 Boulder, 24 wk from 2026-06-01: hilly streets (median ~90 m, up to ~270 m a run) ~40 km/wk; loop
    direction alternates by ISO week.
c05 Sydney, 22 wk from 2026-02-02: the same 5.1 km road loop (1 or 2 laps) nearly every run, direction
    alternating every time it is run, 25-40 km/wk; a third of long runs are out-and-backs; 7-day flu.
c06 Chamonix, 26 wk from 2026-04-06: TrailRun, 42-52 km/wk in 5-week blocks, ~500 m (up to ~950 m)
    of descent a run, ~1,900-2,650 m a week (1,250-1,500 in recovery weeks).
c07 Oslo, 20 wk from 2025-11-03: three runs a week on a 200 m indoor oval whose direction flips daily,
    Sunday long run outdoors, 34-38 km/wk.
c08 Tokyo, 26 wk from 2025-09-01: 3-7 runs/wk incl. double days, 44 km/wk (33 every 4th), long run on
    varying days >= 5 days apart; 7-day illness in wks 16-17, the week after it at 82%.
c09 Chicago, 29 wk from 2026-03-30: marathon build 40 -> 76 km/wk (+8%/wk x3 then -25%), long runs <=
    32 km, evening doubles at 60+ km, 3-week taper, marathon 42.2 km, 15 km recovery week.
c10 Sao Paulo, 24 wk from 2026-01-12: beginner, 3x3 km, +5.5%/wk with a lighter 4th week, to ~22 km/wk.
c11 Bengaluru (UTC+5:30), 28 wk from 2025-07-07: 35 km/wk for 8 wks, 8 weeks off, back 3x3 km and
    +1-3 km/wk to 29 km/wk. Patterns: baseline quiet; return_first_run "warn_info"; quiet after.
c12 Nairobi, 21 wk from 2025-08-04: ~92-95 km/wk, 7 days + 3 evening doubles, every 3rd week -20%.
c13 Madrid, 20 wk from 2026-04-13: one 7 km 400 m-track session a week (anticlockwise) + 3 road runs,
    38-44 km/wk in 5-week blocks.

PATTERNS (kind "pattern"; expect "warn" at `start`):
p01 Dublin, 20 wk from 2026-02-16: 8 weeks mixed, then 8 weeks the same 6.2 km loop clockwise on ~90%
    of runs: one_way_loop, start = habit day 1 + 21 days.
p02 Oakland, 18 wk from 2026-05-11: ~40 km/wk (long ~14 km), 22 days off, then 5, 6, 19 km on days
    0, 2, 4 back: return_first_run "warn_info" on day 0; comeback_ramp "warn" on the 19 km day.
p03 Paris, 20 wk from 2025-10-06: 40 km/wk Tue/Thu/Sat/Sun; weeks 11-12 each 42 km Mon-Sun but
    62 km Thu-Wed: rolling_week_jump, start = first day the 7-day total >= 1.4 x 40 km (the Wed).
p04 Singapore, 18 wk from 2026-06-08: 35-38 km/wk, long ~13 km; week 11 a 21.5 km run (~1.6x the
    longest of the previous 30 days): single_long_run, start = that day. 4-day fever in wk 6.
p05 Toronto, 22 wk from 2025-06-02: 45 km/wk (35 every 4th); week 14 76 km (+69%, 7 days + a
    double): big_week, start = first day the 7-day total >= 1.4 x 45 km.
p06 Amsterdam, 24 wk from 2026-03-02: flat (<20 m/run), 44-50 km/wk; 25 km alpine race with ~1,580 m
    up and down (TrailRun, race): mountain_race, start = race day.
p07 Warsaw, 20 wk from 2026-05-18: flat 34-37 km/wk in 3-week blocks; a holiday run (week 13) of
    15.2 km out-and-back with ~470 m up and down: novel_descent, start = that day.
p08 Rome, 22 wk from 2026-01-19: weeks 11-15 three 400 m-track sessions (6.5 + 7 + 6 km, always
    anticlockwise) a week: track_block, start = the session completing the third week.
p09 Mexico City, 18 wk from 2026-02-02: beginner 9-12 km/wk, then 20 and 35 km weeks:
    too_much_too_soon, start = first day the 7-day total >= 1.45 x 12 km.
p10 Auckland (UTC+12/13), 24 wk from 2025-09-08: 55-58 km/wk; camp week of 95 km (+68%) with doubles:
    big_week, start = first day the 7-day total >= 1.4 x 56 km.
p11 Seoul, 18 wk from 2026-04-20: from week 4 ~90% of runs round one 4.2 km loop anticlockwise:
    one_way_loop, start = habit day 1 + 21 days.
p12 Anchorage, 18 wk from 2025-11-10: 6 weeks of ~22 km/wk on a 200 m indoor oval always anticlockwise:
    track_block, start = the session completing the third week.

Each Run also carries `truth` (planned km, kind, route, direction, true descent) for auditing.
Usage: `runners(seed)`; `python -m testkit.histories_b --out DIR` writes one JSON file per run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from testkit.histories_b_controls import CONTROLS
from testkit.histories_b_patterns import PATTERNS as PATTERNS_A
from testkit.histories_b_patterns2 import PATTERNS as PATTERNS_B
from testkit.histories_b_plan import Pattern, Run, Runner

__all__ = ["Pattern", "Run", "Runner", "runners", "main", "WARN_KINDS", "INFO_KINDS", "QUIET_KINDS"]

BUILDERS = CONTROLS + PATTERNS_A + PATTERNS_B
# Pattern.kind values by expectation ("baseline" is the quiet stretch before a pattern runner's pattern).
WARN_KINDS = ("one_way_loop", "comeback_ramp", "rolling_week_jump", "single_long_run", "big_week",
              "mountain_race", "novel_descent", "track_block", "too_much_too_soon")
INFO_KINDS = ("return_first_run",)
QUIET_KINDS = ("baseline", "recovery_weeks", "taper_race", "holiday_resume", "hilly_alternating",
               "same_loop_alternating", "trail_steady", "indoor_track_alternating", "irregular",
               "marathon_build", "beginner_slow", "comeback_sensible", "high_volume", "modest_track")


def runners(seed: int = 2) -> list[Runner]:
    """All runners of cohort B, deterministic for a given seed. Another seed moves samples, routes and
    day-to-day distances; pattern kinds stay, and only starts set by the 7-day rule may move a day or two."""
    return [build(seed, index) for index, build in enumerate(BUILDERS)]


def write(out: Path, seed: int = 2, only: list[str] | None = None) -> int:
    """One directory per runner: runner.json (who, patterns) and one JSON file per run."""
    count = 0
    chosen = [(k, f) for k, f in enumerate(BUILDERS) if not only or any(n in f.__name__ for n in only)]
    for r in (build(seed, k) for k, build in chosen):
        folder = out / r.name
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"name": r.name, "kind": r.kind, "timezone": r.timezone, "description": r.description,
                "patterns": [{"kind": p.kind, "start": p.start.isoformat(), "expect": p.expect,
                              "note": p.note, "end": p.end.isoformat() if p.end else None}
                             for p in r.patterns]}
        (folder / "runner.json").write_text(json.dumps(meta, indent=1))
        for run in r.runs:
            stamp = run.activity["start_date_local"][:16].replace(":", "")
            body = {"activity": run.activity, "streams": run.streams, "truth": run.truth}
            (folder / f"{stamp}_{run.activity['id']}.json").write_text(json.dumps(body))
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write cohort B runs as JSON files for inspection.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--runner", action="append",
                        help="only runners whose builder function's name contains this (e.g. marathon)")
    args = parser.parse_args(argv)
    t0 = time.process_time()
    count = write(args.out, args.seed, args.runner)
    print(f"wrote {count} runs to {args.out} in {time.process_time() - t0:.1f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
