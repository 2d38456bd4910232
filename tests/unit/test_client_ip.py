"""Issue 7, item 3: behind a reverse proxy the client's address comes from the proxy's forwarding
header, and only from a trusted proxy (services/core/client_ip.py); the HTTP routes and the
websocket guard use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pydantic import ValidationError

from services.core.client_ip import client_ip
from services.core.settings import Settings, get_settings

PROXY = "10.0.0.5"


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    def apply(proxies: str, header: str = "x-forwarded-for") -> None:
        monkeypatch.setenv("TRUSTED_PROXIES", proxies)
        monkeypatch.setenv("FORWARDED_HEADER", header)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


def headers(**values: str) -> Callable[[str], str | None]:
    lowered = {name.replace("_", "-"): value for name, value in values.items()}
    return lowered.get


def test_without_a_setting_forwarding_headers_are_ignored(configure: Callable[..., None]) -> None:
    configure("")
    assert client_ip(PROXY, headers(x_forwarded_for="203.0.113.9")) == PROXY


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        pytest.param(PROXY, "203.0.113.9", "203.0.113.9", id="through-the-proxy"),
        pytest.param("198.51.100.1", "203.0.113.9", "198.51.100.1", id="untrusted-peer-ignored"),
        pytest.param(PROXY, "6.6.6.6, 203.0.113.9", "203.0.113.9", id="client-made-up-entry-ignored"),
        pytest.param(PROXY, "203.0.113.9, 10.0.0.7", "203.0.113.9", id="two-trusted-proxies"),
        pytest.param(PROXY, "10.0.0.8, 10.0.0.7", "10.0.0.8", id="all-trusted-leftmost"),
        pytest.param(PROXY, "6.6.6.6, garbage", PROXY, id="malformed-hop-stops-at-the-proxy"),
        pytest.param(PROXY, "", PROXY, id="no-header"),
        pytest.param(PROXY, "203.0.113.9:4711", "203.0.113.9", id="with-port"),
    ],
)
def test_a_trusted_networks_forwarded_for(
    configure: Callable[..., None], peer: str, forwarded_for: str, expected: str
) -> None:
    configure("10.0.0.0/24")
    assert client_ip(peer, headers(x_forwarded_for=forwarded_for)) == expected


def test_a_hop_count_reads_that_many_entries_from_the_right(configure: Callable[..., None]) -> None:
    configure("2")
    assert client_ip(PROXY, headers(x_forwarded_for="6.6.6.6, 203.0.113.9, 10.1.1.1")) == "203.0.113.9"
    assert client_ip(PROXY, headers(x_forwarded_for="203.0.113.9")) == PROXY  # not through both proxies


def test_the_forwarded_header_when_named(configure: Callable[..., None]) -> None:
    configure("10.0.0.5", "Forwarded")
    value = 'for=6.6.6.6, for="[2001:db8::1]:443";proto=https'
    assert client_ip(PROXY, headers(forwarded=value, x_forwarded_for="7.7.7.7")) == "2001:db8::1"


def test_only_the_named_header_is_read(configure: Callable[..., None]) -> None:
    configure("10.0.0.5")  # the proxy writes X-Forwarded-For; a client's own Forwarded passes through it
    assert client_ip(PROXY, headers(forwarded="for=6.6.6.6")) == PROXY


def test_a_bad_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings()


def test_the_http_routes_and_the_websocket_guard_use_it(configure: Callable[..., None]) -> None:
    from types import SimpleNamespace

    from starlette.requests import Request

    from dashboard.api.guard import credentials
    from dashboard.state.base import Credentials

    configure("10.0.0.0/24")
    forwarded = [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.9"), (b"user-agent", b"probe")]
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": forwarded, "client": (PROXY, 4711)})
    assert credentials(request).ip == "203.0.113.9"

    raw = {"x-forwarded-for": "6.6.6.6, 203.0.113.9", "cookie": "wd_session=abc"}
    router = SimpleNamespace(
        session=SimpleNamespace(client_ip=PROXY),
        headers=SimpleNamespace(cookie=raw["cookie"], raw_headers=raw, user_agent="probe"),
    )
    handshake = Credentials.of_handshake(router)
    assert (handshake.ip, handshake.token, handshake.user_agent) == ("203.0.113.9", "abc", "probe")

    router.session.client_ip = "198.51.100.1"  # not a proxy: its header is the client's own invention
    assert Credentials.of_handshake(router).ip == "198.51.100.1"
