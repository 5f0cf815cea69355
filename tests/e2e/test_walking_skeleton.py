"""End to end: units created through registry's API appear in incidents, via real Kafka."""

from __future__ import annotations

from typing import Any

from binhyen.incidents.app import create_app as create_incidents
from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing import TestIssuer, eventually, serve
from binhyen.registry.app import create_app as create_registry
from binhyen.registry.settings import Settings as RegistrySettings


async def test_hamlet_created_in_registry_appears_in_incidents(
    service_settings: tuple[RegistrySettings, IncidentsSettings], issuer: TestIssuer
) -> None:
    registry, incidents = service_settings
    async with (
        serve(create_registry(registry), headers=issuer.headers(("admin", "*"))) as (reg, _),
        serve(create_incidents(incidents), headers=issuer.headers(("admin", "*"))) as (inc, _),
    ):
        parent: str | None = None
        for kind, name in (("province", "Hà Tĩnh"), ("commune", "Kỳ Nam"), ("hamlet", "Tân Thành")):
            body = {"kind": kind, "name": name, "valid_from": "2020-09-09", "parent_id": parent}
            created = await reg.post("/api/v1/units", json=body)
            assert created.status_code == 201, created.text
            parent = created.json()["id"]
        hamlet_id = parent

        async def hamlet() -> dict[str, Any] | None:
            response = await inc.get(f"/api/v1/hamlets/{hamlet_id}")
            return response.json() if response.status_code == 200 else None

        seen = await eventually(hamlet, what="hamlet replicated into incidents")
        assert seen["name"] == "Tân Thành"
        assert len(seen["ancestor_ids"]) == 2
        commune = await inc.get(f"/api/v1/hamlets/{seen['parent_id']}")
        assert commune.status_code == 404  # a commune is not a hamlet
