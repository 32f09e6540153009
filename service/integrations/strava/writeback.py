"""The Strava description note, as a delivery channel (listed in workers/deliver.py's table).

Strava cannot receive comments from apps, so the write-back is the activity description: read it,
replace only our own marked block (note.py), write it back; the runner's text is kept and an
unchanged description is not written again.

# Reference: ../shared/reference/apis.md §10 (write-back)
"""

from __future__ import annotations

from service.domain import deliveries, grouping
from service.infra.runtime import Runtime
from service.integrations.base import ProviderError, RateLimited
from service.integrations.strava import connection as svc
from service.integrations.strava.note import merge_note, render_note
from service.models import Activity, Athlete, Delivery
from workers.notify.outcome import Outcome, after_failure


def send_note(rt: Runtime, d: Delivery) -> Outcome:
    """GET the description, replace only our block, PUT it back (JSON). Idempotent: an unchanged
    description is not written again."""
    plan = _note_plan(rt, d)
    if isinstance(plan, Outcome):
        return plan
    connection_id, activity_id, note = plan
    try:
        svc.check_budget(rt, "live")
        token = svc.access_token(rt, connection_id)
        api = svc.client(rt)
        current = api.get_activity(token, activity_id).description or ""
        merged = merge_note(current, note)
        if merged != current:
            api.update_description(token, activity_id, merged)
    except LookupError:
        return Outcome("cancelled", error="the Strava connection is gone")
    except RateLimited as exc:
        return Outcome("retry", code=429, error=str(exc)[:500], next_delay_s=exc.retry_after)
    except ProviderError as exc:
        return _note_failure(exc, d)
    return Outcome("ok", code=200)


def _note_failure(exc: ProviderError, d: Delivery) -> Outcome:
    if exc.status == 404:
        return Outcome("cancelled", code=404, error="the activity is gone on Strava")
    if exc.permanent:
        return Outcome("failed", code=exc.status, error=str(exc)[:500])
    return after_failure(d.attempt_count, code=exc.status, error=str(exc)[:500])


def _note_plan(rt: Runtime, d: Delivery) -> tuple[str, str, str] | Outcome:
    with rt.db.session() as s:
        a = s.get(Activity, (d.payload or {}).get("activity_id"))
        if a is None or a.source != svc.PROVIDER or not a.provider_activity_id:
            return Outcome("cancelled", error="the activity is gone")
        athlete = s.get_one(Athlete, a.athlete_id)
        prefs = deliveries.preferences(athlete)
        if not (athlete.note_writeback or prefs.get("strava_note")):
            return Outcome("cancelled", error="the runner switched the note off")
        conn = svc.athlete_connection(s, athlete.id)
        if conn is None or conn.status != "active":
            return Outcome("cancelled", error="the Strava connection is gone")
        if svc.WRITE_SCOPE not in (conn.scopes or []):
            return Outcome("failed", error="the runner did not grant activity:write")
        findings = grouping.note_findings(s, a.id)  # the newest note row's set, still held
        note = render_note([deliveries.finding_data(f) for f in findings],
                           f"{rt.settings.public_url}/me",
                           min_severity=prefs.get("min_severity", "caution"))
        return conn.id, a.provider_activity_id, note
