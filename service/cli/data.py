"""`kneeguard analyze` (stateless) and `kneeguard import` (into the database)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from service.infra.console import emit


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


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--athlete", "email", required=True, help="The runner's email (created if new).")
@click.option("--source", type=click.Choice(["upload", "strava_export", "garmin_export"]),
              default=None, help="Where the files came from (default: guessed per archive).")
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable summary.")
def import_(paths: tuple[str, ...], email: str, source: str | None, as_json: bool) -> None:
    """Import files, folders and archives into the database; they are analysed and delivered.

    Exits 0 when the import ran, even if some files were skipped (the summary says why)."""
    from tqdm import tqdm

    from service.domain import accounts, importer
    from service.infra.console import _runtime

    runtime = _runtime()
    try:
        with runtime.db.session() as s:
            athlete_id = accounts.get_or_create_athlete(s, email).id
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    total = importer.count_units(list(paths))
    with tqdm(total=total, unit="file", file=sys.stderr, leave=False,
              disable=not sys.stderr.isatty() or total < 2) as bar:
        def step(label: str) -> None:
            if bar.n >= (bar.total or 0):  # nested archives hold more than their parent lists
                bar.total = (bar.total or 0) + 1
            bar.set_postfix_str(label.rsplit("!", 1)[-1][-40:], refresh=False)
            bar.update(1)

        report = importer.run_import(runtime, athlete_id, list(paths), source, step)
    if as_json:
        emit(_summary(report, email))
    else:
        click.echo(_human(report, email))


def _summary(report, email: str) -> dict:
    r = report.result
    return dict(r.as_dict(), athlete_id=report.athlete_id, email=email, analysis=report.analysis,
                counts={"created": len(r.created), "duplicates": len(r.duplicates),
                        "skipped": len(r.skipped), "findings": report.findings})


def _human(report, email: str, shown: int = 20) -> str:
    r = report.result
    lines = [f"Imported for {email} ({report.athlete_id}): {len(r.created)} activities created, "
             f"{len(r.duplicates)} duplicates, {len(r.skipped)} skipped."]
    if report.first_start is not None:
        lines.append(f"New runs from {report.first_start:%Y-%m-%d} to {report.last_start:%Y-%m-%d}.")
    if report.analysis == "done":
        lines.append(f"Analysis done: {report.findings or 0} findings "
                     "(see /me, or the API; recent ones are emailed).")
    elif report.analysis == "incomplete":
        lines.append("Analysis did not finish: some runs wait for analysis (see the log and "
                     "`kneeguard jobs failed`); the server's sweeper retries them run by run.")
    elif report.analysis == "queued":
        lines.append("Analysis queued: the workers will store the findings and deliver them.")
    for title, items in (("Skipped", r.skipped), ("Duplicates", r.duplicates)):
        if items:
            lines.append(f"{title}:")
            lines += [f"  {i['file']}: {i['reason']}" for i in items[:shown]]
            if len(items) > shown:
                lines.append(f"  … and {len(items) - shown} more (--json lists them all)")
    return "\n".join(lines)
