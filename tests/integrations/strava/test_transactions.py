"""No database transaction stays open while Strava answers: an ingest job reads what it needs,
releases its connection, calls Strava, then writes (a slow or rate-limited Strava must not hold
row locks or a pooled connection, and SQLite cannot let a transaction that read before another
connection committed write afterwards).

Checked where it happens: the fake Strava looks at our connection pool at the moment each API
request reaches it. A Session holds a pooled connection exactly while its transaction is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import add_history, connect


def _watch(fake, runtime) -> list[tuple[str, int]]:
    """(path, connections checked out of our pool) for every Strava API call from now on."""
    seen: list[tuple[str, int]] = []
    inner = fake.app.wsgi_app

    def looking(environ, start_response):
        if environ["PATH_INFO"].startswith("/api/v3"):
            seen.append((environ["PATH_INFO"], runtime.db.engine.pool.checkedout()))
        return inner(environ, start_response)

    fake.app.wsgi_app = looking
    return seen


def test_the_jobs_hold_no_transaction_while_strava_answers(runtime, fake, live, runner):
    _athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    add_history(fake, strava_athlete, runs=6)
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    assert connect(live, fake, token, strava_athlete).status_code == 200
    seen = _watch(fake, runtime)
    runtime.queue.drain()  # the backfill sync: a listing, then streams per run
    new = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=1), 12_000.0)
    assert fake.send_event("activity", new, "create", strava_athlete).status_code == 200
    runtime.queue.drain()  # the create: the activity, its streams, then the note (GET + PUT)
    fake.delete_activity(new)
    assert fake.send_event("activity", new, "delete", strava_athlete).status_code == 200
    runtime.queue.drain()  # the delete, confirmed by a 404
    paths = {p.rsplit("/", 1)[-1] for p, _ in seen}
    assert {"activities", "streams", str(new)} <= paths  # listing, streams, the activity itself
    assert [(p, n) for p, n in seen if n] == []
