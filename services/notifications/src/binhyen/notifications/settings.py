"""Notifications settings (env prefix BINHYEN_NOTIFICATIONS_)."""

import logging
import secrets
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

MIN_SECRET = 32  # characters: a token_urlsafe(32) has 43


class Settings(ServiceSettings):
    """Settings of the notifications service."""

    # Secrets must not appear in the errors of a refused configuration.
    model_config = SettingsConfigDict(
        env_prefix="BINHYEN_NOTIFICATIONS_", extra="ignore", hide_input_in_errors=True
    )

    mongodb_database: str = "binhyen_notifications"
    consumer_group: str = "binhyen-notifications"
    http_port: int = 8003
    public_url: str | None = Field(
        None,
        description=(
            "The URL residents reach this service at (acknowledgement links in messages). "
            "Required in prod; in dev the links use http://127.0.0.1:<port>."
        ),
    )
    link_secret: SecretStr | None = Field(
        None,
        description=(
            "Key that signs acknowledgement links; the same on every replica. Required in "
            "prod; in dev and test a random one is made per process when unset."
        ),
    )
    link_secret_previous: SecretStr | None = Field(
        None, description="The link secret before the last rotation (links it signed work)."
    )
    cap_sender: str = Field(
        "binhyen@localhost",
        description="CAP <sender>: this deployment's id, e.g. binhyen@ky-nam.ha-tinh.gov.vn.",
    )
    allow_private_targets: bool = Field(
        False,
        description=(
            "Development only: let webhooks and gateways reach loopback and private addresses "
            "(refused in prod)."
        ),
    )
    incident_alert_max_age_hours: float = Field(
        24.0,
        gt=0,
        description=(
            "A report of an incident that happened longer ago than this raises no alert "
            "(it is not an emergency any more)."
        ),
    )
    escalation_sweep_seconds: float = Field(
        5.0, gt=0, description="How often due escalation steps and reminders are looked for."
    )
    escalation_lease_seconds: float = Field(
        30.0, gt=0, description="How long one replica holds the escalation lease between sweeps."
    )
    dispatch_concurrency: int = Field(
        200, ge=1, description="Deliveries in flight per replica, all channels together."
    )
    dispatch_per_target: int = Field(
        4, ge=1, description="Deliveries in flight per webhook endpoint or provider host."
    )
    dispatch_claim_seconds: float = Field(
        60.0,
        gt=0,
        description=(
            "How long a replica owns a delivery it took; another replica retries it after "
            "that (with the same id, so the provider deduplicates)."
        ),
    )
    send_timeout_seconds: float = Field(10.0, gt=0, description="One attempt's time limit.")
    max_attempts: int = Field(8, ge=1, description="Attempts per delivery before it fails.")
    retry_base_seconds: float = Field(2.0, gt=0, description="First retry delay (then ×2).")
    retry_max_seconds: float = Field(300.0, gt=0, description="Longest retry delay.")

    # E-mail (off while SMTP_HOST is unset).
    smtp_host: str | None = Field(None, description="SMTP server; e-mail is off when unset.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="none, starttls or tls."
    )
    smtp_username: str | None = Field(None, description="SMTP AUTH user (no AUTH when unset).")
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password.")
    smtp_from_address: str | None = Field(
        None, description="The sender address (required with SMTP_HOST)."
    )
    smtp_from_name: str = Field("Bình Yên", description="The sender's display name.")
    smtp_validate_certs: bool = Field(True, description="Check the server's TLS certificate.")
    # Web Push (off while VAPID_PRIVATE_KEY is unset).
    vapid_private_key: SecretStr | None = Field(
        None, description="VAPID private key (base64url or PEM); Web Push is off when unset."
    )
    vapid_subject: str | None = Field(
        None,
        description="VAPID contact, mailto: or https: (default: mailto: the SMTP sender, else "
        "the https PUBLIC_URL, else mailto: the CAP sender).",
    )
    push_hosts: list[str] | None = Field(
        None, description="Push services accepted (default: FCM, Mozilla, Windows, Apple)."
    )
    # Apprise (ntfy, Telegram, …) for staff who give an Apprise URL.
    apprise_allowed_schemes: list[str] | None = Field(
        None, description="Apprise URL schemes accepted (default: fixed-host providers only)."
    )
    # SMS and Zalo ZNS through an HTTP gateway (off while the profile is unset).
    sms_profile: str | None = Field(
        None, description="esms, speedsms or a path to a profile JSON; SMS is off when unset."
    )
    sms_url: str | None = Field(None, description="Overrides the profile's URL (a sandbox).")
    sms_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='The credentials the profile names, as JSON: {"api_key": …, "secret_key": …}.',
    )
    sms_sender: str | None = Field(None, description="Brandname (sender id).")
    sms_callback_secret: SecretStr | None = Field(
        None, description="Signs (or is the token of) the provider's delivery reports."
    )
    sms_rate_per_second: float | None = Field(None, gt=0, description="Overrides the profile.")
    sms_daily_quota: int | None = Field(None, ge=1, description="Per replica and day.")
    zns_profile: str | None = Field(None, description="zalo_zns; ZNS is off when unset.")
    zns_url: str | None = Field(None, description="Overrides the profile's URL.")
    zns_secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description='{"access_token": …} as JSON.'
    )
    zns_template_id: str | None = Field(None, description="The approved ZNS template.")
    zns_template_data: dict[str, str] | None = Field(
        None, description='Template parameters, e.g. {"tieu_de": "{subject}"}.'
    )
    zns_callback_secret: SecretStr | None = Field(None, description="The OA's secret key.")

    @model_validator(mode="after")
    def _check_secrets(self) -> Self:
        """Refuse a missing or short link secret, or dev switches, in prod."""
        if self.environment == "prod":
            if self.link_secret is None:
                raise ValueError(
                    "set BINHYEN_NOTIFICATIONS_LINK_SECRET (or _LINK_SECRET_FILE) to a long "
                    "random value in prod (e.g. openssl rand -base64 32)"
                )
            if not self.public_url:
                raise ValueError("set BINHYEN_NOTIFICATIONS_PUBLIC_URL in prod")
            if self.allow_private_targets:
                raise ValueError("BINHYEN_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS is for dev only")
        if self.link_secret is None:
            log.warning(
                "BINHYEN_NOTIFICATIONS_LINK_SECRET is not set: using a random one for this "
                "process only; acknowledgement links stop working at restart"
            )
            self.link_secret = SecretStr(secrets.token_urlsafe(32))
        for name, value in (
            ("LINK_SECRET", self.link_secret),
            ("LINK_SECRET_PREVIOUS", self.link_secret_previous),
        ):
            if value is not None and len(value.get_secret_value()) < MIN_SECRET:
                raise ValueError(
                    f"BINHYEN_NOTIFICATIONS_{name} needs at least {MIN_SECRET} characters"
                )
        if self.smtp_host and not self.smtp_from_address:
            raise ValueError("set BINHYEN_NOTIFICATIONS_SMTP_FROM_ADDRESS with SMTP_HOST")
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise ValueError("BINHYEN_NOTIFICATIONS_PUBLIC_URL must be an http(s) URL")
        return self

    def link_keys(self) -> tuple[str, ...]:
        """Every key an acknowledgement link may be signed with: the current one first."""
        if self.link_secret is None:  # the validator always sets one
            raise RuntimeError("the link secret is not set")
        previous = self.link_secret_previous
        current = self.link_secret.get_secret_value()
        return (current,) + ((previous.get_secret_value(),) if previous else ())

    def push_subject(self) -> str:
        """Who push services may contact about our pushes (VAPID ``sub``)."""
        if self.vapid_subject:
            return self.vapid_subject
        if self.smtp_from_address:
            return f"mailto:{self.smtp_from_address}"
        base = self.base_url()
        return base if base.startswith("https://") else f"mailto:{self.cap_sender}"

    def base_url(self) -> str:
        """Where residents reach this service (acknowledgement links)."""
        return (self.public_url or f"http://127.0.0.1:{self.http_port}").rstrip("/")
