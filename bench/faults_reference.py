"""bench/faults.py's judge: the one-at-a-time reference, the states it compares, and the figures
(the issue's Done-when in `verdict`)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from service.domain.accounts import hash_token
from testkit.receiver import Receiver

RETRY_LATEST_S = 5 * 1.2 + 3  # the first retry step, +20% jitter, + a few seconds


def add_runners(rt, people: list[dict]) -> None:
    from service.models import Athlete

    with rt.db.session() as s:
        for p in people:
            s.add(Athlete(id=p["id"], email=p["email"], token_hash=hash_token(p["token"]),
                          session_version=1))


# ---- the reference: one at a time --------------------------------------------------------------

def reference(people: list[dict], tmp: Path) -> dict:
    from cryptography.fernet import Fernet

    from service import create_app
    from service.infra import migrate, sweeper
    from service.infra.settings import Settings

    url = f"sqlite:///{tmp / 'reference.db'}"
    migrate.upgrade(url)
    app = create_app(Settings(database_url=url, secret_key="ref", public_url="http://127.0.0.1",
                              encryption_keys=(Fernet.generate_key().decode(),),
                              email_outbox_dir=str(tmp / "ref-outbox"),
                              rate_limits={"key": 10**6, "address": 10**6}))
    rt = app.extensions["kneeguard"]
    add_runners(rt, people)
    client = app.test_client()
    for p in people:
        for name, body in p["files"]:
            r = client.post(f"/v1/athletes/{p['id']}/activities?filename={name}", data=body,
                            headers={"Authorization": f"Bearer {p['token']}"})
            assert r.status_code == 202, (name, r.status_code, r.get_data()[:200])
            for _ in range(5):
                sweeper.sweep(rt)
                rt.queue.drain()
    state = snapshot(rt)
    rt.close()
    return state


def snapshot(rt) -> dict:
    from sqlalchemy import select

    from service.models import Activity, Finding

    with rt.db.session() as s:
        acts = {a.id: (a.athlete_id, a.start_time.isoformat(), round(a.distance_m), a.status)
                for a in s.scalars(select(Activity))}
        found = {f.id: (f.rule, f.date.isoformat(), f.severity, f.activity_id)
                 for f in s.scalars(select(Finding))}
    return {"activities": acts, "findings": found}


# ---- the figures ---------------------------------------------------------------------------------

def delivery_figures(rt, wall0: float) -> dict:
    """Delivery states, and the gap between each retried delivery's attempts 1 and 2 (5 s ± 20%
    on schedule, plus a few seconds); the late ones with when (seconds into the battery) their
    first attempt was, to set beside the faults' times."""
    from sqlalchemy import select

    from service.models import Delivery, DeliveryAttempt

    with rt.db.session() as s:
        attempts: dict[str, list] = {}
        for a in s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.attempted_at)):
            attempts.setdefault(a.delivery_id, []).append(a.attempted_at)
        status = Counter(s.scalars(select(Delivery.status)))
    pairs = [(t[0].timestamp() - wall0, (t[1] - t[0]).total_seconds())
             for t in attempts.values() if len(t) >= 2]
    gaps = [g for _, g in pairs]
    return {"status": dict(status), "retried": len(gaps),
            "retry_gap_s": {f"p{p}": pct(gaps, p) for p in (50, 90, 99, 100)},
            "retries_on_schedule": sum(g <= RETRY_LATEST_S for g in gaps),
            "late": [{"first_attempt_at_s": round(at, 1), "gap_s": round(g, 1)}
                     for at, g in sorted(pairs) if g > RETRY_LATEST_S][:20]}


def webhook_figures(rx: Receiver) -> dict:
    created = Counter()
    ids_per_finding: dict[str, set] = {}
    for m in rx.received:
        if m["payload"]["type"] == "finding.created":
            fid = m["payload"]["data"]["id"]
            created[fid] += 1
            ids_per_finding.setdefault(fid, set()).add(m["id"])
    return {"messages_received": len(rx.received), "rejected_signatures": rx.rejected,
            "findings_announced": len(created), "announced_ids": sorted(created),
            "findings_with_more_than_one_message_id": sum(len(v) > 1 for v in
                                                           ids_per_finding.values()),
            "repeat_deliveries_same_id": sum(c - len(ids_per_finding[f])
                                             for f, c in created.items())}


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


def compare(ref: dict, got: dict) -> dict:
    ref_a, got_a = ref["activities"], got["activities"]
    ref_f, got_f = ref["findings"], got["findings"]
    answers = got["answers"]
    return {
        "activities": {"reference": len(ref_a), "battery": len(got_a),
                       "same_ids_and_runs": {k: v[:3] for k, v in ref_a.items()}
                       == {k: v[:3] for k, v in got_a.items()},
                       "lost": sorted(set(ref_a) - set(got_a)),
                       "duplicated_or_extra": sorted(set(got_a) - set(ref_a)),
                       "not_analysed": sum(v[3] != "analyzed" for v in got_a.values())},
        "findings": {"reference": len(ref_f), "battery": len(got_f),
                     "same_ids_and_values": ref_f == got_f,
                     "missing": len(set(ref_f) - set(got_f)),
                     "extra": len(set(got_f) - set(ref_f))},
        "uploads": {"sent": len(answers), "answers": dict(Counter(str(a["status"])
                                                                  for a in answers)),
                    "answered_4xx": [a for a in answers if a["status"] and
                                     400 <= a["status"] < 500][:5],
                    "retried_after_503_or_drop": sum(len(a["tries"]) > 1 for a in answers),
                    "never_answered": sum(a["status"] is None for a in answers)},
    }


def verdict(cmp: dict, got: dict) -> dict:
    """The issue's Done-when figures in one place."""
    d, w = got["deliveries"], got["webhooks"]
    announced = set(w["announced_ids"])
    return {
        "same_activities_as_reference": cmp["activities"]["same_ids_and_runs"],
        "same_findings_and_ids_as_reference": cmp["findings"]["same_ids_and_values"],
        "activities_lost": len(cmp["activities"]["lost"]),
        "activities_duplicated": len(cmp["activities"]["duplicated_or_extra"]),
        "findings_missing_or_extra": cmp["findings"]["missing"] + cmp["findings"]["extra"],
        "valid_uploads_answered_4xx": len(cmp["uploads"]["answered_4xx"]),
        "uploads_never_answered": cmp["uploads"]["never_answered"],
        "findings_never_announced": sum(f not in announced for f in got["findings"]),
        # A finding announced under two message ids would be a duplicate to an integrator; the
        # same id sent again (a worker killed after sending, before recording) is at-least-once.
        "findings_announced_under_two_ids": w["findings_with_more_than_one_message_id"],
        "messages_redelivered_same_id": w["repeat_deliveries_same_id"],
        "webhook_signatures_rejected": w["rejected_signatures"],
        "deliveries_not_sent": sum(n for k, n in d["status"].items()
                                   if k not in ("sent", "cancelled")),
        "retries_on_schedule": f"{d['retries_on_schedule']} of {d['retried']} "
                               f"(gap <= {RETRY_LATEST_S} s)",
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
