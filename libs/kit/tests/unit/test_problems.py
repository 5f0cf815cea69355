"""problem+json mapping without servers: validation errors never echo the input."""

from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from binhyen.kit.problems import (
    Conflict,
    LostRace,
    if_match_given,
    install_problem_handlers,
    lost_race,
    retry_unconditional,
)


class Person(BaseModel):
    phone: str
    born: date


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/people")
    async def create(person: Person) -> dict[str, str]:
        raise Conflict("someone already has this phone", field="phone")

    return app


async def test_invalid_body_names_the_field_and_hides_the_value() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/people", json={"phone": "0912345678", "born": "hôm qua"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == ["born"]
    assert "hôm qua" not in response.text


async def test_domain_error_maps_to_its_status_with_the_field() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/people", json={"phone": "1", "born": "2000-01-01"})
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {"field": "phone", "message": "someone already has this phone"}
    ]


def test_problem_responses_document_every_standard_problem_and_take_overrides() -> None:
    from binhyen.kit.problems import PROBLEM_JSON, STANDARD_PROBLEMS, problem_responses

    plain = problem_responses()
    assert sorted(plain) == sorted(STANDARD_PROBLEMS)
    assert plain[404] == {
        "description": STANDARD_PROBLEMS[404],
        "content": {PROBLEM_JSON: {}},
    }
    told = problem_responses(s409="Conflicts; allowed_actions names what is possible")
    assert told[409]["description"].startswith("Conflicts; allowed_actions")
    assert told[404] == plain[404]


async def test_unhandled_error_log_has_type_route_and_request_id_but_no_personal_data() -> None:
    import io
    import json
    import logging

    from binhyen.kit.logging import JsonFormatter

    name, address = "Nguyễn Thị Hồng Nhung", "Xóm 3, thôn Tân Thành"
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/hamlets/{hamlet_id}/export")
    async def export(hamlet_id: str) -> dict[str, str]:
        try:
            raise KeyError(address)
        except KeyError as exc:
            raise ValueError(f"cannot write {name!r} at {address!r}", name) from exc

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("binhyen.kit.problems")
    logger.addHandler(handler)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/hamlets/h1/export", headers={"X-Request-ID": "req-42"})
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 500
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["error"] == "ValueError"
    assert entry["route"] == "/hamlets/{hamlet_id}/export"
    assert entry["request_id"] == "req-42"
    assert "ValueError" in entry["exception"] and "KeyError" in entry["exception"]
    for secret in (name, address, "Nguy", "Tân"):
        assert secret not in lines[0]
        assert secret not in response.text


async def test_a_write_that_keeps_losing_without_if_match_ends_in_409_not_412() -> None:
    calls: list[int | None] = []

    @retry_unconditional(if_match_given, attempts=3)
    async def edit(doc_id: str, *, expected_version: int | None) -> str:
        calls.append(expected_version)
        raise lost_race(f"household {doc_id}")

    with pytest.raises(Conflict, match="household h-1 kept changing"):
        await edit("h-1", expected_version=None)
    assert calls == [None, None, None]  # read, checked and written again each time

    calls.clear()
    with pytest.raises(LostRace):  # the caller's If-Match named a version now gone: 412
        await edit("h-1", expected_version=4)
    assert calls == [4]
