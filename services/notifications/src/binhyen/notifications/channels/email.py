"""E-mail over SMTP (aiosmtplib): one message per attempt, one connection per message.

Standards encoded here:

- RFC 5322 (Internet Message Format) §3.6.4: ``Message-ID`` is ``<id-left@id-right>`` and
  unique per message; we derive it from ``delivery_id`` so a resend after a crash carries the
  same id and mail systems (and people) can tell it is the same message.
- RFC 2047 / RFC 6532 via the ``email`` package's ``SMTP`` policy: Vietnamese subjects and
  display names are encoded as encoded-words, the body as UTF-8 in quoted-printable or base64
  (whichever is shorter), so the message crosses 7-bit relays intact.
- RFC 3834 §5: ``Auto-Submitted: auto-generated`` marks an automatic message, so
  vacation responders do not answer it.
- ``Importance: high`` (RFC 2156 §5.3) and ``X-Priority: 1`` (the de facto header mail clients
  read) for critical alerts only.
- RFC 5321 §4.2.1 reply codes: 2yz accepted (acceptance is *not* delivery: the outcome is
  SENT), 4yz transient (RETRY), 5yz permanent (FAILED). A recipient refused with 4yz at
  ``RCPT`` is greylisting or a full mailbox: RETRY; with 5yz: FAILED (try the next channel).

Errors carry only the reply code (``smtp_451``), never the server's text: it often quotes the
address. One connection per message keeps a slow or broken server from holding a shared
connection in a bad state; alerts are rare enough that the handshake cost does not matter.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from collections.abc import Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, localtime
from enum import StrEnum
from typing import ClassVar

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from binhyen.notifications.channels.base import Message, Outcome, Result

TARGET_FIELD = "email"
MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3 path limit, less the angle brackets
# RFC 5322 §3.2.3 dot-atom-text, restricted to what a delivery id may safely be as-is.
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
# The SMTP policy writes CRLF line ends; 7-bit transfer encodings survive any relay.
_POLICY = policy.SMTP.clone(cte_type="7bit")

ACK_LINE = {
    "vi": "Xác nhận đã nhận tin: {url}",
    "en": "Acknowledge this alert: {url}",
}


class Security(StrEnum):
    """How the connection to the SMTP server is protected."""

    NONE = "none"  # plain SMTP (a relay on localhost or a private network)
    STARTTLS = "starttls"  # port 587: plain, then STARTTLS (refused if the server lacks it)
    TLS = "tls"  # port 465: TLS from the first byte (RFC 8314)


class EmailConfig(BaseModel):
    """The SMTP server alerts are sent through."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    host: str = Field(min_length=1, description="SMTP server host name or address.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    security: Security = Field(Security.STARTTLS, description="none, starttls or tls.")
    username: str | None = Field(None, description="SMTP AUTH user; no AUTH when unset.")
    password: SecretStr | None = Field(None, description="SMTP AUTH password.")
    from_address: str = Field(description="Envelope and header sender, e.g. kenh@xa.gov.vn.")
    from_name: str = Field("Bình Yên", description="Display name of the sender.")
    timeout_seconds: float = Field(10.0, gt=0, description="One attempt's time limit.")
    validate_certs: bool = Field(True, description="Check the server's TLS certificate.")

    @field_validator("from_address")
    @classmethod
    def _check_from(cls, value: str) -> str:
        """The sender must be one plain address."""
        if parse_address(value) is None:
            raise ValueError("not a valid e-mail address")
        return value

    @field_validator("from_name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        """A display name is one line."""
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError("must be one line")
        return value


def parse_address(value: str) -> Address | None:
    """The address as an ``Address`` if it is one plain, sendable addr-spec, else None."""
    if not value or len(value) > MAX_ADDRESS or any(ch.isspace() or ch in "<>,;\0" for ch in value):
        return None
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError):
        return None
    if not address.username or "." not in address.domain or address.addr_spec != value:
        return None
    return address


def check_target(target: Mapping[str, str]) -> None:
    """Refuse a target without one plain e-mail address (the message names the field only)."""
    value = target.get(TARGET_FIELD)
    if not isinstance(value, str) or parse_address(value) is None:
        raise ValueError(f"{TARGET_FIELD}: not a valid e-mail address")


def message_id(delivery_id: str, domain: str) -> str:
    """The RFC 5322 Message-ID of a delivery: the same for every attempt of it."""
    left = delivery_id if _DOT_ATOM.match(delivery_id) and len(delivery_id) <= 64 else None
    if left is None:
        left = hashlib.sha256(delivery_id.encode()).hexdigest()[:40]
    return f"<{left}.binhyen@{domain}>"


def build_message(message: Message, config: EmailConfig) -> EmailMessage:
    """The e-mail for one delivery (headers encoded for any relay)."""
    check_target(message.target)
    sender = parse_address(config.from_address)
    if sender is None:  # the config validator already refused it
        raise ValueError("from_address: not a valid e-mail address")
    email = EmailMessage(policy=_POLICY)
    email["From"] = Address(config.from_name, addr_spec=sender.addr_spec)
    email["To"] = message.target[TARGET_FIELD]
    email["Subject"] = " ".join(message.subject.split())  # one line, whatever it was given
    email["Date"] = format_datetime(localtime())
    email["Message-ID"] = message_id(message.delivery_id, sender.domain)
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"  # Exchange's equivalent of RFC 3834
    email["Content-Language"] = message.language
    if message.critical:
        email["Importance"] = "high"
        email["X-Priority"] = "1"
    text = message.body.rstrip()
    if message.ack_url:
        line = ACK_LINE.get(message.language.split("-")[0].lower(), ACK_LINE["en"])
        text = f"{text}\n\n{line.format(url=message.ack_url)}"
    email.set_content(text + "\n", charset="utf-8")
    return email


def _reply(code: int) -> Result:
    """The outcome of an SMTP reply code (RFC 5321 §4.2.1)."""
    if 400 <= code < 500:
        return Result(Outcome.RETRY, error_code=f"smtp_{code}")
    return Result(Outcome.FAILED, error_code=f"smtp_{code}")


class EmailChannel:
    """Sends one alert e-mail per attempt through the configured SMTP server."""

    name: ClassVar[str] = "email"
    target_fields: ClassVar[tuple[str, ...]] = (TARGET_FIELD,)

    def __init__(self, config: EmailConfig) -> None:
        self._config = config

    def check_target(self, target: Mapping[str, str]) -> None:
        """Refuse a target this channel cannot send to (ValueError naming the field)."""
        check_target(target)

    async def send(self, message: Message) -> Result:
        """Hand the message to the SMTP server; SENT once it accepts it."""
        try:
            email = build_message(message, self._config)
        except ValueError:
            return Result(Outcome.FAILED, error_code="bad_target")
        config = self._config
        try:
            async with asyncio.timeout(config.timeout_seconds):
                await aiosmtplib.send(
                    email,
                    sender=email["From"].addresses[0].addr_spec,
                    recipients=[message.target[TARGET_FIELD]],
                    hostname=config.host,
                    port=config.port,
                    username=config.username,
                    password=config.password.get_secret_value() if config.password else None,
                    use_tls=config.security is Security.TLS,
                    start_tls=config.security is Security.STARTTLS,
                    validate_certs=config.validate_certs,
                    timeout=config.timeout_seconds,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            return _reply(max(codes) if codes else 550)
        except aiosmtplib.SMTPResponseException as exc:
            return _reply(exc.code)
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            return Result(Outcome.RETRY, error_code="timeout")
        except ssl.SSLError:
            return Result(Outcome.RETRY, error_code="tls_error")
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError):
            return Result(Outcome.RETRY, error_code="connection_error")
        except aiosmtplib.SMTPException:
            # What is left is a capability the configuration asks for and the server lacks
            # (STARTTLS, AUTH, SMTPUTF8): not passing, and never worked around by sending in
            # clear; the next channel should carry the alert.
            return Result(Outcome.FAILED, error_code="smtp_not_supported")
        return Result(Outcome.SENT, provider_id=email["Message-ID"])

    async def aclose(self) -> None:
        """Nothing to release: each attempt opens and closes its own connection."""
