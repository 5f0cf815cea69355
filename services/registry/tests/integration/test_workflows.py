"""Work that spans several documents is finished by the workflow worker, at any time."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import date
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts import parse_event
from binhyen.contracts.topics import REGISTRY_ORGANISATIONS, REGISTRY_TASKS, REGISTRY_UNITS
from binhyen.kit.auth import Grant, Principal
from binhyen.kit.testing import Servers, eventually, outboxes_empty, read_topic, serve
from binhyen.registry.app import create_app
from binhyen.registry.domain import units as domain
from binhyen.registry.domain.people import Person
from binhyen.registry.domain.units import Unit
from binhyen.registry.service import households as households_service
from binhyen.registry.service import units as units_service
from binhyen.registry.service.imports import Upload, start_import
from binhyen.registry.service.workflows import WorkflowWorker
from binhyen.registry.settings import Settings
from binhyen.registry.store.people import PersonStore
from binhyen.registry.store.units import UnitStore

Document = dict[str, Any]
ADMIN = Principal(subject="admin-1", grants=(Grant("admin", "*"),))
MOVED_ON = date(2025, 7, 1)


async def _unit(client: httpx.AsyncClient, kind: str, name: str, parent: str | None) -> str:
    body = {"kind": kind, "name": name, "parent_id": parent, "valid_from": "2020-01-01"}
    response = await client.post("/api/v1/units", json=body)
    assert response.status_code == 201, response.text
    found: str = response.json()["id"]
    return found


async def _tree(client: httpx.AsyncClient) -> dict[str, str]:
    """A province with two towns; a commune with two hamlets under the first town."""
    p = await _unit(client, "province", "Hà Tĩnh", None)
    t1 = await _unit(client, "town", "Kỳ Anh", p)
    t2 = await _unit(client, "town", "Hồng Lĩnh", p)
    c = await _unit(client, "commune", "Kỳ Nam", t1)
    h1 = await _unit(client, "hamlet", "Tân Thành", c)
    h2 = await _unit(client, "hamlet", "Quý Huệ", c)
    return {"p": p, "t1": t1, "t2": t2, "c": c, "h1": h1, "h2": h2}


def _fast(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"workflow_sweep_seconds": 0.2, "workflow_lease_seconds": 3.0}
    )


def _idle(settings: Settings) -> Settings:
    """The worker sweeps at start, then only when woken."""
    return settings.model_copy(update={"workflow_sweep_seconds": 3600})


async def _ancestors(db: AsyncDatabase[Document], unit_id: str) -> list[str]:
    doc = await db["units"].find_one({"_id": unit_id})
    assert doc is not None
    found: list[str] = doc["ancestor_ids"]
    return found


async def _marker(db: AsyncDatabase[Document], unit_id: str) -> Document | None:
    doc = await db["units"].find_one({"_id": unit_id})
    assert doc is not None
    marker: Document | None = doc.get("_cascade")
    return marker


async def test_one_replica_runs_the_worker_and_it_finishes_a_move_a_crash_interrupted(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    """Not only at start: a marker left while the service runs is finished within a sweep."""
    async with AsyncExitStack() as stack:
        first, rt = await stack.enter_async_context(
            serve(create_app(_fast(registry_settings)), headers=admin)
        )
        _, rt2 = await stack.enter_async_context(
            serve(create_app(_fast(registry_settings)), headers=admin)
        )
        workers = [rt.worker(WorkflowWorker), rt2.worker(WorkflowWorker)]
        await eventually(lambda: sum(w.holding for w in workers) == 1, what="one holder")
        u = await _tree(first)
        store = UnitStore(rt.db)
        commune = await store.get(u["c"])
        town = await store.get(u["t2"])
        assert commune is not None and town is not None
        moved = domain.move(commune, new_parent=town, effective_date=MOVED_ON)
        marker = {"effective_date": MOVED_ON.isoformat(), "because_of": commune.id}
        # The move is written with its marker, and the process dies before the subtree.
        assert await store.save(moved, expected_version=commune.version, outbox=[], cascade=marker)

        async def finished() -> bool:
            return await _ancestors(rt.db, u["h1"]) == [u["p"], u["t2"], u["c"]] and (
                await _marker(rt.db, u["c"]) is None
            )

        await eventually(finished, timeout=30, what="the worker finished the subtree")
        assert await _ancestors(rt.db, u["h2"]) == [u["p"], u["t2"], u["c"]]
        assert sum(w.runs for w in workers) > 1
        assert sum(w.holding for w in workers) == 1
        await eventually(lambda: outboxes_empty(rt.db["units"]), what="events relayed")
    records = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_UNITS.name),
        until=lambda r: sum(x.key == u["h1"].encode() for x in r) >= 2,
    )
    h1 = [parse_event(r.value) for r in records if r.key == u["h1"].encode()]
    assert h1[-1].data["ancestor_ids"] == [u["p"], u["t2"], u["c"]]
    assert h1[-1].data["because_of"] == u["c"]


async def test_a_household_move_left_unfinished_is_finished_by_the_worker(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(_fast(registry_settings)), headers=admin) as (client, rt):
        u = await _tree(client)
        created = await client.post(
            "/api/v1/households",
            json={
                "unit_id": u["h1"],
                "address": "Xóm 3",
                "members": [{"full_name": "Nguyễn Văn Hảo", "birth_year": 1975}],
            },
        )
        assert created.status_code == 201, created.text
        household = created.json()["id"]
        # The household was moved and the process died before its residents followed.
        await rt.db["households"].update_one(
            {"_id": household},
            {"$set": {"unit_id": u["h2"], "_pending": {"follow_unit": u["h2"]}}},
        )

        async def followed() -> bool:
            residents = await rt.db["people"].find({"household_id": household}).to_list()
            doc = await rt.db["households"].find_one({"_id": household})
            return (
                bool(residents)
                and all(p["unit_id"] == u["h2"] for p in residents)
                and doc is not None
                and "_pending" not in doc
            )

        await eventually(followed, timeout=30, what="the residents followed their household")


async def test_an_import_nobody_runs_is_resumed_by_the_worker(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(_fast(registry_settings)), headers=admin) as (client, rt):
        u = await _tree(client)
        ctx = dataclasses.replace(rt.context, relay=None)
        csv = "Mã hộ,Địa chỉ,Chủ hộ,Họ và tên,Năm sinh\nHK-1,Xóm 1,x,Lê Văn Tám,1980\n"
        job = await start_import(
            u["h1"], Upload("ho.csv", csv.encode()), principal=ADMIN, ctx=ctx, run=False
        )

        async def done() -> bool:
            found = await rt.db["import_jobs"].find_one({"_id": job["_id"]})
            return found is not None and found["status"] in ("done", "rejected", "failed")

        await eventually(done, timeout=30, what="the worker ran the import")
        found = await rt.db["import_jobs"].find_one({"_id": job["_id"]})
        assert found is not None and found["status"] == "done", found
        assert await rt.db["households"].count_documents({"unit_id": u["h1"]}) == 1
        assert await rt.db["leases"].count_documents({"_id": f"import:{job['_id']}"}) == 0


class RacingUnitStore(UnitStore):
    """The units, where every save of ``victim`` loses to a concurrent rename ``races`` times.

    The rename is a real write to the real database just before the save, so the save's
    version guard really fails: the same thing as a clerk editing the hamlet at that moment.
    """

    def __init__(self, db: AsyncDatabase[Document], victim: str, races: int) -> None:
        super().__init__(db)
        self.victim = victim
        self.races = races

    async def save(
        self,
        unit: Unit,
        *,
        expected_version: int,
        outbox: list[Document],
        cascade: Document | None = None,
    ) -> bool:
        """Save, after a concurrent rename of the victim while races are left."""
        if unit.id == self.victim and self.races:
            self.races -= 1
            current = await self.get(unit.id)
            assert current is not None
            renamed = domain.rename(
                current, name=f"Tân Thành {self.races}", effective_date=MOVED_ON
            )
            assert await super().save(renamed, expected_version=current.version, outbox=[])
        return await super().save(
            unit, expected_version=expected_version, outbox=outbox, cascade=cascade
        )


async def test_a_cascade_that_loses_races_keeps_its_marker_until_the_subtree_is_right(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(_idle(registry_settings)), headers=admin) as (client, rt):
        u = await _tree(client)
        team = await client.post(
            "/api/v1/organisations",
            json={"unit_id": u["h1"], "kind": "people_security", "name": "Tổ ANTT"},
        )
        assert team.status_code == 201, team.text
        racing = RacingUnitStore(rt.db, victim=u["h1"], races=units_service.ATTEMPTS)
        ctx = dataclasses.replace(
            units_service.units_context(dataclasses.replace(rt.context, relay=None)),
            store=racing,
        )
        await units_service.move_unit(
            u["c"],
            parent_id=u["t2"],
            effective_date=MOVED_ON,
            expected_version=None,
            principal=ADMIN,
            ctx=ctx,
        )
        # Every pass lost on Tân Thành: the marker stays, with the work left undone.
        assert racing.races == 0
        new_path = [u["p"], u["t2"], u["c"]]
        assert await _ancestors(rt.db, u["h2"]) == new_path
        assert await _ancestors(rt.db, u["h1"]) == [u["p"], u["t1"], u["c"]]
        assert await _marker(rt.db, u["c"]) is not None
        org = await rt.db["organisations"].find_one({"_id": team.json()["id"]})
        assert org is not None and org["unit_path"] == [u["p"], u["t1"], u["c"], u["h1"]]
        # The edits stop; the worker finishes the subtree, then clears the marker.
        rt.worker(WorkflowWorker).wake()

        async def cleared() -> bool:
            return await _marker(rt.db, u["c"]) is None

        await eventually(cleared, timeout=30, what="the worker finished the cascade")
        assert await _ancestors(rt.db, u["h1"]) == new_path
        hamlet = (await client.get(f"/api/v1/units/{u['h1']}")).json()
        assert hamlet["name"] == "Tân Thành 0"  # the concurrent edits were kept
        org = await rt.db["organisations"].find_one({"_id": team.json()["id"]})
        assert org is not None and org["unit_path"] == [*new_path, u["h1"]]


async def test_moving_a_unit_publishes_the_new_paths_of_its_organisations_and_tasks(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _tree(client)
        bodies = {}
        for unit, kind in ((u["h1"], "people_security"), (u["c"], "front_work_committee")):
            created = await client.post(
                "/api/v1/organisations", json={"unit_id": unit, "kind": kind, "name": kind}
            )
            assert created.status_code == 201, created.text
            bodies[created.json()["id"]] = unit
        plan = await client.post(
            "/api/v1/plans", json={"commune_id": u["c"], "year": 2025, "title": "Kế hoạch"}
        )
        assert plan.status_code == 201, plan.text
        tasks = {}
        for org_id in bodies:
            task = await client.post(
                f"/api/v1/plans/{plan.json()['id']}/tasks",
                json={"title": "Tuần tra", "organisation_id": org_id, "due_date": "2025-12-31"},
            )
            assert task.status_code == 201, task.text
            tasks[task.json()["id"]] = org_id
        moved = await client.post(
            f"/api/v1/units/{u['c']}/move",
            json={"parent_id": u["t2"], "effective_date": MOVED_ON.isoformat()},
        )
        assert moved.status_code == 200, moved.text
        new_path = [u["p"], u["t2"], u["c"]]
        path_of = {u["c"]: new_path, u["h1"]: [*new_path, u["h1"]]}
        for org_id, unit in bodies.items():
            read = (await client.get(f"/api/v1/organisations/{org_id}")).json()
            assert read["unit_path"] == path_of[unit]
            assert read["version"] == 2
        plan_doc = await rt.db["task_plans"].find_one({"_id": plan.json()["id"]})
        assert plan_doc is not None and plan_doc["unit_path"] == new_path
        await eventually(
            lambda: outboxes_empty(rt.db["organisations"], rt.db["tasks"]), what="relayed"
        )
    organisations = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_ORGANISATIONS.name),
        until=lambda r: len(r) >= 2 * len(bodies),
    )
    newest = {r.key.decode(): parse_event(r.value) for r in organisations}
    assert set(newest) == set(bodies)
    for org_id, unit in bodies.items():
        event = newest[org_id]
        assert event.type == "vn.binhyen.registry.organisation.changed.v1"
        assert event.data["change"] == "unit_moved"
        assert (event.data["unit_path"], event.data["version"]) == (path_of[unit], 2)
    task_records = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_TASKS.name),
        until=lambda r: len(r) >= 2 * len(tasks),
    )
    newest = {r.key.decode(): parse_event(r.value) for r in task_records}
    assert set(newest) == set(tasks)
    for task_id, org_id in tasks.items():
        event = newest[task_id]
        assert event.type == "vn.binhyen.registry.task.updated.v1"
        assert event.data["changes"] == ["organisation_unit_path"]
        assert event.data["organisation_unit_path"] == path_of[bodies[org_id]]


class RacingPersonStore(PersonStore):
    """Residents, where every batch save loses on one of them to a concurrent edit."""

    def __init__(self, db: AsyncDatabase[Document], races: int) -> None:
        super().__init__(db)
        self.races = races

    async def save_many(self, changes: Sequence[tuple[Person, int, list[Document]]]) -> int:
        """Save, after a concurrent edit of the first resident while races are left."""
        if changes and self.races:
            self.races -= 1
            person, expected, _ = changes[0]
            # A concurrent edit of the resident: one version step (its content is no matter).
            edited = await self.collection.update_one(
                {"_id": person.id, "version": expected}, {"$inc": {"version": 1}}
            )
            assert edited.modified_count == 1
        return await super().save_many(changes)


async def test_a_household_move_that_loses_races_keeps_its_marker_until_residents_follow(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(_idle(registry_settings)), headers=admin) as (client, rt):
        u = await _tree(client)
        created = await client.post(
            "/api/v1/households",
            json={
                "unit_id": u["h1"],
                "address": "Xóm 3",
                "members": [
                    {"full_name": "Nguyễn Văn Hảo", "birth_year": 1975},
                    {"full_name": "Trần Thị Lan", "birth_year": 1978},
                ],
            },
        )
        assert created.status_code == 201, created.text
        household = created.json()["id"]
        racing = RacingPersonStore(rt.db, races=5)
        stores = dataclasses.replace(rt.context.stores, people=racing)
        ctx = dataclasses.replace(rt.context, relay=None, stores=stores)
        await households_service.move_household(
            household, unit_id=u["h2"], expected_version=None, principal=ADMIN, ctx=ctx
        )
        assert racing.races == 0
        doc = await rt.db["households"].find_one({"_id": household})
        assert doc is not None and doc["unit_id"] == u["h2"]
        assert doc["_pending"] == {"follow_unit": u["h2"]}  # residents left to move
        units = {p["unit_id"] async for p in rt.db["people"].find({"household_id": household})}
        assert u["h1"] in units
        rt.worker(WorkflowWorker).wake()

        async def followed() -> bool:
            found = await rt.db["households"].find_one({"_id": household})
            people = rt.db["people"].find({"household_id": household})
            return (
                found is not None
                and "_pending" not in found
                and {p["unit_id"] async for p in people} == {u["h2"]}
            )

        await eventually(followed, timeout=30, what="the worker moved the residents")
