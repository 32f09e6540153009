"""`kneeguard import`: files, folders and archives into one runner's stored history.

On a terminal: a progress bar per file on stderr (tqdm: the file being read, how many are done,
the time left), a line when analysis starts, and a summary in words at the end. When stdout is not
a terminal (a script, a pipe, a log) or with `--json`: no bar, only the JSON summary on stdout.

`--athlete` names an existing runner; a new one is made only with `--create-athlete`, so a typo
in the address never starts a second, empty history.
"""

from __future__ import annotations

import sys

import click

from service.infra.console import emit

STAGES = {"early": "analysing the last four weeks (findings appear on /me now)…",
          "final": "analysing the whole history…"}


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--athlete", "email", required=True, help="The runner's email.")
@click.option("--create-athlete", "create", is_flag=True,
              help="Create the runner if no account has this email yet.")
@click.option("--source", type=click.Choice(["upload", "strava_export", "garmin_export"]),
              default=None, help="Where the files came from (default: guessed per archive).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the machine-readable summary (the default when stdout is not a "
                   "terminal).")
def import_(paths: tuple[str, ...], email: str, create: bool, source: str | None,
            as_json: bool) -> None:
    """Import files, folders and archives into the database; they are analysed and delivered.

    Exits 0 when the import ran, even if some files were skipped (the summary says why)."""
    from service.domain import importer
    from service.infra.console import _runtime

    runtime = _runtime()
    athlete_id = _athlete(runtime, email, create)
    as_json = as_json or not sys.stdout.isatty()
    with Progress(importer.count_units(list(paths)), show=not as_json) as progress:
        report = importer.run_import(runtime, athlete_id, list(paths), source, progress.step,
                                     on_stage=progress.stage)
    if as_json:
        emit(_summary(report, email))
    else:
        click.echo(_human(report, email))


def _athlete(runtime, email: str, create: bool) -> str:
    from sqlalchemy import select

    from service.domain import accounts
    from service.models import Athlete

    try:
        with runtime.db.session() as s:
            if create:
                return accounts.get_or_create_athlete(s, email).id
            found = s.scalar(select(Athlete).where(
                Athlete.email == accounts.normalise_email(email)))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if found is None:
        raise click.UsageError(
            f"no runner has the email {email!r}: check the spelling, or add --create-athlete "
            "to make a new runner with it")
    return found.id


class Progress:
    """tqdm on stderr, per file, only when a person is watching (stderr is a terminal)."""

    def __init__(self, total: int, show: bool) -> None:
        from tqdm import tqdm

        # every file redraws the bar (mininterval=0): a file takes far longer than a redraw,
        # and the name shown is the file being read now
        self.bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True,
                        mininterval=0, miniters=1, desc="importing",
                        disable=not (show and sys.stderr.isatty()))

    def step(self, label: str) -> None:
        if self.bar.n >= (self.bar.total or 0):  # nested archives hold more than their parent lists
            self.bar.total = (self.bar.total or 0) + 1
        self.bar.set_postfix_str(label.rsplit("!", 1)[-1].rsplit("/", 1)[-1][-40:],
                                 refresh=False)
        self.bar.update(1)

    def stage(self, name: str) -> None:
        if not self.bar.disable:
            self.bar.write(f"kneeguard: {STAGES.get(name, name)}", file=sys.stderr)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


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
    lines.append(_analysis_line(report))
    for title, items in (("Skipped", r.skipped), ("Duplicates", r.duplicates)):
        if items:
            lines.append(f"{title}:")
            lines += [f"  {i['file']}: {i['reason']}" for i in items[:shown]]
            if len(items) > shown:
                lines.append(f"  … and {len(items) - shown} more (--json lists them all)")
    return "\n".join(line for line in lines if line)


def _analysis_line(report) -> str:
    if report.analysis == "done":
        return (f"Analysis done: {report.findings or 0} findings (on /me, grouped by week; "
                "only recent ones are emailed).")
    if report.analysis == "incomplete":
        return ("Analysis did not finish: some runs wait for analysis (see the log and "
                "`kneeguard jobs failed`); the server's sweeper retries them run by run.")
    if report.analysis == "queued":
        return "Analysis queued: the workers will store the findings and deliver them."
    return ""
