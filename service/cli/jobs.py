"""`kneeguard jobs failed|retry` (operator): rows whose work failed for good, and a way back.

Only errors that will not change on retry (a bad file, a rule bug) mark a row `failed`; transient
ones (dropped connection, lock timeout, Redis away) leave it pending for the sweeper. So a failed
row needs a person: read the error, fix the cause, then `retry`.
"""

from __future__ import annotations

import click

from service.infra.console import emit


@click.group()
def jobs() -> None:
    """Failed pipeline rows: list them, send them back through the pipeline."""


@jobs.command("failed")
@click.option("--limit", default=100, show_default=True, help="At most this many rows per kind.")
def jobs_failed(limit: int) -> None:
    """Prints {"activities": [...], "events": [...]}: failed analyses and inbound events."""
    from service.infra.console import _runtime

    rt = _runtime()
    with rt.db.session() as s:
        emit(failed_rows(s, limit))


def failed_rows(s, limit: int = 100) -> dict:
    from sqlalchemy import select

    from service.models import Activity, InboundEvent

    acts = s.execute(select(Activity.id, Activity.athlete_id, Activity.start_time, Activity.error,
                            Activity.updated_at).where(Activity.status == "failed")
                     .order_by(Activity.updated_at).limit(limit)).all()
    events = s.execute(select(InboundEvent.id, InboundEvent.source, InboundEvent.kind,
                              InboundEvent.attempts, InboundEvent.last_error,
                              InboundEvent.received_at).where(InboundEvent.status == "failed")
                       .order_by(InboundEvent.received_at).limit(limit)).all()
    return {
        "activities": [{"id": a.id, "athlete": a.athlete_id, "start_time": a.start_time.isoformat(),
                        "error": a.error, "failed_at": a.updated_at.isoformat()} for a in acts],
        "events": [{"id": e.id, "source": e.source, "kind": e.kind, "attempts": e.attempts,
                    "error": e.last_error, "received_at": e.received_at.isoformat()}
                   for e in events],
    }


@jobs.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every failed activity and event.")
def jobs_retry(ids: tuple[str, ...], everything: bool) -> None:
    """Send failed rows (by id, or --all) back to pending and enqueue them; prints the ids."""
    from service.infra.console import _runtime

    if not ids and not everything:
        raise click.UsageError("give row ids (from `kneeguard jobs failed`) or --all")
    rt = _runtime()
    with rt.db.session() as s:
        again = reset_failed(s, None if everything else set(ids))
    _enqueue(rt, again)
    emit(again)


def reset_failed(s, ids: set[str] | None) -> dict:
    from sqlalchemy import select

    from service.models import Activity, InboundEvent, utcnow

    acts = s.scalars(select(Activity).where(Activity.status == "failed")).all()
    events = s.scalars(select(InboundEvent).where(InboundEvent.status == "failed")).all()
    acts = [a for a in acts if ids is None or a.id in ids]
    events = [e for e in events if ids is None or e.id in ids]
    for a in acts:
        a.status, a.error = "parsed", None
    for e in events:
        e.status, e.attempts, e.next_attempt_at = "received", 0, utcnow()
    return {"activities": [a.id for a in acts], "events": [e.id for e in events]}


def _enqueue(rt, again: dict) -> None:
    from service.infra import jobs as table

    for activity_id in again["activities"]:
        table.analyze_activity(rt, activity_id)
    for event_id in again["events"]:
        table.process_event(rt, event_id)
