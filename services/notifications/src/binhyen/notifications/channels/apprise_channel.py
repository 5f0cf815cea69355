"""Apprise URLs: one channel for the many services apprise speaks (ntfy, Telegram, Discord, …).

Apprise (https://github.com/caronc/apprise, docs https://appriseit.com) names a destination
with a URL whose scheme picks the service (``tgram://bot-token/chat-id``,
``ntfys://host/topic``, ``json://host:port/path``) and sends with the service's own API.

- Apprise is synchronous: ``notify`` runs in this channel's own small thread pool (so a slow
  service never takes the event loop's default executor from others) with apprise's call
  ``timeout`` and an outer deadline; a thread still blocked after the deadline is abandoned to
  finish on its own, the attempt is reported as ``timeout``.
- Apprise does not tell a permanent failure (a revoked bot token) from a passing one (the
  service is down): every failure is RETRY. The dispatcher's attempt limit and the fallback
  chain end a hopeless one; this is documented, not guessed at.
- Apprise URLs hold credentials (bot tokens, webhook keys): a URL is never put into an
  error, a result or a log line of ours. Apprise's own logger (``apprise``) may name hosts:
  keep it at ERROR in production logging.
- Apprise connects by itself, wherever the URL points: ``json://10.0.0.5/...`` reaches inside
  the network (SSRF). Only the schemes in ``allowed_schemes`` are accepted; the default lists
  services whose host is fixed by the provider. Schemes that take any host (json, xml, form,
  ntfy/ntfys with a host, …) must be allowed explicitly, and whoever allows them must also
  decide who may configure such URLs.
- Apprise is told to keep its persistent store in memory (no files written by the service).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import apprise
from apprise.manager_plugins import NotificationManager
from pydantic import BaseModel, ConfigDict, Field, field_validator

from binhyen.notifications.channels.base import Message, Outcome, Result

TARGET_FIELD = "url"
MAX_URL = 2048
# Services whose host the provider fixes: a URL of these cannot be aimed inside our network.
DEFAULT_SCHEMES = ("tgram", "discord", "slack", "pover")
ACK_LINE = {
    "vi": "Xác nhận đã nhận tin: {url}",
    "en": "Acknowledge this alert: {url}",
}


@functools.cache
def known_schemes() -> frozenset[str]:
    """Every URL scheme the installed apprise can send to (plugins with their dependencies)."""
    manager = NotificationManager()  # type: ignore[no-untyped-call]
    schemas = manager.schemas(include_disabled=False)  # type: ignore[no-untyped-call]
    return frozenset(str(s).lower() for s in schemas)


class AppriseConfig(BaseModel):
    """Which apprise services may be used, and how long one attempt may take."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_schemes: tuple[str, ...] = Field(
        DEFAULT_SCHEMES,
        description="Apprise URL schemes accepted; schemes that take any host (json, ntfys, "
        "…) let a URL reach inside the network: allow them only deliberately.",
    )
    timeout_seconds: float = Field(15.0, gt=0, description="One attempt's time limit.")
    threads: int = Field(8, ge=1, le=64, description="Apprise sends running at once.")

    @field_validator("allowed_schemes")
    @classmethod
    def _check_schemes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Every allowed scheme must be one apprise knows."""
        schemes = tuple(s.lower() for s in value)
        unknown = sorted(set(schemes) - known_schemes())
        if unknown:
            raise ValueError(f"apprise does not know these schemes: {', '.join(unknown)}")
        return schemes


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else ""


def check_target(target: Mapping[str, str], config: AppriseConfig) -> None:
    """Refuse a URL apprise cannot use or whose scheme is not allowed (never echoing the URL)."""
    url = target.get(TARGET_FIELD)
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise ValueError(f"{TARGET_FIELD}: an apprise URL is required")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError(f"{TARGET_FIELD}: an apprise URL has no spaces or control characters")
    scheme = _scheme(url)
    if scheme not in known_schemes():
        raise ValueError(f"{TARGET_FIELD}: apprise does not know this URL scheme")
    if scheme not in config.allowed_schemes:
        allowed = ", ".join(config.allowed_schemes) or "none"
        raise ValueError(f"{TARGET_FIELD}: the scheme {scheme} is not allowed here ({allowed})")
    if apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True) is None:
        raise ValueError(f"{TARGET_FIELD}: apprise cannot use this URL (a part is missing)")


@functools.cache
def _asset() -> apprise.AppriseAsset:
    """Apprise's settings for us: no files, no plugin directories."""
    return apprise.AppriseAsset(storage_mode="memory")


def _body(message: Message) -> str:
    text = message.text.strip()
    if message.ack_url:
        line = ACK_LINE.get(message.language.split("-")[0].lower(), ACK_LINE["en"])
        text = f"{text}\n\n{line.format(url=message.ack_url)}"
    return text


class AppriseChannel:
    """Sends one alert per attempt to one apprise URL."""

    name: ClassVar[str] = "apprise"
    target_fields: ClassVar[tuple[str, ...]] = (TARGET_FIELD,)

    def __init__(self, config: AppriseConfig) -> None:
        self._config = config
        self._pool = ThreadPoolExecutor(config.threads, thread_name_prefix="apprise")

    def check_target(self, target: Mapping[str, str]) -> None:
        """Refuse a target this channel cannot send to (ValueError naming the field)."""
        check_target(target, self._config)

    def _notify(self, url: str, title: str, body: str, critical: bool) -> Result:
        """The blocking send, in a pool thread."""
        sender = apprise.Apprise(asset=_asset())
        if not sender.add(url):
            return Result(Outcome.FAILED, error_code="bad_target")
        result = sender.notify(
            body=body,
            title=title,
            notify_type=apprise.NotifyType.FAILURE if critical else apprise.NotifyType.WARNING,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self._config.timeout_seconds,
        )
        if result.status == apprise.AppriseResultStatus.SUCCESS:
            return Result(Outcome.SENT)
        if result.status == apprise.AppriseResultStatus.TIMEOUT:
            return Result(Outcome.RETRY, error_code="timeout")
        # Apprise cannot say whether the failure is for good: retry, the attempt limit ends it.
        return Result(Outcome.RETRY, error_code="apprise_failed")

    async def send(self, message: Message) -> Result:
        """Send through apprise in a worker thread; SENT when apprise reports success."""
        try:
            check_target(message.target, self._config)
        except ValueError:
            return Result(Outcome.FAILED, error_code="bad_target")
        loop = asyncio.get_running_loop()
        call = functools.partial(
            self._notify,
            message.target[TARGET_FIELD],
            " ".join(message.subject.split()),
            _body(message),
            message.critical,
        )
        try:
            # A second of grace over apprise's own limit, which normally ends the call first.
            async with asyncio.timeout(self._config.timeout_seconds + 1):
                return await loop.run_in_executor(self._pool, call)
        except TimeoutError:
            return Result(Outcome.RETRY, error_code="timeout")
        except Exception:  # a plugin's bug must not take the dispatcher down
            return Result(Outcome.RETRY, error_code="apprise_error")

    async def aclose(self) -> None:
        """Stop the worker threads (a send still running is left to finish on its own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
