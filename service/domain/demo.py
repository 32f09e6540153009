"""`kneeguard demo`: a local demo for people without Strava or Garmin app credentials.

Real activity files (the shared test corpus next to a checkout, or a folder given with --files) are
re-dated into ten weeks of ordinary training ending with one long run, then go through the real
pipeline: parse, metrics, the analyze job, findings, and deliveries (the email lands in the outbox).
The runner shares with a demo club, beside three clubmates with ordinary weeks who share different
things (one keeps the name back, one the warnings), so the dashboard shows what consent changes.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from service.domain import accounts, activities, clubs
from service.infra.corpus import ACTIVITIES
from service.models import Athlete

if TYPE_CHECKING:
    from workers.parsing.track import Track

# Ordinary runs (4-10 km, some hilly, one on a track) cycled through the weeks, then the long one.
EASY = ("fit/msimms__20181108_run_garmin_fenix_3_hr.fit",
        "fit/fitparse__2013-02-06-12-11-14.fit",
        "fit/workoutizer__2019-09-14-17-22-05.fit",
        "fit/fitparse__activity-small-fenix2-run.fit",
        "fit/workoutizer__run_with_coordinates.fit",
        "fit/msimms__20210604_track_run_garmin_fenix_6.fit",
        "gpx/msimms__run_03_garmin.gpx",
        "fit/msimms__20210507_run_garmin_fenix_6.fit")
LONG = "gpx/gc__Move_2014_01_17_09_33_11.gpx"  # 15.5 km: far beyond the month's longest
WEEKS = 10
EMAIL = "demo-runner@example.invalid"
# (name, shares the name, what they share, days between runs): ordinary training, no long run.
CLUBMATES = (("Sam K.", True, ("findings", "distance", "descent", "routes"), 3),
             ("Lee M.", False, ("findings", "distance"), 4),
             ("Noor A.", True, ("distance", "descent"), 2))
MATE_WEEKS = WEEKS


def find_files(given: str | None) -> Path:
    """The folder holding fit/ and gpx/: --files, else the shared corpus beside a checkout."""
    if given:  # a folder named on purpose is used or refused, never silently replaced
        for c in (Path(given), Path(given) / "activities"):
            if (c / LONG).is_file():
                return c
        raise FileNotFoundError(f"--files {given}: no demo activity files there (expected "
                                f"{LONG} under it: the shared/data/activities folder)")
    candidates = [ACTIVITIES, Path.cwd() / "activities"]
    for c in candidates:
        if (c / LONG).is_file():
            return c
    raise FileNotFoundError("demo activity files not found; run `kneeguard demo --files <folder "
                            "with fit/ and gpx/>` (the shared/data/activities folder beside a "
                            "checkout)")


def redate(track, start: datetime):
    """The same recording, moved to `start` (every time stamp shifted by the same amount)."""
    delta = (start - track.start_time).total_seconds()
    track.start_time = start
    track.timestamps = track.timestamps + delta
    track.laps = [dataclasses.replace(lap, start_time=lap.start_time + delta) for lap in track.laps]
    track.pauses = [(a + delta, b + delta) for a, b in track.pauses]
    return track


def schedule(today: datetime) -> list[tuple[str, datetime]]:
    """Ten weeks of runs every two or three days at 07:00, the long run yesterday."""
    plan, day, i = [], WEEKS * 7, 0
    while day > 2:
        plan.append((EASY[i % len(EASY)], today - timedelta(days=day)))
        day -= 2 if i % 3 else 3
        i += 1
    plan.append((LONG, today - timedelta(days=1)))
    return plan


def mate_schedule(today: datetime, index: int, every: int) -> list[tuple[str, datetime]]:
    """A clubmate's ordinary weeks: a run every `every` days, the files in another order, at
    another hour (never at the same moment as the runner's long run)."""
    days = range(MATE_WEEKS * 7, 1, -every)
    return [(EASY[(i * 3 + index) % len(EASY)], today - timedelta(days=day, hours=index + 1))
            for i, day in enumerate(days)]


def load(rt, folder: Path, token: str | None = None) -> dict:
    """Seed the demo runner, the clubmates and the club, into an empty database. `token`: the
    demo runner's token from an earlier start, kept so a printed token stays valid."""
    athlete_id, token = accounts.add_athlete(rt, EMAIL, token=token)
    mates = [accounts.add_athlete(rt, f"clubmate{i}@example.invalid")[0]
             for i in range(len(CLUBMATES))]
    today = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    tracks = _Tracks(folder)
    result = activities.IngestResult()
    with rt.db.session() as s:
        athlete = s.get(Athlete, athlete_id)
        athlete.display_name = "Dana R."
        athlete.preferences = {**(athlete.preferences or {}), "email": True}
        result.extend(_store(s, athlete_id, tracks, schedule(today)))
        runs = len(result.created)
        for i, (mate, (name, *_rest, every)) in enumerate(zip(mates, CLUBMATES, strict=True)):
            s.get(Athlete, mate).display_name = name
            result.extend(_store(s, mate, tracks, mate_schedule(today, i, every)))
        club_id, key = _club(s, athlete_id, mates)
    activities.enqueue_analysis(rt, result)
    rt.queue.drain(max_rounds=500)
    return {"athlete_id": athlete_id, "token": token, "club_id": club_id, "club_key": key,
            "runs": runs, "clubmate_runs": len(result.created) - runs}


def add_history(rt, athlete_id: str, folder: Path, index: int = 0, every: int = 3) -> int:
    """Ordinary recent weeks for an existing runner (the clubmates' kind: real files re-dated to
    end yesterday), analysed; returns the number of runs. For walkthroughs of runners who already
    use kneeguard, e.g. joining a new club."""
    today = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    with rt.db.session() as s:
        result = _store(s, athlete_id, _Tracks(folder), mate_schedule(today, index, every))
    activities.enqueue_analysis(rt, result)
    rt.queue.drain(max_rounds=500)
    return len(result.created)


class _Tracks:
    """Each demo file parsed once; every use gets its own copy to re-date."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.parsed: dict[str, Track] = {}

    def get(self, name: str):
        from workers.parsing import parse_bytes

        if name not in self.parsed:
            self.parsed[name] = parse_bytes((self.folder / name).read_bytes(), name).tracks[0]
        return copy.deepcopy(self.parsed[name])


def _store(s, athlete_id: str, tracks: _Tracks, plan) -> activities.IngestResult:
    result = activities.IngestResult()
    for name, start in plan:
        result.extend(activities.store_track(s, athlete_id, redate(tracks.get(name), start),
                                             "upload", Path(name).name))
    return result


def _club(s, athlete_id: str, mates: list[str]) -> tuple[str, str]:
    club = clubs.create_club(s, "Demo Harriers", admin_athlete_id=athlete_id)
    invite, _ = clubs.create_invite(s, club.id)
    member = clubs.accept_invite(s, invite, athlete_id, list(clubs.CONSENT_SCOPES))
    member.role, member.share_name = "admin", True
    for mate, (_name, share_name, scope, _every) in zip(mates, CLUBMATES, strict=True):
        clubs.accept_invite(s, invite, mate, list(scope)).share_name = share_name
    _, key = clubs.issue_key(s, "club", "demo", ["read"], club_id=club.id)
    s.flush()
    return club.id, key
