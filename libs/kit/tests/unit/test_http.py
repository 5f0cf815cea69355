"""If-Match parsing and ISO dates in queries, shared by every service."""

from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError

from binhyen.kit.http import IdempotencyKey, IsoDate, IsoDateTime, expected_version
from binhyen.kit.problems import Invalid, install_problem_handlers


@pytest.mark.parametrize(
    ("header", "version"), [('"3"', 3), ('W/"12"', 12), (" 7 ", 7), (None, None)]
)
def test_an_etag_names_its_version(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


@pytest.mark.parametrize("header", ["", "abc", '"-3"', '"1_0"', '"3", "4"', "*"])
def test_anything_else_is_a_clear_error_on_the_header(header: str) -> None:
    with pytest.raises(Invalid) as refused:
        expected_version(header)
    assert refused.value.field == "If-Match"


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(idempotency_key: IdempotencyKey = None) -> dict[str, str | None]:
        return {"key": idempotency_key}

    return app


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\tinside"])
async def test_a_malformed_idempotency_key_is_a_422_on_the_header(key: str) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/things", headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]


async def test_a_well_formed_idempotency_key_is_passed_on() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/things", headers={"idempotency-key": "3f2a-Retry_1"})
    assert response.json() == {"key": "3f2a-Retry_1"}


def test_dates_in_queries_are_iso_8601_only_as_the_document_says() -> None:
    """Pydantic alone reads "0" or "0.5" as a Unix time; the schema says date / date-time."""
    day = TypeAdapter(IsoDate)
    moment = TypeAdapter(IsoDateTime)
    assert day.validate_python("2025-07-01") == date(2025, 7, 1)
    assert moment.validate_python("2025-07-01T01:00:00Z") == datetime(2025, 7, 1, 1, tzinfo=UTC)
    for bad in ("0", 0, "20250701"):
        with pytest.raises(ValidationError, match="ISO 8601"):
            day.validate_python(bad)
    for moment_text in ("0.5", 0.5, "1751331600"):
        with pytest.raises(ValidationError, match="ISO 8601"):
            moment.validate_python(moment_text)
