"""Benchmark: bulk import of households from one XLSX file vs a bare insert_many.

    uv run python bench/registry_import/run.py --households 100000

Starts its own Kafka and FerretDB (deploy/local, instance "bench", free ports) unless
BINHYEN_TEST_KAFKA and BINHYEN_TEST_MONGODB name running servers. Runs the registry
app in-process, uploads the file through the API, waits for the job to finish, then
inserts the very documents the import wrote into a fresh database of the same server
with plain ``insert_many`` batches, and prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from openpyxl import Workbook

from binhyen.contracts.topics import DEPLOYED_TOPICS
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.servers import load_localservers
from binhyen.kit.topics import create_topics, entries_of
from binhyen.registry.app import create_app
from binhyen.registry.demo_data import iter_households
from binhyen.registry.domain.imports import COLUMNS
from binhyen.registry.settings import Settings
from binhyen.registry.store import Stores

ROOT = Path(__file__).resolve().parents[2]


def make_file(households: int) -> tuple[bytes, int]:
    """An XLSX of invented households in the import layout, and its number of rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Hộ gia đình")
    sheet.append([c.header for c in COLUMNS])
    rows = 0
    for h in iter_households(seed=2026, count=households, hamlet_name="Tân Thành"):
        for i, m in enumerate(h.members):
            signed = h.pledge_signed_on
            sheet.append(
                [
                    h.code,
                    h.address,
                    "x" if i == 0 else None,
                    m.full_name,
                    m.birth_year,
                    m.phone,
                    "có" if m.alert_consent else "không",
                    "sms" if m.alert_consent else None,
                    "vi",
                    signed.strftime("%d/%m/%Y") if signed else None,
                    None,
                    None,
                ]
            )
            rows += 1
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), rows


def servers() -> tuple[str, str, Any]:
    """Kafka bootstrap, MongoDB URI and a cleanup function."""
    kafka, mongodb = os.environ.get("BINHYEN_TEST_KAFKA"), os.environ.get("BINHYEN_TEST_MONGODB")
    if kafka and mongodb:
        return kafka, mongodb, lambda: None
    local = load_localservers(ROOT)
    kafka = local.start("kafka", "bench", port=0).address
    mongodb = local.start("ferretdb", "bench", port=0).address

    def wipe() -> None:
        local.wipe("kafka", "bench")
        local.wipe("ferretdb", "bench")

    return kafka, mongodb, wipe


async def bench_settings(
    database: str, servers: Callable[[], tuple[str, str, Any]] = servers
) -> tuple[Settings, TestIssuer, Any]:
    """Registry settings on the bench servers (topics created), the token issuer, a cleanup."""
    kafka, mongodb, wipe = servers()
    issuer = TestIssuer()
    settings = Settings(
        mongodb_uri=mongodb,
        mongodb_database=database,
        kafka_bootstrap=kafka,
        topic_prefix=f"bench{int(time.time())}.",
        environment="test",
        auth_issuer=issuer.issuer,
        auth_jwks_json=issuer.jwks_json,
        mongodb_timeout_ms=10_000,
    )
    await create_topics(kafka, entries_of(DEPLOYED_TOPICS), prefix=settings.topic_prefix)
    return settings, issuer, wipe


async def run(households: int, batch: int, relay: bool, bare_indexes: bool) -> None:
    """Import, then the bare insert, then print the figures."""
    started = time.perf_counter()
    data, rows = await asyncio.to_thread(make_file, households)
    print(
        f"file: {households} households, {rows} rows, {len(data) / 1e6:.1f} MB "
        f"(made in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    settings, issuer, wipe = await bench_settings("bench_import")
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=120) as manager:
            rt = app.state.runtime
            if rt.relay is not None and not relay:
                await rt.relay.stop()  # measure the import's own writes only
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers=issuer.headers(("admin", "*")),
                timeout=600,
            ) as client:
                ids: dict[str, str] = {}
                for key, kind, name, parent in (
                    ("p", "province", "Hà Tĩnh", None),
                    ("c", "commune", "Kỳ Nam", "p"),
                    ("h", "hamlet", "Tân Thành", "c"),
                ):
                    body = {"kind": kind, "name": name, "parent_id": ids.get(parent or "")}
                    answer = await client.post("/api/v1/units", json=body)
                    answer.raise_for_status()
                    ids[key] = answer.json()["id"]
                await rt.db["people"].drop()
                await rt.db["households"].drop()
                await rt.context.stores.create_indexes()
                t0 = time.perf_counter()
                answer = await client.post(
                    f"/api/v1/units/{ids['h']}/imports", files={"file": ("ho.xlsx", data)}
                )
                assert answer.status_code == 202, answer.text
                accepted = time.perf_counter() - t0
                location = answer.headers["Location"]
                last = ""
                while True:
                    job = (await client.get(location)).json()
                    line = f"{job['status']} {job['rows']}"
                    if line != last:
                        print(f"  {time.perf_counter() - t0:6.1f} s  {line}", flush=True)
                        last = line
                    if job["status"] in ("done", "rejected", "failed"):
                        break
                    await asyncio.sleep(0.1)
                imported = time.perf_counter() - t0
                assert job["status"] == "done", job
            people = [d async for d in rt.db["people"].find({})]
            household_docs = [d async for d in rt.db["households"].find({})]
            assert len(people) == rows
            # The same documents, in batches of the same size, into a fresh database.
            bare_db = rt.mongo["bench_bare"]
            await bare_db.drop_collection("people")
            await bare_db.drop_collection("households")
            if bare_indexes:  # like for like: the indexes the registry declares
                await Stores.open(bare_db).create_indexes()
            for collection in ("people", "households"):
                await bare_db[collection].insert_one({"_id": "warm"})
                await bare_db[collection].delete_one({"_id": "warm"})
            t1 = time.perf_counter()
            per_batch = max(1, round(len(people) / max(1, len(household_docs)) * batch))
            for start in range(0, len(people), per_batch):
                await bare_db["people"].insert_many(
                    people[start : start + per_batch], ordered=False
                )
            for start in range(0, len(household_docs), batch):
                await bare_db["households"].insert_many(
                    household_docs[start : start + batch], ordered=False
                )
            bare = time.perf_counter() - t1
            await rt.mongo.drop_database("bench_bare")
            await rt.mongo.drop_database("bench_import")
    finally:
        wipe()
    docs = rows + households
    print()
    print(f"households {households}, residents (rows) {rows}, documents {docs}")
    print(f"relay during import: {'running' if relay else 'stopped'}; batch {batch} households")
    print(f"bare database: {'same indexes as the registry' if bare_indexes else 'no indexes'}")
    print(f"upload accepted (202) after     {accepted:8.1f} s")
    print(f"import (upload → done)          {imported:8.1f} s  {rows / imported:10,.0f} rows/s")
    print(f"bare insert_many, same docs     {bare:8.1f} s  {rows / bare:10,.0f} rows/s")
    print(f"import rate / bare rate         {bare / imported:8.2f}   (goal ≥ 0.50)")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="households per insert batch")
    parser.add_argument(
        "--relay", action="store_true", help="keep the outbox relay running during the import"
    )
    parser.add_argument(
        "--bare-without-indexes",
        action="store_true",
        help="insert the bare baseline into collections without the registry's indexes",
    )
    args = parser.parse_args()
    sys.setrecursionlimit(10_000)
    asyncio.run(run(args.households, args.batch, args.relay, not args.bare_without_indexes))


if __name__ == "__main__":
    main()
