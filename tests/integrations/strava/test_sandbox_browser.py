"""`kneeguard sandbox` as a newcomer meets it, in headless Chromium: start the command, open
/login, tick the note, click "Connect with Strava", answer the sandbox's consent page, land on
/me with the account made, see the backfilled runs there, record a long run on the sandbox and
find the warning on /me and the note on that activity (issue 25: "connect once" could not be
tried without a Strava app)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time

import pytest
import requests

from service.infra.loopback import free_port
from testkit.cdp import CHROMIUM, Browser
from tests.helpers import CLI

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install -y chromium)")


@pytest.fixture
def sandbox(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(KNEEGUARD_DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="WARNING")
    # the access log (stdout) is not read here: it goes nowhere, so no pipe fills up
    proc = subprocess.Popen([CLI, "sandbox", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    lines = []
    try:
        while not any("/sandbox" in line for line in lines):  # the welcome ends with its URL
            line = proc.stderr.readline()
            assert line, f"sandbox exited: {''.join(lines)}"
            lines.append(line)
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep it drained
        _wait_ready(url, proc)
        yield url, re.search(r"(http://127\.0\.0\.1:\d+)/sandbox", "".join(lines)).group(1), \
            "".join(lines)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # gunicorn's quick shutdown
        proc.wait(timeout=60)


def _wait_ready(url: str, proc: subprocess.Popen, seconds: float = 300) -> None:
    """Migrations and gunicorn's start take a while on a busy machine (no timing asserted)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the sandbox exited with {proc.returncode}"
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise AssertionError("the sandbox never answered /healthz")


def _until(b: Browser, page: str, expression: str, seconds: int = 300) -> None:
    """Reload `page` until `expression` holds: the backfill and its analysis run in the
    background, as they do for a real runner."""
    for _ in range(seconds):
        b.open(page)
        if b.eval(expression):
            return
        time.sleep(1)
    raise AssertionError(f"never true on {page}: {expression}")


def test_a_newcomer_connects_the_strava_sandbox_and_sees_account_backfill_and_note(sandbox,
                                                                                  tmp_path):
    url, strava, welcome = sandbox
    assert "Connect with Strava" in welcome and "/sandbox" in welcome
    with Browser() as b:
        b.open(f"{url}/login")
        b.check("#connect-strava input[name=note]")
        b.click("#connect-strava button")
        assert b.eval("location.href").startswith(strava + "/oauth/authorize"), b.eval(
            "location.href")
        consent = b.eval("document.body.innerText")
        assert "Authorize kneeguard" in consent and "edit their descriptions" in consent
        b.click("#authorize")
        assert b.eval("location.pathname") == "/me"
        assert "Your account is ready" in b.eval("document.body.innerText")
        _until(b, f"{url}/me", "document.querySelectorAll('#runs tbody time').length >= 15")
        assert "earlier run (background)" in b.eval("document.querySelector('#runs').innerText")
        b.screenshot(tmp_path / "sandbox-backfill.png")
        b.open(f"{strava}/sandbox")
        b.click("#long-run")  # the runner records a long run: Strava pushes it to kneeguard
        _until(b, f"{url}/me", "document.querySelector('#runs tbody tr').innerText"
               ".includes('One run much longer than usual')")
        b.screenshot(tmp_path / "sandbox-me.png")
        _until(b, f"{strava}/sandbox",  # the note is written by the delivery job
               "document.querySelector('#activities li').innerText.includes('kneeguard')")
        newest = b.eval("document.querySelector('#activities li').innerText")
        b.screenshot(tmp_path / "sandbox-strava.png")
    assert "Long run" in newest and "kneeguard" in newest, newest
