"""End to end: hamlets and teams made in the registry are where incidents are filed and handled."""

from __future__ import annotations

from binhyen.incidents.app import create_app as create_incidents
from binhyen.incidents.sample_world import report_body
from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing import TestIssuer, eventually, serve
from binhyen.registry.app import create_app as create_registry
from binhyen.registry.settings import Settings as RegistrySettings


async def test_a_merged_hamlet_sends_reports_to_its_successor_and_registry_teams_take_them(
    service_settings: tuple[RegistrySettings, IncidentsSettings], issuer: TestIssuer
) -> None:
    registry, incidents = service_settings
    admin = issuer.headers(("admin", "*"))
    async with (
        serve(create_registry(registry), headers=admin) as (reg, _),
        serve(create_incidents(incidents), headers=admin) as (inc, inc_rt),
    ):
        ids: dict[str, str] = {}
        for key, kind, name, parent in (
            ("province", "province", "Hà Tĩnh", None),
            ("commune", "commune", "Kỳ Nam", "province"),
            ("tan_thanh", "hamlet", "Tân Thành", "commune"),
            ("dong_hai", "hamlet", "Đông Hải", "commune"),
        ):
            body = {
                "kind": kind,
                "name": name,
                "valid_from": "2020-09-09",
                "parent_id": ids.get(parent) if parent else None,
            }
            created = await reg.post("/api/v1/units", json=body)
            assert created.status_code == 201, created.text
            ids[key] = created.json()["id"]
        team = await reg.post(
            "/api/v1/organisations",
            json={
                "unit_id": ids["tan_thanh"],
                "kind": "people_security",
                "name": "Tổ an ninh Tân Thành",
                "valid_from": "2024-01-01",
            },
        )
        assert team.status_code == 201, team.text
        merged = await reg.post(
            f"/api/v1/units/{ids['dong_hai']}/merge",
            json={"successor_id": ids["tan_thanh"], "effective_date": "2025-07-01"},
        )
        assert merged.status_code == 200, merged.text

        async def replicated(unit_id: str, status: str) -> bool:
            response = await inc.get(f"/api/v1/hamlets/{unit_id}")
            return response.status_code == 200 and response.json()["status"] == status

        # Wait for the registry's events (no report before: it would be filed while the
        # hamlet is still active here), then report once.
        await eventually(
            lambda: replicated(ids["tan_thanh"], "active"), what="successor replicated"
        )
        await eventually(lambda: replicated(ids["dong_hai"], "merged"), what="merge replicated")
        refused = await inc.post("/api/v1/incidents", json=report_body(hamlet_id=ids["dong_hai"]))
        assert refused.status_code == 422
        problem = refused.json()
        assert problem["successor_id"] == ids["tan_thanh"]
        assert "Tân Thành" in problem["detail"]
        assert "01/07/2025" in problem["detail"]
        assert problem["errors"][0]["field"] == "hamlet_id"
        assert await inc_rt.db["incidents"].count_documents({}) == 0

        filed = await inc.post("/api/v1/incidents", json=report_body(hamlet_id=ids["tan_thanh"]))
        assert filed.status_code == 201, filed.text
        iid = filed.json()["id"]
        assert (
            await inc.post(f"/api/v1/incidents/{iid}/transitions", json={"action": "acknowledge"})
        ).status_code == 200

        async def assigned() -> bool:
            response = await inc.post(
                f"/api/v1/incidents/{iid}/transitions",
                json={"action": "assign", "assignee": {"team_id": team.json()["id"]}},
            )
            return response.status_code == 200

        await eventually(assigned, what="team replicated and assigned")
