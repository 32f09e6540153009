"""Callback URLs from (unsigned) Garmin notifications are fetched only from the configured API
origin, and a refused one causes no request at all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.integrations.garmin.callbacks import CallbackRefused, is_allowed_callback
from service.integrations.garmin.client import GarminClient
from service.integrations.garmin.fake.provider import FakeGarmin
from service.integrations.garmin.notifications import parse_activity_files
from testkit.receiver import Receiver

API = "https://apis.garmin.com"
FILE = "/wellness-api/rest/activityFile?id=123&token=abc"

HOSTILE = [
    "https://apis.garmin.com@evil.example" + FILE,  # userinfo: the host is evil.example
    "https://apis.garmin.com:443@evil.example" + FILE,
    "https://user:pass@apis.garmin.com" + FILE,  # credentials smuggled to Garmin's host
    "https://evil.example/https://apis.garmin.com" + FILE,
    "https://apis.garmin.com.evil.example" + FILE,  # suffix
    "https://evilapis.garmin.com" + FILE,
    "https://garmin.com" + FILE,  # parent domain
    "https://connect.garmin.com" + FILE,  # another Garmin host
    "http://apis.garmin.com" + FILE,  # downgrade
    "https://apis.garmin.com:8443" + FILE,  # other port
    "https://apis.garmin.com:80" + FILE,
    "https://apis.garmin.com:0443" + FILE,  # leading-zero port spelling
    "https://apis.garmin.com:" + FILE,  # empty port
    "https://apis.garmin.com:99999" + FILE,
    "https://apis.garmin.com." + FILE,  # trailing dot
    "https://APIS.GARMIN.COM" + FILE,  # case variant
    "HTTPS://apis.garmin.com" + FILE,  # scheme case variant
    "https://apis.garm\u0131n.com" + FILE,  # dotless i (IDN look-alike)
    "https://\uff41pis.garmin.com" + FILE,  # fullwidth a: IDNA would map it to ASCII
    "https://apis.garmin\u3002com" + FILE,  # ideographic full stop
    "https://xn--apis-garmin-xyz.com" + FILE,
    "https://apis.garmin.com\\@evil.example" + FILE,  # backslash: parsers disagree
    "https://apis.gar\tmin.com" + FILE,  # tab: urlsplit silently strips it
    "https://apis.garmin.com\n.evil.example" + FILE,
    "https://apis.garmin.com%2eevil.example" + FILE,
    "https://[::1]" + FILE,
    "https://127.0.0.1" + FILE,
    "//apis.garmin.com" + FILE,  # scheme-relative
    "https:apis.garmin.com" + FILE,
    "https:/apis.garmin.com" + FILE,
    "ftp://apis.garmin.com" + FILE,
    "file:///etc/passwd",
    "javascript:alert(1)",
    "/wellness-api/rest/activityFile?id=1",  # relative
    "",
    "https://apis.garmin.com/" + "a" * 3000,  # absurdly long
]

ALLOWED = [
    "https://apis.garmin.com" + FILE,
    "https://apis.garmin.com:443" + FILE,  # explicit default port is the same origin
    "https://apis.garmin.com/other/path",
    "https://apis.garmin.com",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_callback_urls_are_refused(url: str) -> None:
    assert not is_allowed_callback(url, API)


@pytest.mark.parametrize("url", ALLOWED)
def test_urls_on_the_configured_api_origin_are_accepted(url: str) -> None:
    assert is_allowed_callback(url, API)


def test_non_string_callback_is_refused() -> None:
    assert not is_allowed_callback(None, API)
    assert not is_allowed_callback(["https://apis.garmin.com"], API)


def test_plain_http_is_accepted_only_when_the_configured_api_is_http() -> None:
    local = "http://127.0.0.1:8123"
    assert is_allowed_callback(local + FILE, local)
    assert is_allowed_callback(local + FILE, local + "/")
    assert not is_allowed_callback("https://127.0.0.1:8123" + FILE, local)
    assert not is_allowed_callback("http://127.0.0.1:8124" + FILE, local)
    assert not is_allowed_callback("http://localhost:8123" + FILE, local)
    assert not is_allowed_callback("http://127.0.0.1" + FILE, local)


@pytest.fixture
def canary() -> Iterator[Receiver]:
    with Receiver(verify=False, status="200 OK") as server:
        yield server


def test_a_notification_pointing_at_another_host_causes_no_request_to_it(
        garmin: FakeGarmin, canary: Receiver) -> None:
    client = GarminClient(garmin.api_url, garmin.auth_url, garmin.token_url,
                          garmin.client_id, garmin.client_secret)
    run = garmin.add_activity(garmin.add_user(), "fitparse__garmin-fenix-5-run.fit")
    port = canary.url.rsplit(":", 1)[1]
    forged = [
        canary.url + FILE,
        f"{garmin.url}@127.0.0.1:{port}{FILE}",
        f"{garmin.url}:{port}{FILE}",
        f"http://localhost:{port}{FILE}",
    ]
    for url in forged:
        body = garmin.activity_files_body([run], callback_url=url)
        notice = parse_activity_files(body)[0]  # the parser accepts it; the download refuses
        with pytest.raises(CallbackRefused):
            client.download_file("secret-access-token", notice.callback_url)
    assert canary.requests == []
    assert garmin.calls == []  # refused before any request, to anyone


def test_an_accepted_callback_is_fetched_from_the_configured_origin(garmin: FakeGarmin) -> None:
    client = GarminClient(garmin.api_url + "/", garmin.auth_url, garmin.token_url,
                          garmin.client_id, garmin.client_secret)
    run = garmin.add_activity(garmin.add_user(), "fitparse__garmin-fenix-5-run.fit")
    url = garmin.callback_url(run) + "#fragment-is-dropped"
    assert client.download_file("any-token", url)[8:12] == b".FIT"
    assert [(c.path, c.status) for c in garmin.calls] == [("/wellness-api/rest/activityFile", 200)]
