"""Open311 GeoReport v2: the catalogue as services, incidents as service requests.

Existing Open311 clients list services, read their definitions, file requests and
follow them, in XML (``.xml``, the spec's required format) or JSON (``.json``, or no
suffix). Bình Yên's extension: ``hamlet_id`` (or ``jurisdiction_id``) is required when
filing, since every incident belongs to a hamlet. JSON errors are problem+json with the
fields at fault in ``errors[].field``, as everywhere in Bình Yên; XML errors are the
spec's error list (``open311_xml``). ``api_key`` only tells client apps apart; to report
signed in, send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from binhyen.incidents.api.common import (
    LOCAL,
    PROBLEMS,
    ContextDep,
    IdempotencyKey,
    client_address,
)
from binhyen.incidents.api.open311_xml import XML, XmlRoute
from binhyen.incidents.domain.categories import AnswerType, Category, Question
from binhyen.incidents.domain.incidents import MAX_DESCRIPTION
from binhyen.incidents.service import categories as catalogue
from binhyen.incidents.service import open311 as service
from binhyen.incidents.service.common import Context
from binhyen.kit.auth import Principal, current_principal
from binhyen.kit.problems import PROBLEM_JSON, DomainError, Invalid, NotFound, problem
from binhyen.kit.text import CONTROL_MESSAGE, SafeMultiline, SafeText, has_controls


class Open311Route(XmlRoute):
    """An Open311 route: its .xml path answers under the spec's root element."""

    roots: ClassVar[Mapping[str, str]] = {
        "discovery": "discovery",
        "list_services": "services",
        "service_definition": "service_definition",
        "file_request": "service_requests",
        "list_requests": "service_requests",
        "read_request": "service_requests",
    }


router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"], route_class=Open311Route)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-01-01T00:00:00+07:00"  # when these endpoints last changed
MAX_BODY = 64 * 1024
MAX_IDS = 200
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]*)\](\[\])?$")
PHONE = re.compile(r"^\+?[0-9 ().-]{6,30}$")

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
DATATYPES: dict[AnswerType, Datatype] = {
    "string": "string",
    "text": "text",
    "integer": "number",
    "number": "number",
    "boolean": "singlevaluelist",
    "date": "datetime",
    "datetime": "datetime",
    "choice": "singlevaluelist",
    "multichoice": "multivaluelist",
}
# (Vietnamese, English)
DATATYPE_HELP: dict[AnswerType, tuple[str, str]] = {
    "string": ("Văn bản ngắn (tối đa 200 ký tự)", "Short text (up to 200 characters)"),
    "text": ("Văn bản (tối đa 2000 ký tự)", "Text (up to 2000 characters)"),
    "integer": ("Số nguyên", "A whole number"),
    "number": ("Số", "A number"),
    "boolean": ("true (có) hoặc false (không)", "true (yes) or false (no)"),
    "date": ("Ngày, dạng YYYY-MM-DD", "A date, YYYY-MM-DD"),
    "datetime": (
        "Ngày giờ ISO 8601 kèm múi giờ, ví dụ 2026-01-31T20:30:00+07:00",
        "ISO 8601 date and time with its time zone, e.g. 2026-01-31T20:30:00+07:00",
    ),
    "choice": ("Chọn một giá trị", "One of the values"),
    "multichoice": (
        "Một hoặc nhiều giá trị: attribute[mã][]=…",
        "One or more of the values: attribute[code][]=…",
    ),
}
GROUP_NAMES: dict[str, tuple[str, str]] = {
    "crime": ("Tội phạm", "Crime"),
    "social_evil": ("Tệ nạn xã hội", "Social evils"),
    "traffic": ("Trật tự an toàn giao thông", "Traffic safety"),
    "dispute": ("Tranh chấp, mâu thuẫn", "Disputes"),
    "fire": ("Cháy, nổ", "Fire and explosions"),
    "other": ("Khác", "Other"),
}


class UnsupportedMediaType(DomainError):
    """The request body is in a format this endpoint does not read."""

    status, kind, title = 415, "unsupported-media-type", "Unsupported body format"


class PayloadTooLarge(DomainError):
    """The request body is too large."""

    status, kind, title = 413, "payload-too-large", "Request too large"


async def _optional_principal(request: Request) -> Principal | None:
    """The caller if they sent a bearer token (a bad one answers 401), else None."""
    if not request.headers.get("authorization"):
        return None
    return await current_principal(request)


MaybePrincipal = Annotated[Principal | None, Depends(_optional_principal)]
Locale = Annotated[
    SafeText | None,
    Query(max_length=10, description="vi (default) or en: the language of names and notices."),
]


def _format(request: Request) -> Literal["xml", "json"]:
    """The format the caller asked for: XML for a .xml path, JSON otherwise."""
    return "xml" if request.url.path.endswith(".xml") else "json"


def _english(locale: str | None) -> bool:
    return bool(locale) and str(locale).lower().startswith("en")


def _iso(value: datetime | None) -> str | None:
    """A time as Open311 writes it: ISO 8601 with its offset (Vietnam time)."""
    return None if value is None else value.astimezone(LOCAL).isoformat(timespec="seconds")


class Endpoint(BaseModel):
    """One API endpoint of the discovery document."""

    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    """The Open311 service discovery document."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


@router.get("/discovery", response_model=Discovery, include_in_schema=False)
@router.get("/discovery.xml", response_model=Discovery, include_in_schema=False)
@router.get("/discovery.json", response_model=Discovery, summary="Open311 service discovery")
async def discovery(request: Request, ctx: ContextDep) -> Discovery:
    """Where the GeoReport v2 endpoints are, and in which format."""
    environment = ctx.settings.environment
    base = str(request.base_url).rstrip("/")
    return Discovery(
        changeset=CHANGESET,
        contact="Bình Yên — Ủy ban MTTQ xã / the commune Fatherland Front committee",
        key_service=(
            "No api_key is needed. Report signed in with Authorization: Bearer <token> "
            "(POST /api/v1/auth/token on the registry); without a token reports are "
            "anonymous and rate-limited."
        ),
        endpoints=[
            Endpoint(
                specification=SPECIFICATION,
                url=f"{base}/open311/v2",
                changeset=CHANGESET,
                type="production" if environment == "prod" else "test",
                formats=[XML, "application/json"],
            )
        ],
    )


class ServiceRead(BaseModel):
    """A category of the catalogue as an Open311 service."""

    service_code: str = Field(description="The category code.")
    service_name: str
    description: str
    metadata: bool = Field(description="True when the service asks questions (attributes).")
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str = Field(description="Comma-separated.")
    group: str


def _service(c: Category, english: bool) -> ServiceRead:
    description = (c.description_en if english else c.description_vi) or (
        c.name_en if english else c.name_vi
    )
    vi, en = GROUP_NAMES.get(c.group, (c.group, c.group))
    return ServiceRead(
        service_code=c.code,
        service_name=c.name_en if english else c.name_vi,
        description=description,
        metadata=bool(c.questions),
        type="realtime",
        keywords=", ".join(c.keywords),
        group=en if english else vi,
    )


@router.get("/services", response_model=list[ServiceRead], include_in_schema=False)
@router.get("/services.xml", response_model=list[ServiceRead], include_in_schema=False)
@router.get("/services.json", response_model=list[ServiceRead], summary="Services (the categories)")
async def list_services(ctx: ContextDep, locale: Locale = None) -> list[ServiceRead]:
    """Every category that can be reported, as an Open311 service list (no sign-in)."""
    english = _english(locale)
    return [_service(c, english) for c in await catalogue.list_categories(ctx)]


class AttributeValue(BaseModel):
    """An allowed value of a list attribute."""

    key: str
    name: str


class AttributeRead(BaseModel):
    """A question of the category as an Open311 attribute."""

    variable: bool
    code: str
    datatype: Datatype
    required: bool
    datatype_description: str
    order: int
    description: str = Field(description="The question's label.")
    values: list[AttributeValue] = Field(description="Allowed values of list attributes.")


class ServiceDefinition(BaseModel):
    """The attributes a service asks for."""

    service_code: str
    attributes: list[AttributeRead]


def _values(q: Question, english: bool) -> list[AttributeValue]:
    if q.type == "boolean":
        yes, no = ("Yes", "No") if english else ("Có", "Không")
        return [AttributeValue(key="true", name=yes), AttributeValue(key="false", name=no)]
    return [AttributeValue(key=v, name=v.replace("_", " ")) for v in q.values]


def _attribute(q: Question, order: int, english: bool) -> AttributeRead:
    vi, en = DATATYPE_HELP[q.type]
    help_text = en if english else vi
    if q.description:
        help_text = f"{help_text}. {q.description}"
    return AttributeRead(
        variable=True,
        code=q.code,
        datatype=DATATYPES[q.type],
        required=q.required,
        datatype_description=help_text,
        order=order,
        description=q.label_en if english else q.label_vi,
        values=_values(q, english),
    )


ServiceCode = Annotated[str, Path(max_length=40, description="The category code, e.g. theft.")]


@router.get(
    "/services/{service_code}.xml", response_model=ServiceDefinition, include_in_schema=False
)
@router.get(
    "/services/{service_code}.json",
    response_model=ServiceDefinition,
    responses={404: PROBLEMS[404]},
    summary="A service definition (the category's questions)",
)
async def service_definition(
    service_code: ServiceCode, ctx: ContextDep, locale: Locale = None
) -> ServiceDefinition:
    """The attributes to send as attribute[code]=value when filing this service."""
    category = await catalogue.get_category(ctx, service_code)
    if not category.active:
        raise NotFound(f"service {service_code} is retired")
    english = _english(locale)
    return ServiceDefinition(
        service_code=category.code,
        attributes=[_attribute(q, n, english) for n, q in enumerate(category.questions, 1)],
    )


class RequestForm(BaseModel):
    """What an Open311 client posts (form-encoded or JSON); only for the API docs."""

    model_config = ConfigDict(populate_by_name=True)

    service_code: SafeText = Field(description="A service_code from services.json.")
    hamlet_id: SafeText | None = Field(
        None,
        description=(
            "Bình Yên extension, required: the hamlet where it happened (or send it as "
            "jurisdiction_id)."
        ),
    )
    jurisdiction_id: SafeText | None = Field(
        None, description="The hamlet, if hamlet_id is absent."
    )
    lat: float | None = Field(None, description="Latitude (WGS 84), with long; in Vietnam.")
    long: float | None = Field(None, description="Longitude (WGS 84), with lat.")
    address_string: SafeText | None = Field(None, max_length=300)
    description: SafeMultiline | None = Field(
        None, max_length=MAX_DESCRIPTION, description="Default: the service's name."
    )
    attribute_code: SafeMultiline | None = Field(
        None,
        alias="attribute[code]",
        description=(
            "An answer to the service's attribute `code`; attribute[code][]=v repeated for a "
            'multivaluelist. In JSON also {"attribute": {"code": value}}.'
        ),
    )
    first_name: SafeText | None = Field(None, description="Masked: only the police may unmask it.")
    last_name: SafeText | None = Field(None, description="Masked.")
    email: SafeText | None = Field(None, description="Masked.")
    phone: SafeText | None = Field(None, description="Masked.")
    device_id: SafeText | None = Field(None, description="Masked.")
    account_id: SafeText | None = Field(None, description="Masked.")
    media_url: SafeText | None = Field(
        None, description="A link to a photo; kept at the end of the description."
    )
    api_key: SafeText | None = Field(None, description="Optional: tells client apps apart.")


_FORM_SCHEMA = RequestForm.model_json_schema(by_alias=True)
REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA},
            "application/json": {"schema": _FORM_SCHEMA},
        },
    }
}


class RequestCreated(BaseModel):
    """The answer to a filed request."""

    service_request_id: str
    service_notice: str | None
    account_id: str | None = Field(description="Your account id when signed in.")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"send at most {MAX_BODY // 1024} KB")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise PayloadTooLarge(f"send at most {MAX_BODY // 1024} KB")
    return bytes(data)


async def _pairs(request: Request) -> list[tuple[str, Any]]:
    """The posted fields in order, from a form-encoded or a JSON body."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await _body(request)
    if media == "application/json" or media.endswith("+json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise DomainError("the body is not valid JSON", field="body") from exc
        if not isinstance(data, dict):
            raise DomainError("send a JSON object of the request's fields", field="body")
        pairs: list[tuple[str, Any]] = []
        for key, value in data.items():
            if key == "attribute" and isinstance(value, dict):
                pairs.extend((f"attribute[{k}]", v) for k, v in value.items())
            else:
                pairs.append((str(key), value))
        return pairs
    if media in ("", "application/x-www-form-urlencoded"):
        try:
            return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=300)
        except UnicodeDecodeError as exc:
            raise DomainError("the body is not UTF-8", field="body") from exc
        except ValueError as exc:
            raise DomainError("too many fields in the body", field="body") from exc
    raise UnsupportedMediaType(
        "send the request as application/x-www-form-urlencoded or application/json "
        "(media are linked with media_url, not uploaded)"
    )


class _Fields:
    """Posted fields, read one by one; every problem is collected, none echoes a value."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.values: dict[str, list[Any]] = {}
        self.attributes: dict[str, Any] = {}
        self.errors: list[DomainError] = []
        for key, value in pairs:
            match = ATTRIBUTE.match(key)
            if match is None:
                self.values.setdefault(key, []).append(value)
                continue
            code, multi = match.group(1), match.group(2)
            if multi or code in self.attributes:
                earlier = self.attributes.get(code)
                items = (
                    earlier if isinstance(earlier, list) else [] if earlier is None else [earlier]
                )
                items.extend(value if isinstance(value, list) else [value])
                self.attributes[code] = items
            else:
                self.attributes[code] = value

    def fail(self, name: str, message: str) -> None:
        """Record a field at fault."""
        self.errors.append(Invalid(message, field=name))

    def text(self, name: str, limit: int, *, multiline: bool = False) -> str | None:
        """A text field (numbers accepted as text), blank as absent; no control characters."""
        given = self.values.get(name)
        if not given:
            return None
        if len(given) > 1:
            self.fail(name, f"{name} is given more than once")
            return None
        value = given[0]
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail(name, f"{name} must be text")
            return None
        if has_controls(value, multiline=multiline):
            only = " (only line breaks and tabs)" if multiline else ""
            self.fail(name, f"{name}: {CONTROL_MESSAGE}{only}")
            return None
        value = value.strip()
        if len(value) > limit:
            self.fail(name, f"{name} has at most {limit} characters")
            return None
        return value or None

    def number(self, name: str, low: float, high: float) -> float | None:
        """A number in [low, high]."""
        given = self.values.get(name)
        if not given or given[0] in ("", None):
            return None
        if len(given) > 1:
            self.fail(name, f"{name} is given more than once")
            return None
        raw = given[0]
        try:
            value = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or not low <= value <= high:
            self.fail(
                name,
                f"{name} must be a number from {low:g} to {high:g} (decimal degrees; in Vietnam "
                "lat is about 6 to 23.5 and long 102 to 118)",
            )
            return None
        return value


def _contact(fields: _Fields) -> dict[str, str]:
    """The reporter's details, masked in the incident (the police may unmask them)."""
    contact: dict[str, str] = {}
    for name, limit in (("first_name", 100), ("last_name", 100), ("device_id", 200)):
        value = fields.text(name, limit)
        if value:
            contact[name] = value
    account = fields.text("account_id", 200)
    if account:
        contact["account_id"] = account
    email = fields.text("email", 200)
    if email is not None:
        if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            contact["email"] = email
        else:
            fields.fail("email", "email must be an e-mail address like ten@example.vn")
    phone = fields.text("phone", 30)
    if phone is not None:
        if PHONE.match(phone) and sum(ch.isdigit() for ch in phone) >= 6:
            contact["phone"] = phone
        else:
            fields.fail("phone", "phone must be a phone number like 0912 345 678 or +84 …")
    name = " ".join(contact[k] for k in ("first_name", "last_name") if k in contact)
    if name:
        contact["name"] = name
    return contact


def _media_url(fields: _Fields) -> str | None:
    value = fields.text("media_url", 2000)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        fields.fail("media_url", "media_url must be an http(s) link to the photo")
        return None
    return value


def _file_request(
    pairs: list[tuple[str, Any]], idempotency_key: str | None
) -> tuple[service.FileRequest, list[DomainError]]:
    """The posted fields as a request to file, and the fields at fault (left empty in it)."""
    fields = _Fields(pairs)
    service_code = fields.text("service_code", 40)
    if service_code is None and "service_code" not in {e.field for e in fields.errors}:
        fields.fail("service_code", "service_code is required (GET services.json lists them)")
    hamlet_id = fields.text("hamlet_id", 64)
    hamlet_field = "hamlet_id"
    if hamlet_id is None:
        hamlet_id = fields.text("jurisdiction_id", 64)
        hamlet_field = "jurisdiction_id"
    if hamlet_id is None and not {"hamlet_id", "jurisdiction_id"} & {
        e.field for e in fields.errors
    }:
        fields.fail(
            "hamlet_id",
            "hamlet_id is required (Bình Yên extension): the hamlet where it happened; "
            "jurisdiction_id is accepted instead",
        )
    lat = fields.number("lat", -90, 90)
    long = fields.number("long", -180, 180)
    for name, value, other in (("lat", lat, long), ("long", long, lat)):
        if value is None and other is not None and name not in {e.field for e in fields.errors}:
            fields.fail(name, "send both lat and long, or neither")
    address = fields.text("address_string", 300)
    description = fields.text("description", MAX_DESCRIPTION, multiline=True)
    contact = _contact(fields)
    media_url = _media_url(fields)
    api_key = fields.text("api_key", 200)
    cmd = service.FileRequest(
        service_code=service_code or "",
        hamlet_id=hamlet_id or "",
        hamlet_field=hamlet_field,
        description=description,
        lat=lat,
        long=long,
        address=address,
        attributes=fields.attributes,
        media_url=media_url,
        contact=contact,
        api_key=api_key,
        idempotency_key=idempotency_key,
    )
    return cmd, fields.errors


def _field_problem(request: Request, exc: service.FieldErrors) -> JSONResponse:
    fields = ", ".join(dict.fromkeys(str(e["field"]) for e in exc.errors))
    return problem(
        exc.status,
        exc.kind,
        exc.title,
        f"Fix these fields and send again: {fields}.",
        instance=request.url.path,
        errors=exc.errors,
    )


@router.post("/requests", include_in_schema=False, status_code=status.HTTP_201_CREATED)
@router.post("/requests.xml", include_in_schema=False, status_code=status.HTTP_201_CREATED)
@router.post(
    "/requests.json",
    status_code=status.HTTP_201_CREATED,
    summary="File a service request (an incident)",
    openapi_extra=REQUEST_BODY,
    response_model=None,
    responses={
        201: {"model": list[RequestCreated], "description": "Filed"},
        200: {"description": "A retry with the same Idempotency-Key: the first result"},
        400: {"description": "The body cannot be read", "content": {PROBLEM_JSON: {}}},
        413: {"description": "The body is too large", "content": {PROBLEM_JSON: {}}},
        415: {"description": "Not form-encoded or JSON", "content": {PROBLEM_JSON: {}}},
        429: {"description": "Too many anonymous reports", "content": {PROBLEM_JSON: {}}},
        **{k: PROBLEMS[k] for k in (401, 403, 422, 503)},
    },
)
async def file_request(
    request: Request,
    ctx: ContextDep,
    principal: MaybePrincipal,
    idempotency_key: IdempotencyKey = None,
    locale: Locale = None,
) -> Response:
    """File a report; hamlet_id is required. With a bearer token it is yours, else anonymous."""
    try:
        pairs = await _pairs(request)
        if "api_key" in request.query_params and not any(k == "api_key" for k, _ in pairs):
            pairs.append(("api_key", request.query_params["api_key"]))  # some clients do
        cmd, found = _file_request(pairs, idempotency_key)
        result = await service.file_request(
            cmd, ctx=ctx, principal=principal, client=client_address(request), found=found
        )
    except service.FieldErrors as exc:
        return _field_problem(request, exc)
    incident_id = result.incident.id
    follow = f"/open311/v2/requests/{incident_id}.{_format(request)}"
    notice = (
        f"Received. Follow it at {follow}."
        if _english(locale)
        else f"Đã tiếp nhận phản ánh. Theo dõi tại {follow}."
    )
    created = RequestCreated(
        service_request_id=incident_id,
        service_notice=notice,
        account_id=principal.subject if principal is not None else None,
    )
    return JSONResponse(
        [created.model_dump()],
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        headers={"Location": follow},
    )


class RequestRead(BaseModel):
    """A service request. Without staff rights: no description, no location or address."""

    service_request_id: str
    status: Literal["open", "closed"]
    detailed_status: str = Field(description="Bình Yên's own status (reported, assigned, …).")
    status_notes: str | None = Field(description="The resolution, if resolved (staff).")
    service_name: str
    service_code: str
    description: str | None = Field(None, description="Staff only; absent otherwise.")
    agency_responsible: str | None = Field(description="The assigned team's id (staff).")
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None = Field(description="The resolve deadline (staff).")
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None = Field(None, description="Staff only; absent otherwise.")
    long: float | None = Field(None, description="Staff only; absent otherwise.")
    media_url: str | None
    hamlet_id: str = Field(description="Bình Yên extension: the hamlet.")
    hamlet_name: str | None = Field(description="Bình Yên extension.")


def _request_read(
    view: service.RequestView,
    categories: dict[str, Category],
    hamlets: dict[str, str | None],
    english: bool,
) -> dict[str, Any]:
    """A request as Open311 shows it; the public part only, unless the caller is staff."""
    i = view.incident
    category = categories.get(i.category)
    name = i.category if category is None else (category.name_en if english else category.name_vi)
    read: dict[str, Any] = {
        "service_request_id": i.id,
        "status": service.open311_status(i.status),
        "detailed_status": i.status,
        "status_notes": None,
        "service_name": name,
        "service_code": i.category,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": _iso(i.reported_at),
        "updated_datetime": _iso(view.updated_at),
        "expected_datetime": None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "media_url": None,
        "hamlet_id": i.hamlet_id,
        "hamlet_name": hamlets.get(i.hamlet_id),
    }
    if not view.staff:
        return read
    description, media_url = service.media_url_of(i.description)
    resolve = next((d for d in i.deadlines if d.kind == "resolve"), None)
    team = None
    if i.assignee is not None:
        team = i.assignee.id if i.assignee.kind == "team" else i.assignee.team_id
    read |= {
        "description": description,
        "status_notes": i.resolution if i.status == "resolved" else None,
        "agency_responsible": team,
        "expected_datetime": _iso(resolve.due) if resolve else None,
        "address": i.address,
        "lat": i.location.lat if i.location else None,
        "long": i.location.lon if i.location else None,
        "media_url": media_url,
    }
    return read


async def _render(
    ctx: Context, views: list[service.RequestView], english: bool
) -> list[dict[str, Any]]:
    categories = {c.code: c for c in await catalogue.list_categories(ctx, include_retired=True)}
    hamlets = await service.hamlet_names(ctx, {v.incident.hamlet_id for v in views})
    return [_request_read(v, categories, hamlets, english) for v in views]


def _when(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time or date of a query; without an offset it is Vietnam time."""
    if not value:
        return None
    try:
        # A "+" of the offset arrives as a space when the client did not encode it.
        parsed = datetime.fromisoformat(re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip()))
    except ValueError as exc:
        raise Invalid(
            f"{name} must be an ISO 8601 time like 2026-01-31T00:00:00+07:00", field=name
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL)


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))


REQUESTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": list[RequestRead], "description": "Newest first"},
    **{k: PROBLEMS[k] for k in (401, 422)},
}


@router.get("/requests", include_in_schema=False, response_model=None)
@router.get("/requests.xml", include_in_schema=False, response_model=None)
@router.get(
    "/requests.json",
    response_model=None,
    responses=REQUESTS_RESPONSES,
    summary="Service requests (incidents)",
)
async def list_requests(
    ctx: ContextDep,
    principal: MaybePrincipal,
    service_request_id: Annotated[
        SafeText | None,
        Query(max_length=8000, description="Comma-separated ids; overrides every other filter."),
    ] = None,
    service_code: Annotated[
        SafeText | None, Query(max_length=2000, description="Comma-separated service codes.")
    ] = None,
    start_date: Annotated[
        SafeText | None,
        Query(max_length=40, description="Filed at or after (default: 90 days before end)."),
    ] = None,
    end_date: Annotated[
        SafeText | None, Query(max_length=40, description="Filed before (default: now).")
    ] = None,
    status_: Annotated[
        SafeText | None, Query(alias="status", max_length=20, description="open, closed or both.")
    ] = None,
    jurisdiction_id: Annotated[
        SafeText | None, Query(max_length=64, description="Only this unit's subtree.")
    ] = None,
    hamlet_id: Annotated[
        SafeText | None,
        Query(max_length=64, description="Only this hamlet (wins over jurisdiction)."),
    ] = None,
    page_size: Annotated[
        int,
        Query(
            ge=1,
            le=service.MAX_PAGE,
            description="At most this many; for older ones pass end_date = the oldest "
            "requested_datetime you got.",
        ),
    ] = 50,
    locale: Locale = None,
) -> JSONResponse:
    """Requests newest first: staff see those in their scope in full, others public facts."""
    ids = _list(service_request_id)
    if len(ids) > MAX_IDS:
        raise Invalid(f"ask for at most {MAX_IDS} ids at once", field="service_request_id")
    wanted = _list(status_)
    if any(s not in service.OPEN311_STATUSES for s in wanted):
        raise Invalid("status is open, closed or open,closed", field="status")
    query = service.RequestQuery(
        ids=ids,
        service_codes=_list(service_code),
        statuses=tuple(s for s in service.OPEN311_STATUSES if s in wanted),
        start=_when(start_date, "start_date"),
        end=_when(end_date, "end_date"),
        unit_id=hamlet_id or jurisdiction_id,
        limit=page_size,
    )
    views = await service.find_requests(ctx, query, principal=principal)
    return JSONResponse(await _render(ctx, views, _english(locale)))


# Decorators register bottom-up: .json, then .xml, then the bare path, which would
# otherwise take "x.xml" for an id (so would /services/{service_code} below).
@router.get("/requests/{service_request_id}", include_in_schema=False, response_model=None)
@router.get("/requests/{service_request_id}.xml", include_in_schema=False, response_model=None)
@router.get(
    "/requests/{service_request_id}.json",
    response_model=None,
    responses={**REQUESTS_RESPONSES, 404: PROBLEMS[404]},
    summary="One service request",
)
async def read_request(
    service_request_id: Annotated[str, Path(max_length=64)],
    ctx: ContextDep,
    principal: MaybePrincipal,
    locale: Locale = None,
) -> JSONResponse:
    """One request (a list of one, as the spec says), in full for staff of its scope."""
    view = await service.get_request(ctx, service_request_id, principal=principal)
    return JSONResponse(await _render(ctx, [view], _english(locale)))


@router.get("/services/{service_code}", include_in_schema=False)
async def service_definition_bare(
    service_code: ServiceCode, ctx: ContextDep, locale: Locale = None
) -> ServiceDefinition:
    """The service definition, without the .json suffix."""
    return await service_definition(service_code, ctx, locale)


UNKNOWN_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# Last: a .xml path no route above took is unknown, or known with another method; either
# way the caller asked for XML, so the error is answered in XML too.
@router.api_route("/{resource:path}.xml", methods=UNKNOWN_METHODS, include_in_schema=False)
async def unknown_resource(request: Request, resource: str) -> None:
    """404 for an unknown .xml path, 405 for a known one with another method."""
    allowed: set[str] = set()
    for route in router.routes:
        if (
            isinstance(route, APIRoute)
            and route.methods
            and route.matches(request.scope)[0] is Match.PARTIAL
        ):
            allowed |= route.methods
    if allowed:
        raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
    raise HTTPException(404)
