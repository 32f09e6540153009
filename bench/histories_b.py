"""Cost of generating cohort B (testkit.histories_b), the independent synthetic runner histories.

Target: the whole set in about 20 s of CPU. Prints CPU seconds per runner and in total, runs and
stream samples, and the load average (a busy machine inflates wall time, not CPU time).

    python bench/histories_b.py [--seed N] [--parse]

--parse also times workers.parsing.streams.parse_strava_streams over every run.
"""

from __future__ import annotations

import argparse
import os
import time

from testkit.histories_b import BUILDERS
from workers.parsing.streams import parse_strava_streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--parse", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    total = parse_total = 0.0
    runs = samples = 0
    for index, build in enumerate(BUILDERS):
        t0 = time.process_time()
        runner = build(args.seed, index)
        spent = time.process_time() - t0
        total += spent
        runs += len(runner.runs)
        count = sum(len(r.streams["time"]["data"]) for r in runner.runs)
        samples += count
        line = f"{runner.name:32s} {len(runner.runs):4d} runs {count:8d} samples {spent:6.2f} s CPU"
        if args.parse:
            t0 = time.process_time()
            for r in runner.runs:
                parse_strava_streams(r.streams, r.activity)
            parse_total += time.process_time() - t0
        print(line)
    print(f"total: {runs} runs, {samples} samples, {total:.1f} s CPU to generate"
          + (f", {parse_total:.1f} s CPU to parse" if args.parse else ""))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
