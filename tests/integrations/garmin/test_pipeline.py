"""Notifications in, activities and findings out, against the fake Garmin over real HTTP."""

from __future__ import annotations

import requests
from sqlalchemy import func, select

from service.integrations.garmin.fake.data import ALL_PERMISSIONS
from service.models import Activity, Finding, InboundEvent, RawFile
from testkit.receiver import Receiver
from tests.integrations.garmin.conftest import connection
from workers.ingest import process_event

ROAD_RUN = "msimms__20210507_run_garmin_fenix_6.fit"  # 9386 m, device descent 14 m
FILE_PATH = "/wellness-api/rest/activityFile"


def _activities(runtime) -> list[Activity]:
    with runtime.db.session() as s:
        return list(s.scalars(select(Activity).order_by(Activity.start_time)))


def _count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _file_events(runtime) -> list[InboundEvent]:
    with runtime.db.session() as s:
        return list(s.scalars(select(InboundEvent).where(InboundEvent.kind == "activity_file")))


def _downloads(fake) -> list[int]:
    return [c.status for c in fake.calls_to(FILE_PATH)]


def test_a_file_ping_is_downloaded_analysed_and_a_spike_is_found(fake, live, runtime,
                                                                 athlete, garmin_user):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    # The spike rule needs 28 days and 3 runs of history (issue 11): an older easy run first.
    older = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": run.start - 29 * 86400, "distanceInMeters": 3000.0,
        "durationInSeconds": 1100})
    manual = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": run.start - 6 * 86400, "distanceInMeters": 4000.0,
        "durationInSeconds": 1500, "totalElevationLossInMeters": 35.0})
    assert fake.send_activities_push(garmin_user, [older, manual, run]).status == 200
    runtime.queue.drain()
    assert fake.send_activity_files_ping(garmin_user, [run]).status == 200
    runtime.queue.drain()
    _, first, second = _activities(runtime)
    assert first.manual and first.distance_m == 4000.0
    assert first.metrics["elevation"]["device_loss_m"] == 35.0  # the summary's elevation loss
    assert (second.source, second.provider_activity_id) == ("garmin", str(run.activity_id))
    assert second.status == "analyzed" and second.raw_file_id is not None
    assert abs(second.distance_m - 9386) < 50
    assert second.metrics["elevation"]["device_loss_m"] == 14.0
    with runtime.db.session() as s:
        spike = s.scalar(select(Finding).where(Finding.activity_id == second.id,
                                               Finding.rule == "single_run_spike"))
    assert spike is not None and spike.severity == "high"  # 9.4 km after a 4 km longest run
    assert spike.sources == ["garmin"]


def test_duplicate_pings_create_one_activity_and_one_download(fake, live, runtime,
                                                              garmin_user):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    for _ in range(3):
        assert fake.send_activity_files_ping(garmin_user, [run]).status == 200
    runtime.queue.drain()
    fake.send_activity_files_ping(garmin_user, [run])  # after processing, too
    runtime.queue.drain()
    assert len(_activities(runtime)) == 1
    assert len(_file_events(runtime)) == 1
    assert _downloads(fake) == [200]


def test_a_retry_after_a_crash_uses_the_stored_file(fake, live, runtime, garmin_user,
                                                    monkeypatch):
    import service.integrations.garmin.jobs as jobs

    real_parse = jobs.parse_bytes

    def crash(data: bytes, filename: str):
        raise RuntimeError("worker died mid-parse")

    monkeypatch.setattr(jobs, "parse_bytes", crash)
    run = fake.add_activity(garmin_user, ROAD_RUN)
    fake.send_activity_files_ping(garmin_user, [run])
    runtime.queue.drain()
    [event] = _file_events(runtime)
    assert event.status == "received" and event.attempts == 1  # left for a retry
    assert _count(runtime, RawFile) == 1 and _activities(runtime) == []
    # Garmin will not serve the file again...
    assert requests.get(fake.callback_url(run), timeout=5).status_code == 410
    monkeypatch.setattr(jobs, "parse_bytes", real_parse)
    process_event(event.id)  # ...and the retry does not need it to.
    runtime.queue.drain()
    [activity] = _activities(runtime)
    assert activity.status == "analyzed"
    assert _downloads(fake) == [200, 410]  # our one download, then the test's own probe


def test_a_spent_callback_with_no_stored_copy_fails_with_a_clear_reason(fake, live, runtime,
                                                                        garmin_user):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    assert requests.get(fake.callback_url(run), timeout=5).status_code == 200  # spent
    fake.send_activity_files_ping(garmin_user, [run])
    runtime.queue.drain()
    [event] = _file_events(runtime)
    assert event.status == "failed" and "410" in event.last_error
    assert _activities(runtime) == []


def test_a_callback_on_another_host_is_refused_without_any_request(fake, live, runtime,
                                                                   garmin_user):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    with Receiver(verify=False, status="200 OK") as canary:
        url = f"{canary.url}{FILE_PATH}?id=1&token=stolen"
        assert fake.send_activity_files_ping(garmin_user, [run], callback_url=url).status == 200
        runtime.queue.drain()
        assert canary.requests == []
    [event] = _file_events(runtime)
    assert event.status == "failed" and "not on the Garmin API host" in event.last_error
    assert _downloads(fake) == []


def test_deregistration_deletes_tokens_and_garmin_data_but_keeps_uploads(
        client, fake, live, runtime, athlete, garmin_user, data_dir):
    upload = data_dir / "activities" / "fit" / "fitparse__activity-small-fenix2-run.fit"
    resp = client.post(f"/v1/athletes/{athlete[0]}/activities?filename=small.fit",
                       data=upload.read_bytes(),
                       headers={"Authorization": f"Bearer {athlete[1]}"})
    assert resp.status_code == 202
    fake.send_activity_files_ping(garmin_user, [fake.add_activity(garmin_user, ROAD_RUN)])
    runtime.queue.drain()
    assert len(_activities(runtime)) == 2
    fake.revoke_user(garmin_user)  # the user removes us in Garmin Connect
    assert [d.status for d in fake.deliver_pending()] == [200]
    runtime.queue.drain()
    conn = connection(runtime, garmin_user)
    assert conn.status == "revoked" and conn.refresh_token_enc is None
    assert [a.source for a in _activities(runtime)] == ["upload"]
    with runtime.db.session() as s:
        assert s.scalars(select(RawFile.source)).all() == ["upload"]
        assert all("garmin" not in f.sources for f in s.scalars(select(Finding)))


def test_removing_activity_export_pauses_ingestion_and_the_run_comes_in_when_it_returns(
        fake, live, runtime, garmin_user):
    from service.infra import sweeper

    fake.send_permissions_change(garmin_user, {"HEALTH_EXPORT"})
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "disabled"
    run = fake.add_activity(garmin_user, ROAD_RUN)
    assert fake.send_activity_files_ping(garmin_user, [run]).status == 200
    runtime.queue.drain()
    [event] = _file_events(runtime)
    assert event.status == "paused" and _downloads(fake) == []  # waits; nothing fetched
    fake.send_permissions_change(garmin_user, set(ALL_PERMISSIONS))
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "active"
    sweeper.sweep(runtime)  # the resumed notification is due again
    runtime.queue.drain()
    assert [a.provider_activity_id for a in _activities(runtime)] == [str(run.activity_id)]
    assert _downloads(fake) == [200]


def test_an_activities_ping_pulls_summaries_and_stores_manual_runs(fake, live, runtime,
                                                                   garmin_user):
    manual = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": 1620000000, "distanceInMeters": 5000.0,
        "durationInSeconds": 1800, "activityType": "TREADMILL_RUNNING"})
    fake.add_activity(garmin_user, ROAD_RUN)  # recorded: its file comes separately
    upload = manual.upload_time
    assert fake.send_activities_ping(garmin_user, upload - 60, upload + 60).status == 200
    runtime.queue.drain()
    [activity] = _activities(runtime)
    assert activity.provider_activity_id == str(manual.activity_id)
    assert (activity.sub_sport, activity.manual, activity.status) == ("treadmill", True,
                                                                      "analyzed")


def test_an_expiring_token_is_refreshed_once_and_the_rotated_one_stored(fake, live, runtime,
                                                                        garmin_user):
    from datetime import timedelta

    from service.models import Connection, utcnow

    with runtime.db.session() as s:
        conn = s.scalar(select(Connection).where(Connection.provider_user_id == garmin_user))
        old_refresh = runtime.box.decrypt(conn.refresh_token_enc)
        conn.expires_at = utcnow() + timedelta(seconds=30)  # inside the refresh margin
    fake.expire_access_tokens(garmin_user)
    fake.send_activity_files_ping(garmin_user, [fake.add_activity(garmin_user, ROAD_RUN)])
    runtime.queue.drain()
    assert len(_activities(runtime)) == 1
    refreshes = [c for c in fake.calls_to("/di-oauth2-service/integrations/oauth/token") if c.status == 200]
    assert len(refreshes) == 2  # the code exchange at connect, then exactly one refresh
    stored = connection(runtime, garmin_user)
    assert runtime.box.decrypt(stored.refresh_token_enc) != old_refresh
    assert stored.expires_at > utcnow() + timedelta(hours=23)


def test_a_manual_activity_updated_in_garmin_is_updated_not_duplicated(fake, live, runtime,
                                                                       garmin_user):
    manual = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": 1620000000, "distanceInMeters": 5000.0, "durationInSeconds": 1800})
    fake.send_activities_push(garmin_user, [manual])
    runtime.queue.drain()
    manual.summary["distanceInMeters"] = 6000.0
    fake.send_activities_push(garmin_user, [manual])
    runtime.queue.drain()
    [activity] = _activities(runtime)
    assert activity.distance_m == 6000.0 and activity.status == "analyzed"


def test_an_older_run_arriving_later_reanalyses_the_newer_one_at_once(fake, live, runtime,
                                                                       garmin_user):
    """Garmin delivers a backfill newest first: the newer run goes back to `parsed` when the
    older one is stored, and the ingest job enqueues its analysis (no sweeper round here). Runs
    from a summary came from no file, so they name none."""
    newer = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": 1_700_000_000, "distanceInMeters": 8000.0,
        "durationInSeconds": 2900})
    older = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": 1_700_000_000 - 5 * 86400, "distanceInMeters": 5000.0,
        "durationInSeconds": 1800})
    assert fake.send_activities_push(garmin_user, [newer]).status == 200
    runtime.queue.drain()
    assert [a.status for a in _activities(runtime)] == ["analyzed"]
    assert fake.send_activities_push(garmin_user, [older]).status == 200
    runtime.queue.drain()
    stored = _activities(runtime)
    assert [(a.distance_m, a.status) for a in stored] == [(5000.0, "analyzed"),
                                                          (8000.0, "analyzed")]
    assert [a.file_name for a in stored] == [None, None]
