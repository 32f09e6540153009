"""No database transaction stays open while Garmin answers: each ingest handler reads what it
needs, releases its connection, calls Garmin, then hands the write back (read, release, call,
write: workers/ingest.py). Checked where it happens: the fake Garmin looks at our connection pool
as each request reaches it. A Session holds a pooled connection exactly while its transaction
is open."""

from __future__ import annotations

from service.integrations.garmin.fake.data import ALL_PERMISSIONS

ROAD_RUN = "msimms__20210507_run_garmin_fenix_6.fit"


def _watch(fake, runtime) -> list[tuple[str, int]]:
    """(path, connections checked out of our pool) for every request Garmin serves from now on."""
    seen: list[tuple[str, int]] = []
    fake.watchers.append(lambda path: seen.append((path, runtime.db.engine.pool.checkedout())))
    return seen


def test_the_jobs_hold_no_transaction_while_garmin_answers(fake, live, runtime, athlete,
                                                          garmin_user):
    seen = _watch(fake, runtime)
    run = fake.add_activity(garmin_user, ROAD_RUN)
    assert fake.send_activity_files_ping(garmin_user, [run]).status == 200
    runtime.queue.drain()  # the file download
    later = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": run.start + 86400, "distanceInMeters": 5000.0,
        "durationInSeconds": 1800})
    assert fake.send_activities_ping(garmin_user, later.upload_time - 60,
                                     later.upload_time + 60).status == 200
    runtime.queue.drain()  # the pull of the summaries the ping names
    assert fake.send_permissions_change(garmin_user, {"HEALTH_EXPORT"}).status == 200
    runtime.queue.drain()  # the permissions re-read before sharing stops
    assert fake.send_permissions_change(garmin_user, set(ALL_PERMISSIONS)).status == 200
    runtime.queue.drain()
    fake.revoke_user(garmin_user)
    assert fake.send_deregistration(garmin_user).status == 200
    runtime.queue.drain()  # confirmed by a refused token before anything is purged
    paths = {p.rsplit("/", 1)[-1] for p, _ in seen}
    assert {"activityFile", "activities", "permissions"} <= paths, paths
    assert [(p, n) for p, n in seen if n] == []
