"""End to end through Kafka: a serious report in incidents sounds the gong, resolving it closes it.

Registry, incidents and notifications run as they do in production, each with its own database,
talking only through this test's topics. The registry makes the world; notifications learns it
from Kafka; a high-severity report filed in incidents reaches the commune's webhook (signed per
Standard Webhooks) and the security team member on duty (SMS through the SMS sandbox), and
resolving the incident in incidents closes the alert.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from binhyen.incidents.app import create_app as create_incidents
from binhyen.incidents.sample_world import report_body
from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing import TestIssuer, eventually, serve
from binhyen.notifications.app import create_app as create_notifications
from binhyen.notifications.channels.webhook import WebhookVerificationError, verify
from binhyen.notifications.settings import Settings as NotificationsSettings
from binhyen.registry.app import create_app as create_registry
from binhyen.registry.settings import Settings as RegistrySettings

PHONE, NATIONAL = "0912 345 678", "0912345678"  # invented; eSMS is sent the 0… form


async def test_a_serious_report_reaches_the_webhook_and_the_team_on_duty_and_resolving_closes_it(
    service_settings: tuple[RegistrySettings, IncidentsSettings],
    notifications_e2e_settings: NotificationsSettings,
    issuer: TestIssuer,
    sms_sandbox: Any,
    webhook_receivers: ModuleType,
) -> None:
    registry, incidents = service_settings
    admin = issuer.headers(("admin", "*"))
    with webhook_receivers.webhook_receiver() as receiver:
        async with (
            serve(create_registry(registry), headers=admin) as (reg, _),
            serve(create_incidents(incidents), headers=admin) as (inc, _),
            serve(create_notifications(notifications_e2e_settings)) as (ntf, ntf_rt),
        ):
            # The registry makes the world: units, a household with a consenting resident,
            # the hamlet's security team with that resident on a shift covering now.
            ids: dict[str, str] = {}
            for key, kind, name, parent in (
                ("province", "province", "Hà Tĩnh", None),
                ("commune", "commune", "Kỳ Nam", "province"),
                ("hamlet", "hamlet", "Tân Thành", "commune"),
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
            hamlet, commune = ids["hamlet"], ids["commune"]
            household = await reg.post(
                "/api/v1/households",
                json={
                    "unit_id": hamlet,
                    "address": "Xóm 2, thôn Tân Thành",
                    "members": [
                        {
                            "full_name": "Nguyễn Văn Thử",
                            "birth_year": 1980,
                            "phones": [PHONE],
                            "alert_channels": ["sms"],
                            "alert_consent": True,
                        }
                    ],
                },
            )
            assert household.status_code == 201, household.text
            resident = household.json()["members"][0]["id"]
            team = await reg.post(
                "/api/v1/organisations",
                json={
                    "unit_id": hamlet,
                    "kind": "people_security",
                    "name": "Tổ an ninh nhân dân thôn Tân Thành",
                    "valid_from": "2024-01-01",
                },
            )
            assert team.status_code == 201, team.text
            team_id = team.json()["id"]
            member = await reg.post(
                f"/api/v1/organisations/{team_id}/members",
                json={"person_id": resident, "role": "leader", "valid_from": "2024-01-01"},
            )
            assert member.status_code == 201, member.text
            now = datetime.now(UTC)
            shift = await reg.post(
                f"/api/v1/teams/{team_id}/shifts",
                json={
                    "starts_at": (now - timedelta(hours=1)).isoformat(),
                    "ends_at": (now + timedelta(hours=8)).isoformat(),
                    "person_ids": [resident],
                },
            )
            assert shift.status_code == 201, shift.text

            # Notifications learns it all through Kafka (nothing is seeded into it).
            stores = ntf_rt.context.stores

            async def on_duty_known() -> bool:
                residents = await stores.residents.many([resident])
                teams = await stores.teams.in_units([hamlet], today=now.date())
                return (
                    resident in residents
                    and residents[resident].consent
                    and any(resident in t.on_duty(datetime.now(UTC)) for t in teams)
                )

            await eventually(on_duty_known, what="resident and shift replicated to notifications")

            # A commune officer registers the commune's webhook endpoint.
            officer = issuer.headers(("commune_officer", commune))

            async def endpoint_made() -> Any:
                made = await ntf.post(
                    "/api/v1/endpoints",
                    json={"unit_id": commune, "name": "UBND xã", "url": f"{receiver.url}/hook"},
                    headers=officer,
                )
                if made.status_code == 201:
                    return made.json()
                assert made.status_code in (404, 422), made.text  # the commune not known yet
                return None

            endpoint = await eventually(endpoint_made, what="commune replicated, endpoint made")
            secret = endpoint["secret"]
            assert secret.startswith("whsec_")

            # A high-severity report, once incidents knows the hamlet.
            async def hamlet_known() -> bool:
                return (await inc.get(f"/api/v1/hamlets/{hamlet}")).status_code == 200

            await eventually(hamlet_known, what="hamlet replicated to incidents")
            filed = await inc.post(
                "/api/v1/incidents", json=report_body(hamlet_id=hamlet, severity="high")
            )
            assert filed.status_code == 201, filed.text
            incident_id = filed.json()["id"]

            # One signed Standard Webhooks delivery that names the incident …
            await eventually(lambda: receiver.to("/hook"), what="a webhook delivery")
            # … and an SMS to the team member on duty.
            await eventually(
                lambda: sms_sandbox.messages(phone=NATIONAL), what="an SMS to the member on duty"
            )
            [delivery] = receiver.to("/hook")
            verify([secret], delivery.headers, delivery.body)  # raises unless signed with it
            with pytest.raises(WebhookVerificationError):
                verify(["whsec_" + "A" * 32], delivery.headers, delivery.body)
            payload = delivery.json()
            assert payload["incident_id"] == incident_id
            assert payload["trigger"] == "incident_reported"
            assert payload["hamlet_ids"] == [hamlet]
            assert "Nguyễn Văn Thử" not in delivery.body.decode()  # no resident on a webhook
            alert_id = payload["alert_id"]
            [sms] = sms_sandbox.messages(phone=NATIONAL)
            assert "/a/" in sms["content"]  # an acknowledgement link

            async def reach() -> dict[str, Any]:
                answer = await ntf.get(f"/api/v1/alerts/{alert_id}", headers=officer)
                assert answer.status_code == 200, answer.text
                body: dict[str, Any] = answer.json()
                return body

            alert = await reach()
            assert alert["incident_id"] == incident_id and alert["status"] != "closed"
            assert alert["policy_id"] == "default-incidents"

            # Resolving the incident in incidents closes the alert in notifications.
            for action, extra in (
                ("acknowledge", {}),
                ("assign", {"assignee": {"team_id": team_id}}),
                ("start", {}),
                ("resolve", {"reason": "Đã tìm lại xe, không thiệt hại"}),
            ):

                async def moved(action: str = action, extra: dict[str, Any] = extra) -> bool:
                    answer = await inc.post(
                        f"/api/v1/incidents/{incident_id}/transitions",
                        json={"action": action, **extra},
                    )
                    # assign waits until incidents knows the team (from Kafka as well)
                    assert answer.status_code in (200, 404, 422), answer.text
                    return answer.status_code == 200

                await eventually(moved, what=f"incident {action}")

            async def closed() -> dict[str, Any] | None:
                alert = await reach()
                return alert if alert["status"] == "closed" else None

            final = await eventually(closed, what="the alert closed by the resolution")
            assert final is not None and final["closed_reason"] == "incident_resolved"
            # Still one delivery to the endpoint and one SMS: nothing was sent twice.
            assert receiver.receipts == 1
            assert len(sms_sandbox.messages(phone=NATIONAL)) == 1
