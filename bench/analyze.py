"""Speed of the risk engine.

1. compute_metrics per activity, parsing excluded (target <= 5 ms): every running file in
   ../shared/data and synthetic 1 Hz runs (10 km, marathon).
2. evaluate() over a synthetic 10-year daily history, 3,650 runs (target <= 100 ms), plus the
   full recompute of every date (what `kneeguard analyze` does for a whole history).

    python bench/analyze.py [--quick] [--data PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from service.infra.corpus import SHARED_DATA
from testkit.corpus import real_runs
from testkit.synthetic import START, make_track, polyline, run
from workers.analysis import (
    DynamicsMetrics,
    History,
    RouteMetrics,
    compute_metrics,
    evaluate,
    evaluate_dates,
)


def best_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000.0


def synthetic_runs():
    rng = np.random.default_rng(0)
    for km in (10, 42.2):
        side = km * 1000 / 4
        x, y = polyline([(0, 0), (side, 0), (side, side), (0, side), (0, 0)], step=3.0)
        n = x.size
        alt = 100 + 30 * np.sin(np.arange(n) / 400) + rng.normal(0, 0.3, n)
        yield f"synthetic {km} km, {n} records", make_track(
            x, y, altitude=alt, cadence=170 + rng.normal(0, 3, n), balance=50 + rng.normal(0, 1, n))


def bench_metrics(data: Path, quick: bool) -> None:
    repeat = 3 if quick else 7
    rows = [(name, t.timestamps.size, best_ms(lambda t=t: compute_metrics(t), repeat))
            for name, t in [*real_runs(data, quick), *synthetic_runs()]]
    print("compute_metrics per activity (parsing excluded), best of", repeat)
    for name, n, ms in rows:
        print(f"  {name[:50]:<50} {n:>6} records {ms:7.2f} ms")
    real = [ms for name, _, ms in rows if not name.startswith("synthetic")]
    print(f"  real files: {len(real)} runs, median {statistics.median(real):.2f} ms, "
          f"max {max(real):.2f} ms (target <= 5 ms)")


def ten_year_history(days: int = 3650):
    rng = np.random.default_rng(1)
    keys = [rng.integers(0, 2**40, 120).tolist() for _ in range(6)]  # six usual routes
    items = []
    for d in range(days):
        km = float(rng.uniform(5, 15) if d % 7 else rng.uniform(18, 30))
        route = RouteMetrics(has_gps=True, shape="loop", direction="ccw",
                             segment_keys=keys[d % 6], segment_m=[100] * 120)
        dyn = DynamicsMetrics(cadence_spm=170.0, gct_balance_left_pct=float(rng.normal(50, 0.8)),
                              cadence_by_speed=[[2.75, 900.0, 168.0], [3.0, 1500.0, 171.0]])
        items.append(run(d, km, loss=float(rng.uniform(20, 400)), route=route, dynamics=dyn,
                         gear_id=f"shoe{d // 90}", source="garmin" if d % 3 else "strava"))
    return items


def bench_history(quick: bool) -> None:
    items = ten_year_history()
    last = START + timedelta(days=len(items) - 1)
    repeat = 3 if quick else 7
    build = best_ms(lambda: History.build(items), repeat)
    one = best_ms(lambda: evaluate(items, last), repeat)  # builds a fresh History each time
    print(f"\nevaluate() over {len(items)} daily runs (10 years), best of {repeat}")
    print(f"  evaluate(items, as_of): {one:.1f} ms (target <= 100 ms), of which History.build "
          f"{build:.1f} ms")
    if not quick:
        t0 = time.perf_counter()
        findings = evaluate_dates(History.build(items))
        total = (time.perf_counter() - t0) * 1000.0
        print(f"  every date (3,650 evaluations, analyze without --as-of): {total:.0f} ms, "
              f"{len(findings)} findings")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small files, fewer repeats (CI)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    args = parser.parse_args(argv)
    bench_metrics(args.data, args.quick)
    bench_history(args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
