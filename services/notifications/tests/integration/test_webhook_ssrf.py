"""SSRF: a webhook never reaches a non-public address, and TLS is checked for the real name."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from binhyen.kit.problems import Invalid
from binhyen.notifications.channels.base import Message, Outcome
from binhyen.notifications.channels.egress import check_url
from binhyen.notifications.channels.webhook import WebhookChannel, WebhookConfig, new_secret
from services.notifications.tests.receivers import webhook_receiver

SECRET = new_secret()
ADDRESS_CLASSES = [
    "127.0.0.1",
    "::1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "fd00::1",
    "::ffff:127.0.0.1",
    "224.0.0.1",
]


def message(url: str) -> Message:
    """A webhook message to ``url``."""
    return Message(
        delivery_id="dlv-ssrf",
        alert_id="alert-1",
        target={"url": url, "secret": SECRET},
        language="en",
        subject="s",
        text="t",
        body="b",
        payload={"type": "alert.raised"},
    )


def host_part(address: str) -> str:
    """The address as it appears in a URL."""
    return f"[{address}]" if ":" in address else address


@pytest.fixture
async def guarded() -> AsyncIterator[WebhookChannel]:
    channel = WebhookChannel(WebhookConfig(allow_private=False, timeout_seconds=5))
    yield channel
    await channel.aclose()


@pytest.mark.parametrize("address", ADDRESS_CLASSES)
async def test_every_non_public_address_class_is_refused_without_a_connection(
    guarded: WebhookChannel, address: str
) -> None:
    # A receiver listens on the loopback address of the same family, on the port the URL names:
    # if the guard let the request through to a loopback address, it would arrive there.
    listen = "::1" if ipaddress.ip_address(address).version == 6 else "127.0.0.1"
    with webhook_receiver(host=listen) as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        url = f"http://{host_part(address)}:{port}/hook"
        result = await guarded.send(message(url))
        assert result.outcome is Outcome.FAILED
        assert result.error_code == "forbidden_address"
        assert receiver.receipts == 0
    with pytest.raises(Invalid) as refused:
        check_url(url, allow_private=False, field="target.url")
    assert refused.value.field == "target.url"


async def test_a_name_resolving_to_loopback_is_refused_unless_development_allows_it(
    guarded: WebhookChannel,
) -> None:
    with webhook_receiver(secrets=[SECRET]) as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        url = f"http://localhost:{port}/hook"
        check_url(url, allow_private=False)  # a name: only its resolution can tell
        result = await guarded.send(message(url))
        assert result.outcome is Outcome.FAILED
        assert result.error_code == "forbidden_address"
        assert receiver.receipts == 0
        # The same request with the development switch reaches the receiver: the guard,
        # not the network, stopped the first one.
        permissive = WebhookChannel(WebhookConfig(allow_private=True))
        try:
            allowed = await permissive.send(message(url))
        finally:
            await permissive.aclose()
        assert allowed.outcome is Outcome.DELIVERED
        assert receiver.receipts == 1


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for the DNS name ``name`` only (no IP address in it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_connects_to_the_checked_address_and_verifies_the_name(
    tmp_path: Path,
) -> None:
    # The request goes to https://127.0.0.1:<port> (the checked address); the certificate
    # names only "localhost", so it verifies only because TLS is told the real name (SNI).
    cert, key = _certificate(tmp_path, "localhost")
    trust = ssl.create_default_context(cafile=str(cert))
    channel = WebhookChannel(WebhookConfig(allow_private=True), verify_tls=trust)
    try:
        with webhook_receiver(secrets=[SECRET], tls=(cert, key)) as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            result = await channel.send(message(f"https://localhost:{port}/hook"))
            assert result.outcome is Outcome.DELIVERED
            [got] = receiver.requests
            assert got.verified == "ok"
            assert got.headers["host"] == f"localhost:{port}"
    finally:
        await channel.aclose()


async def test_https_refuses_a_certificate_for_another_name(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, "other.example")
    trust = ssl.create_default_context(cafile=str(cert))
    channel = WebhookChannel(WebhookConfig(allow_private=True), verify_tls=trust)
    try:
        with webhook_receiver(secrets=[SECRET], tls=(cert, key)) as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            result = await channel.send(message(f"https://localhost:{port}/hook"))
            assert result.outcome is Outcome.RETRY
            assert result.error_code == "tls_error"
            assert receiver.receipts == 0
    finally:
        await channel.aclose()


async def test_one_non_public_record_among_public_ones_is_enough_to_refuse() -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"]

    channel = WebhookChannel(WebhookConfig(allow_private=False), resolver=mixed)
    try:
        with webhook_receiver() as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            result = await channel.send(message(f"http://hooks.invalid:{port}/hook"))
            assert result.outcome is Outcome.FAILED
            assert result.error_code == "forbidden_address"
            assert receiver.receipts == 0
    finally:
        await channel.aclose()


async def test_the_request_goes_to_the_checked_address_without_a_second_lookup() -> None:
    # DNS rebinding: the name answers a checked address once, then something else. The
    # ".invalid" name (RFC 6761) never resolves in the system's DNS, so the request arrives only
    # if it is sent to the address checked here, with the name kept in the Host header.
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["169.254.169.254"]

    channel = WebhookChannel(WebhookConfig(allow_private=True), resolver=rebinding)
    try:
        with webhook_receiver(secrets=[SECRET]) as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            result = await channel.send(message(f"http://rebind.invalid:{port}/hook"))
            assert result.outcome is Outcome.DELIVERED
            [got] = receiver.requests
            assert got.headers["host"] == f"rebind.invalid:{port}"
            assert got.verified == "ok"
    finally:
        await channel.aclose()
    assert lookups == ["rebind.invalid"]
