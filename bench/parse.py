"""Parse speed: the project's parsers next to the bare libraries, and time to refuse hostile input.

    python bench/parse.py [--quick] [--repeats N]

For every real FIT file: median CPU time of `workers.parsing.fit.parse_fit` (bytes -> Tracks) and
of bare fitparse decoding the same bytes (`FitFile(BytesIO(data), check_crc=True)`, every message
from `get_messages()`, `get_values()` on each), and their ratio. The same for GPX against
`gpxpy.parse`. Runs are interleaved so machine noise hits both sides alike.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import fitparse
import gpxpy

from service.infra.corpus import ACTIVITIES
from testkit import hostile
from workers.parsing import parse_bytes
from workers.parsing.fit import parse_fit
from workers.parsing.gpx import parse_gpx
from workers.parsing.track import InvalidFile

DATA = ACTIVITIES
GPX_REPEAT_FACTOR = 5


def bare_fitparse(data: bytes) -> None:
    for message in fitparse.FitFile(io.BytesIO(data), check_crc=True).get_messages():
        message.get_values()


def bare_gpxpy(data: bytes) -> None:
    gpxpy.parse(data.decode("utf-8-sig"))


def timed(func: Callable[[bytes], object], data: bytes) -> float | None:
    """CPU seconds of this process: on a shared machine, wall time mostly measures neighbours.
    Each run starts from a collected heap so one side does not pay for the other's garbage."""
    gc.collect()
    start = time.process_time()
    try:
        func(data)
    except Exception:  # bare fitparse 1.2.0 cannot read one valid file
        return None
    return time.process_time() - start


def compare(title: str, files: list[Path], ours: Callable, bare: Callable, repeats: int) -> None:
    print(f"\n{title}\n{'file':52} {'ours s':>8} {'bare s':>8} {'ratio':>7}")
    ratios = []
    for path in files:
        data = path.read_bytes()
        mine, theirs = [], []
        for _ in range(repeats):
            theirs.append(timed(bare, data))
            mine.append(timed(ours, data))
        ours_s = statistics.median(t for t in mine if t is not None)
        if None in theirs:
            print(f"{path.name[:52]:52} {ours_s:8.3f} {'error':>8} {'n/a':>7}")
            continue
        bare_s = statistics.median(theirs)
        ratios.append((ours_s / bare_s, path.name))
        print(f"{path.name[:52]:52} {ours_s:8.3f} {bare_s:8.3f} {ours_s / bare_s:7.2f}")
    worst = max(ratios)
    print(f"summary {title}: median ratio {statistics.median(r for r, _ in ratios):.2f}, "
          f"worst {worst[0]:.2f} ({worst[1]}), files {len(ratios)}, repeats {repeats}")


def refusals() -> None:
    fit = (DATA / "fit" / "fitparse__garmin-fenix-5-run.fit").read_bytes()
    cases = {
        "billion laughs GPX": hostile.billion_laughs_gpx(),
        "XXE GPX": hostile.xxe_gpx(),
        "xmlns bomb GPX (200 KB)": hostile.xmlns_bomb_gpx(),
        "zip bomb (256 MiB member)": hostile.zip_bomb(),
        "lying zip member (64 MiB)": hostile.lying_zip_bomb(),
        "nested zip bomb": hostile.nested_zip_bomb(),
        "gzip bomb in zip (64 MiB)": hostile.gzip_bomb_zip(),
        "gzip bomb upload (64 MiB)": hostile.gzip_of_zeros(64 << 20),
        "path traversal zip": hostile.traversal_zip(fit),
        "10,001-entry zip": hostile.many_entries_zip(10_001),
    }
    print(f"\nhostile inputs\n{'input':32} {'bytes':>10} {'seconds':>8}  outcome")
    for name, payload in cases.items():
        start = time.perf_counter()
        try:
            parsed = parse_bytes(payload, name)
            outcome = f"{len(parsed.tracks)} tracks, {len(parsed.skipped)} skipped: " + (
                parsed.skipped[0].reason if parsed.skipped else "")
        except InvalidFile as exc:
            outcome = f"refused: {exc}"
        print(f"{name:32} {len(payload):10,} {time.perf_counter() - start:8.3f}  {outcome[:70]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per file (CI)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=("fit", "gpx", "hostile"))
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if args.only in (None, "fit"):
        compare("FIT: parse_fit vs bare fitparse", sorted((DATA / "fit").glob("*.fit")),
                parse_fit, bare_fitparse, repeats)
    if args.only in (None, "gpx"):
        # GPX parses are short, so noise from neighbours needs more repeats to average out.
        compare("GPX: parse_gpx vs bare gpxpy.parse", sorted((DATA / "gpx").glob("*.gpx")),
                parse_gpx, bare_gpxpy, repeats * GPX_REPEAT_FACTOR)
    if args.only in (None, "hostile"):
        refusals()


if __name__ == "__main__":
    main()
