"""A runner with an imported past: real running files re-dated one a day (the import bench's
archive, in Strava's export layout), ending long before today, imported as `kneeguard import`
does. What a runner with years of history meets first on /me."""

from __future__ import annotations

import dataclasses
import importlib.util
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from service.domain import accounts, importer
from service.models import Finding

ROOT = Path(__file__).resolve().parents[2]
END = date(2024, 6, 1)  # the history ends here: more than a year before any test runs


def build_archive(path: Path, runs: int) -> Path:
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build_archive(path, runs, END, oddities=False)
    return path


def imported_runner(runtime, folder: Path, runs: int = 36,
                    email: str = "history@example.com") -> tuple[str, str, importer.Report]:
    """(athlete id, personal token, the import's report)."""
    athlete_id, token = accounts.add_athlete(runtime, email)
    archive = build_archive(folder / "export.zip", runs)
    report = importer.run_import(runtime, athlete_id, [str(archive)], "strava_export")
    runtime.queue.drain()  # on Redis the import only enqueued its analysis: the report has no count
    if report.findings is None:
        with runtime.db.session() as s:
            found = s.scalar(select(func.count()).select_from(Finding)
                             .where(Finding.athlete_id == athlete_id))
        report = dataclasses.replace(report, findings=found)
    return athlete_id, token, report
