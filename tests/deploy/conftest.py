"""A Redis of the deploy test's own, for the real processes it starts."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from service.infra.loopback import free_port
from tests.deploy.processes import pings, wait_for


@pytest.fixture
def redis_url(tmp_path):
    """A Redis of this test's own (never the shared db 0): `redis-server` on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    wait_for(lambda: pings(Redis.from_url(url)), "redis-server to answer")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
