"""Open311 GeoReport v2 on top of the catalogue and the incidents: file and follow requests.

An Open311 service is a category, a service request an incident. Requests are filed
through the same use case as the main intake (channel ``open311``): with a bearer
token as the signed-in caller, without one anonymously under the tips' rate limit.
Everything is checked before anything is written, rate-limit counters included.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from binhyen.incidents.domain.categories import (
    Category,
    CategoryRuleViolation,
    validate_answers,
)
from binhyen.incidents.domain.incidents import (
    CLOSED,
    FUTURE_SLACK,
    MAX_DESCRIPTION,
    STATUSES,
    VIETNAM_LAT,
    VIETNAM_LON,
    Incident,
    Point,
    Status,
)
from binhyen.incidents.service import queries
from binhyen.incidents.service.common import Context
from binhyen.incidents.service.incidents import Reported, ReportIncident, report_incident
from binhyen.incidents.service.replicas import reportable_hamlet, unknown_hamlet
from binhyen.incidents.service.tips import check_rate
from binhyen.incidents.store.incidents import Filters
from binhyen.kit.auth import Forbidden, Principal
from binhyen.kit.problems import DomainError, Invalid, NotFound

Open311Status = Literal["open", "closed"]
OPEN311_STATUSES: tuple[Open311Status, ...] = ("open", "closed")
MEDIA_PREFIX = "Ảnh / media: "
MAX_PAGE = queries.MAX_PAGE
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default span of GET requests
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def open311_status(status: Status) -> Open311Status:
    """Open311's two states: resolved, rejected and duplicate are closed, the rest open."""
    return "closed" if status in CLOSED else "open"


def statuses_for(wanted: Sequence[Open311Status]) -> tuple[Status, ...]:
    """Our states behind Open311 ``open`` / ``closed``."""
    return tuple(s for s in STATUSES if open311_status(s) in wanted)


class FieldErrors(Invalid):
    """Several fields at fault at once; ``errors`` lists them (field, message)."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.detail, field=first.field)
        self.errors = [{"field": e.field, "message": e.detail} for e in errors]


@dataclass(frozen=True)
class Open311Report(ReportIncident):
    """A report from an Open311 client: it happened when it is filed (the spec has no time)."""

    def fingerprint(self) -> str:
        """Like the main intake's, without the filing time (so a retry matches)."""
        return ReportIncident.fingerprint(replace(self, occurred_at=_EPOCH))


@dataclass(frozen=True)
class FileRequest:
    """An Open311 POST, parsed but not yet checked against the catalogue and the units."""

    service_code: str
    hamlet_id: str
    hamlet_field: str = "hamlet_id"  # or jurisdiction_id, when the hamlet came that way
    description: str | None = None
    lat: float | None = None
    long: float | None = None
    address: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    media_url: str | None = None
    contact: Mapping[str, str] = field(default_factory=dict)  # masked reporter identity
    api_key: str | None = None
    idempotency_key: str | None = None


def _renamed(exc: DomainError, field_name: str) -> DomainError:
    copy = type(exc)(exc.detail, field=field_name, extra=exc.extra)
    copy.headers = exc.headers
    return copy


def _open311_field(name: str | None, cmd: FileRequest) -> str | None:
    """Our field names as the Open311 client sent them."""
    if name is None:
        return None
    if name == "category":
        return "service_code"
    if name == "hamlet_id":
        return cmd.hamlet_field
    if name == "address":
        return "address_string"
    if name == "location":
        return "lat"
    for prefix in ("answers.", "attribute."):
        if name.startswith(prefix):
            return f"attribute[{name.removeprefix(prefix)}]"
    return name


def _location_errors(lat: float, long: float) -> list[DomainError]:
    hint = "lat is the latitude (e.g. 18.05), long the longitude (e.g. 106.29)"
    errors: list[DomainError] = []
    if not VIETNAM_LAT[0] <= lat <= VIETNAM_LAT[1]:
        errors.append(Invalid(f"the latitude is outside Vietnam; {hint}", field="lat"))
    if not VIETNAM_LON[0] <= long <= VIETNAM_LON[1]:
        errors.append(Invalid(f"the longitude is outside Vietnam; {hint}", field="long"))
    return errors


def _attributes(category: Category, given: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values as the catalogue's answers (an Open311 datetime for a date question)."""
    answers = {
        code: [v for v in value if v != ""] if isinstance(value, list) else value
        for code, value in given.items()
    }  # an empty multi-select arrives as attribute[code][]= with nothing chosen
    for q in category.questions:
        value = answers.get(q.code)
        if q.type == "date" and isinstance(value, str) and "T" in value:
            answers[q.code] = value.partition("T")[0]
    return answers


def _description(cmd: FileRequest, category: Category | None) -> tuple[str, DomainError | None]:
    """The incident's description: the client's (or the service name), with the media link."""
    text = (cmd.description or "").strip()
    if not text and category is not None:
        text = category.name_vi
    if cmd.media_url:
        suffix = f"{MEDIA_PREFIX}{cmd.media_url}"
        if len(text) + len(suffix) + 2 > MAX_DESCRIPTION:
            return text, Invalid(
                f"the description and media_url together exceed {MAX_DESCRIPTION} characters",
                field="media_url" if len(text) <= MAX_DESCRIPTION else "description",
            )
        text = f"{text}\n\n{suffix}" if text else suffix
    if len(text) > MAX_DESCRIPTION:
        return text, Invalid(f"at most {MAX_DESCRIPTION} characters", field="description")
    return text, None


def media_url_of(description: str) -> tuple[str, str | None]:
    """Split the media link an Open311 report added back off its description."""
    head, sep, tail = description.rpartition(MEDIA_PREFIX)
    if not sep or "\n" in tail or (head and not head.endswith("\n\n")):
        return description, None
    return head.rstrip("\n"), tail.strip() or None


def client_id(ctx: Context, api_key: str | None) -> str:
    """Who an anonymous Open311 report comes from: a keyed hash of the app's api_key."""
    if not api_key:
        return "open311:anonymous"
    secret = ctx.settings.tip_key().encode()
    digest = hmac.new(secret, f"open311:{api_key}".encode(), hashlib.sha256).hexdigest()
    return f"open311:{digest[:20]}"


async def _check(
    cmd: FileRequest,
    *,
    ctx: Context,
    principal: Principal | None,
    found: Sequence[DomainError],
) -> tuple[Category, str, dict[str, Any]]:
    """Everything report_incident would refuse, found before anything is written."""
    errors = list(found)
    category = await ctx.stores.categories.get(cmd.service_code) if cmd.service_code else None
    if cmd.service_code and (category is None or not category.active):
        errors.append(
            Invalid(
                "service_code is not a service of the catalogue; "
                "GET /open311/v2/services.json lists them",
                field="service_code",
            )
        )
        category = None
    unit = None
    if cmd.hamlet_id:
        try:
            unit = await reportable_hamlet(
                cmd.hamlet_id, stores=ctx.stores, field=cmd.hamlet_field, principal=principal
            )
        except DomainError as exc:
            errors.append(exc)
    if unit is not None:
        path = (*unit.ancestor_ids, unit.id)
        if principal is not None and not principal.allows("incidents:report", path):
            if principal.allows("units:read", path):
                raise Forbidden(f"your roles do not allow reporting in hamlet {unit.id}")
            errors.append(unknown_hamlet(cmd.hamlet_field))
    if cmd.lat is not None and cmd.long is not None:
        errors.extend(_location_errors(cmd.lat, cmd.long))
    answers: dict[str, Any] = {}
    if category is not None:
        try:
            answers = validate_answers(
                category, _attributes(category, cmd.attributes), prefix="attribute"
            )
        except CategoryRuleViolation as exc:
            errors.append(Invalid(str(exc), field=_open311_field(exc.field, cmd)))
    description, problem = _description(cmd, category)
    if problem is not None:
        errors.append(problem)
    elif not description and category is not None:
        errors.append(Invalid("describe what happened", field="description"))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise FieldErrors(errors)
    assert category is not None
    return category, description, answers


async def file_request(
    cmd: FileRequest,
    *,
    ctx: Context,
    principal: Principal | None,
    client: str,
    found: Sequence[DomainError] = (),
) -> Reported:
    """File an Open311 request as an incident (signed in, or anonymous and rate-limited).

    ``found`` are the problems the API met reading the fields (such a field is left
    empty in ``cmd``); they are answered together with the rest, and nothing is written.
    """
    category, description, answers = await _check(cmd, ctx=ctx, principal=principal, found=found)
    if principal is None:
        await check_rate(ctx, "tips", client)
    identity: dict[str, Any] = dict(cmd.contact)
    if principal is not None:  # the account's name first; what the form says is kept too
        name = principal.name or identity.get("name")
        identity |= {"user_id": principal.subject, "name": name}
    report = Open311Report(
        hamlet_id=cmd.hamlet_id,
        category=category.code,
        description=description,
        occurred_at=ctx.now(),
        location=Point(lon=cmd.long, lat=cmd.lat)
        if cmd.lat is not None and cmd.long is not None
        else None,
        address=cmd.address,
        answers=answers,
        idempotency_key=cmd.idempotency_key,
    )
    try:
        return await report_incident(
            report,
            ctx=ctx,
            principal=principal,
            channel="open311",
            identity=identity,
            client_id=None if principal is not None else client_id(ctx, cmd.api_key),
        )
    except DomainError as exc:
        renamed = _open311_field(exc.field, cmd)
        if renamed is None or renamed == exc.field:
            raise
        raise _renamed(exc, renamed) from exc


@dataclass(frozen=True)
class RequestView:
    """An incident as an Open311 service request, and whether the caller sees staff detail."""

    incident: Incident  # with its timeline
    staff: bool

    @property
    def updated_at(self) -> datetime:
        """The last change the caller may know of (the public: the last change of state)."""
        entries = [
            e
            for e in self.incident.timeline
            if self.staff or e.kind == "reported" or e.to_status != e.from_status
        ]
        return max((e.at for e in entries), default=self.incident.reported_at)


@dataclass(frozen=True)
class RequestQuery:
    """What GET requests narrows to (the spec's parameters, plus a unit and a page size)."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[Open311Status, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    unit_id: str | None = None
    limit: int = 50


async def get_request(ctx: Context, request_id: str, *, principal: Principal | None) -> RequestView:
    """One request: staff detail inside the caller's scope, public information otherwise."""
    if principal is not None:
        try:
            found = await queries.get_incident(ctx, request_id, principal=principal)
        except (NotFound, Forbidden):
            pass  # outside the caller's scope: what anybody may see
        else:
            return RequestView(found, principal.allows("incidents:read", found.unit_path))
    incident = await ctx.stores.incidents.get(request_id)
    if incident is None:
        raise NotFound(f"service request {request_id} does not exist")
    return RequestView(incident, False)


def _reads_incidents(principal: Principal | None) -> bool:
    return principal is not None and principal.scopes("incidents:read") != []


async def find_requests(
    ctx: Context, query: RequestQuery, *, principal: Principal | None
) -> list[RequestView]:
    """Requests newest first: in the caller's scope for staff, public information otherwise."""
    if query.ids:
        views: list[RequestView] = []
        for request_id in dict.fromkeys(query.ids):
            try:
                views.append(await get_request(ctx, request_id, principal=principal))
            except NotFound:
                continue
        return views
    if query.start and query.end and query.start >= query.end:
        raise Invalid("start_date must be before end_date", field="start_date")
    end = query.end or ctx.now() + FUTURE_SLACK
    start = query.start or end - DEFAULT_WINDOW
    if start >= end:
        return []  # a start in the future: nothing filed yet
    # It happened before it was reported (give or take the clock slack): narrows the search.
    filters = Filters(
        statuses=statuses_for(query.statuses) if query.statuses else (),
        categories=query.service_codes,
        until=end + FUTURE_SLACK,
    )
    limit = max(1, min(query.limit, MAX_PAGE))
    staff_list = _reads_incidents(principal)
    found: list[Incident] = []
    cursor: str | None = None
    after: tuple[datetime, str] | None = None
    while len(found) < limit:
        if staff_list:
            assert principal is not None
            page = await queries.list_incidents(
                ctx,
                filters,
                principal=principal,
                under=query.unit_id,
                limit=MAX_PAGE,
                cursor=cursor,
            )
            items, cursor = page.items, page.next_cursor
            more = cursor is not None
        else:
            units = [query.unit_id] if query.unit_id else None
            items = await ctx.stores.incidents.find(
                replace(filters, units=units), limit=MAX_PAGE, after=after
            )
            more = len(items) == MAX_PAGE
            after = (items[-1].reported_at, items[-1].id) if items else None
        for i in items:
            if i.reported_at < start:
                more = False
                break
            if i.reported_at < end:
                found.append(i)
                if len(found) == limit:
                    break
        if not more:
            break
    views = []
    for i in found:
        full = await ctx.stores.incidents.get(i.id) or i
        staff = principal is not None and principal.allows("incidents:read", full.unit_path)
        views.append(RequestView(full, staff))
    return views


async def hamlet_names(ctx: Context, hamlet_ids: set[str]) -> dict[str, str | None]:
    """The names of hamlets, as replicated from the registry (None if unknown)."""
    names: dict[str, str | None] = {}
    for hamlet_id in sorted(hamlet_ids):
        unit = await ctx.stores.units.get(hamlet_id)
        names[hamlet_id] = unit.name if unit else None
    return names
