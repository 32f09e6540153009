"""Transient errors leave a row pending; permanent ones mark it failed, and `kneeguard jobs
failed|retry` shows it and sends it back. Errors are injected at the rules' seam (a rule bug, a
dropped connection) — the database and the queue are real."""

from sqlalchemy.exc import OperationalError

import workers.analyze as analyze
from service.infra import jobs, sweeper
from service.infra.loopback import free_port
from service.models import Activity
from tests.helpers import athlete_with_token, run_cli, store_runs

kneeguard = run_cli  # in-process: what is tested is the command's JSON, not its process


def status(runtime, activity_id: str) -> tuple[str, str | None]:
    with runtime.db.session() as s:
        a = s.get(Activity, activity_id)
        return a.status, a.error


def test_a_dropped_connection_leaves_the_row_pending_not_failed(runtime, monkeypatch):
    athlete_id, _ = athlete_with_token(runtime)
    [activity_id] = store_runs(runtime, athlete_id, {0: 8.0})
    monkeypatch.setattr(analyze.transient, "BACKOFF_S", (0.0,))

    def dropped(*_args):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(analyze, "evaluate", dropped)
    jobs.analyze_activity(runtime, activity_id)
    runtime.queue.drain()
    assert status(runtime, activity_id) == ("parsed", None)
    monkeypatch.undo()
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert status(runtime, activity_id) == ("analyzed", None)


def test_a_rule_bug_marks_the_row_failed_and_jobs_retry_brings_it_back(runtime, settings,
                                                                       monkeypatch):
    athlete_id, _ = athlete_with_token(runtime)
    [activity_id] = store_runs(runtime, athlete_id, {0: 8.0})

    def bug(*_args):
        return 1 / 0

    monkeypatch.setattr(analyze, "evaluate", bug)
    jobs.analyze_activity(runtime, activity_id)
    runtime.queue.drain()
    assert status(runtime, activity_id) == ("failed", "ZeroDivisionError: division by zero")
    sweeper.sweep(runtime)  # a failed row is not the sweeper's: it would fail again
    runtime.queue.drain()
    listed = kneeguard(settings, "jobs", "failed")
    assert [(a["id"], a["error"]) for a in listed["activities"]] == [
        (activity_id, "ZeroDivisionError: division by zero")]
    monkeypatch.undo()  # the bug is fixed
    assert kneeguard(settings, "jobs", "retry", activity_id) == {
        "activities": [activity_id], "events": []}
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert status(runtime, activity_id) == ("analyzed", None)
    assert kneeguard(settings, "jobs", "failed") == {"activities": [], "events": []}


def test_redis_unavailable_after_the_commit_still_answers_202(client, runtime, data_dir,
                                                              monkeypatch):
    """The upload is stored, the enqueue fails (Redis away): 202, and the sweeper enqueues it once
    Redis is back."""

    from service.infra.queue import JobQueue

    closed = free_port()  # nothing listens there
    athlete_id, auth = athlete_with_token(runtime)
    monkeypatch.setattr(runtime, "queue", JobQueue(f"redis://127.0.0.1:{closed}/0"))
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename=run.fit", headers=auth,
                    data=(data_dir / "activities/fit/msimms__20210507_run_garmin_fenix_6.fit")
                    .read_bytes())
    assert r.status_code == 202, r.get_json()
    [created] = r.get_json()["activities"]
    assert sweeper.sweep(runtime) == 0  # still away: the round logs and goes on
    monkeypatch.undo()
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert status(runtime, created["id"]) == ("analyzed", None)
