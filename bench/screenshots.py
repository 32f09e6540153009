"""The README's pictures, taken from the walkthroughs the browser tests run (not part of CI).

    python bench/screenshots.py [--out docs/screenshots]

Builds a temporary SQLite world, serves the app on a loopback port and runs testkit/walkthroughs.py
in headless Chromium (over the DevTools protocol, testkit/cdp.py):
- the runner with an imported past (the import bench's archive: real runs re-dated one a day, in
  Strava's export layout, imported as `kneeguard import` does): me.png, me-phone.png;
- the club admin from an empty club to three consenting members (who already have recent runs:
  the demo's real files re-dated): club-new.png, club-empty.png, invite.png, club.png, member.png,
  keys.png.
Prints JSON with the files, their sizes and the load average.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from service import create_app
from service.domain import accounts, demo, importer
from service.infra import migrate
from service.infra.corpus import CHECKOUT
from service.infra.loopback import LiveServer
from service.infra.settings import Settings
from testkit import walkthroughs
from testkit.cdp import Browser

MEMBERS = ("Ana P.", "Ben O.", "Chloé D.")


def _archive(path: Path) -> Path:
    spec = importlib.util.spec_from_file_location("bench_import", Path(__file__).with_name(
        "import.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from datetime import date

    module.build_archive(path, 60, date(2024, 6, 1), oddities=False)
    return path


def _app(tmp: Path):
    url = f"sqlite:///{tmp / 'shots.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key="shots",
                        encryption_keys=(Fernet.generate_key().decode(),),
                        email_outbox_dir=str(tmp / "outbox"))
    return create_app(settings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(CHECKOUT / "docs" / "screenshots"))
    ap.add_argument("--files", default=None, help="folder with fit/ and gpx/ (default: shared)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = demo.find_files(args.files)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp))
        rt = app.extensions["kneeguard"]
        runner_id, runner = accounts.add_athlete(rt, "history@example.com")
        importer.run_import(rt, runner_id, [str(_archive(Path(tmp) / "export.zip"))],
                            "strava_export")
        _, admin = accounts.add_athlete(rt, "coach@example.com")
        members = []
        for i, name in enumerate(MEMBERS):
            athlete_id, token = accounts.add_athlete(rt, f"member{i}@example.com")
            demo.add_history(rt, athlete_id, folder, index=i, every=2 + i)
            members.append((token, name, []))
        seeded_s = time.perf_counter() - t0
        with LiveServer(app) as srv, Browser(*walkthroughs.DESKTOP) as b:
            def shot(name: str, full: bool = True) -> None:
                b.screenshot(out / f"{name}.png", full)

            walkthroughs.runner_home(b, srv.url, runner, shot)
            walkthroughs.club_admin(b, srv.url, admin, members, shot, settle=rt.queue.drain)
        rt.close()
    sizes = {p.name: p.stat().st_size for p in sorted(out.glob("*.png"))}
    print(json.dumps({"out": str(out), "seed_s": round(seeded_s, 1), "bytes": sizes,
                      "loadavg": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
