"""Open311 GeoReport v2 in XML: every endpoint answers in XML what it answers in JSON."""

from __future__ import annotations

import asyncio
import json
import socket
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from xml.etree import ElementTree

import httpx
import uvicorn
from georeport import GeoReport  # type: ignore[import-untyped]

from binhyen.incidents.app import create_app
from binhyen.incidents.sample_world import COMMUNE, HAMLET, World, seed_world
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import eventually

from .test_open311 import BAD, BASE, form

XML = "text/xml; charset=utf-8"
# The spec's names: a list element and the element of each of its items.
LISTS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
# Markup, quotes, a CDATA end and line breaks: everything the API accepts (control characters
# are refused at the door; text stored before that is made XML-safe, see the unit tests).
HOSTILE = "<script>alert(\"x\")</script> & 'nháy' ]]> <!-- \t Thôn Tân Thành\r\nđêm qua"


def parsed(response: httpx.Response) -> ElementTree.Element:
    """The XML document of an answer (checking its type and declaration)."""
    assert response.headers["content-type"] == XML, response.text
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(response.content)


def as_data(element: ElementTree.Element) -> Any:
    """An XML answer read back in the shape of its JSON twin."""
    if element.tag in LISTS:
        assert {child.tag for child in element} <= {LISTS[element.tag]}, element.tag
        return [as_data(child) for child in element]
    if len(element):
        tags = [child.tag for child in element]
        assert len(tags) == len(set(tags)), tags
        return {child.tag: as_data(child) for child in element}
    return element.text


def as_text(value: Any) -> Any:
    """A JSON answer with each value as XML writes it (null and "" alike: no text)."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return value


async def same_in_both(
    world: World, path: str, root: str, headers: dict[str, str] | None = None, **params: str
) -> Any:
    """GET path in JSON and in XML, check they carry the same values, return the JSON."""
    as_json = await world.client.get(f"{BASE}/{path}.json", params=params, headers=headers)
    as_xml = await world.client.get(f"{BASE}/{path}.xml", params=params, headers=headers)
    assert as_json.status_code == as_xml.status_code == 200, (path, as_xml.text)
    element = parsed(as_xml)
    assert element.tag == root
    assert as_data(element) == as_text(as_json.json()), path
    return as_json.json()


async def test_every_endpoint_answers_in_xml_what_it_answers_in_json(world: World) -> None:
    await same_in_both(world, "discovery", "discovery")
    services = await same_in_both(world, "services", "services")
    await same_in_both(world, "services", "services", locale="en")
    for s in services:
        await same_in_both(world, f"services/{s['service_code']}", "service_definition")
    assault = await same_in_both(world, "services/assault", "service_definition", locale="en")
    assert assault["attributes"][0]["values"][0] == {"key": "true", "name": "Yes"}

    filed = await world.client.post(
        f"{BASE}/requests.json", data=form(media_url="https://example.vn/anh.jpg")
    )
    request_id = filed.json()[0]["service_request_id"]
    staff = world.as_("commune_officer", COMMUNE)
    [public] = await same_in_both(world, "requests", "service_requests")
    assert "description" not in public and "lat" not in public  # what anybody may see
    [full] = await same_in_both(world, "requests", "service_requests", staff)
    assert full["description"] and full["lat"]
    await same_in_both(world, f"requests/{request_id}", "service_requests")
    await same_in_both(world, f"requests/{request_id}", "service_requests", staff)
    await same_in_both(world, "requests", "service_requests", staff, service_request_id=request_id)
    assert await same_in_both(world, "requests", "service_requests", status="closed") == []
    assert "Mất trộm" not in (await world.client.get(f"{BASE}/requests.xml")).text


async def test_a_request_filed_in_xml_answers_the_specs_service_requests(world: World) -> None:
    key = {"Idempotency-Key": "xml-1"}
    as_xml = await world.client.post(f"{BASE}/requests.xml", data=form(), headers=key)
    assert as_xml.status_code == 201, as_xml.text
    root = parsed(as_xml)
    assert root.tag == "service_requests"
    [answer] = as_data(root)
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert answer["account_id"] is None  # anonymous
    follow = f"{BASE}/requests/{answer['service_request_id']}.xml"
    assert as_xml.headers["location"] == follow
    assert follow in answer["service_notice"]
    assert parsed(await world.client.get(follow)).find("request/status") is not None

    again = await world.client.post(f"{BASE}/requests.json", data=form(), headers=key)
    assert again.status_code == 200  # the same request, told in JSON
    [first] = again.json()
    assert first["service_request_id"] == answer["service_request_id"]
    assert as_text(first) == answer | {
        "service_notice": answer["service_notice"].replace(".xml.", ".json.")
    }

    mine = world.as_("resident", HAMLET, subject="resident-9")
    signed_in = await world.client.post(f"{BASE}/requests.xml", data=form(), headers=mine)
    assert signed_in.status_code == 201
    assert parsed(signed_in).findtext("request/account_id") == "resident-9"
    assert await world.rt.db["incidents"].count_documents({}) == 2


def _errors_match(as_json: httpx.Response, as_xml: httpx.Response) -> None:
    """The XML error list says what the JSON problem says, one error per field."""
    assert as_xml.status_code == as_json.status_code, (as_json.text, as_xml.text)
    root = parsed(as_xml)
    assert root.tag == "errors"
    listed = as_data(root)
    problem = as_json.json()
    assert {e["code"] for e in listed} == {str(as_json.status_code)}
    by_field = problem.get("errors") or []
    if not by_field:
        assert [e["description"] for e in listed] == [problem["detail"]]
        return
    assert len(listed) == len(by_field)
    for error, expected in zip(listed, by_field, strict=True):
        assert expected["field"] in error["description"]
        assert error["description"].endswith(expected["message"])


async def test_errors_in_xml_are_the_specs_error_list_for_every_json_error(
    world: World,
) -> None:
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "services/nope", {}),
        ("GET", "requests/nope", {}),
        ("GET", "requests", {"params": {"status": "finished"}}),
        ("GET", "requests", {"params": {"page_size": "0"}}),
        ("GET", "requests", {"params": {"start_date": "hôm qua"}}),
        ("GET", "requests", {"headers": {"Authorization": "Bearer not-a-token"}}),
        ("GET", "nothing/here", {}),
        ("POST", "requests", {"content": b"{", "headers": {"Content-Type": "application/json"}}),
        ("POST", "requests", {"files": {"media": ("a.jpg", b"...", "image/jpeg")}}),
        ("POST", "requests", {"content": b"x" * (65 * 1024)}),
        *[("POST", "requests", {"data": form(**overrides)}) for overrides, _ in BAD],
    ]
    for method, path, kwargs in cases:
        as_json = await world.client.request(method, f"{BASE}/{path}.json", **kwargs)
        as_xml = await world.client.request(method, f"{BASE}/{path}.xml", **kwargs)
        assert as_json.status_code >= 400, (method, path, as_json.text)
        _errors_match(as_json, as_xml)
        if as_json.status_code == 401:
            assert as_xml.headers["www-authenticate"] == as_json.headers["www-authenticate"]
        assert "nhiều" not in as_xml.text and "not-an-address" not in as_xml.text
    wrong_method = await world.client.put(f"{BASE}/requests.xml")
    assert wrong_method.status_code == 405
    assert {m.strip() for m in wrong_method.headers["allow"].split(",")} == {"GET", "POST"}
    assert parsed(wrong_method).findtext("error/code") == "405"
    assert await world.rt.db["incidents"].count_documents({}) == 0
    assert await world.rt.db["rate_limits"].count_documents({}) == 0


async def test_the_rate_limit_is_answered_in_xml_with_its_retry_after(world: World) -> None:
    settings = world.rt.settings
    assert isinstance(settings, Settings)
    for _ in range(settings.tip_rate_limit):
        assert (await world.client.post(f"{BASE}/requests.xml", data=form())).status_code == 201
    refused = await world.client.post(f"{BASE}/requests.xml", data=form())
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert parsed(refused).findtext("error/code") == "429"


async def test_hostile_and_vietnamese_text_come_back_intact(world: World) -> None:
    reporter = world.as_("hamlet_officer", HAMLET)
    filed = await world.client.post(
        f"{BASE}/requests.json",
        json={
            "service_code": "public_disorder",
            "hamlet_id": HAMLET,
            "description": unicodedata.normalize("NFC", HOSTILE),
            "address_string": 'Ngõ 3 <b>"Đình"</b> & chợ',
        },
        headers=reporter,
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()[0]["service_request_id"]
    staff = world.as_("commune_officer", COMMUNE)
    [as_json] = (await world.client.get(f"{BASE}/requests/{request_id}.json", headers=staff)).json()
    as_xml = await world.client.get(f"{BASE}/requests/{request_id}.xml", headers=staff)
    request = parsed(as_xml).find("request")
    assert request is not None
    assert request.findtext("description") == as_json["description"]
    assert request.findtext("address") == as_json["address"] == 'Ngõ 3 <b>"Đình"</b> & chợ'
    assert "Thôn Tân Thành" in (request.findtext("description") or "")
    assert unicodedata.is_normalized("NFC", request.findtext("description") or "")
    assert "Thôn Tân Thành".encode() in as_xml.content  # UTF-8, not character references
    assert b"<script>" not in as_xml.content and b"<b>" not in as_xml.content
    public = await world.client.get(f"{BASE}/requests/{request_id}.xml")
    assert "script" not in public.text and "Đình" not in public.text  # staff only


async def test_discovery_lists_both_formats_and_both_are_served(world: World) -> None:
    listed = (await world.client.get(f"{BASE}/discovery.json")).json()
    [endpoint] = listed["endpoints"]
    assert endpoint["formats"] == ["text/xml", "application/json"]
    as_xml = parsed(await world.client.get(f"{BASE}/discovery.xml"))
    assert [f.text for f in as_xml.iterfind("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
    assert as_xml.findtext("endpoints/endpoint/url") == endpoint["url"]
    for media, suffix in (("text/xml", "xml"), ("application/json", "json")):
        answer = await world.client.get(f"{BASE}/services.{suffix}")
        assert answer.headers["content-type"].split(";")[0] == media


@asynccontextmanager
async def listening(settings: Settings) -> AsyncIterator[str]:
    """The incidents app on a real TCP port of 127.0.0.1, over the seeded test world."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started or task.done(), what="the app listening")
        assert server.started, "the app did not start"
        await seed_world(app.state.runtime)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_the_georeport_client_files_and_follows_in_xml(
    incidents_settings: Settings,
) -> None:
    """An Open311 client from PyPI (georeport), in XML, over HTTP, parses every answer."""
    async with listening(incidents_settings) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            json_services = (await http.get(f"{BASE}/services.json")).json()
            filed = await http.post(f"{BASE}/requests.xml", data=form())
            assert filed.status_code == 201, filed.text
            request_id = parsed(filed).findtext("request/service_request_id")
        client = GeoReport(f"{url}{BASE}", jurisdiction=HAMLET, output_format="xml")
        services = await asyncio.to_thread(client.get_service_list)
        assert [s["service_code"] for s in services] == [s["service_code"] for s in json_services]
        assert {s["service_code"]: s["service_name"] for s in services}["theft"] == (
            "Trộm cắp tài sản"
        )
        definition = await asyncio.to_thread(client.get_service_definition, "traffic_violation")
        vehicle = definition["attributes"]["attribute"][0]
        assert (vehicle["code"], vehicle["datatype"]) == ("vehicle", "singlevaluelist")
        assert "motorbike" in [v["key"] for v in vehicle["values"]["value"]]
        listed = await asyncio.to_thread(client.get_service_requests, status="open")
        listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one is a dict
        assert [r["service_request_id"] for r in listed] == [request_id]
        one = await asyncio.to_thread(client.get_service_request, request_id)
        assert (one["status"], one["hamlet_name"]) == ("open", "Tân Thành")
        assert "description" not in one  # anonymous: the public view
