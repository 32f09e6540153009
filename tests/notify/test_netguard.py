"""SSRF guard: hostile URLs never reach a loopback canary; pinning; redirects; response caps."""

from __future__ import annotations

import pytest
import requests

from service.infra import http
from service.infra.netguard import (
    UnresolvableURL,
    UnsafeURL,
    address_refusal,
    check_url,
    guarded_post,
    system_resolver,
)
from tests.notify.conftest import fake_resolver

# Loopback targets: refused in production, reachable only with WEBHOOK_ALLOW_LOOPBACK=true.
# {c} = the canary's port, {r} = the redirector's port (both on 127.0.0.1).
LOOPBACK = [
    "http://127.0.0.1:{c}/", "http://localhost:{c}/", "http://LOCALHOST:{c}/", "http://[::1]:{c}/",
    "http://[::ffff:127.0.0.1]:{c}/", "http://[::ffff:7f00:1]:{c}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{c}/", "http://rebind.test:{c}/", "http://mixed6.test/",
    "http://127.0.0.1:22/", "http://127.0.0.1:6379/", "http://127.0.0.1:5432/",
    "http://127.0.0.1:{r}/301", "http://127.0.0.1:{r}/302", "http://127.0.0.1:{r}/307",
    "http://127.0.0.1:{r}/308", "http://localhost:{r}/307",
]
# Refused in every mode: private and special ranges, odd spellings, userinfo, other schemes.
ALWAYS_REFUSED = [
    "http://localhost.:{c}/", "http://127.1:{c}/", "http://127.0.1:{c}/",
    "http://2130706433:{c}/", "http://0177.0.0.1:{c}/", "http://0x7f.1:{c}/",
    "http://0x7f000001:{c}/", "http://017700000001:{c}/", "http://127.0.0.1.:{c}/",
    "http://0.0.0.0:{c}/", "http://0:{c}/", "http://[::]:{c}/", "http://[::127.0.0.1]:{c}/",
    "http://[64:ff9b::127.0.0.1]:{c}/", "http://[2002:7f00:1::]:{c}/",
    "http://[fe80::1]:{c}/", "http://[fe80::1%25lo]:{c}/", "http://[fd00:ec2::254]/",
    "http://[fc00::1]/", "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/", "http://[::ffff:10.0.0.1]/", "http://10.0.0.1/",
    "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/", "http://192.0.0.170/",
    "http://198.18.0.1/", "http://224.0.0.1/", "http://255.255.255.255/", "http://240.0.0.1/",
    "http://a@127.0.0.1:{c}/", "http://example.com@127.0.0.1:{c}/",
    "http://127.0.0.1:{c}@example.com/", "http://user:pw@example.com/",
    "http://example.com\\@127.0.0.1:{c}/", "http://127.0.0.1:{c}/ x",
    "http://127.0.0.1:{c}/\r\nX: y", "http://%31%32%37.0.0.1:{c}/",
    "http://127\u30020\u30020\u30021:{c}/", "http://\u2460\u2461\u2466.0.0.1:{c}/",
    "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://127.0.0.1/",
    "dict://127.0.0.1:6379/info", "//127.0.0.1:{c}/", "127.0.0.1:{c}", "",
    "http://mixed.test/", "http://metadata.test/", "http://nat64-private.test/",
]
HOSTILE = LOOPBACK + ALWAYS_REFUSED

# Names a hostile DNS server might answer; only this table is consulted (no real DNS).
DNS = {
    "rebind.test": ["127.0.0.1"],
    "mixed.test": ["93.184.216.34", "10.0.0.1"],  # any bad address refuses the whole name
    "mixed6.test": ["2606:4700::1111", "::1"],
    "metadata.test": ["169.254.169.254"],
    "nat64-private.test": ["64:ff9b::a9fe:a9fe"],
    "good.test": ["93.184.216.34", "2606:4700::1111"],
}


def _resolver():
    def resolve(host: str, port: int) -> list[str]:
        if host.rstrip(".") == "localhost":
            return system_resolver(host, port)
        return fake_resolver(DNS)(host, port)

    return resolve


def _fill(url: str, canary_port: int = 8001, redirector_port: int = 8002) -> str:
    return url.replace("{c}", str(canary_port)).replace("{r}", str(redirector_port))


def test_the_hostile_list_has_at_least_forty_entries():
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_url_is_refused_at_registration(url):
    with pytest.raises(UnsafeURL):
        check_url(_fill(url), resolver=_resolver())


def test_no_hostile_url_reaches_the_canary_in_production_mode(canary, redirector):
    sent = []
    for url in HOSTILE:
        try:
            guarded_post(_fill(url, canary.port, redirector.port), b"{}", {}, timeout=(2, 2),
                         resolver=_resolver())
            sent.append(url)
        except UnsafeURL:
            pass
    assert sent == []
    assert canary.recorder.hits == []
    assert redirector.recorder.hits == []


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_private_ranges_and_odd_spellings_stay_refused_when_loopback_is_allowed(url):
    with pytest.raises(UnsafeURL):
        check_url(_fill(url), allow_loopback=True, resolver=_resolver())


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_targets_pass_only_when_loopback_is_allowed(url):
    target = check_url(_fill(url), allow_loopback=True, resolver=_resolver())
    assert target.ip in ("127.0.0.1", "::1", "2606:4700::1111")


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_returned_not_followed_when_loopback_is_allowed(code, canary, redirector):
    resp = guarded_post(f"{redirector.url}/{code}", b"{}", {}, allow_loopback=True)
    assert resp.status == code
    assert resp.headers["location"].startswith(canary.url)
    assert len(redirector.recorder.hits) == 1
    assert canary.recorder.hits == []


def test_the_canary_is_reachable_when_loopback_is_allowed(canary):
    # Makes the zero-hit assertions above meaningful: the canary does count real requests.
    resp = guarded_post(canary.url + "/direct", b"{}", {}, allow_loopback=True)
    assert resp.status == 200 and resp.body_prefix == b"canary hit"
    assert [h["path"] for h in canary.recorder.hits] == ["/direct"]


def test_public_addresses_pass_and_every_answer_is_checked():
    target = check_url("https://good.test/hook", resolver=fake_resolver(DNS))
    assert target.addresses == ("93.184.216.34", "2606:4700::1111")
    assert (target.ip, target.port, target.host) == ("93.184.216.34", 443, "good.test")


def test_public_ip_literals_and_any_port_pass():
    assert check_url("http://8.8.8.8:6379/x").ip == "8.8.8.8"
    assert check_url("https://[2606:4700::1111]:8443/").port == 8443
    assert check_url("http://[64:ff9b::808:808]/").ip == "64:ff9b::808:808"  # DNS64 of public v4


def test_an_unresolvable_name_is_refused_as_unresolvable():
    with pytest.raises(UnresolvableURL):
        check_url("https://nowhere.test/", resolver=fake_resolver({}))


@pytest.mark.parametrize("ip", ["100.64.0.1", "::ffff:127.0.0.1", "169.254.169.254",
                                "fd00::1", "2002:a00:1::", "224.0.1.1", "192.0.2.1"])
def test_addresses_stdlib_flags_miss_are_refused(ip):
    import ipaddress

    assert address_refusal(ipaddress.ip_address(ip)) is not None


def test_the_connection_is_pinned_to_the_checked_address(receiver):
    # The name exists only in our resolver hook: if anything resolved it again (requests, urllib3)
    # the request would fail. A rebinding resolver would answer differently the second time.
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    calls = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    receiver.secrets = []
    resp = guarded_post(f"http://hooks.kneeguard.test:{receiver.port}/in", b"{}", {},
                        allow_loopback=True, resolver=rebinding)
    assert resp.ip == "127.0.0.1"
    assert calls == ["hooks.kneeguard.test"]
    assert receiver.recorder.hits[0]["host"] == f"hooks.kneeguard.test:{receiver.port}"


def test_a_pinned_session_refuses_another_host():
    with http.pinned_session("a.test", 80, "127.0.0.1") as s:
        with pytest.raises(requests.exceptions.InvalidURL):
            s.get("http://b.test/", timeout=1)


def test_a_ten_megabyte_response_is_read_only_up_to_the_cap(big_responder):
    resp = guarded_post(big_responder.url + "/10mb", b"{}", {}, allow_loopback=True,
                        max_response_bytes=64 * 1024)
    assert resp.status == 200
    assert len(resp.body_prefix) == 64 * 1024
    assert resp.truncated


def test_an_endless_response_returns_after_the_cap(big_responder):
    resp = guarded_post(big_responder.url + "/endless", b"{}", {}, allow_loopback=True,
                        max_response_bytes=1000)
    assert len(resp.body_prefix) == 1000 and resp.truncated


def test_a_closed_port_is_a_transport_error_not_a_refusal():
    from service.infra.loopback import free_port
    from service.infra.netguard import TransportError

    with pytest.raises(TransportError) as err:
        guarded_post(f"http://127.0.0.1:{free_port()}/", b"{}", {}, allow_loopback=True,
                     timeout=(2, 2))
    assert err.value.kind == "connect"


def test_a_pinned_session_never_follows_redirects_even_when_asked(canary, redirector):
    with http.pinned_session("127.0.0.1", redirector.port, "127.0.0.1") as s:
        resp = s.get(f"{redirector.url}/307", allow_redirects=True, timeout=2)
    assert resp.status_code == 307
    assert canary.recorder.hits == []


def test_https_keeps_the_name_for_sni_and_certificate_checks_while_pinned(tmp_path):
    import ssl
    import threading

    from werkzeug.serving import make_server

    from testkit.tls import self_signed

    cert, key = self_signed(tmp_path, "hooks.kneeguard.test")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    sni: list[str | None] = []
    ctx.sni_callback = lambda sock, name, _ctx: sni.append(name)

    def app(environ, start_response):
        host = environ["HTTP_HOST"].encode()
        start_response("200 OK", [("Content-Length", str(len(host)))])
        return [host]

    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ctx)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        url = f"https://hooks.kneeguard.test:{server.server_port}/in"
        resolver = fake_resolver({"hooks.kneeguard.test": ["127.0.0.1"]})
        resp = guarded_post(url, b"{}", {}, allow_loopback=True, resolver=resolver,
                            verify=str(cert))
        with pytest.raises(UnsafeURL):  # the same name, production setting
            guarded_post(url, b"{}", {}, resolver=resolver, verify=str(cert))
    finally:
        server.shutdown()
        server.server_close()
    assert resp.status == 200
    assert resp.body_prefix == f"hooks.kneeguard.test:{server.server_port}".encode()
    assert sni == ["hooks.kneeguard.test"]
