"""Run the web service under gunicorn.

Embedded default: one web process with threads, and the queue worker + sweeper as threads inside it
(SQLite and the in-process queue live in that one process). With REDIS_URL: several web processes;
jobs run in `kneeguard worker` processes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable

from flask import Flask
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from service.infra.logs import RedactingFormatter
from service.infra.redact import redact
from service.infra.settings import Settings

log = logging.getLogger(__name__)
AppFactory = Callable[[Settings], Flask]


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict, make_app: AppFactory) -> None:
        self.settings = settings
        self.options = options
        self.make_app = make_app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Called in the worker process after the fork: connections are opened here, never before.
        from service.infra import memory, sweeper

        memory.limit_arenas()  # before the request threads start (service/infra/memory.py)

        app = self.make_app(self.settings)
        runtime = app.extensions["kneeguard"]
        if runtime.queue.embedded:
            runtime.queue.start_embedded_worker()
            sweeper.start_thread(runtime, self.settings.sweep_interval_s)
        memory.freeze_long_lived()  # the app and the imports: never garbage, never scanned again
        return app


# gunicorn's default logs the request line with its query string (%(r)s); a token or code in a
# URL would end up in the log. %(U)s is the path alone, and RedactingLogger takes the secrets
# out of paths that carry one (invites, email confirmations, unsubscribes).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with secrets taken out of the access log's path and request line, and
    out of its error log (which names the path of a request that failed)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(RedactingFormatter(self.error_fmt, self.datefmt))


def end_worker(arbiter, worker) -> None:
    """gunicorn's `worker_exit` hook. A web process whose loop ended normally (a stop or a
    max_requests recycle: its in-flight requests are answered) ends here, without the interpreter's
    teardown. That teardown (garbage collection and clearing every module) writes to each object
    the process inherited from the master's preload, so every process copies every shared page
    (copy-on-write), all of them at once: CPU-bound, it made `docker stop` of web take ~10 s on
    a loaded 2-core machine (docs/decisions.md, "Issue 27: the two open figures"). A failed boot
    or a crash keeps gunicorn's exit status (the master reads it)."""
    ending = sys.exc_info()[1]
    if not isinstance(ending, SystemExit) or ending.code not in (0, None):
        return
    runtime = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("kneeguard")
    if runtime is not None and not runtime.queue.embedded:
        runtime.db.dispose()  # say goodbye to PostgreSQL (the embedded worker may hold a connection)
    sys.stdout.flush()  # the logs' handlers flush each record; print() output may be buffered
    sys.stderr.flush()
    os._exit(0)


def quit_once(worker) -> None:
    """gunicorn's `post_worker_init` hook. The gthread worker's quit handler (SIGINT, SIGQUIT) shuts
    its thread pool down under a lock that the handler itself takes, and Ctrl+C on a terminal
    signals every process of the group: a web process gets SIGINT from the terminal, then SIGQUIT
    from the master. When the second lands while the first holds that lock, the process deadlocks
    until the master kills it at the graceful timeout, 30 s later (`kneeguard sandbox` under load:
    2 stops in 3). The first quit signal starts the stop; a second one has nothing left to do."""
    first = worker.handle_quit

    def handle_quit(sig, frame) -> None:
        if not getattr(worker, "_quitting", False):
            worker._quitting = True
            first(sig, frame)

    signal.signal(signal.SIGQUIT, handle_quit)
    signal.signal(signal.SIGINT, handle_quit)


def gunicorn_options(host: str, port: int, workers: int, log_level: str, *,
                     max_requests: int = 1000) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": 8,
        "worker_class": "gthread",
        "timeout": 120,
        # Recycle each web process after ~1,000 requests (jitter spreads the restarts so both
        # processes never restart at once): upload parsing left RSS creeping upward in long-lived
        # processes (issue: ~110 MB -> ~300 MB over ~750 uploads); a fresh process bounds it.
        # Graceful: the old process finishes its in-flight requests first. The web memory itself
        # is bounded by design (infra/memory.py): bench/soak.py measures it with recycling off
        # (KNEEGUARD_WEB_MAX_REQUESTS=0).
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10,
        "graceful_timeout": 30,
        "worker_exit": end_worker,
        "post_worker_init": quit_once,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": RedactingLogger,
        "errorlog": "-",
        "loglevel": log_level.lower(),
    }


def run(settings: Settings, host: str, port: int, web_workers: int | None,
        make_app: AppFactory, preload: Callable[[], None] | None = None) -> None:
    """Serve `make_app(settings)` (the CLI passes `service.create_app`: infra sits below the web
    side and never imports it). `preload` runs in the master before the fork: imports only, so
    that recycled web processes start warm; connections are still opened after the fork."""
    if preload is not None:
        preload()
        from service.infra import memory

        memory.freeze_long_lived()  # before the fork: the web processes share these pages
    embedded = settings.embedded_queue
    workers = 1 if embedded else (web_workers or 2 * (os.cpu_count() or 1) + 1)
    if embedded and web_workers and web_workers > 1:
        log.warning("the embedded default runs one web process; set REDIS_URL for more")
    options = gunicorn_options(host, port, workers, settings.log_level,
                               max_requests=settings.web_max_requests)
    log.info("serving", extra={"url": f"http://{host}:{port}", "queue": "embedded" if embedded
                               else "redis", "workers": workers})
    _Gunicorn(settings, options, make_app).run()
