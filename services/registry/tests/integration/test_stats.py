"""Statistics per unit, rolled up the tree, and public count snapshots."""

from __future__ import annotations

import dataclasses

from binhyen.contracts import parse_event
from binhyen.contracts.topics import REGISTRY_PUBLIC
from binhyen.kit.testing import Servers, TestIssuer, eventually, outboxes_empty, read_topic, serve
from binhyen.registry.app import create_app
from binhyen.registry.service import stats
from binhyen.registry.settings import Settings


async def test_counts_roll_up_and_public_snapshots_change_only_when_counts_do(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer, servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        ids: dict[str, str] = {}
        for key, kind, parent in (
            ("p", "province", None),
            ("c", "commune", "p"),
            ("h1", "hamlet", "c"),
            ("h2", "hamlet", "c"),
        ):
            response = await client.post(
                "/api/v1/units",
                json={
                    "kind": kind,
                    "name": key,
                    "parent_id": ids.get(parent or ""),
                    "valid_from": "2020-01-01",
                },
            )
            ids[key] = response.json()["id"]
        households = []
        for hamlet, n in (("h1", 3), ("h2", 2)):
            for i in range(n):
                created = await client.post(
                    "/api/v1/households",
                    json={
                        "unit_id": ids[hamlet],
                        "address": f"Xóm {i}",
                        "members": [
                            {
                                "full_name": "Lê Văn A",
                                "phones": ["0912000111"],
                                "alert_channels": ["sms"],
                                "alert_consent": True,
                            },
                            {"full_name": "Lê Thị B"},
                        ],
                    },
                )
                households.append(created.json())
        for household in households[:2]:  # two pledges, both in h1
            await client.put(
                f"/api/v1/households/{household['id']}/pledges/2026",
                json={"signed_on": "2026-02-01"},
            )
        team = await client.post(
            "/api/v1/organisations",
            json={
                "unit_id": ids["h2"],
                "kind": "people_security",
                "name": "Tổ ANTT",
                "valid_from": "2024-01-01",
            },
        )
        await client.post(
            f"/api/v1/organisations/{team.json()['id']}/members",
            json={
                "person_id": households[3]["members"][0]["id"],
                "role": "leader",
                "valid_from": "2024-01-01",
            },
        )

        answer = await client.get(
            f"/api/v1/units/{ids['c']}/stats",
            params={"year": 2026},
            headers=issuer.headers(("agency", "*"), kind="agency"),
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["totals"] == {
            "households": 5,
            "households_pledged": 2,
            "pledged_share": 0.4,
            "residents": 10,
            "residents_alertable": 5,
            "organisations": 0,
            "teams": 1,
            "team_members": 1,
        }
        per_child = {c["name"]: c["counts"] for c in body["children"]}
        assert per_child["h1"]["households_pledged"] == 2
        assert per_child["h2"]["teams"] == 1

        ctx = dataclasses.replace(rt.context, relay=None)
        assert await stats.publish_counts(ctx, year=2026) == 4  # p, c, h1, h2
        assert await stats.publish_counts(ctx, year=2026) == 0  # nothing changed
        await client.put(
            f"/api/v1/households/{households[4]['id']}/pledges/2026",
            json={"signed_on": "2026-02-02"},
        )
        assert await stats.publish_counts(ctx, year=2026) == 3  # h2, c, p changed
        rt.relay.wake() if rt.relay else None
        await eventually(lambda: outboxes_empty(rt.db["units"]), what="counts relayed")
    records = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_PUBLIC.name),
        until=lambda r: sum(x.key.startswith(b"counts:") for x in r) >= 7,
    )
    latest = {}
    for record in records:
        if record.key.startswith(b"counts:"):
            latest[record.key.decode()] = parse_event(record.value).data
    commune = latest[f"counts:{ids['c']}"]
    assert (commune["households"], commune["households_pledged"]) == (5, 3)
