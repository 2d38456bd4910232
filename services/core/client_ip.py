"""The client's IP address, the same way for every caller: the HTTP routes, the websocket guard, the
throttle and the audit log all get it from `client_ip(peer, headers)`.

Behind a reverse proxy the TCP peer is the proxy, and `X-Forwarded-For` / `Forwarded` say who the
client is; but any client can send those headers itself. So they are read only when the peer is a
trusted proxy (`TRUSTED_PROXIES`), and only the header the proxy writes (`FORWARDED_HEADER`):

- a list of addresses and networks (`10.0.0.0/8, 192.0.2.7`): the forwarded chain is walked from
  the right (the hop nearest to us) past every trusted address; the first untrusted one is the client.
  An entry that is not an address (`unknown`, an obfuscated name, garbage) stops the walk: the client
  is then the last proxy that reported it, never something a client made up;
- a hop count (`2`): exactly that many proxies stand in front of the app, whatever their addresses;
  the client is the address that many entries from the right (the peer counts as the last hop).
  Fewer entries than that: the request did not come through them all, and the peer is used.

Untrusted peers' forwarding headers are ignored; with no setting (the default) every forwarding
header is. Reflex's own `trusted_proxy_hops` must stay 0: its `router.session.client_ip` is used
as the TCP peer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from services.core.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOPS = 32  # a longer chain is a made-up header: only its last hops are read
HeaderGetter = Callable[[str], str | None]


@lru_cache(maxsize=8)
def parse_trusted_proxies(setting: str) -> int | tuple[Network, ...]:
    """TRUSTED_PROXIES as a hop count or a tuple of networks (ValueError naming a bad entry)."""
    text = setting.strip()
    if text.isdigit():
        return int(text)
    networks: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is neither an IP address, a network (10.0.0.0/8) nor a hop count") from None
    return tuple(networks)


def _address(text: str) -> IPAddress | None:
    """An address as it appears in a forwarding header: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `"[::1]"`."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address


_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def forwarded_chain(header: str, value: str) -> list[str]:
    """The addresses a forwarding header lists, client first (the raw entries, not yet checked)."""
    if header == "forwarded":  # RFC 7239: `for=1.2.3.4;proto=https, for="[2001:db8::1]"`
        chain = []
        for element in value.split(","):
            match = _FOR.search(element)
            chain.append(match.group(1) if match else "")
        return chain[-MAX_HOPS:]
    return [part.strip() for part in value.split(",")][-MAX_HOPS:]


def client_ip(peer: str, get_header: HeaderGetter) -> str:
    """The client's address for a request whose TCP peer is `peer`; `get_header(name)` reads the
    request's header (lower-case name; several lines of it joined with ", ")."""
    settings = get_settings()
    trusted = parse_trusted_proxies(settings.trusted_proxies)
    if not trusted:
        return peer
    peer_address = _address(peer)
    if peer_address is None:
        return peer
    header = settings.forwarded_header
    chain = forwarded_chain(header, get_header(header) or "")
    if isinstance(trusted, int):
        return _by_hops(peer, chain, trusted)
    return _by_networks(peer_address, chain, trusted) if _trusted(peer_address, trusted) else peer


def _trusted(address: IPAddress, networks: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _by_hops(peer: str, chain: list[str], hops: int) -> str:
    if len(chain) < hops:
        return peer
    address = _address(chain[-hops])
    return str(address) if address is not None else peer


def _by_networks(peer: IPAddress, chain: list[str], networks: Sequence[Network]) -> str:
    client = peer
    for entry in reversed(chain):
        address = _address(entry)
        if address is None:
            break  # what lies beyond a malformed hop is not known: the last proxy stands for it
        client = address
        if not _trusted(address, networks):
            break
    return str(client)
