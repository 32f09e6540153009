"""Red team: signed-in pages and authenticated JSON had no `Cache-Control`, so a shared cache or the
browser's history could keep a runner's page or findings after sign-out. Every authenticated
answer is `no-store` now (and one that signs a browser in)."""

from __future__ import annotations

from service.domain.signup import account_for
from tests.helpers import athlete_with_token


def test_authenticated_json_and_pages_are_never_stored(app, client, runtime):
    athlete_id, auth = athlete_with_token(runtime)
    answers = [client.get("/v1/whoami", headers=auth),
               client.get(f"/v1/athletes/{athlete_id}/activities", headers=auth),
               client.get(f"/v1/athletes/{athlete_id}/activities/act_none", headers=auth),  # 404
               client.get("/v1/whoami", headers={"Authorization": "Bearer wrong"})]  # 401
    with runtime.db.session() as s:
        runner, _ = account_for(s, "strava", "777", None, "Ana")
    browser = app.test_client()
    with browser.session_transaction() as sess:
        sess.update({"athlete_id": runner, "v": 0, "csrf": "t0k"})
    answers += [browser.get("/me"), browser.get("/v1/whoami")]
    for r in answers:
        assert r.headers.get("Cache-Control") == "no-store", (r.request.path, r.status_code)
        assert {"Cookie", "Authorization"} <= set(r.vary)


def test_signing_in_is_not_stored_either(client, runtime):
    _, auth = athlete_with_token(runtime)
    token = auth["Authorization"].split()[1]
    client.get("/login")
    with client.session_transaction() as sess:
        csrf = sess.get("csrf")
    r = client.post("/login", data={"credential": token, "csrf_token": csrf or ""})
    assert r.status_code == 303 and r.headers.get("Cache-Control") == "no-store"
