"""SMS and Zalo ZNS through a configurable HTTP gateway: one profile per provider.

A :class:`GatewayProfile` (JSON, shipped in ``channels/profiles/``) says how to talk to a
provider: URL and method, how to authenticate (values from named secrets supplied at runtime,
never in the profile), a JSON body template, the phone format, which field carries our
``delivery_id`` for the provider's deduplication, how success, the provider's message id and
the error code are read, which error codes are worth a retry, the rate limit and daily quota,
the SMS length limit, and how delivery reports and inbound replies arrive and are signed.

Shipped profiles and the documentation they follow (looked up December 2026):

- ``esms`` — eSMS.vn ``SendMultipleMessage_V4_post_json``: JSON ``ApiKey``, ``SecretKey``,
  ``Phone``, ``Content``, ``Brandname``, ``SmsType`` (2 = customer care), ``IsUnicode``,
  ``RequestId`` ("prevents the request from being duplicated"), ``CallbackUrl``; answer
  ``CodeResult`` ("100" = accepted) and ``SMSID``. Error table: 99 number blocked, 101 bad
  keys, 103 balance, 104 brandname, 108 phone format, 118 type, 124 duplicate RequestId, 140 IP
  not whitelisted, 146 template. The delivery callback is an HTTP GET with ``SMSID``,
  ``RequestId``, ``SendStatus`` (5 = sent successfully, 4 = rejected; 1/2/7 in progress),
  ``phonenumber``; eSMS documents no signature, so the profile uses a secret token in the
  callback URL (``url_token``). Sources: developers.esms.vn/en/esms-api/send-sms-api/
  send-otp-customer-care-message, …/table-of-error-codes, …/callback-url.
- ``speedsms`` — SpeedSMS.vn ``POST https://api.speedsms.vn/index.php/sms/send``, HTTP Basic
  with the access token as user name (password "x"); answers ``{"status": "success", "code":
  "00", "data": {...}}`` or ``{"status": "error", "code": ...}``; codes 007 IP locked, 008
  account blocked, 009 not allowed, 101 parameters, 105 phone, 110 encoding, 113 too long, 300
  balance, 500 internal (try again). Source: speedsms.vn/sms-api. The pages found do not show
  the ``/sms/send`` body or the delivery-report callback: ``to``/``content``/``sms_type``/
  ``sender``, ``data.tranId``, and a JSON callback ``{"type": "report", "tranId", "phone",
  "status"}`` (0 delivered) plus ``{"type": "sms", "phone", "content"}`` for inbound SMS are
  ASSUMED; SpeedSMS documents no client reference, so this profile has no deduplication field
  and no documented signature (the callback is checked with our HMAC header, to be put behind
  a signing relay, or replaced by the operator).
- ``zalo_zns`` — Zalo ZNS ``POST https://business.openapi.zalo.me/message/template``, header
  ``access_token``, body ``phone`` (84…), ``template_id``, ``template_data``, ``tracking_id``;
  answer ``error`` (0 = success) and ``data.msg_id``. Error guide (zalo.cloud/zns/guidelines/
  handle-error-code): -100 unknown error (try again later), -101…-112 application, phone,
  template and data errors (permanent), -124 access token invalid. Endpoint confirmed by the
  ZNS client of @warriorteam/redai-zalo-sdk and etelecom/infinix ZNS docs; developers.zalo.me
  itself was not in the corpus. Zalo OA webhooks carry ``X-ZEvent-Signature: mac=<sha256 hex of
  app_id + raw body + timestamp + OA secret key>`` (hainh.me, tinhoc88.com write-ups of the
  OA webhook); the ZNS delivery event ``user_received_message`` with ``message.msg_id`` is
  ASSUMED. ZNS replies come from Zalo user ids, not phones: no inbound here.

Signatures of callbacks (``parse_delivery_report`` / ``parse_inbound``) come first: nothing
in a report is trusted before its signature is checked (constant-time compare).
``hmac_sha256``: the hex HMAC-SHA256 of the raw body with the callback secret, in a header
named by the profile (``sha256=`` prefix accepted). ``zalo_mac``: Zalo's scheme above.
``url_token``: for providers that cannot sign (eSMS calls back with GET); the lead's endpoint
passes the raw query string as the body, and must not log query strings of that route.

Rate limits are a token bucket per channel instance and daily quotas count per
Asia/Ho_Chi_Minh day **in this process only** (replicas each count their own; set the quota
per replica accordingly). Egress uses a plain ``httpx.AsyncClient`` (no redirects, no proxy
from the environment); the service routes it through its SSRF guard.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from binhyen.notifications.channels.base import Message, Outcome, Result, retry_after_seconds
from binhyen.notifications.channels.phones import (
    InvalidPhone,
    PhoneFormat,
    format_phone,
    parse_phone,
)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PLACEHOLDERS = frozenset(
    {
        "phone",
        "text",
        "delivery_id",
        "alert_id",
        "sender",
        "template_id",
        "template_data",
        "unicode",
        "callback_url",
        "subject",
        "ack_url",
        "ack_code",
        "language",
    }
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_SAFE_CODE = re.compile(r"[^A-Za-z0-9_-]")


# --------------------------------------------------------------------------------- profile


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthSpec(_Strict):
    """How a request proves who we are; values come from named runtime secrets."""

    kind: Literal["none", "header", "basic", "query", "body"]
    # header/query/body: field name → secret name
    fields: dict[str, str] = Field(default_factory=dict)
    prefix: str = ""  # header only, e.g. "Bearer "
    username: str | None = None  # basic: secret name of the user name
    password: str | None = None  # basic: secret name of the password
    password_literal: str | None = None  # basic: a fixed, non-secret password (SpeedSMS: "x")

    def secret_names(self) -> set[str]:
        """Every secret this auth needs."""
        names = set(self.fields.values())
        names.update(n for n in (self.username, self.password) if n)
        return names

    @model_validator(mode="after")
    def _check(self) -> AuthSpec:
        if self.kind in ("header", "query", "body") and not self.fields:
            raise ValueError(f"auth kind {self.kind!r} needs fields")
        if self.kind == "basic" and not self.username:
            raise ValueError("auth kind 'basic' needs a username secret")
        return self


class ReadSpec(_Strict):
    """Where success is read in the provider's JSON answer."""

    path: str
    values: list[str]


class SignatureSpec(_Strict):
    """How a callback from the provider is authenticated."""

    kind: Literal["hmac_sha256", "zalo_mac", "url_token"]
    header: str = "X-Binhyen-Signature"
    param: str = "token"


class ReportSpec(_Strict):
    """How a delivery report reads."""

    format: Literal["json", "form"]
    signature: SignatureSpec
    event_path: str | None = None  # only bodies whose event is listed are reports
    event_values: list[str] = Field(default_factory=list)
    provider_id_path: str | None = None
    our_id_path: str | None = None
    status_path: str
    delivered: list[str]
    failed: list[str] = Field(default_factory=list)
    other: Literal["failed", "pending"] = "pending"  # any other status value
    error_code_path: str | None = None


class InboundSpec(_Strict):
    """How an inbound SMS (a reply) reads."""

    format: Literal["json", "form"]
    signature: SignatureSpec
    event_path: str | None = None
    event_values: list[str] = Field(default_factory=list)
    phone_path: str
    text_path: str


class GatewayProfile(_Strict):
    """One provider's HTTP shape (loaded from JSON; holds no secret)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    channel: Literal["sms", "zns"]
    sources: list[str] = Field(default_factory=list)  # where the shape is documented
    notes: list[str] = Field(default_factory=list)  # what is assumed, not documented
    url: str
    method: Literal["POST", "GET"] = "POST"
    auth: AuthSpec
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = None  # JSON template (POST)
    query: dict[str, str] = Field(default_factory=dict)  # query template
    template_data: dict[str, str] = Field(default_factory=dict)  # ZNS parameters (templates)
    phone_format: PhoneFormat
    dedup_field: str | None  # dotted path in body/query holding exactly "{delivery_id}"
    success: ReadSpec
    provider_id_path: str | None
    error_code_path: str | None
    retryable_codes: list[str] = Field(default_factory=list)
    permanent_codes: list[str] = Field(default_factory=list)
    # "already have this one" (a repeat of our dedup id): the first attempt was accepted
    duplicate_codes: list[str] = Field(default_factory=list)
    unknown_code: Literal["retry", "failed"] = "failed"
    rate_per_second: float = Field(gt=0)
    burst: int = Field(1, ge=1)
    daily_quota: int | None = Field(None, ge=1)
    max_segments: int | None = Field(None, ge=1)  # SMS only; ZNS parameters are short
    delivery_report: ReportSpec | None = None
    inbound: InboundSpec | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the gateway URL must be http(s)")
        return value

    @model_validator(mode="after")
    def _check_templates(self) -> GatewayProfile:
        used: set[str] = set()
        for template in (self.body, self.query, self.headers, self.template_data):
            used |= _placeholders(template)
        unknown = used - PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"unknown placeholders {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}"
            )
        if "phone" not in used:
            raise ValueError("the request never carries {phone}")
        if self.dedup_field is not None:
            holder = self.body if self.method == "POST" else self.query
            if get_path(holder or {}, self.dedup_field) != "{delivery_id}":
                raise ValueError(
                    f"dedup_field {self.dedup_field!r} must hold exactly '{{delivery_id}}'"
                )
        if self.method == "GET" and self.body is not None:
            raise ValueError("a GET profile has no body")
        return self


def load_profile(name_or_path: str) -> GatewayProfile:
    """Load a shipped profile by name ("esms", "speedsms", "zalo_zns") or a JSON file path."""
    if name_or_path.endswith(".json"):
        text = Path(name_or_path).read_text(encoding="utf-8")
    else:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", name_or_path):
            raise ValueError(f"unknown gateway profile {name_or_path!r}")
        shipped = resources.files("binhyen.notifications.channels") / "profiles"
        resource = shipped / f"{name_or_path}.json"
        if not resource.is_file():
            raise ValueError(
                f"unknown gateway profile {name_or_path!r}; shipped: {shipped_profiles()}"
            )
        text = resource.read_text(encoding="utf-8")
    return GatewayProfile.model_validate_json(text)


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with the service."""
    shipped = resources.files("binhyen.notifications.channels") / "profiles"
    return sorted(
        p.name.removesuffix(".json") for p in shipped.iterdir() if p.name.endswith(".json")
    )


class GatewayConfig(BaseModel):
    """The operator's configuration of one gateway channel (secrets supplied at runtime)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    profile: str = Field(description="Shipped profile name or path to a profile JSON file.")
    url: str | None = Field(None, description="Overrides the profile URL (e.g. a sandbox).")
    secrets: dict[str, SecretStr] = Field(description="Named secrets the profile's auth uses.")
    sender: str | None = Field(None, description="Brandname / sender id, or the ZNS OA.")
    template_id: str | None = Field(None, description="ZNS template id.")
    template_data: dict[str, str] | None = Field(None, description="ZNS parameters (templates).")
    callback_url: str | None = Field(None, description="Where the provider reports delivery.")
    rate_per_second: float | None = Field(None, gt=0, description="Overrides the profile.")
    daily_quota: int | None = Field(None, ge=1, description="Overrides the profile (per process).")
    max_wait_seconds: float = Field(1.0, ge=0, description="Longest wait for a rate token.")
    timeout_seconds: float = Field(10.0, gt=0, description="One attempt's time limit.")


# ------------------------------------------------------------------------- text and paths


# GSM 03.38 default alphabet; the extension table's characters cost two septets.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[Literal["gsm7", "ucs2"], int]:
    """Encoding and number of SMS segments for ``text`` (160/153 GSM-7, 70/67 UCS-2)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        return "gsm7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2  # astral characters take two UCS-2 units
    return "ucs2", 1 if units <= 70 else math.ceil(units / 67)


def check_text(profile: GatewayProfile, text: str) -> None:
    """Refuse a text longer than the profile allows (raise ValueError saying by how much)."""
    if profile.max_segments is None:
        return
    encoding, count = sms_segments(text)
    if count > profile.max_segments:
        per = "160 plain / 70 Vietnamese" if count == 1 else "153 plain / 67 Vietnamese"
        raise ValueError(
            f"the SMS needs {count} segments ({encoding}); at most {profile.max_segments} "
            f"are allowed ({per} characters each): shorten the text"
        )


def get_path(data: Any, path: str) -> Any:
    """Read a dotted path (``data.msg_id``, ``items.0.id``) from decoded JSON; None if absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def _placeholders(template: Any) -> set[str]:
    if isinstance(template, str):
        return set(_PLACEHOLDER.findall(template))
    if isinstance(template, Mapping):
        found: set[str] = set()
        for key, value in template.items():
            found |= _placeholders(key) | _placeholders(value)
        return found
    if isinstance(template, list):
        return set().union(*(_placeholders(v) for v in template)) if template else set()
    return set()


def render(template: Any, values: Mapping[str, Any]) -> Any:
    """Fill a JSON template: a string that is exactly one placeholder takes the value as is."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
    if isinstance(template, Mapping):
        return {str(render(k, values)): render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, values) for v in template]
    return template


def _short_code(profile: GatewayProfile, raw: Any) -> str:
    code = _SAFE_CODE.sub("", str(raw))[:24] or "unknown"
    return f"{profile.name}_{code}"


# ----------------------------------------------------------------------- limits


class TokenBucket:
    """Messages per second with a burst; the clock is injectable for tests."""

    def __init__(
        self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def reserve(self, max_wait: float) -> tuple[bool, float]:
        """Take a token now or after the returned wait (≤ max_wait); else (False, wait)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        wait = max(0.0, (1.0 - self._tokens) / self.rate)
        if wait > max_wait:
            return False, wait
        self._tokens -= 1.0  # may go negative: the next caller waits for it
        return True, wait


class DailyQuota:
    """A count of sends per Asia/Ho_Chi_Minh day, in this process only."""

    def __init__(self, limit: int, clock: Callable[[], datetime] | None = None) -> None:
        self.limit = limit
        self._clock = clock or (lambda: datetime.now(LOCAL_TZ))
        self._day: str | None = None
        self._used = 0

    def take(self) -> float | None:
        """Count one send; None if allowed, else seconds until the local midnight."""
        now = self._clock().astimezone(LOCAL_TZ)
        day = now.date().isoformat()
        if day != self._day:
            self._day, self._used = day, 0
        if self._used >= self.limit:
            midnight = datetime.combine(
                now.date() + timedelta(days=1), datetime.min.time(), LOCAL_TZ
            )
            return max(1.0, (midnight - now).total_seconds())
        self._used += 1
        return None

    def give_back(self) -> None:
        """Uncount the last send (it was not made after all)."""
        self._used = max(0, self._used - 1)


# ----------------------------------------------------------------------- the channel


class GatewayChannel:
    """Send one SMS or ZNS message through the configured provider (one attempt)."""

    name: ClassVar[str] = "sms"
    target_fields: ClassVar[tuple[str, ...]] = ("phone",)

    def __init__(
        self,
        config: GatewayConfig,
        *,
        profile: GatewayProfile | None = None,
        client: httpx.AsyncClient | None = None,
        bucket: TokenBucket | None = None,
        quota: DailyQuota | None = None,
    ) -> None:
        self.profile = profile or load_profile(config.profile)
        if self.profile.channel != self.name:
            raise ValueError(
                f"profile {self.profile.name!r} is for {self.profile.channel}, not {self.name}"
            )
        missing = self.profile.auth.secret_names() - set(config.secrets)
        if missing:
            raise ValueError(f"gateway {self.profile.name}: set the secrets {sorted(missing)}")
        if self.name == "zns" and not (
            config.template_id and (config.template_data or self.profile.template_data)
        ):
            raise ValueError("a ZNS gateway needs template_id and template_data")
        bad = _placeholders(config.template_data or {}) - (PLACEHOLDERS - {"template_data"})
        if bad:
            raise ValueError(f"template_data uses unknown placeholders {sorted(bad)}")
        if config.url is not None and not config.url.startswith(("https://", "http://")):
            raise ValueError("the gateway URL must be http(s)")
        self.config = config
        self.url = config.url or self.profile.url
        self._client = client or httpx.AsyncClient(
            timeout=config.timeout_seconds, follow_redirects=False, trust_env=False
        )
        rate = config.rate_per_second or self.profile.rate_per_second
        self._bucket = bucket or TokenBucket(rate, self.profile.burst)
        limit = config.daily_quota or self.profile.daily_quota
        self._quota = quota or (DailyQuota(limit) if limit else None)

    def build_request(self, message: Message) -> httpx.Request:
        """The HTTP request for one message (raises InvalidPhone/ValueError on bad input)."""
        profile, config = self.profile, self.config
        phone = format_phone(parse_phone(message.target["phone"]), profile.phone_format)
        encoding, _ = sms_segments(message.text)
        values: dict[str, Any] = {
            "phone": phone,
            "text": message.text,
            "delivery_id": message.delivery_id,
            "alert_id": message.alert_id,
            "sender": config.sender or "",
            "template_id": config.template_id or "",
            "unicode": "1" if encoding == "ucs2" else "0",
            "callback_url": config.callback_url or "",
            "subject": message.subject,
            "ack_url": message.ack_url or "",
            "ack_code": str(message.payload.get("ack_code", "")),
            "language": message.language,
        }
        values["template_data"] = {
            key: render(value, values)
            for key, value in (config.template_data or profile.template_data).items()
        }
        secrets = {k: v.get_secret_value() for k, v in config.secrets.items()}
        headers = {"Accept": "application/json"} | render(profile.headers, values)
        params = render(profile.query, values)
        body = render(profile.body, values) if profile.body is not None else None
        auth = profile.auth
        if auth.kind == "header":
            headers |= {h: auth.prefix + secrets[s] for h, s in auth.fields.items()}
        elif auth.kind == "query":
            params |= {q: secrets[s] for q, s in auth.fields.items()}
        elif auth.kind == "body" and body is not None:
            body |= {f: secrets[s] for f, s in auth.fields.items()}
        elif auth.kind == "basic" and auth.username:
            password = secrets[auth.password] if auth.password else (auth.password_literal or "")
            pair = f"{secrets[auth.username]}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return self._client.build_request(
            profile.method, self.url, params=params or None, json=body, headers=headers
        )

    async def send(self, message: Message) -> Result:
        """Make one attempt; classify the provider's answer (never raises for it)."""
        try:
            check_text(self.profile, message.text)
            request = self.build_request(message)
        except InvalidPhone:
            return Result(Outcome.FAILED, error_code="invalid_phone")
        except ValueError:
            return Result(Outcome.FAILED, error_code="text_too_long")
        if self._quota is not None:
            until_midnight = self._quota.take()
            if until_midnight is not None:
                return Result(
                    Outcome.RETRY, error_code="quota_exhausted", retry_after=until_midnight
                )
        ok, wait = self._bucket.reserve(self.config.max_wait_seconds)
        if not ok:
            if self._quota is not None:
                self._quota.give_back()
            return Result(Outcome.RETRY, error_code="rate_limited", retry_after=wait)
        if wait > 0:
            await asyncio.sleep(wait)  # the rate limit itself: this token is ours after the wait
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException:
            return Result(Outcome.RETRY, error_code="timeout")
        except httpx.HTTPError:
            return Result(Outcome.RETRY, error_code="network")
        return self.classify(response.status_code, response.headers, response.content)

    def classify(self, status: int, headers: Mapping[str, str], content: bytes) -> Result:
        """Map the provider's HTTP answer to an outcome."""
        if status == 429 or status >= 500:
            return Result(
                Outcome.RETRY,
                error_code=f"http_{status}",
                retry_after=retry_after_seconds(
                    headers.get("retry-after") or headers.get("Retry-After"), now=time.time()
                ),
            )
        if status in (408, 425):
            return Result(Outcome.RETRY, error_code=f"http_{status}")
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if not 200 <= status < 300 and not isinstance(data, dict):
            return Result(Outcome.FAILED, error_code=f"http_{status}")
        if not isinstance(data, dict):
            return Result(Outcome.RETRY, error_code="bad_response")
        profile = self.profile
        if (
            str(get_path(data, profile.success.path)) in profile.success.values
            and 200 <= status < 300
        ):
            provider_id = (
                get_path(data, profile.provider_id_path) if profile.provider_id_path else None
            )
            return Result(
                Outcome.SENT, provider_id=None if provider_id is None else str(provider_id)
            )
        raw = get_path(data, profile.error_code_path) if profile.error_code_path else None
        code = str(raw) if raw is not None else f"http_{status}"
        if code in profile.duplicate_codes:
            return Result(Outcome.SENT)
        if code in profile.retryable_codes:
            return Result(Outcome.RETRY, error_code=_short_code(profile, code))
        if code in profile.permanent_codes or profile.unknown_code == "failed":
            return Result(Outcome.FAILED, error_code=_short_code(profile, code))
        return Result(Outcome.RETRY, error_code=_short_code(profile, code))

    async def aclose(self) -> None:
        """Release connections."""
        await self._client.aclose()


class SmsGatewayChannel(GatewayChannel):
    """SMS through eSMS, SpeedSMS or another profile."""

    name: ClassVar[str] = "sms"


class ZnsGatewayChannel(GatewayChannel):
    """Zalo ZNS template messages."""

    name: ClassVar[str] = "zns"


def gateway_channel(config: GatewayConfig, **kwargs: Any) -> GatewayChannel:
    """The SMS or ZNS channel the configured profile is for."""
    profile = kwargs.pop("profile", None) or load_profile(config.profile)
    kind = ZnsGatewayChannel if profile.channel == "zns" else SmsGatewayChannel
    return kind(config, profile=profile, **kwargs)


# ------------------------------------------------------------------ callbacks


class SignatureError(ValueError):
    """A callback's signature is missing or wrong (answer 401; nothing is written)."""


class CallbackError(ValueError):
    """A signed callback that does not read as the profile says (answer 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class DeliveryReport:
    """What the provider says became of one message."""

    provider_id: str | None
    delivery_id: str | None  # our id, when the provider echoes it
    status: Literal["delivered", "failed", "pending"]
    error_code: str | None = None


@dataclass(frozen=True)
class InboundReply:
    """An SMS a resident sent back."""

    phone: str  # E.164
    text: str


def verify_signature(
    spec: SignatureSpec, headers: Mapping[str, str], body: bytes, secret: str
) -> None:
    """Raise SignatureError unless the callback is signed with ``secret`` as ``spec`` says."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if spec.kind == "url_token":
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        given = fields.get(spec.param)
        if not given:
            raise SignatureError(f"the callback carries no {spec.param!r} token")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise SignatureError("the callback token does not match")
        return
    given = lowered.get(spec.header.lower())
    if not given:
        raise SignatureError(f"the callback carries no {spec.header} header")
    if spec.kind == "hmac_sha256":
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        given = given.strip().removeprefix("sha256=")
    else:  # zalo_mac: sha256(app_id + body + timestamp + OA secret key), sent as "mac=<hex>"
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise SignatureError("the callback body is not JSON") from exc
        if not isinstance(data, dict):
            raise SignatureError("the callback body is not a JSON object")
        app_id, stamp = data.get("app_id", ""), data.get("timestamp", "")
        seed = f"{app_id}{body.decode('utf-8', 'replace')}{stamp}{secret}"
        expected = hashlib.sha256(seed.encode()).hexdigest()
        given = given.strip().removeprefix("mac=")
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise SignatureError("the callback signature does not match")


def _decode(fmt: str, body: bytes, drop: str | None) -> dict[str, Any]:
    if fmt == "form":
        fields: dict[str, Any] = dict(
            parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        )
        if drop:
            fields.pop(drop, None)
        return fields
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise CallbackError("body", "not JSON") from exc
    if not isinstance(data, dict):
        raise CallbackError("body", "not a JSON object")
    return data


def _event_matches(path: str | None, values: list[str], data: Mapping[str, Any]) -> bool:
    return path is None or str(get_path(data, path)) in values


def parse_delivery_report(
    profile: GatewayProfile, headers: Mapping[str, str], body: bytes, secret: str
) -> DeliveryReport | None:
    """Verify and read a delivery report; None if the signed callback is another event."""
    spec = profile.delivery_report
    if spec is None:
        raise CallbackError("profile", f"{profile.name} has no delivery reports")
    verify_signature(spec.signature, headers, body, secret)
    drop = spec.signature.param if spec.signature.kind == "url_token" else None
    data = _decode(spec.format, body, drop)
    if not _event_matches(spec.event_path, spec.event_values, data):
        return None
    provider_id = get_path(data, spec.provider_id_path) if spec.provider_id_path else None
    our_id = get_path(data, spec.our_id_path) if spec.our_id_path else None
    if provider_id in (None, "") and our_id in (None, ""):
        raise CallbackError(spec.provider_id_path or spec.our_id_path or "id", "missing")
    raw_status = get_path(data, spec.status_path)
    if raw_status is None:
        raise CallbackError(spec.status_path, "missing")
    status: Literal["delivered", "failed", "pending"] = spec.other
    if str(raw_status) in spec.delivered:
        status = "delivered"
    elif str(raw_status) in spec.failed:
        status = "failed"
    error_code = None
    if status == "failed":
        raw_code = get_path(data, spec.error_code_path) if spec.error_code_path else None
        error_code = _short_code(profile, raw_code if raw_code not in (None, "") else raw_status)
    return DeliveryReport(
        provider_id=None if provider_id in (None, "") else str(provider_id),
        delivery_id=None if our_id in (None, "") else str(our_id),
        status=status,
        error_code=error_code,
    )


def parse_inbound(
    profile: GatewayProfile, headers: Mapping[str, str], body: bytes, secret: str
) -> InboundReply | None:
    """Verify and read an inbound SMS; None if the signed callback is another event."""
    spec = profile.inbound
    if spec is None:
        raise CallbackError("profile", f"{profile.name} receives no inbound messages")
    verify_signature(spec.signature, headers, body, secret)
    drop = spec.signature.param if spec.signature.kind == "url_token" else None
    data = _decode(spec.format, body, drop)
    if not _event_matches(spec.event_path, spec.event_values, data):
        return None
    raw_phone, text = get_path(data, spec.phone_path), get_path(data, spec.text_path)
    if not isinstance(text, str):
        raise CallbackError(spec.text_path, "missing")
    try:
        phone = parse_phone(str(raw_phone or ""))
    except InvalidPhone as exc:
        raise CallbackError(spec.phone_path, str(exc)) from exc
    return InboundReply(phone=phone, text=text[:480])


_ACK = re.compile(r"\s*ok\s*[:.,#-]?\s*(\d{4,10})\s*[.!]?\s*")


def ack_code(text: str) -> str | None:
    """The code of an "OK <code>" reply, or None.

    Case, spacing and Vietnamese diacritics do not matter ("OK 123456", "ok 123456",
    "Ok123456", "ÔK 123456", "ọk: 123456"); full-width characters are folded (NFKC). Only the
    keyword and one code, 4–10 digits, optionally followed by "." or "!": anything longer is
    a message for a person, not an acknowledgement.
    """
    folded = unicodedata.normalize("NFKC", text)
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
    ).casefold()
    match = _ACK.fullmatch(stripped)
    return match.group(1) if match else None
