"""Principals × every route × objects of A and B: each answer is the one in the table.

The routes come from `app.url_map`, so a route added without a row here fails this test. Objects of
"A" belong to runner A / club A; objects of "B" to runner B / club B (for endpoint routes a second
row uses club A's and the integrator's endpoints). Another tenant's ids must answer 404, exactly
like ids that do not exist. After any 2xx to a mutating request the world is rebuilt, so every
request sees the same starting state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.clubs.world import build
from tests.conftest import _clean

PRINCIPALS = ("anonymous", "runner A", "runner B", "club A admin", "club B admin",
              "club A read key", "integrator")
# Keys that must never reach a club or integrator (others' emails, provider tokens, raw GPS).
FORBIDDEN_KEYS = {"email", "token_hash", "access_token", "refresh_token", "access_token_enc",
                  "refresh_token_enc", "lat", "lon", "latlng", "polyline", "segment_keys",
                  "key_hash", "secret_enc", "evidence"}


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    params: dict
    a: str  # expected statuses, in PRINCIPALS order, for objects of A
    b: str  # ... and for objects of B
    body: object = None
    form: dict | None = None


def athlete(method: str, rule: str, ok: int, params: dict | None = None, body=None) -> Row:
    params = {"athlete_id": "athlete {o}", **(params or {})}
    return Row(method, rule, params, f"401 {ok} 404 404 404 404 404",
               f"401 404 {ok} 404 404 404 404", body)


def club_read(method: str, rule: str, params: dict, ok: int = 200, body=None) -> Row:
    return Row(method, rule, params, f"401 {ok} 404 {ok} 404 {ok} 404",
               f"401 404 {ok} 404 {ok} 404 404", body)


def club_admin(method: str, rule: str, params: dict, ok: int = 200, body=None) -> Row:
    return Row(method, rule, params, f"401 {ok} 404 {ok} 404 403 404",
               f"401 404 {ok} 404 {ok} 404 404", body)


def club_form(rule: str, params: dict, form: dict | None = None) -> Row:
    """A club page's form post without the session's CSRF token: refused (403) inside the club,
    404 in another club, and whoever has no browser session is sent to sign in (303)."""
    return Row("POST", rule, params, "303 403 404 403 404 403 303", "303 404 403 404 403 404 303",
               form=form or {})


def same(method: str, rule: str, status: str, params: dict | None = None, body=None,
         form=None) -> Row:
    """Principal-independent routes (public pages, probes, provider receivers)."""
    line = " ".join([status] * len(PRINCIPALS))
    return Row(method, rule, params or {}, line, line, body, form)


def own_endpoint(method: str, rule: str, ok: int, need: str = "admin", body=None,
                 extra: dict | None = None) -> list[Row]:
    params = {"endpoint_id": "endpoint {o}", **(extra or {})}
    by_runner = Row(method, rule, params, f"401 {ok} 404 404 404 404 404",
                    f"401 404 {ok} 404 404 404 404", body)
    reader = ok if need == "read" else 403
    keys = {"endpoint_id": "endpoint {k}", **{k: v.replace("{o}", "{k}") for k, v in
                                              (extra or {}).items()}}
    by_keys = Row(method, rule, keys, f"401 404 404 {ok} 404 {reader} 404",
                  f"401 404 404 404 404 404 {ok}", body)
    return [by_runner, by_keys]


MEMBER = {"club_id": "club {o}", "athlete_id": "member {o}"}
CLUB = {"club_id": "club {o}"}
ENDPOINT_BODY = {"url": "http://127.0.0.1:9/new", "events": ["finding.created"]}
ROWS: list[Row] = [
    # identity and the runner's own resources
    same("GET", "/v1/whoami", "200"),
    athlete("DELETE", "/v1/athletes/<athlete_id>", 200),
    athlete("GET", "/v1/athletes/<athlete_id>/activities", 200),
    athlete("POST", "/v1/athletes/<athlete_id>/activities", 422, body=b"not an activity"),
    athlete("GET", "/v1/athletes/<athlete_id>/activities/<activity_id>", 200,
            {"activity_id": "activity {o}"}),
    athlete("GET", "/v1/athletes/<athlete_id>/load", 200),
    athlete("GET", "/v1/athletes/<athlete_id>/preferences", 200),
    athlete("PUT", "/v1/athletes/<athlete_id>/preferences", 200, body={"email": False}),
    # integrators: the runner's choice per integrator; the integrator reads findings only where a
    # runner shares them (nobody in this world does: 404, like a missing athlete)
    athlete("GET", "/v1/athletes/<athlete_id>/findings", 200),
    athlete("GET", "/v1/athletes/<athlete_id>/integrators", 200),
    athlete("PUT", "/v1/athletes/<athlete_id>/integrators/<integrator_id>", 200,
            {"integrator_id": "integrator"}, body={"scopes": ["findings"]}),
    Row(
        "POST", "/v1/connect-links", {}, "401 403 403 403 403 403 201",
        "401 403 403 403 403 403 201", {"provider": "garmin", "ref": "user-1"}),
    # Strava and Garmin are not configured here: even the owner gets 404 (after the owner check).
    athlete("POST", "/v1/athletes/<athlete_id>/connections/strava/disconnect", 404),
    athlete("POST", "/v1/athletes/<athlete_id>/connections/garmin/disconnect", 404),
    athlete("GET", "/v1/athletes/<athlete_id>/connections/garmin", 404),
    # clubs
    same("GET", "/v1/invites/<token>", "200", {"token": "invite token {o}"}),
    Row("GET", "/v1/clubs", {}, "401 200 200 200 200 200 403", "401 200 200 200 200 200 403"),
    Row("POST", "/v1/clubs", {}, "401 201 201 403 403 403 403", "401 201 201 403 403 403 403",
        {"name": "New club"}),
    Row("POST", "/v1/invites/<token>/accept", {"token": "invite token {o}"},
        "401 200 200 403 403 403 403", "401 200 200 403 403 403 403", {"scope": ["findings"]}),
    club_read("GET", "/v1/clubs/<club_id>", CLUB),
    club_read("GET", "/v1/clubs/<club_id>/members", CLUB),
    club_read("GET", "/v1/clubs/<club_id>/members/<athlete_id>", MEMBER),
    club_read("GET", "/v1/clubs/<club_id>/members/<athlete_id>/series", MEMBER),
    club_admin("PUT", "/v1/clubs/<club_id>/members/<athlete_id>/role", MEMBER,
               body={"role": "admin"}),
    club_admin("DELETE", "/v1/clubs/<club_id>/members/<athlete_id>", MEMBER, ok=204),
    Row("POST", "/v1/clubs/<club_id>/membership/withdraw", CLUB,
        "401 200 404 404 404 404 404", "401 404 200 404 404 404 404"),
    club_admin("POST", "/v1/clubs/<club_id>/invites", CLUB, ok=201, body={"ttl_hours": 24}),
    club_admin("GET", "/v1/clubs/<club_id>/invites", CLUB),
    club_admin("DELETE", "/v1/clubs/<club_id>/invites/<invite_id>",
               {"club_id": "club {o}", "invite_id": "invite {o}"}, ok=204),
    club_admin("POST", "/v1/clubs/<club_id>/keys", CLUB, ok=201, body={"scopes": ["read"]}),
    club_admin("GET", "/v1/clubs/<club_id>/keys", CLUB),
    club_admin("DELETE", "/v1/clubs/<club_id>/keys/<key_id>",
               {"club_id": "club {o}", "key_id": "key {o}"}, ok=204),
    # webhook endpoints: runners' own, a club key's club's, an integrator's own
    Row("GET", "/v1/endpoints", {}, "401 200 200 200 200 200 200", "401 200 200 200 200 200 200"),
    Row("POST", "/v1/endpoints", {}, "401 201 201 201 201 403 201", "401 201 201 201 201 403 201",
        ENDPOINT_BODY),
    *own_endpoint("GET", "/v1/endpoints/<endpoint_id>", 200, need="read"),
    *own_endpoint("DELETE", "/v1/endpoints/<endpoint_id>", 204),
    *own_endpoint("POST", "/v1/endpoints/<endpoint_id>/rotate", 200, body={}),
    *own_endpoint("POST", "/v1/endpoints/<endpoint_id>/enable", 200),
    *own_endpoint("POST", "/v1/endpoints/<endpoint_id>/test", 202),
    *own_endpoint("POST", "/v1/endpoints/<endpoint_id>/replay", 202,
                  body={"since": "2020-01-01T00:00:00Z"}),
    *own_endpoint("GET", "/v1/endpoints/<endpoint_id>/messages", 200, need="read"),
    *own_endpoint("GET", "/v1/endpoints/<endpoint_id>/messages/<message_id>", 200, need="read",
                  extra={"message_id": "message {o}"}),
    *own_endpoint("POST", "/v1/endpoints/<endpoint_id>/disable", 200),
    # pages (the Authorization header counts there too; 303 = off to /login)
    Row("GET", "/me", {}, "303 200 200 303 303 303 303", "303 200 200 303 303 303 303"),
    # runners land back on /me, everyone else is sent to /login: 303 either way
    same("POST", "/me/name", "303", form={"display_name": "Ana P."}),
    same("POST", "/me/integrators/<integrator_id>", "303", {"integrator_id": "integrator"},
         form={"scope": "findings"}),
    same("POST", "/me/email", "303", form={"email": "new-address@example.org"}),
    same("GET", "/me/email/confirm/<token>", "404", {"token": "bogus"}),
    Row("GET", "/clubs/<club_id>", CLUB, "303 200 404 200 404 200 303",
        "303 404 200 404 200 404 303"),
    Row("GET", "/clubs/<club_id>/members/<athlete_id>", MEMBER, "303 200 404 200 404 200 303",
        "303 404 200 404 200 404 303"),
    # the club in the browser (admins only; each form needs the session's CSRF token, which no
    # principal here has: a form post is refused before it can change anything)
    Row("GET", "/clubs/<club_id>/people", CLUB, "303 200 404 200 404 403 303",
        "303 404 200 404 200 404 303"),
    Row("GET", "/clubs/<club_id>/keys", CLUB, "303 200 404 200 404 403 303",
        "303 404 200 404 200 404 303"),
    Row("POST", "/me/clubs", {}, "303 403 403 303 303 303 303", "303 403 403 303 303 303 303",
        form={"name": "X"}),
    club_form("/clubs/<club_id>/invites/new", CLUB),
    club_form("/clubs/<club_id>/invites/<invite_id>/revoke",
              {"club_id": "club {o}", "invite_id": "invite {o}"}),
    club_form("/clubs/<club_id>/keys/new", CLUB, {"scope": "read"}),
    club_form("/clubs/<club_id>/keys/<key_id>/revoke", {"club_id": "club {o}", "key_id": "key {o}"}),
    club_form("/clubs/<club_id>/members/<athlete_id>/remove", MEMBER),
    same("GET", "/join/<token>", "200", {"token": "invite token {o}"}),
    Row("POST", "/join/<token>", {"token": "invite token {o}"}, "403 303 303 403 403 403 403",
        "403 303 303 403 403 403 403", form={"scope": "findings"}),
    same("GET", "/", "303"),
    same("GET", "/login", "200"),
    same("POST", "/login", "403", form={}),  # no CSRF token: login CSRF is refused
    same("GET", "/logout", "200"),  # a page with a button; only the POST signs out
    same("POST", "/logout", "403", form={}),
    same("GET", "/openapi.json", "200"),
    same("GET", "/docs", "200"),
    same("GET", "/docs/init.js", "200"),
    same("GET", "/docs/static/<path:filename>", "200", {"filename": "swagger-ui.css"}),
    same("GET", "/web-static/<path:filename>", "200", {"filename": "site.css"}),
    same("GET", "/static/<path:filename>", "404", {"filename": "nothing.css"}),
    # probes, metrics, unsubscribe links, provider flows and receivers (principal-blind)
    same("GET", "/healthz", "200"),
    same("GET", "/readyz", "200"),
    same("GET", "/metrics", "200"),
    same("GET", "/unsubscribe/<token>", "404", {"token": "bogus"}),
    same("POST", "/unsubscribe/<token>", "404", {"token": "bogus"}, form={}),
    same("GET", "/connect/strava", "404"),
    same("GET", "/connect/strava/callback", "404"),
    same("GET", "/connect/garmin", "404"),
    same("GET", "/connect/garmin/callback", "404"),
    same("GET", "/webhooks/strava", "403"),
    same("POST", "/webhooks/strava", "404", body={}),
    same("POST", "/webhooks/garmin/activities", "404", body={}),
    same("POST", "/webhooks/garmin/activity-files", "404", body={}),
    same("POST", "/webhooks/garmin/deregistrations", "404", body={}),
    same("POST", "/webhooks/garmin/permissions", "404", body={}),
]


def _routes(app) -> set[tuple[str, str]]:
    return {(m, r.rule) for r in app.url_map.iter_rules()
            for m in r.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_a_row_in_the_table(app):
    covered = {(row.method, row.rule) for row in ROWS}
    assert _routes(app) - covered == set(), "add these routes to ROWS"
    assert covered - _routes(app) == set(), "these ROWS name routes that no longer exist"


def _fill(rule: str, params: dict, ids: dict, owner: str) -> str:
    key_owner = {"A": "club A", "B": "integrator"}[owner]
    path = rule
    for name, template in params.items():
        symbol = template.replace("{o}", owner).replace("{k}", key_owner)
        value = ids.get(symbol, symbol)
        path = path.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
    return path


def _send(client, row: Row, path: str, headers: dict):
    kwargs: dict = {"headers": headers}
    if isinstance(row.body, bytes):
        kwargs["data"] = row.body
    elif row.body is not None:
        kwargs["json"] = row.body
    if row.form is not None:
        kwargs["data"] = row.form
    return client.open(path, method=row.method, **kwargs)


def _leaks(response, who: str, path: str) -> list[str]:
    # Data routes only (the OpenAPI document names an `email` property, which is fine).
    if who.startswith("runner") or response.status_code >= 300 or not path.startswith(
            ("/v1/", "/clubs/")):
        return []
    text = response.get_data(as_text=True)
    found = ["an email address"] if "@example.com" in text else []
    if response.is_json:
        found += sorted(_keys(response.get_json()) & FORBIDDEN_KEYS)
    return found


def _keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | set().union(*(_keys(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(_keys(v) for v in obj)) if obj else set()
    return set()


def test_every_principal_gets_the_expected_answer_on_every_route(app, runtime, world):
    client = app.test_client()
    mismatches, leaks, checked = [], [], 0
    for row in ROWS:
        for owner, expected_line in (("A", row.a), ("B", row.b)):
            for who, expected in zip(PRINCIPALS, expected_line.split(), strict=True):
                path = _fill(row.rule, row.params, world.ids, owner)
                client.delete_cookie("session")
                r = _send(client, row, path, world.personas[who].headers)
                checked += 1
                if str(r.status_code) != expected:
                    mismatches.append(f"{row.method} {row.rule} [{owner}] {who}: "
                                      f"{r.status_code} != {expected} {r.get_data()[:120]!r}")
                leaks += [f"{row.method} {path} {who}: {x}" for x in _leaks(r, who, path)]
                if row.method != "GET" and 200 <= r.status_code < 400:
                    _clean(runtime)
                    world = build(runtime)
    assert checked > 500
    assert mismatches == [], json.dumps(mismatches, indent=1)
    assert leaks == [], leaks
