"""Response models for the OpenAPI document (the request models live beside their views).

These describe what the views return; schemathesis checks every response against them, so a view
that drifts from its documented shape fails CI.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    details: Any = None


class Error(BaseModel):
    """Every error, on every route."""

    error: ErrorBody


# ---- identity and keys ---------------------------------------------------------------------------


class WhoAmI(BaseModel):
    kind: Literal["anonymous", "athlete", "club", "integrator"]
    athlete_id: str | None
    club_id: str | None
    key_id: str | None
    scopes: list[str]
    via: Literal["none", "token", "key", "session"]


class KeyView(BaseModel):
    id: str
    kind: Literal["club", "integrator"]
    club_id: str | None
    name: str | None
    prefix: str
    scopes: list[str]
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class NewKey(KeyView):
    key: str = Field(description="The key itself: shown once, stored only as a hash.")


class KeyList(BaseModel):
    keys: list[KeyView]


# ---- clubs ---------------------------------------------------------------------------------------


class ClubView(BaseModel):
    id: str
    name: str
    created_at: str | None
    role: Literal["member", "admin"] | None
    sharing: list[str] | None


class ClubDetail(ClubView):
    members_sharing: int
    policy: str


class ClubList(BaseModel):
    clubs: list[ClubView]


class ClubFinding(BaseModel):
    id: str
    rule: str
    severity: Literal["info", "caution", "high"]
    date: str
    value: float | None
    threshold: float | None
    message: str
    activity_id: str | None
    sources: list[str]


class Risk(BaseModel):
    level: Literal["none", "info", "caution", "high"]
    score: int
    findings: int


class Week(BaseModel):
    start: str
    distance_m: float | None = Field(description="null when the member does not share distance")
    loss_m: float | None = Field(description="null when the member does not share descent")
    runs: int | None


class MemberRow(BaseModel):
    athlete_id: str
    name: str
    role: Literal["member", "admin"]
    sharing: list[str]
    consented_at: str | None
    risk: Risk
    latest_finding: ClubFinding | None
    weeks: list[Week]


class MemberList(BaseModel):
    club_id: str
    as_of: str
    policy: str
    members: list[MemberRow]
    limit: int = Field(description="page size: the `limit` asked for, 100 by default")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on "
                                    "the last page. Each member appears once across the pages.")


class MemberDetail(BaseModel):
    athlete_id: str
    name: str
    role: Literal["member", "admin"]
    sharing: list[str]
    consented_at: str
    risk: Risk
    findings: list[ClubFinding]
    policy: str


class RunPoint(BaseModel):
    date: str
    activity_id: str
    distance_m: float
    longest_30d_m: float | None
    ratio: float | None


class RepetitionPoint(BaseModel):
    week_ending: str
    share: float | None


class MemberSeries(BaseModel):
    athlete_id: str
    as_of: str
    weeks: list[Week]
    runs: list[RunPoint] | None
    route_repetition: list[RepetitionPoint] | None
    policy: str


class RoleView(BaseModel):
    athlete_id: str
    role: Literal["member", "admin"]


class Withdrawn(BaseModel):
    club_id: str
    withdrawn_at: str


class InviteView(BaseModel):
    id: str
    club_id: str
    expires_at: str | None
    created_at: str | None


class NewInvite(InviteView):
    token: str
    url: str = Field(description="The link to send to runners: a consent page.")


class InviteList(BaseModel):
    invites: list[InviteView]


class ClubRef(BaseModel):
    id: str
    name: str


class InvitePublic(BaseModel):
    club: ClubRef
    expires_at: str
    scopes: dict[str, str]
    policy: str


class Joined(BaseModel):
    club_id: str
    athlete_id: str
    role: Literal["member", "admin"]
    sharing: list[str]
    consented_at: str


class Deleted(BaseModel):
    deleted: bool
    athlete_id: str
    providers: dict[str, str]


# ---- athletes' own resources (activities, preferences, connections, endpoints) -------------------


class ActivitySummary(Open):
    id: str
    file: str | None = Field(
        description="The file the run was read from (`archive.zip!member` inside an archive); "
                    "null for runs fetched from a provider's API (Strava, Garmin summaries).",
        examples=["morning.fit", "export.zip!activities/123.fit.gz"])
    source: str
    sport: str | None
    sub_sport: str | None
    start_time: str
    distance_m: float
    status: str
    knee_load_km: float | None = Field(
        description="Knee-equivalent km: 1 = one easy, flat km at the runner's own easy pace; "
                    "descents, fast running and longer steps weigh more, walking less "
                    "(docs/knee-load.md). null until the run has been analysed.")


class LoadWeek(BaseModel):
    start: str = Field(description="Monday of the week (runner's local time)")
    knee_load_km: float = Field(description="Sum of the week's runs in knee-km")
    distance_m: float
    runs: int
    peak_acute_km: float = Field(description="Highest acute knee load of the week")
    tolerance_km: float | None = Field(
        description="The week's tolerance (set on Monday from the weeks before); null before "
                    "28 days of history")


class LoadDay(BaseModel):
    date: str
    knee_load_km: float
    acute_km: float = Field(description="Acute knee load: each run's knee-km, decaying by 6/7 "
                                        "a day (a steady daily load L settles at 7L)")
    tolerance_km: float | None


class LoadCurrent(BaseModel):
    acute_km: float
    tolerance_km: float | None
    ratio: float | None = Field(description="acute / tolerance: above 1 the `knee_load` rule "
                                            "warns (caution), above 0.95 it notes (info)")


class KneeLoad(BaseModel):
    athlete_id: str
    as_of: str
    unit: Literal["knee_km"]
    weeks: list[LoadWeek]
    days: list[LoadDay]
    current: LoadCurrent
    low_confidence_runs: int = Field(description="Runs weighed from totals only (no samples)")
    decay_per_day: float


class Descent(BaseModel):
    loss_m: float | None = Field(description="The elevation loss the rules use, metres")
    samples_loss_m: float | None = Field(
        description="Our estimate from the altitude samples (hysteresis count), metres")
    device_loss_m: float | None = Field(
        description="The device's own total (FIT session total_descent, Garmin summary), if any")
    loss_source: Literal["device", "samples"] | None = Field(
        description="Where `loss_m` comes from: a barometric device's plausible total, or the "
                    "samples")
    altitude_source: str


class ActivityDetail(ActivitySummary):
    descent: Descent | None = Field(
        description="Descent figures side by side; null before analysis or without altitude")
    metrics: dict[str, Any] | None
    error: str | None


class ActivityList(BaseModel):
    activities: list[ActivitySummary]


class StoredActivity(ActivitySummary):
    replaces: str | None = Field(
        default=None,
        description="This file is a richer copy of a run stored before (its FIT after its GPX "
                    "export: FIT over GPX over Strava streams): that activity is gone and its "
                    "findings were withdrawn; the run's findings come again under this id.")


class IngestReport(BaseModel):
    activities: list[StoredActivity]
    duplicates: list[dict[str, Any]] = Field(
        description="Files whose runs were already here: `activity` is the id they belong to. "
                    "Identical bytes always answer this way, however often they are sent.")
    skipped: list[dict[str, Any]]


class PreferencesView(Open):
    email: bool
    strava_note: bool
    min_severity: Literal["info", "caution", "high"]


class Disconnected(Open):
    disconnected: bool


class GarminConnection(Open):
    provider: str
    status: str = Field(examples=["active", "disabled", "revoked"])
    status_reason: str | None = None
    history: dict | None = None  # the last history request; `text` says what was recovered


class EndpointView(BaseModel):
    id: str
    url: str
    events: list[str]
    athlete_id: str | None
    club_id: str | None
    status: str = Field(description="`active`, or `disabled` (by a 410 Gone, 5 days of failed "
                        "deliveries, or its owner); enable it, then replay what it missed.")
    disabled_reason: str | None
    last_error: str | None = Field(
        default=None, description="The newest failed attempt's error, e.g. `HTTP 410`.")
    failing_since: str | None = None
    description: str | None
    created_at: str
    rotation_overlap_until: str | None


class EndpointWithSecret(EndpointView):
    secret: str = Field(description="The `whsec_` signing secret: shown once.")


class EndpointList(BaseModel):
    endpoints: list[EndpointView]


class Attempt(BaseModel):
    at: str
    outcome: str
    code: int | None
    duration_ms: int | float | None
    error: str | None


class Message(BaseModel):
    id: str
    event_type: str
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str | None
    attempt_log: list[Attempt] | None = None


class MessageList(BaseModel):
    messages: list[Message]


class MessageQueued(BaseModel):
    message_id: str


class Replayed(BaseModel):
    replayed: list[str] = Field(description="Message ids queued again (same `webhook-id`).")
    withheld: int = Field(description="Messages in the range this endpoint may no longer receive "
                                      "(consent withdrawn, member left the club).")


# ---- integrators ---------------------------------------------------------------------------------


class IntegratorConsent(BaseModel):
    integrator_id: str
    name: str
    scopes: list[Literal["findings", "distance", "descent"]] = Field(
        description="What the runner shares with this integrator; empty: nothing.")
    ref: str | None = Field(description="The integrator's reference for the runner (connect link).")
    consented_at: str | None


class IntegratorConsentList(BaseModel):
    integrators: list[IntegratorConsent]


class ConnectLink(BaseModel):
    url: str = Field(description="Hand it to your user: signed, expires at `expires_at`.")
    provider: Literal["strava", "garmin"]
    integrator_id: str
    ref: str
    expires_at: int = Field(description="Unix time.")


class FindingItem(BaseModel):
    id: str
    athlete_id: str
    activity_id: str | None
    rule: str
    severity: Literal["info", "caution", "high"]
    activity: str | None
    date: str
    value: float | None
    threshold: float | None
    message: str | None = Field(description="null for a withdrawn finding.")
    evidence: dict[str, Any] | None = Field(description="null for a withdrawn finding.")
    sources: list[str]
    withdrawn: bool = Field(description="A re-analysis no longer supports it (same id as its "
                            "`finding.withdrawn` webhook).")
    withdrawn_at: str | None
    integrator_ref: str | None = Field(default=None, description="Only for an integrator: its "
                                       "reference for the runner.")


class FindingPage(BaseModel):
    athlete_id: str
    findings: list[FindingItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
    integrator_ref: str | None = Field(default=None, description="Only for an integrator.")
