"""Benchmark: how fast the registry answers reads while a large XLSX is checked.

    uv run python bench/registry_import/responsiveness.py --households 79000

Uploads one large XLSX (79,000 households ≈ 300,000 rows, the issue's file) through the
API and, from the upload until the job leaves ``validating``, reads one unit after the
other (``GET /api/v1/units/{id}``, the app in-process, the same event loop). Prints
p50/p99/max of those reads, and of the same reads with nothing else going on. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from run import ROOT, bench_settings, make_file  # type: ignore[import-not-found]  # the sibling run.py

from binhyen.kit.testing.servers import load_localservers
from binhyen.registry.app import create_app


def _figures(name: str, seconds: list[float]) -> str:
    if not seconds:
        return f"{name:28} (no reads)"
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:28} n={len(ordered):5}  p50 {statistics.median(ordered) * 1000:8.1f} ms  "
        f"p99 {p99 * 1000:8.1f} ms  max {ordered[-1] * 1000:8.1f} ms"
    )


def servers() -> tuple[str, str, Callable[[], None]]:
    """Kafka and FerretDB of this benchmark's own (BINHYEN_TEST_INSTANCE or bench-reads)."""
    instance = os.environ.get("BINHYEN_TEST_INSTANCE", "bench") + "-reads"
    local = load_localservers(ROOT)
    kafka = local.start("kafka", instance, port=0).address
    mongodb = local.start("ferretdb", instance, port=0).address

    def wipe() -> None:
        local.wipe("kafka", instance)
        local.wipe("ferretdb", instance)

    return kafka, mongodb, wipe


def the_file(households: int, cache: Path) -> bytes:
    """The XLSX of ``households`` invented households, made once and kept in ``cache``."""
    if cache.exists():
        data = cache.read_bytes()
        print(f"file: {cache} ({len(data) / 1e6:.1f} MB)", flush=True)
        return data
    made: tuple[bytes, int] = make_file(households)
    data, rows = made
    cache.write_bytes(data)
    print(f"file: {households} households, {rows} rows, {len(data) / 1e6:.1f} MB", flush=True)
    return data


async def run(data: bytes) -> None:
    """Upload the file, read units meanwhile, print the figures."""
    settings, issuer, wipe = await bench_settings("bench_responsiveness", servers)
    app = create_app(settings)
    idle: list[float] = []
    uploading: list[float] = []
    validating: list[float] = []
    slow: list[tuple[float, float, str]] = []  # seconds, when (since the upload), phase
    try:
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=120) as manager:
            rt = app.state.runtime
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
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
                unit_url = f"/api/v1/units/{ids['c']}"

                async def read() -> float:
                    t = time.perf_counter()
                    answer = await client.get(unit_url)
                    answer.raise_for_status()
                    return time.perf_counter() - t

                for _ in range(300):
                    idle.append(await read())
                phase = {"now": "uploading", "location": ""}

                async def upload() -> None:
                    answer = await client.post(
                        f"/api/v1/units/{ids['h']}/imports", files={"file": ("ho.xlsx", data)}
                    )
                    assert answer.status_code == 202, answer.text
                    phase["location"] = answer.headers["Location"]
                    phase["now"] = "validating"

                t0 = time.perf_counter()
                uploader = asyncio.create_task(upload())
                status = "validating"
                accepted = checked = 0.0
                while status == "validating":
                    seconds = await read()
                    (uploading if phase["now"] == "uploading" else validating).append(seconds)
                    slow.append((seconds, time.perf_counter() - t0, phase["now"]))
                    if uploader.done():
                        uploader.result()
                        accepted = accepted or time.perf_counter() - t0
                        job = (await client.get(phase["location"])).json()
                        status = job["status"]
                checked = time.perf_counter() - t0
                print(f"job {status} after {checked:.1f} s (202 after {accepted:.1f} s)")
            await rt.mongo.drop_database(settings.mongodb_database)
    finally:
        wipe()
    print()
    print(_figures("GET unit, idle", idle))
    print(_figures("GET unit, during upload", uploading))
    print(_figures("GET unit, during validation", validating))
    print(_figures("GET unit, upload → checked", uploading + validating))
    print(
        "slowest reads:",
        ", ".join(f"{s * 1000:.0f} ms at {t:.1f} s ({p})" for s, t, p in sorted(slow)[-5:]),
    )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=79_000, help="≈ 3.8 rows each")
    parser.add_argument(
        "--file",
        type=Path,
        default=Path("/tmp/binhyen-bench-responsiveness.xlsx"),
        help="the XLSX, made once and reused (delete it to make another)",
    )
    args = parser.parse_args()
    asyncio.run(run(the_file(args.households, args.file)))


if __name__ == "__main__":
    main()
