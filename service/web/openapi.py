"""OpenAPI 3.1 for every /v1 route, built from the pydantic models; served at /openapi.json with
self-hosted interactive docs at /docs (Swagger UI 5 from the `flask-swagger-ui` package, no CDN).

`OPERATIONS` is the one table of documented routes. A test compares it with `app.url_map`, so a new
/v1 route without an entry fails CI, and schemathesis checks every response against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, send_from_directory
from pydantic import BaseModel

from service.domain.finding_list import CURSOR_PATTERN
from service.web import openapi_models as m
from service.web.api.clubs import MEMBER_CURSOR_PATTERN, AcceptInvite, CreateClub, CreateInvite, SetRole
from service.web.api.endpoints import CreateEndpoint, Replay, Rotate
from service.web.api.integrators import (
    RULE_LIST,
    SEVERITY_LIST,
    WITHDRAWN,
    CreateConnectLink,
    SetConsent,
)
from service.web.api.keys import CreateKey
from service.web.api.preferences import Preferences

bp = Blueprint("openapi", __name__)
ERROR_STATUSES = {400: "Bad request", 401: "Not signed in, or the credential is not valid",
                  403: "Signed in, but not allowed (scope, role, CSRF)",
                  404: "Not found — also the answer for another tenant's ids",
                  409: "Conflict", 411: "Length required", 413: "Body too large",
                  422: "Validation failed", 429: "Rate limited (see Retry-After)",
                  503: "A database or queue we depend on failed; nothing was stored. Retry after "
                       "Retry-After seconds (never a 4xx about your data)"}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    tag: str
    response: type[BaseModel] | None  # None: 204 No Content
    status: int = 200
    body: type[BaseModel] | None = None
    query: dict[str, dict] = field(default_factory=dict)
    public: bool = False
    upload: bool = False
    description: str = ""


WEEKS = {"weeks": {"type": "integer", "minimum": 1, "maximum": 104}}
_DATE = {"type": "string", "format": "date"}
FINDING_QUERY: dict[str, dict] = {
    "since": dict(_DATE, description="From this date (YYYY-MM-DD, the finding's local date)."),
    "until": dict(_DATE, description="Up to this date, inclusive."),
    "rule": {"type": "string", "pattern": RULE_LIST, "description": "Rule ids, comma-separated."},
    "severity": {"type": "string", "pattern": SEVERITY_LIST,
                 "description": "info, caution and/or high, comma-separated."},
    "withdrawn": {"type": "string", "enum": list(WITHDRAWN),
                  "description": "Withdrawn findings are listed, marked, by default."},
    "cursor": {"type": "string", "pattern": CURSOR_PATTERN,
               "description": "`next_cursor` of the previous page."},
    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "Default 50."},
}
UPLOAD_FILES = (
    "The body is one activity file (raw, `application/octet-stream`) or up to 20 files as "
    "`multipart/form-data` parts. Files read: FIT (`.fit`), GPX 1.0/1.1 (`.gpx`), either one "
    "gzipped (`.gz`), zip archives of them (Strava and Garmin bulk exports), and Strava activity "
    "streams JSON. Anything else (or a file whose content is none of these, whatever its name) "
    "answers 422 `invalid_file` with the reason per file; an archive's unreadable members are "
    "listed under `skipped`. Bodies above KNEEGUARD_MAX_UPLOAD_BYTES answer 413.")
OPERATIONS: list[Op] = [
    Op("get", "/v1/whoami", "Who the credential belongs to", "identity", m.WhoAmI, public=True),
    Op("delete", "/v1/athletes/{athlete_id}", "Delete my data (everything)", "athletes", m.Deleted),
    Op("post", "/v1/athletes/{athlete_id}/activities", "Upload FIT/GPX/.gz/zip", "athletes",
       m.IngestReport, status=202, upload=True, description=UPLOAD_FILES,
       query={"filename": {"type": "string", "maxLength": 500,
                           "description": "The file's name, when the body is the raw file."}}),
    Op("get", "/v1/athletes/{athlete_id}/activities", "List my activities", "athletes",
       m.ActivityList, query={"limit": {"type": "integer", "minimum": 1, "maximum": 500}}),
    Op("get", "/v1/athletes/{athlete_id}/activities/{activity_id}", "One activity", "athletes",
       m.ActivityDetail),
    Op("get", "/v1/athletes/{athlete_id}/load",
       "My knee load: daily and weekly knee-km with the acute load and the tolerance", "athletes",
       m.KneeLoad, query=WEEKS),
    Op("get", "/v1/athletes/{athlete_id}/preferences", "My preferences", "athletes",
       m.PreferencesView),
    Op("put", "/v1/athletes/{athlete_id}/preferences", "Change my preferences", "athletes",
       m.PreferencesView, body=Preferences),
    Op("get", "/v1/athletes/{athlete_id}/findings",
       "Findings, newest first (the runner, or an integrator the runner shares `findings` with)",
       "athletes", m.FindingPage, query=FINDING_QUERY),
    Op("get", "/v1/athletes/{athlete_id}/integrators", "Integrators and what I share with each",
       "athletes", m.IntegratorConsentList),
    Op("put", "/v1/athletes/{athlete_id}/integrators/{integrator_id}",
       "Choose what this integrator sees", "athletes", m.IntegratorConsent, body=SetConsent),
    Op("post", "/v1/connect-links", "Mint a signed connect link for one of your users (integrator)",
       "integrators", m.ConnectLink, status=201, body=CreateConnectLink),
    Op("post", "/v1/athletes/{athlete_id}/connections/strava/disconnect", "Disconnect Strava",
       "athletes", m.Disconnected),
    Op("post", "/v1/athletes/{athlete_id}/connections/garmin/disconnect", "Disconnect Garmin",
       "athletes", m.Disconnected),
    Op("get", "/v1/athletes/{athlete_id}/connections/garmin",
       "My Garmin connection: status, why, and what history was recovered", "athletes",
       m.GarminConnection),
    Op("post", "/v1/clubs", "Create a club (the runner becomes its admin)", "clubs", m.ClubView,
       status=201, body=CreateClub),
    Op("get", "/v1/clubs", "My clubs", "clubs", m.ClubList),
    Op("get", "/v1/clubs/{club_id}", "One club", "clubs", m.ClubDetail),
    Op("get", "/v1/clubs/{club_id}/members",
       "Consenting members, a page at a time (athlete id order; follow `next_cursor`): risk, "
       "latest finding, weeks", "clubs", m.MemberList,
       query={**WEEKS, "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
              "cursor": {"type": "string", "pattern": MEMBER_CURSOR_PATTERN,
                         "description": "`next_cursor` of the previous page"}}),
    Op("get", "/v1/clubs/{club_id}/members/{athlete_id}", "A member's club-visible findings",
       "clubs", m.MemberDetail),
    Op("get", "/v1/clubs/{club_id}/members/{athlete_id}/series", "A member's charts data",
       "clubs", m.MemberSeries, query=WEEKS),
    Op("put", "/v1/clubs/{club_id}/members/{athlete_id}/role", "Set a member's role", "clubs",
       m.RoleView, body=SetRole),
    Op("delete", "/v1/clubs/{club_id}/members/{athlete_id}", "Remove a member", "clubs", None,
       status=204),
    Op("post", "/v1/clubs/{club_id}/membership/withdraw", "Withdraw consent and leave", "clubs",
       m.Withdrawn),
    Op("post", "/v1/clubs/{club_id}/invites", "Create an invite link", "clubs", m.NewInvite,
       status=201, body=CreateInvite),
    Op("get", "/v1/clubs/{club_id}/invites", "List invites", "clubs", m.InviteList),
    Op("delete", "/v1/clubs/{club_id}/invites/{invite_id}", "Revoke an invite", "clubs", None,
       status=204),
    Op("get", "/v1/invites/{token}", "What an invite shares (the token is the secret)", "clubs",
       m.InvitePublic, public=True),
    Op("post", "/v1/invites/{token}/accept", "Join with explicit consent", "clubs", m.Joined,
       body=AcceptInvite),
    Op("post", "/v1/clubs/{club_id}/keys", "Issue a club API key (shown once)", "keys",
       m.NewKey, status=201, body=CreateKey),
    Op("get", "/v1/clubs/{club_id}/keys", "List the club's keys", "keys", m.KeyList),
    Op("delete", "/v1/clubs/{club_id}/keys/{key_id}", "Revoke a key", "keys", None, status=204),
    Op("post", "/v1/endpoints", "Create a webhook endpoint", "webhooks", m.EndpointWithSecret,
       status=201, body=CreateEndpoint),
    Op("get", "/v1/endpoints", "List webhook endpoints", "webhooks", m.EndpointList),
    Op("get", "/v1/endpoints/{endpoint_id}", "One endpoint", "webhooks", m.EndpointView),
    Op("delete", "/v1/endpoints/{endpoint_id}", "Delete an endpoint", "webhooks", None,
       status=204),
    Op("post", "/v1/endpoints/{endpoint_id}/rotate", "Rotate the signing secret", "webhooks",
       m.EndpointWithSecret, body=Rotate),
    Op("post", "/v1/endpoints/{endpoint_id}/enable", "Re-enable an endpoint", "webhooks",
       m.EndpointView),
    Op("post", "/v1/endpoints/{endpoint_id}/disable", "Stop sending (pending messages cancelled)",
       "webhooks", m.EndpointView),
    Op("post", "/v1/endpoints/{endpoint_id}/test", "Send a test event", "webhooks",
       m.MessageQueued, status=202),
    Op("post", "/v1/endpoints/{endpoint_id}/replay", "Send messages again", "webhooks",
       m.Replayed, status=202, body=Replay),
    Op("get", "/v1/endpoints/{endpoint_id}/messages", "Recent messages", "webhooks",
       m.MessageList),
    Op("get", "/v1/endpoints/{endpoint_id}/messages/{message_id}", "A message and its attempts",
       "webhooks", m.Message),
]

DESCRIPTION = """kneeguard warns runners about the training patterns behind outer-knee and kneecap
pain.

**Credentials** — `Authorization: Bearer <credential>`:
- a runner's personal token (`kg_…`, from `kneeguard athletes add`);
- a club API key (`kgk_…`, scopes `read` and/or `admin`, from `kneeguard clubs add` or
  `POST /v1/clubs/{club_id}/keys`);
- an integrator API key (`kgk_…`, from `kneeguard keys add --integrator NAME`).

**Integrators** see a runner only as far as that runner chose for that integrator (`findings`,
`distance`, `descent`); `POST /v1/connect-links` mints a signed link that stores the integrator's
own reference for its user, returned as `integrator_ref` in every webhook and findings page.

Browsers use the session cookie instead; unsafe methods then need the `X-CSRF-Token` header.

**Tenancy** — every lookup is scoped by the caller: another tenant's ids answer 404.

**What clubs see** — only what each member consented to share, computed from club-visible sources:
by default nothing derived from Strava data (Strava's API terms), no private activities, and never
emails, tokens or GPS tracks.

**Errors** — always `{"error": {"code", "message", "details"}}`. Rate limits answer 429 with
`Retry-After`; provider receivers under `/webhooks/` are never rate limited. When our database or
queue fails the answer is 503 `unavailable` with `Retry-After` and nothing of the request is kept:
retry it (a 4xx is always about the request itself, and is never worth retrying unchanged).

**JSON bodies** — UTF-8 only, no type coercion (`"yes"` is not a boolean, `"5"` not a number),
unknown keys refused: 400 `invalid_json` or 422 `validation_failed`.
"""


def _models(ops: list[Op]) -> list[type[BaseModel]]:
    found: set[type[BaseModel]] = {m.Error}
    for op in ops:
        found.update(x for x in (op.response, op.body) if x is not None)
    return sorted(found, key=lambda x: x.__name__)


def _components() -> dict:
    schemas: dict = {}
    for model in _models(OPERATIONS):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(op: Op) -> dict:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{(\w+)}", op.path)]
    params += [{"name": k, "in": "query", "required": False, "schema": v}
               for k, v in op.query.items()]
    ok = ({"description": "No content"} if op.response is None else
          {"description": "OK", "content": {"application/json": {"schema": _ref(op.response)}}})
    responses = {str(op.status): ok}
    error = {"content": {"application/json": {"schema": _ref(m.Error)}}}
    responses.update({str(code): {"description": text, **error}
                      for code, text in ERROR_STATUSES.items()})
    out = {"summary": op.summary, "tags": [op.tag], "parameters": params,
           **({"description": op.description} if op.description else {}),
           "operationId": f"{op.method}_{re.sub(r'[^a-z0-9]+', '_', op.path.lower()).strip('_')}",
           "responses": responses}
    out["security"] = [{}, *BEARER] if op.public else BEARER
    if op.body is not None:
        # A body whose every field has a default may be left out (the server reads it as {}).
        schema = op.body.model_json_schema()
        out["requestBody"] = {"required": bool(schema.get("required") or schema.get("anyOf")),
                              "content": {"application/json": {"schema": _ref(op.body)}}}
    if op.upload:
        out["requestBody"] = {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}}}}}
    return out


@lru_cache(maxsize=4)
def build_spec(public_url: str) -> dict:
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "kneeguard", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": public_url}],
        "paths": paths,
        "webhooks": webhooks_section(),
        "components": {"schemas": _components(), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "Personal token `kg_…` or API key `kgk_…`."},
            "session": {"type": "apiKey", "in": "cookie", "name": "session",
                        "description": "Browser session (unsafe methods need X-CSRF-Token)."}}},
    }


def webhooks_section() -> dict:
    """Every event type of the catalog with its payload schema (the packaged JSON Schema file,
    the same one the tests validate sent messages against)."""
    from workers.notify import catalog

    out = {}
    for name in catalog.event_types():
        event = catalog.CATALOG[name]
        schema = {k: v for k, v in catalog.schema(name).items() if k not in ("$schema", "$id")}
        out[name] = {"post": {
            "summary": event.description, "tags": ["webhook events"],
            "description": f"**When:** {event.when}.\n\n**Who can receive it:** {event.who}.\n\n"
                           "Signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
                           "`webhook-signature`); verify with the `standardwebhooks` package.",
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}},
            "responses": {"2XX": {"description": "Received (any 2xx)."},
                          "410": {"description": "Gone: the endpoint is disabled."}}}}
    return out


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(build_spec(current_app.extensions["kneeguard"].settings.public_url))


def _swagger_dir() -> Path | None:
    """Swagger UI 5 (reads OpenAPI 3.1, webhooks included) from the flask-swagger-ui package's
    bundled dist folder; we serve the files ourselves, so no CDN and no blueprint of theirs."""
    try:
        import flask_swagger_ui
    except ImportError:
        return None
    folder = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


DOCS_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>kneeguard API</title><link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>"""
DOCS_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, presets: [SwaggerUIBundle.presets.apis]});"""
FALLBACK_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>kneeguard API</title></head><body><h1>kneeguard API</h1>
<p>The OpenAPI 3.1 document is at <a href="/openapi.json">/openapi.json</a>.
Install <code>flask-swagger-ui</code> for interactive docs.</p></body></html>"""


@bp.get("/docs")
def docs():
    html = DOCS_HTML if _swagger_dir() else FALLBACK_HTML
    return Response(html, mimetype="text/html")


@bp.get("/docs/init.js")
def docs_init():
    return Response(DOCS_INIT, mimetype="text/javascript")


@bp.get("/docs/static/<path:filename>")
def docs_static(filename: str):
    folder = _swagger_dir()
    if folder is None:
        abort(404)
    return send_from_directory(folder, filename)
