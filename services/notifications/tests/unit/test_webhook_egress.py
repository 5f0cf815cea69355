"""The SSRF guard: which addresses count as public, which URLs are refused when configured."""

from __future__ import annotations

import ipaddress

import pytest

from binhyen.kit.problems import Invalid
from binhyen.notifications.channels.egress import (
    ForbiddenAddress,
    check_url,
    is_public,
    resolve_public,
)

NON_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "::1",
    "10.0.0.1",  # private
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "fe80::1",
    "100.64.0.1",  # carrier-grade NAT
    "100.127.255.254",
    "0.0.0.0",  # unspecified / this network
    "0.1.2.3",
    "::",
    "fd00::1",  # unique local
    "fc00::1",
    "fec0::1",  # site-local
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b:1::1",  # local-use translation
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "ff02::1",
    "192.0.2.1",  # documentation
    "198.51.100.7",
    "203.0.113.9",
    "2001:db8::1",
    "198.18.0.1",  # benchmarking
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.0.8",
]
PUBLIC = ["93.184.215.14", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "::ffff:127.0.0.1", "fd00::1"])
def test_literal_non_public_urls_are_refused_when_configured(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(Invalid) as refused:
        check_url(f"https://{host}/hook", allow_private=False, field="target.url")
    assert refused.value.field == "target.url"
    check_url(f"https://{host}/hook", allow_private=True)  # the development switch


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "example.com/hook",
        "https://user:pass@example.com/hook",
        "https://user@example.com/hook",
        "https:///hook",
        "http://example.com:99999/hook",
        "https://example.com/hook#frag",
        "not a url at all",
    ],
)
def test_unusable_urls_are_refused_when_configured(url: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_url(url, allow_private=True, field="target.url")
    assert refused.value.field == "target.url"
    assert refused.value.status == 422


def test_public_names_pass_configuration_and_wait_for_resolution() -> None:
    check_url("https://hooks.example.com:8443/a?b=c", allow_private=False)
    check_url("http://example.com/hook", allow_private=False)


async def test_resolution_refuses_a_name_resolving_to_loopback() -> None:
    with pytest.raises(ForbiddenAddress):
        await resolve_public("localhost", 80, allow_private=False)
    addresses = await resolve_public("localhost", 80, allow_private=True)
    assert all(a.is_loopback for a in addresses)


async def test_resolution_of_a_literal_does_not_query_dns() -> None:
    assert await resolve_public("1.1.1.1", 443, allow_private=False) == [
        ipaddress.ip_address("1.1.1.1")
    ]
    with pytest.raises(ForbiddenAddress):
        await resolve_public("::ffff:127.0.0.1", 443, allow_private=False)
