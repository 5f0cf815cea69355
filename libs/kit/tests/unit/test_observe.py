"""Request ids and request metrics of every service app (no servers needed)."""

import httpx
from fastapi import FastAPI, HTTPException

from binhyen.kit.logging import correlation_id
from binhyen.kit.metrics import HTTP_REQUESTS
from binhyen.kit.runtime import ObserveRequests


def _app(seen: list[str | None]) -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        seen.append(correlation_id.get())
        if thing_id == "missing":
            raise HTTPException(404)
        if thing_id == "broken":
            raise RuntimeError("boom")
        return {"id": thing_id}

    app.add_middleware(ObserveRequests)
    return app


def _count(route: str, status: str) -> float:
    value = HTTP_REQUESTS.labels("GET", route, status)._value.get()
    return float(value)


async def test_request_id_is_echoed_logged_and_counted_by_route_template() -> None:
    seen: list[str | None] = []
    transport = httpx.ASGITransport(app=_app(seen), raise_app_exceptions=False)
    before_ok = _count("/things/{thing_id}", "200")
    before_404 = _count("/things/{thing_id}", "404")
    before_500 = _count("/things/{thing_id}", "500")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        given = await client.get("/things/a", headers={"X-Request-ID": "abc-123"})
        fresh = await client.get("/things/b")
        forged = await client.get("/things/c", headers={"X-Request-ID": 'x\n{"level":"ERROR"}'})
        missing = await client.get("/things/missing")
        broken = await client.get("/things/broken")
    assert given.status_code == 200 and given.headers["X-Request-ID"] == "abc-123"
    assert fresh.headers["X-Request-ID"] and fresh.headers["X-Request-ID"] != "abc-123"
    assert "\n" not in forged.headers["X-Request-ID"]  # a header that would forge log lines
    assert seen[:2] == ["abc-123", fresh.headers["X-Request-ID"]]
    assert seen[2] == forged.headers["X-Request-ID"]
    assert missing.status_code == 404 and broken.status_code == 500
    assert correlation_id.get() is None
    assert _count("/things/{thing_id}", "200") == before_ok + 3
    assert _count("/things/{thing_id}", "404") == before_404 + 1
    assert _count("/things/{thing_id}", "500") == before_500 + 1


async def test_unmatched_paths_are_counted_under_one_label() -> None:
    transport = httpx.ASGITransport(app=_app([]))
    before = _count("unmatched", "404")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/nowhere")).status_code == 404
    assert _count("unmatched", "404") == before + 1
