"""An upload when the database or the queue fails under it: never a 4xx about the file.

The database connection is really dropped in the middle of the upload's transaction (SQLite: the
driver connection is closed under SQLAlchemy; PostgreSQL: `pg_terminate_backend` on the upload's
backend), at the moment the activity row is written. The answer is 503 with Retry-After, nothing
of the upload is kept, and the same request afterwards succeeds. With the queue down, the upload
is stored and answered 202: the rows are the truth and the sweeper enqueues their analysis.
"""

from __future__ import annotations

import pytest
import redis
from rq import Queue
from sqlalchemy import create_engine, event, func, select, text

from service.infra import sweeper
from service.infra.loopback import free_port
from service.models import Activity, RawFile
from tests.helpers import athlete_with_token

RUN = "activities/fit/sportslib__6909950168.fit"


def count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


class DropConnection:
    """Drop the connection that is about to write the given table, `times` times."""

    def __init__(self, runtime, table: str, times: int) -> None:
        self.engine, self.table, self.left = runtime.db.engine, table, times
        self.admin = create_engine(runtime.settings.database_url) \
            if self.engine.dialect.name == "postgresql" else None

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.drop)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.drop)
        if self.admin is not None:
            self.admin.dispose()

    def drop(self, conn, cursor, statement, *_args):
        if self.left <= 0 or not statement.lstrip().upper().startswith(
                f"INSERT INTO {self.table.upper()}"):
            return
        self.left -= 1
        dbapi = conn.connection.dbapi_connection
        if self.admin is None:
            dbapi.close()  # SQLite: the statement now runs on a closed connection
            return
        with self.admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dbapi.info.backend_pid})


def test_a_dropped_database_connection_is_a_503_and_nothing_half_stored(client, runtime,
                                                                       data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    url = f"/v1/athletes/{athlete_id}/activities?filename=run.fit"
    body = (data_dir / RUN).read_bytes()
    with DropConnection(runtime, "activities", times=10):
        r = client.post(url, data=body, headers=auth)
    assert r.status_code == 503, r.get_json()
    assert r.headers["Retry-After"].isdigit()
    assert r.get_json()["error"]["code"] == "unavailable"
    assert count(runtime, RawFile) == 0 and count(runtime, Activity) == 0
    again = client.post(url, data=body, headers=auth)
    assert again.status_code == 202 and len(again.get_json()["activities"]) == 1


def test_one_dropped_connection_is_retried_inside_the_request(client, runtime, data_dir):
    """A transient drop (PostgreSQL's 57P01, SQLite's closed handle is not transient) passes on
    the in-request retry; either way the client sees no 4xx and one activity is stored."""
    athlete_id, auth = athlete_with_token(runtime)
    url = f"/v1/athletes/{athlete_id}/activities?filename=run.fit"
    with DropConnection(runtime, "activities", times=1):
        r = client.post(url, data=(data_dir / RUN).read_bytes(), headers=auth)
    assert r.status_code in (202, 503), r.get_json()
    if r.status_code == 503:
        r = client.post(url, data=(data_dir / RUN).read_bytes(), headers=auth)
    assert r.status_code == 202 and count(runtime, Activity) == 1


@pytest.fixture
def dead_queue(runtime):
    """Point the job queues at a port where nothing listens (a Redis that went away)."""
    real = runtime.queue.queues
    gone = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    runtime.queue.queues = {name: Queue(name, connection=gone) for name in real}
    yield
    runtime.queue.queues = real


def test_a_queue_down_during_an_upload_stores_it_and_the_sweeper_analyses_it(
        client, runtime, data_dir, dead_queue):
    athlete_id, auth = athlete_with_token(runtime)
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename=run.fit",
                    data=(data_dir / RUN).read_bytes(), headers=auth)
    assert r.status_code == 202, r.get_json()
    [created] = r.get_json()["activities"]
    runtime.queue.queues = {n: Queue(n, connection=runtime.queue.redis)
                            for n in runtime.queue.queues}  # Redis is back
    sweeper.sweep(runtime)
    runtime.queue.drain()
    with runtime.db.session() as s:
        assert s.get(Activity, created["id"]).status == "analyzed"
