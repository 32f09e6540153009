"""Issue 26: one Strava push walks receiver → jobs table → ingest → the Strava handler → parsing →
the domain (store) → analysis → the domain (findings, deliveries) → the channels, and each stage
enters each of our packages once (README, "One Strava push, start to end"). Traced, not read:
testkit.walk records every call that crosses from one of our packages into another."""

from __future__ import annotations

from service.domain import endpoints
from testkit.receiver import Receiver
from testkit.walk import new_run, push


def _walk(app, runtime, fake, connected):
    _athlete_id, strava_athlete = connected
    return push(app, runtime, new_run(fake, strava_athlete))


def test_each_stage_of_a_push_enters_each_package_once(app, runtime, fake, connected):
    athlete_id, _ = connected
    with Receiver() as rx:  # a webhook endpoint too, so the push reaches every channel
        with runtime.db.session() as s:
            _, secret = endpoints.create(s, runtime.box, url=rx.url, events=["finding.created"],
                                         allow_loopback=True)
        rx.secrets.append(secret)
        walk = _walk(app, runtime, fake, connected)
    names = [stage.name for stage in walk.stages]
    assert names[:3] == ["receiver", "workers.ingest", "workers.analyze"], names
    assert names[3:] and set(names[3:]) == {"workers.deliver"}, names
    assert {stage.name: stage.twice() for stage in walk.stages if stage.twice()} == {}


def test_the_receiver_caps_the_body_once(app, runtime, fake, connected):
    receiver = _walk(app, runtime, fake, connected).stages[0]
    assert receiver.calls_into("service.web.bodies") == 1
