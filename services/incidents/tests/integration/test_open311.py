"""Open311 GeoReport v2: services from the catalogue, requests filed and followed as incidents."""

from __future__ import annotations

from typing import Any

import httpx

from binhyen.incidents.sample_world import (
    COMMUNE,
    HAMLET,
    OTHER_COMMUNE,
    SPOT,
    TEAM,
    World,
)
from binhyen.incidents.settings import Settings

BASE = "/open311/v2"
LONG, LAT = SPOT


def form(**overrides: Any) -> dict[str, Any]:
    """A valid form-encoded theft report (fields overridable, None drops one)."""
    body: dict[str, Any] = {
        "service_code": "theft",
        "hamlet_id": HAMLET,
        "lat": str(LAT),
        "long": str(LONG),
        "address_string": "Nhà văn hóa thôn Tân Thành",
        "description": "Mất trộm xe đạp trước cửa nhà văn hóa thôn",
        "attribute[stolen_items]": "xe đạp",
        "attribute[estimated_value_vnd]": "1500000",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def post(
    world: World, data: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a form-encoded request."""
    return await world.client.post(f"{BASE}/requests.json", data=data, headers=headers)


async def filed(world: World, headers: dict[str, str] | None = None, **overrides: Any) -> str:
    """File a request (asserting it was created) and return its id."""
    response = await post(world, form(**overrides), headers)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert isinstance(answer, list) and len(answer) == 1
    request_id: str = answer[0]["service_request_id"]
    return request_id


async def incident(world: World, incident_id: str) -> dict[str, Any]:
    """The incident as commune staff read it through the main API."""
    response = await world.client.get(
        f"/api/v1/incidents/{incident_id}", headers=world.as_("commune_officer")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_service_list_is_the_catalogue(world: World) -> None:
    categories = (await world.client.get("/api/v1/categories")).json()
    response = await world.client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = {s["service_code"]: s for s in response.json()}
    assert set(services) == {c["code"] for c in categories}
    theft = services["theft"]
    assert theft["service_name"] == "Trộm cắp tài sản"
    assert theft["metadata"] is True
    assert theft["type"] == "realtime"
    assert theft["group"] == "Tội phạm"
    assert isinstance(theft["keywords"], str) and theft["description"]
    assert services["public_disorder"]["metadata"] is False  # asks no questions
    english = (await world.client.get(f"{BASE}/services.json?locale=en")).json()
    assert {s["service_code"]: s["service_name"] for s in english}["theft"] == "Theft"
    bare = await world.client.get(f"{BASE}/services")
    assert bare.json() == response.json()
    discovery = (await world.client.get(f"{BASE}/discovery.json")).json()
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2")
    assert discovery["endpoints"][0]["formats"] == ["text/xml", "application/json"]


async def test_a_service_definition_lists_the_questions_as_attributes(world: World) -> None:
    response = await world.client.get(f"{BASE}/services/traffic_violation.json")
    assert response.status_code == 200
    definition = response.json()
    assert definition["service_code"] == "traffic_violation"
    vehicle, violation = definition["attributes"]
    assert vehicle["variable"] is True
    assert vehicle["code"] == "vehicle"
    assert vehicle["datatype"] == "singlevaluelist"
    assert vehicle["required"] is True
    assert vehicle["order"] == 1
    assert vehicle["description"] == "Phương tiện"
    assert "motorbike" in [v["key"] for v in vehicle["values"]]
    assert vehicle["datatype_description"]
    assert violation["datatype"] == "multivaluelist"
    assert violation["required"] is False
    assert violation["order"] == 2

    assault = (await world.client.get(f"{BASE}/services/assault.json?locale=en")).json()
    injured, people = assault["attributes"]
    assert injured["datatype"] == "singlevaluelist"
    assert injured["values"] == [{"key": "true", "name": "Yes"}, {"key": "false", "name": "No"}]
    assert injured["description"] == "Someone is injured"
    assert people["datatype"] == "number"

    assert (await world.client.get(f"{BASE}/services/theft")).status_code == 200
    missing = await world.client.get(f"{BASE}/services/nope.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_a_form_encoded_request_files_an_incident_with_its_answers(world: World) -> None:
    data = form(
        service_code="traffic_violation",
        description="Thanh niên đua xe, không đội mũ bảo hiểm",
        first_name="Hảo",
        last_name="Nguyễn Văn",
        email="hao@example.vn",
        phone="0912 345 678",
        **{
            "attribute[stolen_items]": None,
            "attribute[estimated_value_vnd]": None,
            "attribute[vehicle]": "motorbike",
            "attribute[violation][]": ["no_helmet", "racing"],
        },
    )
    response = await post(world, data)
    assert response.status_code == 201, response.text
    [answer] = response.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert answer["account_id"] is None
    assert response.headers["location"] == f"{BASE}/requests/{answer['service_request_id']}.json"

    stored = await incident(world, answer["service_request_id"])
    assert stored["category"] == "traffic_violation"
    assert stored["hamlet_id"] == HAMLET
    assert stored["answers"] == {"vehicle": "motorbike", "violation": ["no_helmet", "racing"]}
    assert stored["location"]["coordinates"] == [LONG, LAT]
    assert stored["address"] == "Nhà văn hóa thôn Tân Thành"
    assert stored["reporter"]["kind"] == "open311"
    assert "Hảo" not in str(stored) and "0912" not in str(stored)

    unmasked = await world.client.post(
        f"/api/v1/incidents/{answer['service_request_id']}/reporter/unmask",
        json={"reason": "Cần xác minh người báo tin để lấy lời khai"},
        headers=world.as_("police", COMMUNE),
    )
    assert unmasked.status_code == 200, unmasked.text
    identity = unmasked.json()
    assert identity["kind"] == "open311"
    assert identity["name"] == "Hảo Nguyễn Văn"
    assert identity["email"] == "hao@example.vn"
    assert identity["phone"] == "0912 345 678"


async def test_a_request_with_a_token_is_the_callers_own_report(world: World) -> None:
    headers = world.as_("resident", HAMLET, subject="resident-7")
    response = await world.client.post(
        f"{BASE}/requests.json",
        json={
            "service_code": "assault",
            "jurisdiction_id": HAMLET,
            "description": "Đánh nhau ở chợ",
            "attribute": {"injured": True, "people_involved": 4},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    [answer] = response.json()
    assert answer["account_id"] == "resident-7"
    mine = await world.client.get(
        f"/api/v1/incidents/{answer['service_request_id']}", headers=headers
    )
    assert mine.status_code == 200
    assert mine.json()["reporter"] == {"kind": "open311", "is_you": True}
    assert mine.json()["answers"] == {"injured": True, "people_involved": 4}
    bad_token = await post(world, form(), {"Authorization": "Bearer not-a-token"})
    assert bad_token.status_code == 401


BAD: list[tuple[dict[str, Any], set[str]]] = [
    ({"service_code": "nope"}, {"service_code"}),
    ({"service_code": None}, {"service_code"}),
    ({"attribute[colour]": "red"}, {"attribute[colour]"}),
    ({"attribute[stolen_items]": None}, {"attribute[stolen_items]"}),
    ({"attribute[estimated_value_vnd]": "nhiều"}, {"attribute[estimated_value_vnd]"}),
    ({"lat": "48.85", "long": "2.35"}, {"lat", "long"}),  # Paris
    ({"lat": str(LONG), "long": str(LAT)}, {"lat"}),  # swapped: no latitude is 106
    ({"lat": "18.05", "long": "999"}, {"long"}),
    ({"lat": "north"}, {"lat"}),
    ({"long": None}, {"long"}),
    ({"hamlet_id": None}, {"hamlet_id"}),
    ({"hamlet_id": None, "jurisdiction_id": "unknown"}, {"jurisdiction_id"}),
    ({"hamlet_id": COMMUNE}, {"hamlet_id"}),
    ({"description": "x" * 4001}, {"description"}),
    ({"email": "not-an-address"}, {"email"}),
    ({"media_url": "ftp://example.vn/a.jpg"}, {"media_url"}),
    ({"service_code": "nope", "hamlet_id": None}, {"service_code", "hamlet_id"}),
]


async def test_bad_requests_are_refused_naming_the_fields_and_write_nothing(world: World) -> None:
    for overrides, fields in BAD:
        response = await post(world, form(**overrides))
        assert response.status_code == 422, (overrides, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert {e["field"] for e in problem["errors"]} == fields, (overrides, problem)
        assert "nhiều" not in response.text and "not-an-address" not in response.text
    unreadable = await world.client.post(
        f"{BASE}/requests.json", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert unreadable.status_code == 400
    assert unreadable.headers["content-type"] == "application/problem+json"
    multipart = await world.client.post(
        f"{BASE}/requests.json", files={"media": ("a.jpg", b"...", "image/jpeg")}, data=form()
    )
    assert multipart.status_code == 415
    assert await world.rt.db["incidents"].count_documents({}) == 0
    assert await world.rt.db["rate_limits"].count_documents({}) == 0  # not even a counter


async def test_a_retry_with_the_same_idempotency_key_files_once(world: World) -> None:
    key = {"Idempotency-Key": "open311-1"}
    first = await post(world, form(), key)
    again = await post(world, form(), key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    other = await post(world, form(description="Một chuyện khác"), key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await world.rt.db["incidents"].count_documents({}) == 1


async def test_anonymous_requests_share_the_tips_rate_limit(world: World) -> None:
    settings = world.rt.settings
    assert isinstance(settings, Settings)
    limit = settings.tip_rate_limit
    for _ in range(limit):
        assert (await post(world, form())).status_code == 201
    refused = await post(world, form())
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    signed_in = await post(world, form(), world.as_("resident", HAMLET))
    assert signed_in.status_code == 201  # a signed-in report is not an anonymous one
    assert await world.rt.db["incidents"].count_documents({}) == limit + 1


PUBLIC = {
    "service_request_id",
    "status",
    "detailed_status",
    "status_notes",
    "service_name",
    "service_code",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "media_url",
    "hamlet_id",
    "hamlet_name",
}


async def test_without_a_token_requests_show_public_facts_only(world: World) -> None:
    request_id = await filed(world, media_url="https://example.vn/anh.jpg")
    listed = await world.client.get(f"{BASE}/requests.json")
    assert listed.status_code == 200
    [item] = listed.json()
    single = (await world.client.get(f"{BASE}/requests/{request_id}.json")).json()
    assert single == [item]
    assert set(item) == PUBLIC  # no description, lat or long
    assert item["service_request_id"] == request_id
    assert item["status"] == "open"
    assert item["service_name"] == "Trộm cắp tài sản"
    assert item["hamlet_id"] == HAMLET and item["hamlet_name"] == "Tân Thành"
    assert item["address"] is None and item["zipcode"] is None and item["media_url"] is None
    assert item["expected_datetime"] is None and item["agency_responsible"] is None
    assert item["requested_datetime"].endswith("+07:00")
    assert "Mất trộm" not in listed.text and "Nhà văn hóa" not in listed.text
    unknown = await world.client.get(f"{BASE}/requests/nope.json")
    assert unknown.status_code == 404


async def test_staff_with_a_token_see_description_and_location(world: World) -> None:
    request_id = await filed(world, media_url="https://example.vn/anh.jpg")
    staff = world.as_("commune_officer", COMMUNE)
    [item] = (await world.client.get(f"{BASE}/requests.json", headers=staff)).json()
    assert item["service_request_id"] == request_id
    assert item["description"] == "Mất trộm xe đạp trước cửa nhà văn hóa thôn"
    assert item["media_url"] == "https://example.vn/anh.jpg"
    assert (item["lat"], item["long"]) == (LAT, LONG)
    assert item["address"] == "Nhà văn hóa thôn Tân Thành"
    assert item["expected_datetime"] is not None  # the resolve deadline
    [single] = (await world.client.get(f"{BASE}/requests/{request_id}.json", headers=staff)).json()
    assert single == item

    # Staff of another commune: outside their scope, so only what anybody may see.
    elsewhere = world.as_("commune_officer", OTHER_COMMUNE)
    assert (await world.client.get(f"{BASE}/requests.json", headers=elsewhere)).json() == []
    [public] = (
        await world.client.get(f"{BASE}/requests/{request_id}.json", headers=elsewhere)
    ).json()
    assert set(public) == PUBLIC


async def test_status_is_open_until_resolved_rejected_or_a_duplicate(world: World) -> None:
    resolved = await filed(world)
    rejected = await filed(world, description="Báo nhầm")
    pending = await filed(world, description="Mất gà")
    for action, body in (
        ("acknowledge", {}),
        ("assign", {"assignee": {"team_id": TEAM}}),
        ("start", {}),
    ):
        assert (await world.act(resolved, action, **body)).status_code == 200
    staff = world.as_("commune_officer", COMMUNE)
    [assigned] = (await world.client.get(f"{BASE}/requests/{resolved}.json", headers=staff)).json()
    assert assigned["status"] == "open"
    assert assigned["agency_responsible"] == TEAM
    done = await world.act(resolved, "resolve", reason="Đã tìm lại xe đạp, trả cho chủ")
    assert done.status_code == 200, done.text
    assert (await world.act(rejected, "reject", reason="Không có thật")).status_code == 200

    closed = await world.client.get(f"{BASE}/requests.json?status=closed")
    assert {i["service_request_id"] for i in closed.json()} == {resolved, rejected}
    assert {i["status"] for i in closed.json()} == {"closed"}
    still_open = await world.client.get(f"{BASE}/requests.json?status=open")
    assert [i["service_request_id"] for i in still_open.json()] == [pending]
    both = await world.client.get(f"{BASE}/requests.json?status=open,closed")
    assert [i["service_request_id"] for i in both.json()] == [pending, rejected, resolved]

    ids = f"{resolved},{pending},nope"
    [one, two] = (
        await world.client.get(f"{BASE}/requests.json?service_request_id={ids}", headers=staff)
    ).json()
    assert (one["service_request_id"], one["status"]) == (resolved, "closed")
    assert one["status_notes"] == "Đã tìm lại xe đạp, trả cho chủ"
    assert one["detailed_status"] == "resolved"
    assert one["updated_datetime"] >= one["requested_datetime"]
    assert (two["service_request_id"], two["status"]) == (pending, "open")
    public = (await world.client.get(f"{BASE}/requests/{resolved}.json")).json()
    assert public[0]["status_notes"] is None  # free text is for staff
    assert public[0]["updated_datetime"] == one["updated_datetime"]  # resolving changed the state

    bad = await world.client.get(f"{BASE}/requests.json?status=finished")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"


async def test_requests_are_filtered_by_service_and_time(world: World) -> None:
    theft = await filed(world)
    other = await filed(
        world,
        service_code="public_disorder",
        **{"attribute[stolen_items]": None, "attribute[estimated_value_vnd]": None},
    )
    only = (await world.client.get(f"{BASE}/requests.json?service_code=theft")).json()
    assert [i["service_request_id"] for i in only] == [theft]
    filed_at = only[0]["requested_datetime"]  # whole seconds: at or before the filing

    async def ids(**params: str) -> list[str]:
        response = await world.client.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [i["service_request_id"] for i in response.json()]

    assert await ids(start_date=filed_at) == [other, theft]
    assert theft not in await ids(end_date=filed_at)
    assert await ids(start_date="2999-01-01") == []
    assert await ids(start_date="2020-01-01", end_date="2020-02-01T00:00:00Z") == []
    assert await ids(page_size="1") == [other]
    wrong = await world.client.get(f"{BASE}/requests.json", params={"start_date": "hôm qua"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "start_date"
    reversed_ = await world.client.get(
        f"{BASE}/requests.json", params={"start_date": "2026-02-01", "end_date": "2026-01-01"}
    )
    assert reversed_.status_code == 422
