"""Outbound HTTP to addresses people configure: refuse every non-public address (SSRF).

Two checks. When a URL is configured, ``check_url`` refuses what no resolution can fix
(scheme, userinfo, port, a literal non-public address). When a request is made,
``resolve_public`` resolves the name once, refuses if **any** A/AAAA record is not a public
address, and returns the checked addresses: the caller connects to one of them (an IP-literal
URL with the original ``Host`` header and, for https, the TLS ``sni_hostname`` extension so the
certificate is verified against the real name). There is no second lookup a DNS-rebinding
server could answer differently.

References: Standard Webhooks 1.0, "Server side request forgery (SSRF)"
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md);
IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890), shared address space RFC 6598
(100.64.0.0/10), NAT64 RFC 6052/8215, Python ``ipaddress`` (``is_global`` and friends);
httpx/httpcore request extension ``sni_hostname``
(https://www.python-httpx.org/advanced/extensions/).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Final

import httpx

from binhyen.kit.problems import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES: Final = frozenset({"http", "https"})

# Ranges ``is_global`` lets through in some Python versions, or that embed an IPv4 address.
_REFUSED_NETWORKS: Final = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the limited broadcast address
        "::/128",
        "::1/128",
        "::ffff:0:0/96",  # IPv4-mapped (checked as IPv4 too)
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation (RFC 8215)
        "100::/64",  # discard-only
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: embeds an IPv4 address


class ForbiddenAddress(Exception):
    """The name resolves to an address outside the public internet; nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    return None


def is_public(address: IPAddress) -> bool:
    """True when ``address`` is a routable public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
        if address in _NAT64:
            # A NAT64 gateway reaches the embedded IPv4 address (public, checked above);
            # some Python versions do not count the well-known prefix as global.
            return embedded is not None
        if address.is_site_local:
            return False
    if any(address in network for network in _REFUSED_NETWORKS):
        return False
    return not (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, *, allow_private: bool, field: str = "url") -> None:
    """Refuse a URL that can never be a safe webhook target (raised as 422 on ``field``)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise Invalid("this is not a URL; give an http(s) URL", field=field) from None
    if parsed.scheme not in SCHEMES:
        raise Invalid("only http:// and https:// URLs can receive webhooks", field=field)
    if not parsed.host:
        raise Invalid("the URL has no host name", field=field)
    if parsed.userinfo:
        raise Invalid(
            "the URL must not carry a user name or password; authenticate with the webhook "
            "signature instead",
            field=field,
        )
    if parsed.fragment:
        raise Invalid("the URL must not have a #fragment", field=field)
    try:
        port = parsed.port
    except ValueError:  # pragma: no cover - httpx refuses bad ports while parsing
        raise Invalid("the URL's port is not a number between 1 and 65535", field=field) from None
    if port is not None and not 0 < port < 65536:
        raise Invalid("the URL's port is not a number between 1 and 65535", field=field)
    try:
        literal = ipaddress.ip_address(parsed.host)
    except ValueError:
        return  # a name: checked, every record of it, when a request is made
    if not allow_private and not is_public(literal):
        raise Invalid(
            "the URL points to a private, loopback or reserved address; give a public one",
            field=field,
        )


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """Every A/AAAA address of ``host`` from the event loop's getaddrinfo (the system's DNS)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An IPv6 sockaddr may carry a %scope (link-local): the scope alone does not matter.
    return [
        str(sockaddr[0]).split("%", 1)[0]
        for family, _type, _proto, _name, sockaddr in infos
        if family in (socket.AF_INET, socket.AF_INET6)
    ]


async def resolve_public(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[IPAddress]:
    """Every address ``host`` resolves to, once; ForbiddenAddress if any is not public."""
    try:
        return _checked([ipaddress.ip_address(host)], allow_private=allow_private)
    except ValueError:
        pass
    addresses: list[IPAddress] = []
    for found in await resolver(host, port):
        address = ipaddress.ip_address(found)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ForbiddenAddress("no_address")
    return _checked(addresses, allow_private=allow_private)


async def check_url_resolves(
    url: str, *, allow_private: bool, field: str = "url", resolver: Resolver = system_resolver
) -> None:
    """``check_url``, then every address the host name resolves to (raised as 422 on ``field``).

    At configuration time, so a name that points inside the network is refused when it is
    given; the send checks again (the records may change), connecting to the checked address.
    """
    check_url(url, allow_private=allow_private, field=field)
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        await resolve_public(parsed.host, port, allow_private=allow_private, resolver=resolver)
    except ForbiddenAddress as exc:
        if str(exc) == "no_address":
            raise Invalid("the URL's host name has no address", field=field) from None
        raise Invalid(
            "the URL's host name resolves to a private, loopback or reserved address; give a "
            "public one",
            field=field,
        ) from None
    except OSError:
        raise Invalid("the URL's host name does not resolve", field=field) from None


def _checked(addresses: list[IPAddress], *, allow_private: bool) -> list[IPAddress]:
    """The addresses, if all may be reached."""
    if not allow_private and not all(is_public(a) for a in addresses):
        raise ForbiddenAddress("forbidden_address")
    return addresses


def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    address: IPAddress,
    *,
    headers: dict[str, str],
    content: bytes,
    timeout: float,
) -> httpx.Request:
    """A request to ``address`` for ``url``: same Host header, TLS verified for the name."""
    extensions: dict[str, object] = {}
    if url.scheme == "https":
        extensions["sni_hostname"] = url.host  # the certificate is checked for the name
    return client.build_request(
        method,
        url.copy_with(host=str(address)),
        headers={**headers, "Host": url.netloc.decode("ascii")},
        content=content,
        timeout=timeout,
        extensions=extensions,
    )
