"""Benchmark: finds by an indexed field on the embedded FerretDB, before and after patch 0003.

    uv run python bench/ferretdb_lookups/run.py [--documents 20000] [--finds 300]

Builds two FerretDB binaries from deploy/local's patches (under $BINHYEN_LOCAL_HOME/bench):
"before" with every patch up to the previous main (0001 _id index, 0002 atomic writes),
"after" with all of them, starts each on free ports, loads the same collection
(string ids, an index on ``hamlet_id`` and one on ``status``) and times finds by ``_id``,
by an indexed field, by ``$in`` on an indexed field, and a compare-and-set by
``{_id, version}``. Prints milliseconds per operation and the speed-up.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import localservers as ls  # noqa: E402

from binhyen.kit.testing.servers import free_port  # noqa: E402

Document = dict[str, Any]
INDEX_PATCH = "0003-indexed-equality-lookups.patch"


def build(name: str, patches: list[Path]) -> Path:
    """Build (once) a FerretDB with these patches under the bench cache."""
    binary = ls.local_home() / "bench" / name / "ferretdb"
    stamp = binary.with_name("patches")
    want = "\n".join(p.read_text() for p in patches)
    if binary.exists() and stamp.exists() and stamp.read_text() == want:
        return binary
    print(f"building {name} with {[p.name for p in patches]} ...", file=sys.stderr)
    ls.build_ferretdb(binary, patches)
    stamp.write_text(want)
    return binary


def serve(binary: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start a FerretDB from ``binary`` on a free port, in a fresh data directory."""
    home = ls.local_home() / "bench" / f"run-{uuid.uuid4().hex[:8]}"
    (home / "data").mkdir(parents=True)
    (home / "state").mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [
            str(binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{home / 'data'}/",
            f"--state-dir={home / 'state'}",
            f"--listen-addr=127.0.0.1:{port}",
            "--debug-addr=-",
            "--telemetry=disable",
            "--log-level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"mongodb://127.0.0.1:{port}/", home


async def timed(n: int, op: Any) -> float:
    """Run ``op(i)`` n times one after another; return ms per operation (median of 3)."""
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for i in range(n):
            await op(i)
        runs.append((time.perf_counter() - t0) * 1000 / n)
    return statistics.median(runs)


async def measure(uri: str, documents: int, finds: int) -> dict[str, float]:
    """Load the collection and time each kind of look-up."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, serverSelectionTimeoutMS=30_000)
    try:
        for _ in range(100):
            try:
                await client.admin.command("ping")
                break
            except Exception:
                await asyncio.sleep(0.1)
        coll = client["bench"]["incidents"]
        await coll.create_index("hamlet_id")
        await coll.create_index("status")
        docs = [
            {
                "_id": f"inc-{uuid.UUID(int=i)}",
                "hamlet_id": f"hamlet-{i % 400:04d}",
                "status": ("reported", "acknowledged", "resolved")[i % 3],
                "version": 1,
                "description": "x" * 200,
            }
            for i in range(documents)
        ]
        for start in range(0, documents, 1000):
            await coll.insert_many(docs[start : start + 1000])

        async def by_id(i: int) -> None:
            assert await coll.find_one({"_id": docs[(i * 7919) % documents]["_id"]})

        async def by_field(i: int) -> None:
            found = [d async for d in coll.find({"hamlet_id": f"hamlet-{i % 400:04d}"})]
            assert len(found) == documents // 400

        async def by_in(i: int) -> None:
            wanted = [f"hamlet-{(i + k) % 400:04d}" for k in range(3)]
            found = [d async for d in coll.find({"hamlet_id": {"$in": wanted}})]
            assert len(found) == 3 * (documents // 400)

        async def cas(i: int) -> None:
            doc = docs[(i * 7919) % documents]
            await coll.update_one({"_id": doc["_id"], "version": {"$gte": 1}}, {"$inc": {"n": 1}})

        return {
            "find by _id": await timed(finds, by_id),
            "find by indexed field (50 docs)": await timed(finds, by_field),
            "find by $in of 3 (150 docs)": await timed(finds, by_in),
            "update by {_id, version}": await timed(finds, cas),
        }
    finally:
        await client.close()


def main() -> int:
    """Build both binaries, measure each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--finds", type=int, default=300)
    args = parser.parse_args()
    patches = sorted(ls.FERRETDB_PATCHES.glob("*.patch"))
    before = [p for p in patches if p.name < INDEX_PATCH]
    results = {}
    for name, chosen in (("before", before), ("after", patches)):
        binary = build(name, chosen)
        proc, uri, home = serve(binary)
        try:
            results[name] = asyncio.run(measure(uri, args.documents, args.finds))
        finally:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(home, ignore_errors=True)
    print(f"{args.documents} documents, {args.finds} sequential operations per figure, ms/op")
    print(f"| {'operation':34} | before (0001+0002) | after (+0003) | speed-up |")
    print(f"|{'-' * 36}|{'-' * 20}|{'-' * 15}|{'-' * 10}|")
    for op, before_ms in results["before"].items():
        after_ms = results["after"][op]
        print(f"| {op:34} | {before_ms:18.2f} | {after_ms:13.2f} | {before_ms / after_ms:7.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
