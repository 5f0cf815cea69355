"""End to end through Kafka: what the registry and incidents record, reporting counts.

Registry, incidents and reporting run as they do in production, each with its own database,
talking only through this test's topics. The registry makes a commune with a hamlet, a
household that pledged for this year, and a team; incidents files a report and acknowledges
it; reporting's statistics show all of it, and its hamlet evaluation is judged from it.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl

from binhyen.incidents.app import create_app as create_incidents
from binhyen.incidents.sample_world import report_body
from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing import TestIssuer, eventually, serve
from binhyen.kit.testing.settings import MakeSettings
from binhyen.registry.app import create_app as create_registry
from binhyen.registry.settings import Settings as RegistrySettings
from binhyen.reporting.app import create_app as create_reporting
from binhyen.reporting.domain.periods import LOCAL, containing
from binhyen.reporting.settings import Settings as ReportingSettings


async def test_reporting_counts_what_the_registry_and_incidents_announce(
    service_settings: tuple[RegistrySettings, IncidentsSettings],
    make_settings: MakeSettings,
    issuer: TestIssuer,
) -> None:
    registry, incidents = service_settings
    reporting = make_settings(
        ReportingSettings, database_suffix="_rep", consumer_backoff_seconds=0.01
    )
    admin = issuer.headers(("admin", "*"))
    now = datetime.now(UTC)
    year = now.astimezone(LOCAL).year
    async with (
        serve(create_registry(registry), headers=admin) as (reg, _),
        serve(create_incidents(incidents), headers=admin) as (inc, _),
        serve(create_reporting(reporting), headers=admin) as (rep, _),
    ):
        ids: dict[str, str] = {}
        for key, kind, name, parent in (
            ("province", "province", "Hà Tĩnh", None),
            ("commune", "commune", "Kỳ Nam", "province"),
            ("hamlet", "hamlet", "Tân Thành", "commune"),
        ):
            body = {"kind": kind, "name": name, "valid_from": "2020-09-09",
                    "parent_id": ids.get(parent) if parent else None}  # fmt: skip
            created = await reg.post("/api/v1/units", json=body)
            assert created.status_code == 201, created.text
            ids[key] = created.json()["id"]
        hamlet, commune = ids["hamlet"], ids["commune"]
        household = await reg.post(
            "/api/v1/households",
            json={"unit_id": hamlet, "address": "Xóm 1, thôn Tân Thành",
                  "registered_on": f"{year - 1}-01-15",  # in the hamlet all the year judged
                  "members": [{"full_name": "Lê Văn Thử", "birth_year": 1975}]},
        )  # fmt: skip
        assert household.status_code == 201, household.text
        pledged = await reg.put(
            f"/api/v1/households/{household.json()['id']}/pledges/{year}",
            json={"signed_on": now.astimezone(LOCAL).date().isoformat()},
        )
        assert pledged.status_code in (200, 201), pledged.text
        team = await reg.post(
            "/api/v1/organisations",
            json={"unit_id": hamlet, "kind": "people_security",
                  "name": "Tổ an ninh nhân dân thôn Tân Thành", "valid_from": "2024-01-01"},
        )  # fmt: skip
        assert team.status_code == 201, team.text

        async def hamlet_known() -> bool:
            return (await inc.get(f"/api/v1/hamlets/{hamlet}")).status_code == 200

        await eventually(hamlet_known, what="hamlet replicated to incidents")
        occurred = now - timedelta(hours=3)
        filed = await inc.post(
            "/api/v1/incidents",
            json=report_body(hamlet_id=hamlet, occurred_at=occurred.isoformat()),
        )
        assert filed.status_code == 201, filed.text
        acked = await inc.post(
            f"/api/v1/incidents/{filed.json()['id']}/transitions", json={"action": "acknowledge"}
        )
        assert acked.status_code == 200, acked.text

        period = containing("quarter", occurred).spec

        async def counted() -> Any:
            answer = await rep.get(
                "/api/v1/statistics", params={"unit_id": commune, "period": period}
            )
            if answer.status_code != 200:
                assert answer.status_code == 404, answer.text  # the commune not known yet
                return None
            figures = answer.json()["figures"]
            done = (
                figures["incidents"]["by_status"]["acknowledged"]["current"] == 1
                and figures["households"]["pledged"]["current"] == 1
                and figures["teams"]["teams"]["current"] == 1
            )
            return figures if done else None

        figures = await eventually(counted, timeout=60, what="reporting counted the hamlet")
        incidents_now = figures["incidents"]
        assert incidents_now["total"]["current"] == 1
        assert incidents_now["by_group"]["crime"]["current"] == 1
        assert incidents_now["time_to_acknowledge_minutes"]["count"]["current"] == 1
        assert figures["households"]["active"]["current"] == 1

        # The workbook names the category as the incidents service announced it (events of
        # incidents carry only its code).
        book = await rep.get(
            "/api/v1/statistics.xlsx", params={"unit_id": commune, "period": period}
        )
        assert book.status_code == 200, book.text
        sheet = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True)["Vụ việc"]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        column = rows[0].index("Loại")
        assert [r[column] for r in rows[1:]] == ["Trộm cắp tài sản"]

        evaluation = await rep.post("/api/v1/evaluations", json={"hamlet_id": hamlet,
                                                                 "year": year})  # fmt: skip
        assert evaluation.status_code == 201, evaluation.text
        judged = {
            c["check_id"]: c["result"]["outcome"]
            for criterion in evaluation.json()["results"]
            for c in criterion["checks"]
        }
        assert judged["c1_households_registered"] == "met"  # its one household pledged
