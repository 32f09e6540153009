"""`kneeguard analyze` (stateless) and `kneeguard import` (into the database)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click


def _progress(paths: list[str]):
    """A progress bar on stderr when there is more than a handful of files."""
    from tqdm import tqdm

    files = _expand(paths)
    return tqdm(files, unit="file", file=sys.stderr, disable=len(files) < 5 or not sys.stderr.isatty()
                and len(files) < 50, leave=False)


ACTIVITY_SUFFIXES = {".fit", ".gpx", ".tcx", ".gz", ".zip", ".json"}


def _expand(paths: list[str]) -> list[str]:
    """Files named on the command line, plus activity-looking files inside folders."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(str(f) for f in path.rglob("*")
                          if f.is_file() and f.suffix.lower() in ACTIVITY_SUFFIXES)
        else:
            out.append(str(path))
    return out


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the kneeguard.analysis/v1 document.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="As if today were this day: later files ignored, findings of the 7 days up "
                   "to it reported (default: every day with a run).")
@click.option("--utc-offset", "utc_offset", type=click.FloatRange(-12, 14), default=0.0,
              help="Your UTC offset in hours, for files that carry no local time (default 0).")
def analyze(paths: tuple[str, ...], as_json: bool, as_of, utc_offset: float) -> None:
    """Analyse files, folders and archives as one runner's history (nothing is stored)."""
    from workers.analysis import analyze_tracks, render_text
    from workers.parsing import iter_paths

    tracks, skipped = [], []
    for path in _progress(list(paths)):
        for parsed in iter_paths([path]):
            tracks += [(parsed.file, t) for t in parsed.tracks]
            skipped += [{"file": k.file, "reason": k.reason} for k in parsed.skipped]
    day: date | None = as_of.date() if as_of else None
    document = analyze_tracks(tracks, day, source="upload", skipped=skipped,
                              thresholds=_thresholds(), utc_offset_s=int(utc_offset * 3600))
    click.echo(json.dumps(document, indent=2) if as_json else render_text(document))


def _thresholds():
    """Deployment thresholds from KNEEGUARD_THRESHOLDS only: `analyze` is stateless and must not
    need (or create) the service's database or secrets."""
    import os

    from workers.analysis import Thresholds

    raw = os.environ.get("KNEEGUARD_THRESHOLDS", "").strip()
    if not raw:
        return None
    try:
        return Thresholds.from_mapping(raw)
    except ValueError as exc:
        raise click.UsageError(f"KNEEGUARD_THRESHOLDS: {exc}") from None
