"""Screenshots of the runner's page, the club dashboard and a member page (not part of CI).

    python bench/screenshots.py [--out docs/screenshots]

Loads the demo history (real files re-dated, through the real pipeline) into a temporary SQLite
database, serves the app on a loopback port, signs in through the /login form in headless Chromium
(over the DevTools protocol, testkit/cdp.py) and writes me.png, club.png and member.png. Prints
JSON with the files and their sizes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from service import create_app
from service.domain import demo
from service.infra import migrate
from service.infra.corpus import CHECKOUT
from service.infra.loopback import LiveServer
from service.infra.settings import Settings
from testkit.cdp import Browser, sign_in


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(CHECKOUT / "docs" / "screenshots"))
    ap.add_argument("--files", default=None, help="folder with fit/ and gpx/ (default: shared)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'shots.db'}"
        migrate.upgrade(url)
        settings = Settings(database_url=url, secret_key="shots",
                            encryption_keys=(Fernet.generate_key().decode(),),
                            email_outbox_dir=str(Path(tmp) / "outbox"))
        app = create_app(settings)
        rt = app.extensions["kneeguard"]
        t0 = time.perf_counter()
        seeded = demo.load(rt, demo.find_files(args.files))
        seeded_s = time.perf_counter() - t0
        with LiveServer(app) as srv, Browser(width=1280, height=900) as b:
            sign_in(b, srv.url, seeded["token"])
            pages = {"me.png": "/me",
                     "club.png": f"/clubs/{seeded['club_id']}",
                     "member.png": f"/clubs/{seeded['club_id']}/members/{seeded['athlete_id']}"}
            shots = {}
            for name, path in pages.items():
                b.open(srv.url + path)
                b.screenshot(out / name)
                shots[name] = (out / name).stat().st_size
        rt.close()
    print(json.dumps({"out": str(out), "seed_s": round(seeded_s, 1), "bytes": shots}, indent=2))


if __name__ == "__main__":
    main()
