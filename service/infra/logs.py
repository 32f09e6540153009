"""Structured logs: one JSON object per line, with the RQ job id on every worker line. Every line
passes through service.infra.redact (tokens in paths and URLs never reach a log)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from service.infra.redact import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JobContextFilter(logging.Filter):
    """Adds `job_id` (and `job` name) when the line is logged inside an RQ job."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from rq import get_current_job

            job = get_current_job()
        except Exception:
            job = None
        if job is not None:
            record.job_id = job.id
            record.job = job.func_name
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


class RedactingFormatter(logging.Formatter):
    """The plain-text format (LOG_FORMAT=text, gunicorn's error log), redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(JobContextFilter())
    handler.setFormatter(JsonFormatter() if as_json else RedactingFormatter(
        "%(asctime)s %(levelname)s %(name)s %(job_id)s %(message)s", defaults={"job_id": "-"}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
