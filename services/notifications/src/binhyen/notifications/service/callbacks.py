"""What SMS and ZNS providers call back with: delivery reports and replies ("OK 123456").

Every callback's signature (or, for a provider that cannot sign, its secret token) is checked
before anything is read; a bad one changes nothing and answers 401.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from binhyen.kit.problems import DomainError, Invalid
from binhyen.notifications.channels.gateway import (
    CallbackError,
    SignatureError,
    ack_code,
    load_profile,
    parse_delivery_report,
    parse_inbound,
)
from binhyen.notifications.service import acks
from binhyen.notifications.service.common import Context
from binhyen.notifications.service.dispatch import record_report

log = logging.getLogger(__name__)


class BadSignature(DomainError):
    """The callback is not signed with our secret."""

    status, kind, title = 401, "bad-signature", "The signature does not verify"


def _profile_and_secret(ctx: Context, channel: str) -> tuple[str, str]:
    settings = ctx.settings
    profile = settings.sms_profile if channel == "sms" else settings.zns_profile
    secret = settings.sms_callback_secret if channel == "sms" else settings.zns_callback_secret
    if profile is None or secret is None:
        raise Invalid(f"the {channel} channel takes no callbacks here", field="channel")
    return profile, secret.get_secret_value()


async def report(ctx: Context, channel: str, headers: Mapping[str, str], body: bytes) -> str:
    """Apply a delivery report or an inbound reply; what it was."""
    name, secret = _profile_and_secret(ctx, channel)
    profile = load_profile(name)
    try:
        found = parse_delivery_report(profile, headers, body, secret)
    except SignatureError as exc:
        raise BadSignature("the callback's signature does not verify") from exc
    except CallbackError as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    if found is not None:
        applied = await record_report(
            ctx,
            channel=channel,
            provider_id=found.provider_id,
            delivery_id=found.delivery_id,
            status=found.status,
            error_code=found.error_code,
        )
        return "report" if applied else "report-ignored"
    if profile.inbound is None:
        return "ignored"
    try:
        reply = parse_inbound(profile, headers, body, secret)
    except SignatureError as exc:
        raise BadSignature("the callback's signature does not verify") from exc
    except CallbackError as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    if reply is None:
        return "ignored"
    code = ack_code(reply.text)
    if code is None:
        return "reply-ignored"
    return "ack" if await acks.by_reply(ctx, reply.phone, code) else "reply-unmatched"
