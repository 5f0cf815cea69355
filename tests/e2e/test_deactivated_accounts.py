"""End to end: an account deactivated in the registry loses its tokens in incidents too."""

from __future__ import annotations

from binhyen.incidents.app import create_app as create_incidents
from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing import TestIssuer, eventually, serve
from binhyen.registry.app import create_app as create_registry
from binhyen.registry.settings import Settings as RegistrySettings


async def test_a_token_of_an_account_deactivated_in_the_registry_is_refused_by_incidents(
    service_settings: tuple[RegistrySettings, IncidentsSettings], issuer: TestIssuer
) -> None:
    registry, incidents = service_settings
    admin = issuer.headers(("admin", "*"))
    async with (
        serve(create_registry(registry), headers=admin) as (reg, _),
        serve(create_incidents(incidents)) as (inc, _),
    ):
        parent: str | None = None
        for kind, name in (("province", "Hà Tĩnh"), ("commune", "Kỳ Nam"), ("hamlet", "Tân Thành")):
            body = {"kind": kind, "name": name, "valid_from": "2020-09-09", "parent_id": parent}
            created = await reg.post("/api/v1/units", json=body)
            assert created.status_code == 201, created.text
            parent = created.json()["id"]
        assert parent is not None
        made = await reg.post(
            "/api/v1/users",
            json={
                "username": "leaving.soon",
                "display_name": "Leaving Soon",
                "kind": "user",
                "password": "a long enough password",
                "grants": [{"role": "hamlet_officer", "unit_id": parent}],
            },
        )
        assert made.status_code == 201, made.text
        user_id = made.json()["id"]
        # A token of that account, still far from expiring (the same keys sign for both).
        token = issuer.headers(("hamlet_officer", parent), subject=user_id, ttl=900)
        bystander = issuer.headers(("hamlet_officer", parent), ttl=900)
        assert (await inc.get("/api/v1/incidents", headers=token)).status_code == 200

        off = await reg.post(f"/api/v1/users/{user_id}/deactivate")
        assert off.status_code == 200, off.text

        async def refused() -> bool:
            answer = await inc.get("/api/v1/incidents", headers=token)
            if answer.status_code == 200:
                return False
            assert answer.status_code == 401, answer.text
            assert "deactivated" in answer.json()["detail"]
            return True

        await eventually(refused, timeout=20, what="incidents refuses the deactivated token")
        # Only that account: another user's token still works.
        assert (await inc.get("/api/v1/incidents", headers=bystander)).status_code == 200
