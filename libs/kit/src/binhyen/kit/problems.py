"""RFC 9457 problem+json errors, mapped once for every service."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from binhyen.kit.logging import correlation_id

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://binhyen.vn/problems/"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # as the request-id middleware keeps them


# The problems every route may answer, for the OpenAPI document (``responses=PROBLEMS``).
STANDARD_PROBLEMS: dict[int, str] = {
    401: "No valid bearer token",
    403: "Your roles do not allow this",
    404: "Not found, or outside your scope",
    409: "Conflicts with the current state",
    412: "Changed since you read it (If-Match)",
    422: "Invalid request; errors[].field names the fields at fault",
    503: "Database unavailable; nothing changed, retry later",
}


def problem_responses(**overrides: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the standard problems; ``overrides`` as ``s409="…"``."""
    texts = STANDARD_PROBLEMS | {int(k.removeprefix("s")): v for k, v in overrides.items()}
    return {
        code: {"description": text, "content": {PROBLEM_JSON: {}}}
        for code, text in sorted(texts.items())
    }


# What any operation may answer, whatever it declares: the framework's own refusals.
EDGE_PROBLEMS: dict[int, str] = {
    422: "Invalid request; errors[].field names the fields at fault",
}
BODY_PROBLEMS: dict[int, str] = {
    400: "The body cannot be parsed (not JSON, or a bad Content-Length)",
    413: "The body is over the service's size limit",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}
_OPERATIONS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document name every problem the kit may answer, as problem+json.

    FastAPI documents its 422 as ``application/json`` and not at all the 400 of an
    unparsable body or the edge's 413: the document would disagree with the answers.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                if method not in _OPERATIONS:
                    continue
                responses = operation.setdefault("responses", {})
                extra = EDGE_PROBLEMS | (BODY_PROBLEMS if "requestBody" in operation else {})
                for code, text in extra.items():
                    responses.setdefault(str(code), {"description": text})
                for code, response in responses.items():
                    declared = response.get("content") or {}
                    # FastAPI's own 422 (HTTPValidationError as application/json) is not
                    # what the kit answers; a route's own content type (OAuth) stays.
                    if (
                        code.isdigit()
                        and int(code) >= 400
                        and (not declared or set(declared) == {PROBLEM_JSON} or code == "422")
                    ):
                        response["content"] = content
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class DomainError(Exception):
    """A use case refused a request; the API maps it to problem+json."""

    status = 400
    kind = "bad-request"
    title = "Bad request"
    headers: dict[str, str] = {}  # noqa: RUF012 (read-only per class)

    def __init__(
        self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class NotFound(DomainError):
    """The object does not exist (or is outside the caller's scope)."""

    status, kind, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status, kind, title = 409, "conflict", "Conflict"


class Invalid(DomainError):
    """The request is well-formed but its content is not acceptable."""

    status, kind, title = 422, "validation-error", "Invalid request"


class PreconditionFailed(DomainError):
    """The object changed since the caller read it (If-Match)."""

    status, kind, title = 412, "precondition-failed", "Changed since you read it"


def check_version(current: int, expected: int | None, what: str) -> None:
    """Raise 412 if the caller's If-Match names another version."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"{what} is at version {current}, not {expected}; read it again and retry"
        )


class LostRace(PreconditionFailed):
    """A write's version guard did not match: someone else wrote between its read and write."""

    def __init__(self, detail: str, *, what: str, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.what = what


def lost_race(what: str) -> LostRace:
    """The error for a write whose version guard did not match."""
    return LostRace(f"{what} was changed by someone else meanwhile; read it again", what=what)


UNCONDITIONAL_ATTEMPTS = 5
P = ParamSpec("P")
R = TypeVar("R")


def retry_unconditional(
    conditional: Callable[..., bool], *, attempts: int = UNCONDITIONAL_ATTEMPTS
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Run a read-modify-write use case again when it lost a race and the caller set no
    precondition.

    412 answers a *conditional* request (RFC 9110 §13.1.1): a caller who sent If-Match asked
    to change only the version they read, and is told it moved. A caller who sent none asked
    for the change to be made to whatever is current, so the use case is run again on the
    state that won — it re-reads, re-checks its rules (which may now refuse with a clear
    409) and writes. Each lost round means another writer succeeded, so ``attempts`` at
    least the number of writers racing always ends; past it the answer is 409, not 412.
    ``conditional`` says, from the use case's arguments, whether the caller sent If-Match.
    """

    def decorate(use_case: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(use_case)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                try:
                    return await use_case(*args, **kwargs)
                except LostRace as exc:
                    if conditional(*args, **kwargs):
                        raise
                    if attempt == attempts:
                        raise Conflict(
                            f"{exc.what} kept changing while this request was applied "
                            f"({attempts} attempts); try again"
                        ) from exc
            raise AssertionError("unreachable")  # pragma: no cover

        return run

    return decorate


def if_match_given(*_args: Any, expected_version: int | None = None, **_kw: Any) -> bool:
    """``conditional`` for use cases taking ``expected_version=`` (None: no If-Match sent)."""
    return expected_version is not None


def never(*_args: Any, **_kw: Any) -> bool:
    """``conditional`` for use cases that take no If-Match at all."""
    return False


def problem(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Never echo the input: it may hold personal data.
    errors = [
        {"field": _field(err.get("loc", ())), "message": err.get("msg", ""), "code": err["type"]}
        for err in exc.errors()
    ]
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem(
        422,
        "validation-error",
        "Invalid request",
        f"Fix these fields and send again: {fields}.",
        instance=request.url.path,
        errors=errors,
    )


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    return problem(
        exc.status,
        exc.kind,
        exc.title,
        exc.detail,
        instance=request.url.path,
        errors=errors,
        headers=exc.headers or None,
        **exc.extra,
    )


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document names for ``path`` (every template that matches).

    The router's own 405 names the methods of the first route that matched the path only,
    when a path often has several routes (GET and POST of a collection).
    """
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}:]+(:path)?\\\}", "[^/]+", re.escape(template))
            methods = {m.upper() for m in operations if m in _OPERATIONS}
            table.append((re.compile(f"^{pattern}$"), methods))
        app.state.allow_table = table
    return sorted({m for pattern, methods in table if pattern.match(path) for m in methods})


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind, title = HTTP_KINDS.get(exc.status_code, ("http-error", str(exc.detail)))
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and isinstance(request.app, FastAPI):
        allowed = allowed_methods(request.app, request.url.path)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem(
        exc.status_code,
        getattr(exc, "kind", kind),
        getattr(exc, "title", title),
        str(exc.detail),
        instance=request.url.path,
        headers=headers,
    )


# Kinds and titles of the errors the framework raises itself (routing, body parsing).
HTTP_KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported body format"),
}


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DB_DOWN_READ = "The database cannot be reached, so nothing could be read. Try again shortly."
# A write may have reached the database before it went away (the answer was lost), and a
# change that spans several records may have been written in part: the first record holds
# what is left to do, and the service finishes it once the database is back. So the
# answer may not promise "nothing was changed".
DB_DOWN_WRITE = (
    "The database cannot be reached. Your change may not have been made, or may have been "
    "made in part; a change that was started is finished automatically once the database "
    "is back. Try again shortly with the same Idempotency-Key (or read the record and its "
    "ETag first): a retry never applies a change twice."
)


async def _db_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable", extra={"error": type(exc).__name__})
    return problem(
        503,
        "service-unavailable",
        "Service temporarily unavailable",
        DB_DOWN_READ if request.method in READ_METHODS else DB_DOWN_WRITE,
        instance=request.url.path,
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Type, route template and method only (the request id is added by the formatter): the
    # path may name objects and the exception's message may hold personal data, so the
    # formatter logs the traceback without messages.
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    extra = {"error": type(exc).__name__, "route": route, "method": request.method}
    if correlation_id.get() is None:  # this handler runs outside the request-id middleware
        request_id = request.scope.get("state", {}).get("request_id") or request.headers.get(
            "x-request-id", ""
        )
        if _REQUEST_ID.fullmatch(request_id):
            extra["request_id"] = request_id
    log.error("unhandled error", exc_info=exc, extra=extra)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "Something went wrong on our side.",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map validation, domain, HTTP and database errors to problem+json."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ServerSelectionTimeoutError, _db_down)
    app.add_exception_handler(ConnectionFailure, _db_down)
    app.add_exception_handler(Exception, _unexpected)
