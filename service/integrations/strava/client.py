"""Strava API v3 client: OAuth, activities, streams, description write-back, push subscriptions.

Pure provider code (base.py contract): no Flask, no database. Every request goes through
`service.infra.http.request`; failures become ProviderError subclasses that say whether a retry can help:

- 401 -> AuthRevoked (token invalid/revoked), or InsufficientScope when Strava says a permission is
  missing (`{"resource": "AccessToken", "field": "activity:write_permission", "code": "missing"}`);
- refresh with a dead refresh token (400 RefreshToken/invalid, or `invalid_grant`) -> AuthRevoked;
- 429 -> RateLimited, retry_after = seconds to the next quarter hour, or to UTC midnight when the
  response's headers show a daily budget spent;
- 5xx, timeouts, connection errors -> ProviderError(permanent=False); other 4xx -> permanent.

Reference: https://developers.strava.com/docs/authentication/
Reference: https://developers.strava.com/docs/reference/
Reference: https://developers.strava.com/docs/webhooks/
Reference: https://developers.strava.com/docs/rate-limits/
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pydantic
import requests

from service.infra import http
from service.integrations.base import (
    AuthRevoked,
    InsufficientScope,
    ProviderError,
    RateLimited,
    RemoteActivity,
    TokenSet,
)
from service.integrations.strava.models import (
    STREAM_KEYS,
    Athlete,
    StreamModel,
    Subscription,
    SubscriptionCreated,
    TokenResponse,
    normalise_sport,
    to_remote,
)
from service.integrations.strava.rates import RateGovernor, RateLimitState, retry_after_429

__all__ = ["DEFAULT_SCOPES", "STREAM_KEYS", "RateGovernor", "RateLimitState", "StravaClient",
           "normalise_sport", "parse_granted_scopes"]

DEFAULT_SCOPES = ("activity:read_all", "activity:write")
SUBSCRIBE_TIMEOUT = (5.0, 30.0)  # Strava calls our callback before it answers the create POST

Headers = Mapping[str, str]


def parse_granted_scopes(scope: str | None) -> frozenset[str]:
    """The `scope` query parameter of the OAuth callback -> set of scopes. Strava sends them comma
    separated ("read,activity:read_all"); space separation is accepted too."""
    if not scope:
        return frozenset()
    return frozenset(s for s in scope.replace(",", " ").split() if s)


def _epoch(value: datetime | int | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(value)


def _errors(resp: requests.Response) -> list[dict[str, Any]]:
    """Strava's error body: {"message": "...", "errors": [{"resource", "field", "code"}]}."""
    try:
        body = resp.json()
    except ValueError:
        return []
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):  # RFC 6749 style, e.g. {"error": "invalid_grant"}
            return [{"resource": "", "field": "", "code": body["error"]}]
        errs = body.get("errors")
        if isinstance(errs, list):
            return [e for e in errs if isinstance(e, dict)]
    return []


def _names_application(errs: list[dict[str, Any]]) -> bool:
    """Our own client_id/client_secret is wrong: a config problem, not the runner's revocation."""
    return any(e.get("resource") == "Application" or e.get("code") == "invalid_client"
               or e.get("field") in ("client_id", "client_secret") for e in errs)


class StravaClient:
    """One app's view of Strava. Stateless apart from configuration: tokens are passed per call."""

    def __init__(self, api_url: str, oauth_url: str, client_id: str | int, client_secret: str, *,
                 on_response: Callable[[Headers], None] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.oauth_url = oauth_url.rstrip("/")
        self.client_id = str(client_id)
        self.client_secret = client_secret
        self.on_response = on_response  # fed the headers of every response (rate governor)
        self.clock = clock or (lambda: datetime.now(UTC))

    # ---- transport -------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, refresh: bool = False, **kwargs: Any
              ) -> requests.Response:
        try:
            resp = http.request(method, url, **kwargs)
        except requests.RequestException as exc:  # timeouts, refused connections, resets
            raise ProviderError(f"strava {method} {url}: {type(exc).__name__}") from exc
        if self.on_response is not None:
            self.on_response(resp.headers)
        self._raise_for(resp, refresh=refresh)
        return resp

    def _raise_for(self, resp: requests.Response, *, refresh: bool) -> None:
        status = resp.status_code
        if status < 400:
            return
        errs = _errors(resp)
        what = f"strava {resp.request.method} {resp.url.split('?')[0]}: {status} {errs or ''}"
        if status == 429:
            state = RateLimitState.from_headers(resp.headers, self.clock())
            raise RateLimited(what, retry_after=retry_after_429(state, self.clock()))
        if status >= 500:
            raise ProviderError(what, status=status)
        if _names_application(errs):
            raise ProviderError(what, permanent=True, status=status)
        if status == 401:
            missing = [e for e in errs if e.get("code") == "missing"]
            if missing:
                field = str(missing[0].get("field", ""))
                raise InsufficientScope(what, scope=field.removesuffix("_permission"))
            raise AuthRevoked(what)
        if refresh and status == 400:
            # RefreshToken invalid / invalid_grant: the runner must reconnect
            raise AuthRevoked(what)
        raise ProviderError(what, permanent=True, status=status)

    @staticmethod
    def _parse(model: type[pydantic.BaseModel], resp: requests.Response) -> Any:
        try:
            return model.model_validate(resp.json())
        except ValueError as exc:  # JSONDecodeError and pydantic.ValidationError are ValueErrors
            raise ProviderError(f"strava: unexpected response shape: {exc}", permanent=True,
                                status=resp.status_code) from exc

    def _api(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}  # header only: the 2027 migration rule
        return self._send(method, f"{self.api_url}{path}", headers=headers, **kwargs)

    def _app_creds(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret}

    # ---- OAuth -----------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str, scopes: Iterable[str] = DEFAULT_SCOPES,
                      approval_prompt: str = "auto") -> str:
        query = {"client_id": self.client_id, "redirect_uri": redirect_uri, "response_type": "code",
                 "approval_prompt": approval_prompt, "scope": ",".join(scopes), "state": state}
        return f"{self.oauth_url}/authorize?{urlencode(query)}"

    def _token_set(self, tr: TokenResponse, scopes: frozenset[str]) -> TokenSet:
        return TokenSet(access_token=tr.access_token, refresh_token=tr.refresh_token,
                        expires_at=datetime.fromtimestamp(tr.expires_at, UTC), scopes=scopes,
                        provider_user_id=str(tr.athlete.id) if tr.athlete else None,
                        profile_name=_profile_name(tr))

    # Reference: https://developers.strava.com/docs/authentication/#tokenexchange
    def exchange_code(self, code: str, granted_scope: str | None = None) -> TokenSet:
        """Code from the callback -> tokens. Pass the callback's `scope` parameter: the token
        response does not document one, and the user may have unticked scopes."""
        resp = self._send("POST", f"{self.oauth_url}/token",
                          data={**self._app_creds(), "code": code,
                                "grant_type": "authorization_code"})
        tr = self._parse(TokenResponse, resp)
        return self._token_set(tr, parse_granted_scopes(granted_scope or tr.scope))

    # Reference: https://developers.strava.com/docs/authentication/#refreshingexpiredaccesstokens
    def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens. The returned refresh token may differ and then the old one is dead at once:
        persist the result before anything else. Scopes are not re-sent (keep the stored ones)."""
        resp = self._send("POST", f"{self.oauth_url}/token", refresh=True,
                          data={**self._app_creds(), "refresh_token": refresh_token,
                                "grant_type": "refresh_token"})
        tr = self._parse(TokenResponse, resp)
        return self._token_set(tr, parse_granted_scopes(tr.scope))

    # Reference: https://developers.strava.com/docs/authentication/#deauthorization
    def revoke(self, access_token: str, refresh_token: str | None = None) -> str:
        """Disconnect the athlete. POST /oauth/revoke (2026, Basic auth); on 404 (a Strava without
        it) the legacy POST /oauth/deauthorize, which goes away 2027-06-01. A 401 from deauthorize
        means the token is already dead: nothing left to revoke. Returns the endpoint used."""
        if refresh_token:
            form = {"token": refresh_token, "token_type_hint": "refresh_token"}
        else:
            form = {"token": access_token, "token_type_hint": "access_token"}
        try:
            self._send("POST", f"{self.oauth_url}/revoke", data=form,
                       auth=(self.client_id, self.client_secret))
            return "revoke"
        except ProviderError as exc:
            if exc.status != 404:
                raise
        try:
            self._send("POST", f"{self.oauth_url}/deauthorize", data={"access_token": access_token},
                       headers={"Authorization": f"Bearer {access_token}"})
        except AuthRevoked:
            pass
        return "deauthorize"

    # ---- athlete & activities ----------------------------------------------------------------

    def get_athlete(self, access_token: str) -> Athlete:
        return self._parse(Athlete, self._api("GET", "/athlete", access_token))

    # Reference: https://developers.strava.com/docs/reference/#api-Activities-getLoggedInAthleteActivities
    def list_activities(self, access_token: str, after: datetime | int | None = None,
                        before: datetime | int | None = None, page: int = 1, per_page: int = 200
                        ) -> list[RemoteActivity]:
        """One page of SummaryActivity. Strava caps per_page at 200; a page shorter than per_page
        is the last one."""
        params = {"page": page, "per_page": min(per_page, 200), "after": _epoch(after),
                  "before": _epoch(before)}
        resp = self._api("GET", "/athlete/activities", access_token,
                         params={k: v for k, v in params.items() if v is not None})
        body = self._json(resp)
        if not isinstance(body, list):
            raise ProviderError("strava: activity list is not a list", permanent=True)
        return [self._remote(item) for item in body]

    def iter_activities(self, access_token: str, after: datetime | int | None = None,
                        before: datetime | int | None = None, per_page: int = 200
                        ) -> Iterator[RemoteActivity]:
        """All pages, stopping at the first short page (so 300 runs cost 2 calls, not 3)."""
        page = 1
        while True:
            items = self.list_activities(access_token, after, before, page, per_page)
            yield from items
            if len(items) < min(per_page, 200):
                return
            page += 1

    def get_activity(self, access_token: str, activity_id: int | str) -> RemoteActivity:
        """DetailedActivity (raw kept, description included). 404 -> permanent ProviderError with
        status 404: deleted, or not visible with this token's scopes."""
        return self._remote(self._json(self._api("GET", f"/activities/{activity_id}",
                                                  access_token)))

    # Reference: https://developers.strava.com/docs/reference/#api-Streams-getActivityStreams
    def get_streams(self, access_token: str, activity_id: int | str,
                    keys: Iterable[str] = STREAM_KEYS) -> dict[str, list[Any]] | None:
        """{stream type: data list} for the streams the activity has (treadmill runs have no
        latlng). None when Strava answers 404, which it does for manual activities."""
        try:
            resp = self._api("GET", f"/activities/{activity_id}/streams", access_token,
                             params={"keys": ",".join(keys), "key_by_type": "true"})
        except ProviderError as exc:
            if exc.status == 404:
                return None
            raise
        body = self._json(resp)
        if not isinstance(body, dict):
            raise ProviderError("strava: streams not keyed by type", permanent=True)
        try:
            return {k: StreamModel.model_validate(v).data for k, v in body.items()}
        except pydantic.ValidationError as exc:
            raise ProviderError(f"strava: bad stream: {exc}", permanent=True) from exc

    # Reference: https://developers.strava.com/docs/reference/#api-Activities-updateActivityById
    def update_description(self, access_token: str, activity_id: int | str,
                           description: str) -> RemoteActivity:
        """PUT the whole description (Strava has no append). JSON body: form-encoded bodies have
        been mis-applied (stravalib #716). Needs activity:write (+ read_all for Only Me)."""
        resp = self._api("PUT", f"/activities/{activity_id}", access_token,
                         json={"description": description})
        return self._remote(self._json(resp))

    # ---- push subscriptions (app credentials, not athlete tokens) ------------------------------

    # Reference: https://developers.strava.com/docs/webhooks/#create-a-subscription
    def create_subscription(self, callback_url: str, verify_token: str) -> int:
        """Strava GETs `callback_url` with hub.challenge before answering; our endpoint must echo
        it within 2 s. One subscription per app: a second create is a permanent 400."""
        resp = self._send("POST", f"{self.api_url}/push_subscriptions", timeout=SUBSCRIBE_TIMEOUT,
                          data={**self._app_creds(), "callback_url": callback_url,
                                "verify_token": verify_token})
        return self._parse(SubscriptionCreated, resp).id

    def list_subscriptions(self) -> list[Subscription]:
        resp = self._send("GET", f"{self.api_url}/push_subscriptions", params=self._app_creds())
        body = self._json(resp)
        try:
            return [Subscription.model_validate(s) for s in body]
        except (TypeError, pydantic.ValidationError) as exc:
            raise ProviderError(f"strava: bad subscription list: {exc}", permanent=True) from exc

    def delete_subscription(self, subscription_id: int) -> None:
        self._send("DELETE", f"{self.api_url}/push_subscriptions/{subscription_id}",
                   params=self._app_creds())

    # ---- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _json(resp: requests.Response) -> Any:
        try:
            return resp.json()
        except ValueError as exc:
            raise ProviderError(f"strava: response is not JSON ({resp.status_code})") from exc

    @staticmethod
    def _remote(item: Any) -> RemoteActivity:
        if not isinstance(item, dict):
            raise ProviderError("strava: activity is not an object", permanent=True)
        try:
            return to_remote(item)
        except pydantic.ValidationError as exc:
            raise ProviderError(f"strava: bad activity: {exc}", permanent=True) from exc


def _profile_name(tr: TokenResponse) -> str | None:
    """First name and last initial ("Ana P."): a default display name, never the full name."""
    first = ((tr.athlete.firstname if tr.athlete else None) or "").strip()
    last = ((tr.athlete.lastname if tr.athlete else None) or "").strip()
    if not first:
        return None
    return f"{first} {last[0]}." if last else first
