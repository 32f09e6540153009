"""What each kind of user does first, click by click in headless Chromium (testkit/cdp.py).

The tests run these walkthroughs and check every step; bench/screenshots.py runs the same steps and
keeps the pictures for the README. Each takes a `shot(name)` callback called at the moments worth a
picture, and a `settle()` callback that lets the pipeline finish (a worker process in production).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from testkit.cdp import Browser, sign_in, sign_out

Shot = Callable[..., None]  # shot(name, full=True): the whole page, or only the viewport
PHONE = (390, 844)
DESKTOP = (1280, 900)


def nothing(*_args) -> None:
    return None


def badges_outside(b: Browser) -> list[str]:
    """Finding badges on the page that are not wholly visible: wider than the viewport, or cut
    off by a card (overflow) they sit in."""
    return b.eval("""(() => {
      const out = [];
      const vw = document.documentElement.clientWidth;
      for (const el of document.querySelectorAll('.risk')) {
        const r = el.getBoundingClientRect();
        const card = el.closest('.card, table');
        const c = card ? card.getBoundingClientRect() : {left: 0, right: vw};
        if (r.width === 0 || r.left < -0.5 || r.right > vw + 0.5 || r.left < c.left - 0.5 ||
            r.right > c.right + 0.5) out.push(el.textContent.trim() + ' @' + Math.round(r.right));
      }
      return out;
    })()""")


def runner_home(b: Browser, url: str, token: str, shot: Shot = nothing) -> dict:
    """A runner with an imported past opens /me on a desktop, then on a phone."""
    b.viewport(*DESKTOP)
    sign_in(b, url, token)
    b.wait_for("location.pathname === '/me'")
    seen = {"weeks": b.eval("document.querySelectorAll('#findings h3.week').length"),
            "bars": b.eval("document.querySelectorAll('#charts svg.chart rect').length"),
            "badges": b.eval("document.querySelectorAll('.risk').length"),
            "cut_desktop": badges_outside(b)}
    shot("me")
    b.viewport(*PHONE, mobile=True)
    b.open(f"{url}/me")
    seen["cut_phone"] = badges_outside(b)
    seen["page_width_phone"] = b.eval("document.documentElement.scrollWidth")
    b.eval("document.querySelector('#findings').scrollIntoView()")
    shot("me-phone", full=False)
    b.eval("document.querySelector('#runs').scrollIntoView()")
    shot("me-phone-runs", full=False)
    b.viewport(*DESKTOP)
    return seen


def create_club(b: Browser, url: str, admin_token: str, name: str, shot: Shot = nothing) -> str:
    """From /me: name the club, land on its members-and-invites page; returns the club id."""
    sign_in(b, url, admin_token)
    b.submit("#create-club", name=name)
    path = b.eval("location.pathname")
    assert path.startswith("/clubs/") and path.endswith("/people"), path
    shot("club-new")
    return path.split("/")[2]


def make_invite(b: Browser, url: str, club_id: str, shot: Shot = nothing) -> str:
    b.open(f"{url}/clubs/{club_id}/people")
    b.click("#invite-form button")
    link = b.eval("document.querySelector('#invite-url').value")
    b.allow_clipboard(url)
    b.eval("document.querySelector('[data-copy]').click()", gesture=True)
    b.wait_for("document.querySelector('#invite-url').dataset.copied === '1' || "
               "!document.querySelector('#flash').hidden")
    assert b.eval("document.querySelector('#invite-url').dataset.copied") == "1", b.eval(
        "document.querySelector('#flash').textContent")
    copied = b.eval("navigator.clipboard.readText()", gesture=True)
    assert copied == link, (copied, link)
    shot("invite")
    return link


def join(b: Browser, url: str, token: str, link: str, name: str, files: list[Path],
         settle=nothing) -> str:
    """A runner signs in, chooses a display name, opens the invite link, shares everything under
    that name, sees the confirmation on /me and uploads runs there (if any). Returns the /me
    confirmation's text."""
    sign_in(b, url, token)
    b.submit("form[action='/me/name']", display_name=name)
    b.open(url + "/join/" + link.rsplit("/join/", 1)[1])  # the server's PUBLIC_URL may differ
    for box in ("findings", "distance", "descent", "routes"):
        b.check(f"input[name=scope][value={box}]")
    b.check("input[name=share_name]")
    b.click("form.card button")
    confirmation = b.eval("(document.querySelector('#joined') || {}).textContent || ''")
    if files:
        b.set_files("#files", [str(f) for f in files])
        b.eval("document.querySelector('#upload button').click()")
        b.wait_for(f"document.querySelector('#upload').dataset.finished === '{len(files)}'")
        settle()
    sign_out(b)
    return confirmation


def club_admin(b: Browser, url: str, admin_token: str,
               members: list[tuple[str, str, list[Path]]],
               shot: Shot = nothing, settle=nothing) -> dict:
    """From an empty club to a dashboard with three consenting members, then a key."""
    club_id = create_club(b, url, admin_token, "Riverside Runners", shot)
    b.open(f"{url}/clubs/{club_id}")
    empty = b.eval("document.querySelector('#members tbody').textContent")
    shot("club-empty")
    link = make_invite(b, url, club_id, shot)
    sign_out(b)
    joined = [join(b, url, token, link, name, files, settle) for token, name, files in members]
    sign_in(b, url, admin_token, f"/clubs/{club_id}")
    rows = b.eval("document.querySelectorAll('#members tbody tr a').length")
    dashboard = b.eval("document.querySelector('#members').textContent")
    shot("club")
    b.click("#members tbody tr a")
    shot("member")
    b.open(f"{url}/clubs/{club_id}/keys")
    b.check("#key-form input[value=admin]")
    b.submit("#key-form", name="coach laptop")
    key = b.eval("document.querySelector('#key-value').value")
    shot("keys")
    return {"club_id": club_id, "empty": empty, "link": link, "joined": joined,
            "rows": rows, "dashboard": dashboard, "key": key}


def dump(seen: dict) -> str:
    return json.dumps(seen, indent=2, default=str)
