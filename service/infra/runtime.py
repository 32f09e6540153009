"""The process-wide runtime: settings, database and queue, built once from Settings.

Jobs take ids and look their world up here, so an RQ worker, the embedded worker thread and tests
all run the same job code. Nothing is created at import; `build()` is called by create_app / the
worker entry point.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.infra.crypto import TokenBox
from service.infra.db import Database
from service.infra.queue import JobQueue
from service.infra.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    queue: JobQueue
    box: TokenBox

    def close(self) -> None:
        self.queue.stop_embedded_worker()
        self.db.dispose()


_current: Runtime | None = None


def build(settings: Settings) -> Runtime:
    global _current
    _current = Runtime(
        settings=settings,
        db=Database(settings.database_url),
        queue=JobQueue(settings.redis_url, lease_s=settings.job_lease_s),
        box=TokenBox(settings.encryption_keys),
    )
    return _current


def current() -> Runtime:
    if _current is None:
        # A worker started without create_app: build from the environment.
        return build(Settings.from_env())
    return _current
