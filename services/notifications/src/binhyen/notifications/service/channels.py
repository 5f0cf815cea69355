"""The channels this replica can use, built from its settings (a channel not configured is off)."""

from __future__ import annotations

from pydantic import SecretStr

from binhyen.notifications.channels.apprise_channel import AppriseChannel, AppriseConfig
from binhyen.notifications.channels.base import Channel
from binhyen.notifications.channels.email import EmailChannel, EmailConfig, Security
from binhyen.notifications.channels.gateway import GatewayConfig, gateway_channel, load_profile
from binhyen.notifications.channels.webhook import WebhookChannel, WebhookConfig
from binhyen.notifications.channels.webpush import WebPushChannel, WebPushConfig
from binhyen.notifications.settings import Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Every channel that is configured, by name."""
    found: dict[str, Channel] = {}
    if settings.smtp_host:
        found["email"] = EmailChannel(
            EmailConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                security=Security(settings.smtp_security),
                username=settings.smtp_username,
                password=settings.smtp_password,
                from_address=settings.smtp_from_address or "",
                from_name=settings.smtp_from_name,
                timeout_seconds=settings.send_timeout_seconds,
                validate_certs=settings.smtp_validate_certs,
            )
        )
    if settings.vapid_private_key is not None:
        push = {"push_hosts": tuple(settings.push_hosts)} if settings.push_hosts else {}
        found["push"] = WebPushChannel(
            WebPushConfig(
                vapid_private_key=settings.vapid_private_key,
                vapid_subject=settings.push_subject(),
                timeout_seconds=settings.send_timeout_seconds,
                **push,
            )
        )
    found["webhook"] = WebhookChannel(
        WebhookConfig(
            timeout_seconds=settings.send_timeout_seconds,
            allow_private=settings.allow_private_targets,
        )
    )
    schemes = settings.apprise_allowed_schemes
    found["apprise"] = AppriseChannel(
        AppriseConfig(**({"allowed_schemes": tuple(schemes)} if schemes else {}))
    )
    base = settings.base_url()
    if settings.sms_profile:
        found["sms"] = gateway_channel(
            GatewayConfig(
                profile=settings.sms_profile,
                url=settings.sms_url,
                secrets=settings.sms_secrets,
                sender=settings.sms_sender,
                callback_url=_callback(base, settings.sms_profile, settings.sms_callback_secret),
                rate_per_second=settings.sms_rate_per_second,
                daily_quota=settings.sms_daily_quota,
                timeout_seconds=settings.send_timeout_seconds,
            )
        )
    if settings.zns_profile:
        found["zns"] = gateway_channel(
            GatewayConfig(
                profile=settings.zns_profile,
                url=settings.zns_url,
                secrets=settings.zns_secrets,
                template_id=settings.zns_template_id,
                template_data=settings.zns_template_data,
                callback_url=f"{base}/callbacks/zns",
                timeout_seconds=settings.send_timeout_seconds,
            )
        )
    return found


def _callback(base: str, profile: str, secret: SecretStr | None) -> str:
    """The delivery-report URL given to the provider.

    A provider that cannot sign its reports (eSMS) is given the secret as ``?token=``.
    """
    url = f"{base}/callbacks/sms"
    report = load_profile(profile).delivery_report
    if secret is not None and report is not None and report.signature.kind == "url_token":
        return f"{url}?{report.signature.param}={secret.get_secret_value()}"
    return url
