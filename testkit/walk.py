"""Which of our packages one provider push walks through, traced rather than recalled.

A profiler hook records every call into `service/` or `workers/` and keeps those that cross from
one of our packages into another. Packages are `service/<role>` (a provider's package counts as
one: `integrations/strava`) and `workers/<library>`; the job entry points count as `workers`. The
floor every layer stands on (infra, models, errors) is not counted, nor are the sandboxes.

A push is cut into stages where the queue starts a job (infra calling a job entry point): the
receiver first, then each job. `bench/push_walk.py` prints the walk; the tests hold it to "each
stage enters each package above the pure libraries once" (README, "One Strava push").
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ROOTS = ("service", "workers")
FLOOR = ("service.infra", "service.models", "service.errors")  # what every layer stands on
# Pure libraries: called wherever their values are used (a Track's distance is a property of
# workers.parsing.track), so they are entered by whoever holds such a value, not once per stage.
PURE = ("workers.parsing", "workers.analysis", "workers.notify")
FRAMEWORK = "-"  # the caller of a view or request hook: Flask, not our code


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in ROOTS:
        return None
    if parts[:2] == ["service", "integrations"] and len(parts) > 3:
        return ".".join(parts[:3])
    if parts[0] == "workers":
        return ".".join(parts[:2]) if len(parts) > 2 else "workers"  # a library, or a job
    return ".".join(parts[:2])


@dataclass(frozen=True)
class Step:
    caller: str  # our package that made the call, or FRAMEWORK
    package: str
    module: str


@dataclass
class Stage:
    name: str  # "receiver", or the job's module
    steps: list[Step] = field(default_factory=list)  # consecutive repeats merged
    calls: list[Step] = field(default_factory=list)  # every crossing call, none merged

    def entered(self) -> Counter:
        """How often each package was entered (a run of calls from one caller is one entry)."""
        return Counter(step.package for step in self.steps)

    def twice(self) -> dict[str, int]:
        """Packages above the pure libraries that our code entered more than once in this stage
        (Flask calling the request hooks around every view, and the view, is not our code)."""
        ours = Counter(s.package for s in self.steps if s.caller != FRAMEWORK)
        return {p: n for p, n in ours.items() if n > 1 and p not in PURE}

    def calls_into(self, module: str) -> int:
        """How many calls entered `module` from another package (none merged)."""
        return sum(1 for step in self.calls if step.module == module)


class Walk:
    """A sys.setprofile hook: every call that crosses into another of our packages, in order."""

    def __init__(self) -> None:
        self.stages: list[Stage] = [Stage("receiver")]
        self.files: dict[str, None] = {}

    def __call__(self, frame, event, _arg) -> None:
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        package = package_of(module)
        if package is None or ".fake" in module:
            return  # not ours, or the sandbox standing in for the provider
        self.files.setdefault(module, None)
        caller = _our_caller(frame.f_back)
        if package in FLOOR or caller == package:
            return
        if package == "workers" and not _inside(frame.f_back, "workers"):
            self.stages.append(Stage(module))  # the queue starts a job: a new stage
        self._record(Step(caller or FRAMEWORK, package, module))

    def _record(self, step: Step) -> None:
        stage = self.stages[-1]
        stage.calls.append(step)
        last = stage.steps[-1] if stage.steps else None
        if last is None or (last.caller, last.package) != (step.caller, step.package):
            stage.steps.append(step)

    def steps(self) -> list[tuple[str, Step]]:
        return [(stage.name, step) for stage in self.stages for step in stage.steps]


def _inside(frame, package: str) -> bool:
    """Whether a frame of `package` is on the stack (a job running: its callbacks are no new job)."""
    while frame is not None:
        if package_of(frame.f_globals.get("__name__", "")) == package:
            return True
        frame = frame.f_back
    return False


def _our_caller(frame) -> str | None:
    while frame is not None:
        package = package_of(frame.f_globals.get("__name__", ""))
        if package is not None:
            return package
        frame = frame.f_back
    return None


def new_run(fake, strava_athlete: int) -> dict:
    """A long run two hours ago at the fake Strava, and the push event Strava sends for it."""
    run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=2), 21_000.0,
                            climb_m=30.0)
    return {"aspect_type": "create", "event_time": int(time.time()), "object_id": run,
            "object_type": "activity", "owner_id": strava_athlete,
            "subscription_id": fake.subscription["id"], "updates": {}}


def push(app, runtime, body: dict) -> Walk:
    """POST the push to our receiver in this thread and run every job it leads to, traced."""
    walk = Walk()
    client = app.test_client()  # the receiver in this thread, so the hook sees it
    sys.setprofile(walk)
    try:
        answer = client.post("/webhooks/strava", json=body)
        runtime.queue.drain()  # ingest, analyze, deliver
    finally:
        sys.setprofile(None)
    assert answer.status_code == 200, answer.get_json()
    return walk
