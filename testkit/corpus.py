"""The real running tracks of the shared corpus (`../shared/data`, beside a checkout), for the benches
that measure the engine on real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from workers.parsing import InvalidFile, parse_bytes
from workers.parsing.track import Track


def real_runs(data: Path, quick: bool, kinds: tuple[str, ...] = ("fit", "gpx")
              ) -> Iterator[tuple[str, Track]]:
    """(file name, Track) for every running track in shared/data (big files skipped with quick)."""
    folders = [data / "activities" / kind for kind in kinds]
    for path in sorted(p for folder in folders for p in folder.glob("*")):
        if quick and path.stat().st_size > 300_000:
            continue
        try:
            tracks = parse_bytes(path.read_bytes(), path.name).tracks
        except InvalidFile:
            continue
        yield from ((path.name, t) for t in tracks if t.is_run)
