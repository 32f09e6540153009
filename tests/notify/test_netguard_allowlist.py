"""WEBHOOK_ALLOW_NETWORKS: an operator's receivers on a private network, opened range by range.

No request here goes to a private address: the allowed cases are checked where the guard decides
(check_url, the same check guarded_post runs before it connects), the refused ones end to end
against the loopback canary, which must count no hit.
"""

from __future__ import annotations

import ipaddress

import pytest

from service.domain.webhook_channel import send_attempt
from service.infra.netguard import UnsafeURL, check_url, guarded_post, parse_networks
from service.infra.settings import Settings, SettingsError
from tests.notify.conftest import fake_resolver

OFFICE = parse_networks("10.20.0.0/16, fd12:3456::/32")
DNS = {
    "hooks.internal": ["10.20.1.5"],
    "hooks6.internal": ["fd12:3456::5"],
    "elsewhere.internal": ["10.30.1.5"],
    "half.internal": ["10.20.1.5", "192.168.1.9"],  # any address outside the list refuses the name
    "metadata.internal": ["169.254.169.254"],
    "loop.internal": ["127.0.0.1"],
    "nat64.internal": ["64:ff9b::a14:105"],  # 10.20.1.5 behind a translator
}


@pytest.mark.parametrize("url", ["http://10.20.1.5/in", "https://hooks.internal/in",
                                 "http://hooks6.internal:8443/in", "http://[fd12:3456::9]/in"])
def test_a_private_receiver_is_refused_by_default(url):
    with pytest.raises(UnsafeURL, match="private"):
        check_url(url, resolver=fake_resolver(DNS))


@pytest.mark.parametrize("url,ip", [
    ("http://10.20.1.5/in", "10.20.1.5"),
    ("https://hooks.internal/in", "10.20.1.5"),  # a DNS name resolving into the range
    ("http://hooks6.internal:8443/in", "fd12:3456::5"),
    ("http://[::ffff:10.20.9.9]/in", "10.20.9.9"),  # the same address, IPv4-mapped
])
def test_a_private_receiver_in_an_allowed_range_passes(url, ip):
    target = check_url(url, resolver=fake_resolver(DNS), allow_networks=OFFICE)
    assert target.ip == ip


@pytest.mark.parametrize("url", [
    "http://10.30.1.5/", "https://elsewhere.internal/", "https://half.internal/",
    "http://169.254.169.254/latest/meta-data/", "https://metadata.internal/",
    "http://nat64.internal/", "http://[fe80::1]/", "http://0.0.0.0/",
])
def test_addresses_outside_the_list_stay_refused(url):
    with pytest.raises(UnsafeURL):
        check_url(url, resolver=fake_resolver(DNS), allow_networks=OFFICE)


@pytest.mark.parametrize("value", [
    "127.0.0.0/8", "127.0.0.1/32", "::1/128", "0.0.0.0/0", "::/0", "10.0.0.0/7,0.0.0.0/1",
    "169.254.0.0/16", "fe80::/10", "224.0.0.0/4", "::ffff:10.0.0.0/104",
])
def test_an_allowlist_cannot_open_loopback_metadata_or_everything(value):
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_NETWORKS"):
        Settings.from_env({"WEBHOOK_ALLOW_NETWORKS": value, "KNEEGUARD_DATA_DIR": "/nonexistent/x"})


@pytest.mark.parametrize("value", ["10.20.0.0/33", "10.20.1.0/16", "office", "10.20.0.0/16;"])
def test_a_malformed_list_stops_the_process_naming_the_variable(value, tmp_path):
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_NETWORKS"):
        Settings.from_env({"WEBHOOK_ALLOW_NETWORKS": value, "KNEEGUARD_DATA_DIR": str(tmp_path)})


def test_the_setting_defaults_to_none_and_parses_a_list(tmp_path):
    env = {"KNEEGUARD_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).webhook_allow_networks == ()
    s = Settings.from_env(dict(env, WEBHOOK_ALLOW_NETWORKS=" 10.20.0.0/16 , fd12:3456::/32 "))
    assert s.webhook_allow_networks == (ipaddress.ip_network("10.20.0.0/16"),
                                        ipaddress.ip_network("fd12:3456::/32"))


def test_loopback_stays_its_own_switch_end_to_end(canary):
    # A list of private ranges does not open loopback: nothing reaches the canary.
    for url in (canary.url + "/x", f"http://loop.internal:{canary.port}/x"):
        with pytest.raises(UnsafeURL, match="loopback"):
            guarded_post(url, b"{}", {}, resolver=fake_resolver(DNS), allow_networks=OFFICE)
    assert canary.recorder.hits == []


@pytest.mark.parametrize("code", [302, 307])
def test_a_redirect_is_returned_not_followed_with_an_allowlist(code, canary, redirector):
    # Redirects are never followed, so a receiver in an allowed range cannot bounce a delivery
    # to an address the guard did not check (the loopback pair stands in for the receiver).
    resp = guarded_post(f"{redirector.url}/{code}", b"{}", {}, allow_loopback=True,
                        allow_networks=OFFICE)
    assert resp.status == code
    assert canary.recorder.hits == []


def test_the_check_runs_again_at_send_time():
    # Registered while hooks.internal was in the office range; it now resolves elsewhere: the
    # attempt fails as an ordinary failed attempt, before any connection.
    moved = fake_resolver({"hooks.internal": ["10.30.1.5"]})
    outcome = send_attempt("https://hooks.internal/in", ["whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                           "msg_1", b"{}", resolver=moved, allow_networks=OFFICE)
    assert outcome.status != "ok"
    assert "private address" in (outcome.error or "")
