"""The sandbox's pages for people (only when `FakeStrava.consent_page` is on, as in
`kneeguard sandbox`; tests use the automatic redirect):

- the consent page: like strava.com's "Authorize" page, it names the app and each scope asked
  for, lets the runner untick the optional ones (Strava does: "the athlete may choose to not
  grant all requested scopes", developers.strava.com/docs/authentication), and Authorize or
  Cancel send the browser back to the app's redirect_uri as the automatic path does;
- /sandbox: the sandbox athlete's activities as Strava would show them, descriptions included (a
  kneeguard note lands there), and a button that records a long run now and pushes its event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from flask import Flask, redirect, render_template_string, request

if TYPE_CHECKING:
    from .provider import FakeStrava

SCOPE_WORDS = {
    "read": "View public profile and public segments (always granted)",
    "activity:read": "View data about your activities",
    "activity:read_all": "View data about your private activities",
    "activity:write": "Upload activities and edit their descriptions (kneeguard's short note)",
    "profile:read_all": "View your complete profile",
}

CONSENT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize · Strava sandbox</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:520px;margin:2rem auto;padding:0 1rem}
h1{color:#fc4c02;font-size:1.3rem} .box{border:1px solid #ddd;border-radius:8px;padding:1rem}
label{display:flex;gap:.5rem;margin:.4rem 0} button{font:inherit;padding:.4rem 1rem;margin-right:.5rem}
.authorize{background:#fc4c02;color:#fff;border:0;border-radius:4px} .note{color:#666;font-size:.9rem}</style>
</head><body>
<p class="note">Strava sandbox (local, for trying kneeguard: no real Strava account is used)</p>
<h1>Authorize {{ app }} to connect to Strava</h1>
<div class="box">
<p>Signed in as <strong>{{ athlete.firstname }} {{ athlete.lastname }}</strong>. {{ app }} asks to:</p>
<form method="get" action="/oauth/authorize" id="consent">
{% for k, v in query.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
<input type="hidden" name="consent" value="1">
{% for s in scopes %}<label><input type="checkbox" name="grant" value="{{ s }}" checked
  {% if s == 'read' %}disabled{% endif %}> {{ words.get(s, s) }}</label>{% endfor %}
<p><button class="authorize" id="authorize">Authorize</button>
<button name="deny" value="1" id="cancel">Cancel</button></p>
</form></div></body></html>"""

ACTIVITIES = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ athlete.firstname }}'s activities · Strava sandbox</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem}
h1{color:#fc4c02;font-size:1.3rem}
li{margin:.6rem 0;list-style:none;border-bottom:1px solid #eee;padding-bottom:.5rem}
.desc{white-space:pre-wrap;background:#fff7f2;border-left:3px solid #fc4c02;padding:.3rem .6rem}</style>
</head><body>
<p class="note">Strava sandbox (local): what the runner sees on Strava</p>
<h1>{{ athlete.firstname }} {{ athlete.lastname }}: activities</h1>
<form method="post" action="/sandbox/long-run">
<button id="long-run">Record a long run now (and push it)</button></form>
<ul id="activities">{% for a in activities %}<li id="activity-{{ a.id }}"><strong>{{ a.name }}</strong>
 · {{ a.start_date_local[:10] }} · {{ '%.1f'|format(a.distance / 1000) }} km
 {% if a.description %}<div class="desc">{{ a.description }}</div>{% endif %}</li>{% endfor %}</ul>
</body></html>"""


def wants_page(fake: FakeStrava) -> bool:
    return bool(fake.consent_page) and request.args.get("consent") != "1"


def consent_page(fake: FakeStrava, athlete_id: int):
    query = {k: v for k, v in request.args.items() if k not in ("grant", "deny", "consent")}
    scopes = ["read"] + [s for s in request.args.get("scope", "").replace(" ", ",").split(",")
                         if s and s != "read"]
    return render_template_string(CONSENT, app="kneeguard", query=query, scopes=scopes,
                                  words=SCOPE_WORDS, athlete=fake.athletes[athlete_id])


def register(app: Flask, fake: FakeStrava) -> None:
    @app.get("/sandbox")
    def sandbox_activities():
        athlete_id = fake.sandbox_athlete or next(iter(fake.athletes))
        acts = sorted((a for a in fake.activities.values()
                       if a["athlete"]["id"] == athlete_id),
                      key=lambda a: a["start_date"], reverse=True)[:40]
        return render_template_string(ACTIVITIES, athlete=fake.athletes[athlete_id],
                                      activities=acts)

    @app.post("/sandbox/long-run")
    def sandbox_long_run():
        athlete_id = fake.sandbox_athlete or next(iter(fake.athletes))
        start = datetime.now(UTC) - timedelta(hours=2)
        aid = fake.add_activity(athlete_id, start, 24_000.0, name="Long run", climb_m=300.0)
        if fake.subscription is not None:
            fake.send_event("activity", aid, "create", athlete_id)
        return redirect("/sandbox", 303)
