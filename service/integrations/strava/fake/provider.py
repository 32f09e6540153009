"""A fake Strava (API v3 + OAuth): real HTTP on 127.0.0.1, answering like the documented API. A sandbox
for the tests, the benches and local demos; `routes.py` is its HTTP side, `data.py` its runs.

    with FakeStrava() as strava:
        client = StravaClient(strava.api_url, strava.oauth_url, strava.client_id,
                              strava.client_secret)
        athlete = strava.add_athlete()
        strava.add_year_of_runs(athlete)                    # 300 runs, lazy synthetic streams
        params = strava.authorize(client.authorize_url(redirect, "st8"), athlete=athlete)
        tokens = client.exchange_code(params["code"], params["scope"])
        strava.subscribe_directly("http://127.0.0.1:8000/webhooks/strava")   # or via the API
        strava.send_event("activity", run_id, "create", athlete)

Settings for the service: STRAVA_OAUTH_URL = f"{url}/oauth", STRAVA_API_URL = f"{url}/api/v3".

Behaviour kept honest to apis.md §1-4 (the documented API; [S] = community-reported):
- OAuth: codes are single use and expire after 10 min; the granted scope always includes `read`
  (Strava adds it) and a test may grant fewer scopes than requested (`grant=`) or deny.
- Refresh: the refresh token ROTATES on every refresh and the old one is dead at once (AUTH: "Once a
  new refresh token is returned, the older refresh token is invalidated immediately" — no grace);
  the access token is reused while it has > 1 h left, else a new one is issued and the old access
  token stays valid until its own expiry (6 h). A dead refresh token gets
  400 {"errors": [{"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}]}.
- /oauth/revoke (2026, Basic auth, 200 even for an unknown token) and the legacy /oauth/deauthorize;
  either can be switched off (404) with `revoke_enabled` / `deauthorize_enabled`.
- Missing scope -> 401 {"resource": "AccessToken", "field": "activity:read_permission",
  "code": "missing"}; bad token -> 401 {"resource": "Athlete", "field": "access_token", ...}.
- List: before/after (epoch, exclusive), page, per_page (default 30, capped at 200); newest first,
  but oldest first when `after` is given [S, community-reported]; Only Me activities need read_all.
- Streams: key_by_type=true -> {type: {data, series_type, original_size, resolution}}, else the
  list form; manual activities -> 404; treadmill runs have no latlng.
- PUT /activities/{id}: UpdatableActivity fields, JSON or form; form-encoded booleans are applied
  as "any non-empty string is true" (the mis-application reported in stravalib #716).
- Rate limits: X-RateLimit-* and X-ReadRateLimit-* on every /api/v3 response (every endpoint here
  is "non-upload", so it counts in both buckets); over the limit -> 429, and still counted;
  windows reset at :00/:15/:30/:45 and UTC midnight of `clock()`; `force_429(n)` for tests;
  `force_outage(n)`: the next n /api/v3 calls answer 503 (Strava has outages; the client must
  treat a 5xx as "try again", never as an answer).
- Push subscriptions: one per app; create performs the GET handshake against the callback
  (hub.mode/hub.challenge/hub.verify_token, 2 s timeout, JSON echo required) and answers 201
  {"id": …}; a failed handshake -> 400. Description edits emit no event (as on Strava).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from service.infra.loopback import LiveServer, Served

from .data import (
    RUN_SPORTS,
    summary_from_streams,
    synthetic_streams,
    synthetic_summary,
    year_of_runs,
)
from .routes import build_app

ACCESS_TTL = timedelta(hours=6)
CODE_TTL = timedelta(minutes=10)
DETAIL_ONLY = ("description", "calories", "laps", "splits_metric", "splits_standard",
               "best_efforts", "segment_efforts", "embed_token", "photos", "gear")
LEGACY_TYPES = {"TrailRun": "Run", "MountainBikeRide": "Ride", "GravelRide": "Ride",
                "EMountainBikeRide": "EBikeRide"}

Streams = dict[str, list[Any]]


class FakeStrava(Served):
    def __init__(self, *, client_id: int = 4242, client_secret: str = "fake-secret",
                 clock: Callable[[], datetime] | None = None) -> None:
        self.client_id = str(client_id)
        self.client_secret = client_secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.athletes: dict[int, dict[str, Any]] = {}
        self.activities: dict[int, dict[str, Any]] = {}  # id -> DetailedActivity JSON
        self._streams: dict[int, Streams | Callable[[], Streams] | None] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.dead_refresh_tokens: set[str] = set()
        self.token_calls: dict[str, int] = {"authorization_code": 0, "refresh_token": 0}
        self.calls: list[tuple[str, str]] = []
        self.subscription: dict[str, Any] | None = None
        self.events_sent: list[dict[str, Any]] = []
        self.last_put_content_type: str | None = None
        self.revoke_enabled = True
        self.deauthorize_enabled = True
        self.rotate_refresh_tokens = True
        # (15-minute, daily) budgets; defaults are the documented per-app defaults.
        self.limits = {"overall": (200, 2000), "read": (100, 1000)}
        self.usage: dict[str, list[int]] = {"overall": [0, 0], "read": [0, 0]}
        self._usage_window: tuple[Any, Any] = (None, None)
        self.forced_429 = 0
        self.forced_5xx = 0  # the next N /api/v3 calls answer 503 (an outage)
        self._next_id = 1_000_000_000
        self.app = build_app(self)
        self._server = LiveServer(self.app)

    # ---- URLs (start/stop/url come from Served) ------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    @property
    def oauth_url(self) -> str:
        return f"{self.url}/oauth"

    def now_epoch(self) -> int:
        return int(self.clock().timestamp())

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    # ---- data helpers -------------------------------------------------------------------------

    def add_athlete(self, athlete_id: int | None = None, firstname: str = "Test",
                    lastname: str = "Runner") -> int:
        aid = athlete_id or self.new_id()
        now = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        self.athletes[aid] = {
            "id": aid, "resource_state": 2, "firstname": firstname, "lastname": lastname,
            "city": "Utrecht", "state": "Utrecht", "country": "Netherlands", "sex": "F",
            "premium": False, "summit": False, "created_at": now, "updated_at": now,
            "profile_medium": "avatar/athlete/medium.png", "profile": "avatar/athlete/large.png",
            "measurement_preference": "meters", "weight": 61.0, "shoes": [], "bikes": [],
            "clubs": [], "follower_count": 0, "friend_count": 0, "ftp": None}
        return aid

    def add_activity(self, athlete_id: int, start: datetime, distance_m: float = 10_000.0, *,
                     sport_type: str = "Run", name: str | None = None, manual: bool = False,
                     trainer: bool = False, private: bool = False, description: str | None = None,
                     gear_id: str | None = None, climb_m: float = 60.0, seed: int | None = None,
                     streams: Streams | None | Literal["synthetic"] = "synthetic") -> int:
        """Add one activity. `streams`: "synthetic" (lazy, deterministic; no latlng for trainer or
        VirtualRun-less indoor runs), a real key_by_type dict (e.g. load_sample_streams(...)), or
        None. Manual activities never have streams (Strava answers 404)."""
        aid = self.new_id()
        seed = aid if seed is None else seed
        gps = not (trainer or manual)
        if manual:
            streams = None
        if isinstance(streams, str):  # "synthetic"
            fields = synthetic_summary(distance_m, seed, gps=gps, climb_m=climb_m)
            self._streams[aid] = lambda: synthetic_streams(distance_m, seed, gps=gps,
                                                           climb_m=climb_m)
        else:
            fields = summary_from_streams(streams) if streams else {
                "distance": distance_m, "moving_time": int(distance_m / 2.8),
                "elapsed_time": int(distance_m / 2.8)}
            self._streams[aid] = streams
        self.activities[aid] = self._detailed(aid, athlete_id, start, sport_type, fields,
                                              name=name, manual=manual, trainer=trainer,
                                              private=private, description=description,
                                              gear_id=gear_id)
        return aid

    def _detailed(self, aid: int, athlete_id: int, start: datetime, sport_type: str,
                  fields: dict[str, Any], **kw: Any) -> dict[str, Any]:
        poly = fields.pop("summary_polyline", None)
        legacy = LEGACY_TYPES.get(sport_type, sport_type)
        local = start + timedelta(hours=1)
        gps_map = None if kw["manual"] else (poly or "")
        return {
            "id": aid, "resource_state": 3, "external_id": f"{aid}.fit",
            "upload_id": None if kw["manual"] else aid + 7,
            "upload_id_str": None if kw["manual"] else str(aid + 7),
            "athlete": {"id": athlete_id, "resource_state": 1},
            "name": kw["name"] or f"{'Morning' if start.hour < 12 else 'Evening'} {legacy}",
            "distance": 0.0, "moving_time": 0, "elapsed_time": 0, "total_elevation_gain": 0.0,
            "type": legacy, "sport_type": sport_type,
            "workout_type": 0 if sport_type in RUN_SPORTS else None,
            "start_date": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": "(GMT+01:00) Europe/Amsterdam", "utc_offset": 3600.0,
            "start_latlng": None, "end_latlng": None, "achievement_count": 0, "kudos_count": 0,
            "comment_count": 0, "athlete_count": 1, "photo_count": 0, "total_photo_count": 0,
            "map": {"id": f"a{aid}", "polyline": gps_map, "summary_polyline": gps_map,
                    "resource_state": 3},
            "trainer": kw["trainer"], "commute": False, "manual": kw["manual"],
            "private": kw["private"],
            "flagged": False, "gear_id": kw["gear_id"], "hide_from_home": False,
            "average_speed": 0.0, "max_speed": 0.0, "has_heartrate": not kw["manual"],
            "has_kudoed": False, "device_name": None if kw["manual"] else "Garmin Forerunner 265",
            "description": kw["description"], "calories": 500.0, "laps": [],
            "splits_metric": [], "best_efforts": [], "segment_efforts": [], "embed_token": "x",
        } | fields

    def add_year_of_runs(self, athlete_id: int, runs: int = 300, end: datetime | None = None,
                         seed: int = 0) -> list[int]:
        """A year of runs ending at `end` (default: now): treadmill, manual and trail runs mixed
        in (see data.year_of_runs). Streams are generated lazily on request."""
        ids = []
        for p in year_of_runs(end or self.clock(), runs, seed):
            ids.append(self.add_activity(athlete_id, p["start"], p["distance_m"],
                                         sport_type=p["sport_type"], manual=p["kind"] == "manual",
                                         trainer=p["kind"] == "treadmill", seed=p["seed"]))
        return ids

    def streams_of(self, activity_id: int) -> Streams | None:
        s = self._streams.get(activity_id)
        return s() if callable(s) else s

    def update_activity(self, activity_id: int, **fields: Any) -> None:
        """Change an activity as the runner would on strava.com (no event sent: call send_event)."""
        with self.lock:
            self.activities[activity_id].update(fields)

    def delete_activity(self, activity_id: int) -> None:
        with self.lock:
            self.activities.pop(activity_id, None)
            self._streams.pop(activity_id, None)

    @staticmethod
    def summary(detailed: dict[str, Any]) -> dict[str, Any]:
        """SummaryActivity representation (resource_state 2) of a DetailedActivity."""
        out = {k: v for k, v in detailed.items() if k not in DETAIL_ONLY}
        out["map"] = {"id": detailed["map"]["id"], "resource_state": 2,
                      "summary_polyline": detailed["map"]["summary_polyline"]}
        out["resource_state"] = 2
        return out

    # ---- OAuth helpers ------------------------------------------------------------------------

    def authorize(self, authorize_url: str, athlete: int | None = None,
                  grant: str | None = None, deny: bool = False) -> dict[str, str]:
        """Simulate the runner clicking Authorize: GET the authorize URL our service built and
        return the query of the redirect back (code, scope, state — or error)."""
        extra = {k: v for k, v in (("athlete_id", athlete), ("grant", grant),
                                   ("deny", "1" if deny else None)) if v is not None}
        url = authorize_url + ("&" + urlencode(extra) if extra else "")
        resp = requests.get(url, allow_redirects=False, timeout=5)
        if resp.status_code != 302:
            raise AssertionError(f"authorize failed: {resp.status_code} {resp.text}")
        query = parse_qs(urlsplit(resp.headers["Location"]).query)
        return {k: v[0] for k, v in query.items()}

    def issue_tokens(self, athlete_id: int, scopes: frozenset[str]) -> dict[str, Any]:
        """New access + refresh token pair for an athlete (what a code exchange yields)."""
        with self.lock:
            access = self._new_access(athlete_id, scopes)
            refresh = secrets.token_hex(20)
            self.refresh_tokens[refresh] = {"athlete_id": athlete_id, "scopes": scopes,
                                            "access": access}
            self.athletes[athlete_id]["authorized"] = True
            return {"token_type": "Bearer", "access_token": access, "refresh_token": refresh,
                    "expires_at": self.access_tokens[access]["expires_at"],
                    "expires_in": self.access_tokens[access]["expires_at"] - self.now_epoch()}

    def _new_access(self, athlete_id: int, scopes: frozenset[str]) -> str:
        token = secrets.token_hex(20)
        self.access_tokens[token] = {"athlete_id": athlete_id, "scopes": scopes,
                                     "expires_at": int((self.clock() + ACCESS_TTL).timestamp())}
        return token

    def deauthorize_athlete(self, athlete_id: int) -> None:
        """Invalidate every token of the athlete (revoke, deauthorize, or the runner clicking
        Revoke Access on strava.com). The deauth event is not sent here: use send_event."""
        with self.lock:
            for table in (self.access_tokens, self.refresh_tokens):
                for tok in [t for t, rec in table.items() if rec["athlete_id"] == athlete_id]:
                    del table[tok]
            if athlete_id in self.athletes:
                self.athletes[athlete_id]["authorized"] = False

    # ---- rate limits --------------------------------------------------------------------------

    def force_outage(self, count: int = 1) -> None:
        with self.lock:
            self.forced_5xx = count

    def take_outage(self) -> bool:
        with self.lock:
            if self.forced_5xx > 0:
                self.forced_5xx -= 1
                return True
            return False

    def force_429(self, count: int = 1) -> None:
        self.forced_429 += count

    def set_usage(self, bucket: str, short: int, daily: int) -> None:
        """Pretend other calls already happened in the current window/day."""
        with self.lock:
            self._roll_windows()
            self.usage[bucket] = [short, daily]

    def _roll_windows(self) -> None:
        now = self.clock().astimezone(UTC)
        window = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        if self._usage_window[1] != now.date():
            for u in self.usage.values():
                u[0] = u[1] = 0
        elif self._usage_window[0] != window:
            for u in self.usage.values():
                u[0] = 0
        self._usage_window = (window, now.date())

    def count_api_call(self) -> bool:
        """Count one /api/v3 request; True when it must be refused with 429."""
        with self.lock:
            self._roll_windows()
            over = False
            for bucket, (short_lim, day_lim) in self.limits.items():
                u = self.usage[bucket]
                u[0] += 1
                u[1] += 1
                over = over or u[0] > short_lim or u[1] > day_lim
            if self.forced_429 > 0:
                self.forced_429 -= 1
                return True
            return over

    def rate_headers(self) -> dict[str, str]:
        o, r = self.limits["overall"], self.limits["read"]
        uo, ur = self.usage["overall"], self.usage["read"]
        return {"X-RateLimit-Limit": f"{o[0]},{o[1]}", "X-RateLimit-Usage": f"{uo[0]},{uo[1]}",
                "X-ReadRateLimit-Limit": f"{r[0]},{r[1]}",
                "X-ReadRateLimit-Usage": f"{ur[0]},{ur[1]}"}

    # ---- push subscription & events -----------------------------------------------------------

    def subscribe_directly(self, callback_url: str) -> int:
        """Create the subscription without the handshake (test setup shortcut)."""
        with self.lock:
            now = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
            self.subscription = {"id": self.new_id() % 1_000_000, "resource_state": 2,
                                 "application_id": int(self.client_id),
                                 "callback_url": callback_url, "created_at": now,
                                 "updated_at": now}
            return self.subscription["id"]

    def send_event(self, object_type: str, object_id: int, aspect_type: str, owner_id: int,
                   updates: dict[str, str] | None = None, *, event_time: int | None = None,
                   attempts: int = 1, callback_url: str | None = None) -> requests.Response:
        """POST one event to the subscription's callback, as Strava does. Strava retries a non-200
        up to 3 attempts in total: pass attempts=3 to mimic it (no delay between attempts).

        The body is exactly the documented fields (developers.strava.com/docs/webhooks: object_type,
        object_id, aspect_type, updates, owner_id, subscription_id, event_time) with no signature
        header: "The main WEBHOOKS page does not document signing" (apis.md §2), so anyone who
        knows the callback URL can POST the same shape; tests forge events with plain requests."""
        if callback_url is None:
            if self.subscription is None:
                raise RuntimeError("no push subscription")
            callback_url = self.subscription["callback_url"]
        sub_id = self.subscription["id"] if self.subscription else 0
        event = {"aspect_type": aspect_type, "event_time": event_time or self.now_epoch(),
                 "object_id": object_id, "object_type": object_type, "owner_id": owner_id,
                 "subscription_id": sub_id, "updates": updates or {}}
        self.events_sent.append(event)
        for _ in range(max(1, attempts)):
            resp = requests.post(callback_url, json=event, timeout=5)
            if resp.status_code == 200:
                break
        return resp

    def send_deauthorization(self, athlete_id: int) -> requests.Response:
        """The runner revoked access on strava.com: tokens die, then the athlete event arrives."""
        self.deauthorize_athlete(athlete_id)
        return self.send_event("athlete", athlete_id, "update", athlete_id,
                               {"authorized": "false"})

    # ---- call log -----------------------------------------------------------------------------

    def count(self, method: str | None = None, prefix: str = "") -> int:
        """How many requests matched, e.g. count("GET", "/api/v3/athlete/activities")."""
        return sum(1 for m, p in self.calls
                   if (method is None or m == method) and p.startswith(prefix))

    def reset_calls(self) -> None:
        self.calls.clear()
