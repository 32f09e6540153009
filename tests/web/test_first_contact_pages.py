"""Pages' minor points (issue 25): parser errors in human words on the upload answer, one severity
wording on /me, the dashboard and in email, `?token=` refused everywhere (400, never copied into
`next`), `?joined=` confirmed on /me, the chart key kept off the plot, and CSRF on every club form."""

from __future__ import annotations

import re

import pytest

from service.domain import accounts, clubs
from service.web.pages.charts import KEY, TOP, pair_chart
from tests.clubs.world import add_finding, add_run

HTML = {"Accept": "text/html"}


def _signed_in(client, token: str) -> str:
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"credential": token, "csrf_token": csrf}).status_code == 303
    page = client.get("/me").get_data(as_text=True)  # signing in starts a new session
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_a_damaged_fit_file_is_explained_in_words(client, runtime, data_dir):
    athlete_id, token = accounts.add_athlete(runtime, "r@example.com")
    data = bytearray((data_dir / "activities/fit/msimms__20181108_run_garmin_fenix_3_hr.fit")
                     .read_bytes())
    data[-1] ^= 0xFF  # the file's CRC no longer matches
    r = client.post(f"/v1/athletes/{athlete_id}/activities",
                    headers={"Authorization": f"Bearer {token}"},
                    data={"file": (__import__("io").BytesIO(bytes(data)), "run.fit")})
    text = str(r.get_json())
    assert "checksum does not match" in text and "export it again" in text
    assert "CRC" not in text and "0x" not in text


def test_a_broken_gpx_says_where_not_a_python_error(client, runtime):
    athlete_id, token = accounts.add_athlete(runtime, "r@example.com")
    gpx = b'<?xml version="1.0"?>\n<gpx version="1.1" creator="x">\n<trk><trkseg>\n<trkpt lat="1"'
    r = client.post(f"/v1/athletes/{athlete_id}/activities",
                    headers={"Authorization": f"Bearer {token}"},
                    data={"file": (__import__("io").BytesIO(gpx), "run.gpx")})
    text = str(r.get_json())
    assert "not well-formed XML" in text and "<string>" not in text


def test_one_severity_wording_everywhere(client, runtime):
    from workers.notify.email import _SEVERITY_STYLE

    athlete_id, token = accounts.add_athlete(runtime, "r@example.com")
    with runtime.db.session() as s:
        run = add_run(s, athlete_id, __import__("datetime").datetime.now(
            __import__("datetime").UTC), 8.0)
        add_finding(s, athlete_id, run, rule="single_run_spike", severity="caution",
                    sources=["upload"])
        club = clubs.create_club(s, "C", admin_athlete_id=athlete_id)
        invite, _ = clubs.create_invite(s, club.id)
        clubs.accept_invite(s, invite, athlete_id, list(clubs.CONSENT_SCOPES))
        club_id = club.id
    headers = {"Authorization": f"Bearer {token}", **HTML}
    me = client.get("/me", headers=headers).get_data(as_text=True)
    dash = client.get(f"/clubs/{club_id}", headers=headers).get_data(as_text=True)
    assert "Worth a look" in me and "Worth a look" in dash
    assert _SEVERITY_STYLE["caution"][0] == "Worth a look"
    assert ">caution<" not in dash and "Caution" not in me + dash


@pytest.mark.parametrize("path", ["/v1/whoami?token=kg_x", "/me?token=kg_x",
                                  "/login?token=kg_x", "/clubs/c1?token=kg_x"])
def test_a_token_in_the_url_is_refused_everywhere(client, path):
    r = client.get(path, headers=HTML)
    assert r.status_code == 400
    assert "kg_x" not in (r.headers.get("Location") or "")


def test_joined_is_confirmed_on_me_only_for_a_real_membership(client, runtime):
    athlete_id, token = accounts.add_athlete(runtime, "r@example.com")
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Riverside Runners")
        invite, _ = clubs.create_invite(s, club.id)
        clubs.accept_invite(s, invite, athlete_id, ["distance"])
        other = clubs.create_club(s, "Not Mine")
        ids = club.id, other.id
    headers = {"Authorization": f"Bearer {token}", **HTML}
    page = client.get(f"/me?joined={ids[0]}", headers=headers).get_data(as_text=True)
    assert 'id="joined"' in page and "Riverside Runners" in page
    page = client.get(f"/me?joined={ids[1]}", headers=headers).get_data(as_text=True)
    assert 'id="joined"' not in page and "Not Mine" not in page


def test_the_chart_key_sits_above_the_plot():
    svg = str(pair_chart(["2024-01-01", "2024-01-02"], [9000, 10000], [10000, 10000], unit="km",
                         title="t", names=("run", "30-day longest"), scale=0.001))
    key_y = float(re.search(r'<text x="[\d.]+" y="([\d.]+)" class="lbl key"', svg).group(1))
    assert key_y < KEY  # in its own strip
    assert f'<g transform="translate(0,{KEY})">' in svg  # the plot (line and bars) below it
    line = re.search(r'<polyline class="ref"[^>]*points="([^"]+)"', svg).group(1)
    assert all(float(p.split(",")[1]) + KEY >= KEY + TOP - 0.01 for p in line.split())


FORMS = [("post", "/me/clubs", {"name": "X"}),
         ("post", "/clubs/{club}/invites/new", {"days": "7"}),
         ("post", "/clubs/{club}/invites/{invite}/revoke", {}),
         ("post", "/clubs/{club}/members/{member}/remove", {}),
         ("post", "/clubs/{club}/keys/new", {"scope": "read"}),
         ("post", "/clubs/{club}/keys/{key}/revoke", {})]


@pytest.mark.parametrize(("method", "path", "form"), FORMS)
def test_every_club_form_needs_the_csrf_token(client, runtime, method, path, form):
    admin_id, token = accounts.add_athlete(runtime, "admin@example.com")
    member_id, _ = accounts.add_athlete(runtime, "m@example.com")
    with runtime.db.session() as s:
        club = clubs.create_club(s, "C", admin_athlete_id=admin_id)
        invite, _ = clubs.create_invite(s, club.id)
        clubs.accept_invite(s, invite, member_id, ["distance"])
        key, _ = clubs.issue_key(s, "club", "k", ["read"], club_id=club.id)
        ids = {"club": club.id, "invite": invite.id, "member": member_id, "key": key.id}
    csrf = _signed_in(client, token)
    url = path.format(**ids)
    refused = client.post(url, data=form)
    assert refused.status_code == 403, url
    allowed = client.post(url, data={**form, "csrf_token": csrf})
    assert allowed.status_code in (200, 303), (url, allowed.status_code)
