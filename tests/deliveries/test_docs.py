"""Integrator docs: /docs renders the whole API in a real browser (Swagger UI 5 reads OpenAPI
3.1), and the `webhooks` section of /openapi.json is exactly the packaged event schemas."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from service.infra.loopback import LiveServer
from service.web.openapi import OPERATIONS
from workers.notify import catalog

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def rendered_dom(url: str, tmp_path: Path) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
           "--dump-dom", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_the_docs_render_every_operation_and_webhook_in_chromium(app, tmp_path):
    with LiveServer(app) as srv:
        dom = rendered_dom(srv.url + "/docs", tmp_path)
    assert "Unable to render this definition" not in dom
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {op.path for op in OPERATIONS} <= paths, sorted({op.path for op in OPERATIONS} - paths)
    for event in catalog.event_types():  # the webhooks section, one block per event type
        assert f'data-path="{event}"' in dom or f">{event}<" in dom, event


def test_openapi_webhooks_are_the_packaged_event_schemas(client):
    spec = client.get("/openapi.json").get_json()
    assert sorted(spec["webhooks"]) == catalog.event_types()
    for event, item in spec["webhooks"].items():
        schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        packaged = {k: v for k, v in catalog.schema(event).items() if k not in ("$schema", "$id")}
        assert schema == packaged, event
        Draft202012Validator.check_schema(schema)
        assert "Who can receive it" in item["post"]["description"]
