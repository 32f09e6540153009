"""Drive headless Chromium over the DevTools protocol (a websocket): open pages, fill and submit
forms, attach files to <input type=file>, read the DOM, take screenshots.

`--dump-dom` can only load a URL; signing in through the /login form (tokens are never accepted in
URLs) and uploading through /me need a real page session. Used by the browser tests and by
bench/screenshots.py.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, width: int = 1200, height: int = 900) -> None:
        if CHROMIUM is None:
            raise RuntimeError("chromium is not installed")
        # Chromium's helper processes may still write to the profile for a moment after the browser
        # exits: the whole process group is stopped, and a late file never fails a test.
        self._profile = tempfile.TemporaryDirectory(prefix="kg-chromium-", ignore_cleanup_errors=True)
        self._proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-dev-shm-usage",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={self._profile.name}", f"--window-size={width},{height}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self._ids = itertools.count(1)
        self._events: list[dict] = []  # events read while waiting for a reply, kept for _wait_load
        self._ws = websocket.create_connection(self._page_socket(), timeout=60)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def _page_socket(self) -> str:
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        pages = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        return next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")

    def send(self, method: str, **params) -> dict:
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == ident:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def _wait_load(self) -> None:
        # A busy machine can deliver the load event before the reply to the command that caused
        # it: `send` keeps such events, so look there first.
        while True:
            if any(e.get("method") == "Page.loadEventFired" for e in self._events):
                self._events.clear()
                return
            msg = json.loads(self._ws.recv())
            if msg.get("method") == "Page.loadEventFired":
                self._events.clear()
                return

    def open(self, url: str) -> None:
        self._events.clear()
        self.send("Page.navigate", url=url)
        self._wait_load()

    def eval(self, expression: str, gesture: bool = False):
        """`gesture`: as if the user had clicked (what the clipboard API asks for)."""
        found = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                          awaitPromise=True, userGesture=gesture)
        if "exceptionDetails" in found:
            raise RuntimeError(found["exceptionDetails"])
        return found["result"].get("value")

    def submit(self, form_selector: str, **fields: str) -> None:
        """Fill named fields and submit the form (a real navigation)."""
        script = "".join(
            f"document.querySelector({json.dumps(form_selector)}).elements"
            f"[{json.dumps(k)}].value = {json.dumps(v)};" for k, v in fields.items())
        self._events.clear()
        self.send("Runtime.evaluate",
                  expression=script + f"document.querySelector({json.dumps(form_selector)})"
                                      ".requestSubmit();")
        self._wait_load()

    def click(self, selector: str) -> None:
        """Click what navigates (a link, a form's button) and wait for the next page."""
        self._events.clear()
        self.send("Runtime.evaluate",
                  expression=f"document.querySelector({json.dumps(selector)}).click();")
        self._wait_load()

    def check(self, selector: str, checked: bool = True) -> None:
        self.eval(f"document.querySelector({json.dumps(selector)}).checked = {json.dumps(checked)}")

    def allow_clipboard(self, origin: str) -> None:
        """Let the page write and read the clipboard, as a focused window that was granted it
        (a headless page has no focus, and the clipboard API refuses unfocused documents)."""
        self.send("Emulation.setFocusEmulationEnabled", enabled=True)
        self.send("Browser.grantPermissions", origin=origin,
                  permissions=["clipboardReadWrite", "clipboardSanitizedWrite"])

    def accept_confirms(self) -> None:
        """window.confirm() answers yes on this page (a headless browser shows no dialog)."""
        self.eval("window.confirm = () => true")

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        """Resize the page (e.g. a phone's 390 px) without restarting the browser."""
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def set_files(self, selector: str, paths: list[str]) -> None:
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.send("DOM.setFileInputFiles", nodeId=node, files=[str(p) for p in paths])

    def wait_for(self, expression: str, timeout: float = 60.0):
        """Poll a JS expression until it is truthy (a page doing async work, e.g. uploads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"never true: {expression}")

    def html(self) -> str:
        return self.eval("document.documentElement.outerHTML")

    def screenshot(self, path: Path, full: bool = True) -> None:
        """The whole page (`full`), or what the viewport shows now."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full)
        Path(path).write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            self._stop(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._stop(signal.SIGKILL)
                self._proc.wait(timeout=10)
            self._profile.cleanup()

    def _stop(self, sig: int) -> None:
        try:
            os.killpg(self._proc.pid, sig)  # the browser and every helper it started
        except ProcessLookupError:
            pass

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sign_in(b: Browser, base_url: str, token: str, next_path: str = "") -> None:
    """Through the /login form, as a person would (paste the token, press Sign in)."""
    b.open(f"{base_url}/login" + (f"?next={next_path}" if next_path else ""))
    b.submit("form.card", credential=token)


def sign_out(b: Browser) -> None:
    """The header's Sign out button (a POST with the page's CSRF token)."""
    b.click("header form button")
