"""Bulk import and export of households and residents, against real servers."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from binhyen.contracts.topics import REGISTRY_HOUSEHOLDS, REGISTRY_PEOPLE
from binhyen.kit.auth import Grant, Principal
from binhyen.kit.testing import Servers, TestIssuer, eventually, outboxes_empty, read_topic, serve
from binhyen.registry.app import create_app
from binhyen.registry.demo_data import iter_households
from binhyen.registry.domain.imports import COLUMNS
from binhyen.registry.service import import_files
from binhyen.registry.service import imports as imports_service
from binhyen.registry.settings import Settings
from binhyen.registry.store.imports import ImportStore

HEADERS = [c.header for c in COLUMNS]


async def _units(client: httpx.AsyncClient) -> dict[str, str]:
    ids: dict[str, str] = {}
    for key, kind, name, parent in (
        ("p", "province", "Hà Tĩnh", None),
        ("c", "commune", "Kỳ Nam", "p"),
        ("h1", "hamlet", "Tân Thành", "c"),
        ("h2", "hamlet", "Quý Huệ", "c"),
    ):
        body = {
            "kind": kind,
            "name": name,
            "valid_from": "2020-01-01",
            "parent_id": ids.get(parent or ""),
        }
        response = await client.post("/api/v1/units", json=body)
        assert response.status_code == 201, response.text
        ids[key] = response.json()["id"]
    return ids


def _rows(count: int, *, seed: int = 7) -> list[list[Any]]:
    """Layout rows (without header) of ``count`` invented households."""
    rows: list[list[Any]] = []
    for h in iter_households(seed=seed, count=count, hamlet_name="Tân Thành"):
        for i, m in enumerate(h.members):
            signed = h.pledge_signed_on
            rows.append(
                [
                    h.code,
                    h.address if i == 0 else None,  # merged-cell style: only on the first row
                    "x" if i == 0 else None,
                    m.full_name,
                    m.birth_year,
                    m.phone,
                    "có" if m.alert_consent else "không",
                    "sms, zalo" if m.alert_consent else None,
                    None,
                    signed.strftime("%d/%m/%Y") if signed and i == 0 else None,
                    None,
                    None,
                ]
            )
    return rows


def _xlsx(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS if header is None else header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def _post(
    client: httpx.AsyncClient, hamlet: str, data: bytes, name: str = "ho.xlsx"
) -> httpx.Response:
    return await client.post(f"/api/v1/units/{hamlet}/imports", files={"file": (name, data)})


async def _finished(client: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    location = response.headers["Location"]

    async def probe() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(location)).json()
        return job if job["status"] in ("rejected", "done", "failed") else None

    job = await eventually(probe, timeout=120, what="the import to finish")
    assert job is not None
    finished: dict[str, Any] = job
    return finished


async def _written(rt: Any) -> tuple[int, int]:
    return (
        await rt.db["households"].count_documents({}),
        await rt.db["people"].count_documents({}),
    )


async def test_one_bad_row_among_1000_writes_nothing_and_reports_exactly_that_row(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    rows = _rows(400)[:1000]
    assert len(rows) == 1000
    rows[636][5] = "12345"  # Excel row 638, column F (Số điện thoại)
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        job = await _finished(client, await _post(client, u["h1"], _xlsx(rows)))
        assert job["status"] == "rejected"
        assert job["rows"]["total"] == 1000
        assert job["errors_total"] == 1
        [error] = job["first_errors"]
        assert (error["row"], error["column"], error["header"]) == (638, "F", "Số điện thoại")
        assert "số điện thoại" in error["message_vi"] and "phone" in error["message_en"]
        assert await _written(rt) == (0, 0)
        report = (await client.get(job["report_json"])).json()
        assert [(e["row"], e["column"]) for e in report["errors"]] == [(638, "F")]
        assert report["rows"][0]["values"]["Số điện thoại"] == "12345"
        sheet = load_workbook(io.BytesIO((await client.get(job["report_xlsx"])).content)).active
        assert sheet.cell(1, 13).value == "Lỗi / Error"
        assert sheet.cell(638, 6).value == "12345"
        assert "F (Số điện thoại)" in sheet.cell(638, 13).value
        assert sheet.cell(638, 6).fill.fgColor.rgb.endswith("FFC7CE")
        assert sheet.cell(637, 13).value is None
    for topic in (REGISTRY_HOUSEHOLDS, REGISTRY_PEOPLE):
        records = await read_topic(
            servers.kafka, registry_settings.topic(topic.name), until=lambda r: True
        )
        assert records == []


async def _export(client: httpx.AsyncClient, hamlet: str) -> list[tuple[Any, ...]]:
    response = await client.get(f"/api/v1/units/{hamlet}/exports/households.xlsx")
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


async def test_a_good_file_imports_exports_and_reimports_the_same_data(
    registry_settings: Settings,
    admin: dict[str, str],
    servers: Servers,
) -> None:
    rows = _rows(120)
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        job = await _finished(client, await _post(client, u["h1"], _xlsx(rows)))
        assert job["status"] == "done", job
        assert job["rows"] == {"total": len(rows), "validated": len(rows), "written": len(rows)}
        assert job["households"] == {"total": 120, "written": 120}
        assert await _written(rt) == (120, len(rows))
        household = await rt.db["households"].find_one({"registration_code": "HK000001"})
        assert household is not None
        read = (await client.get(f"/api/v1/households/{household['_id']}")).json()
        assert read["head_person_id"] == read["members"][0]["id"] or read["head_person_id"]
        assert {p["full_name"] for p in read["members"]} == {
            r[3] for r in rows if r[0] == "HK000001"
        }
        exported = await _export(client, u["h1"])
        assert exported[0] == tuple(HEADERS)
        assert len(exported) == len(rows) + 1
        # The same codes into another hamlet of this commune: they belong to h1.
        again = await _finished(
            client, await _post(client, u["h2"], _xlsx([list(r) for r in exported[1:]]))
        )
        assert again["status"] == "rejected"
        assert again["errors_total"] == 120
        assert "another hamlet" in again["first_errors"][0]["message_en"]
        # And into the same hamlet: already registered here.
        same = await _finished(client, await _post(client, u["h1"], _xlsx(rows)))
        assert "already registered in this hamlet" in same["first_errors"][0]["message_en"]
        await eventually(
            lambda: outboxes_empty(rt.db["households"], rt.db["people"]),
            timeout=60,
            what="relayed",
        )
        pledged = sum(1 for r in rows if r[9])
    people = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_PEOPLE.name),
        until=lambda r: len(r) >= len(rows),
    )
    assert len({r.key for r in people}) == len(people) == len(rows)
    households = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_HOUSEHOLDS.name),
        until=lambda r: len(r) >= 120 + pledged,
    )
    assert len(households) == 120 + pledged
    # Re-import the export into a hamlet of another deployment (fresh database).
    other = registry_settings.model_copy(
        update={
            "mongodb_database": registry_settings.mongodb_database + "_b",
            "topic_prefix": registry_settings.topic_prefix + "b.",
        }
    )
    async with serve(create_app(other), headers=admin) as (client, rt):
        u2 = await _units(client)
        data = _xlsx([list(r) for r in exported[1:]])
        job = await _finished(client, await _post(client, u2["h2"], data))
        assert job["status"] == "done", job
        reexported = await _export(client, u2["h2"])
    assert sorted(reexported[1:], key=repr) == sorted(exported[1:], key=repr)


async def test_csv_utf8_with_bom_and_semicolons_imports(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    lines = ["ma ho;dia chi;chu ho;ho va ten;nam sinh;so dien thoai"]
    lines += [
        "H1;Xóm 2, thôn Tân Thành;x;Nguyễn Văn Hảo;1975;0912 345 678",
        "H1;;;Trần Thị Lan;1978;",
    ]
    data = "\ufeff" + "\r\n".join(lines) + "\r\n"
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        job = await _finished(client, await _post(client, u["h1"], data.encode(), "ho.csv"))
        assert job["status"] == "done", job
        assert job["file_kind"] == "csv"
        assert await _written(rt) == (1, 2)
        hao = await rt.db["people"].find_one({"full_name": "Nguyễn Văn Hảo"})
        assert hao is not None
        assert hao["phones"] == ["+84912345678"]
        household = await rt.db["households"].find_one({})
        assert household is not None
        assert household["head_person_id"] == hao["_id"]
        assert household["address"] == "Xóm 2, thôn Tân Thành"


def _formula_file() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(
        ["H1", "Xóm 1", "x", "Nguyễn Văn A", "=1970+5", None, None, None, None, None, None, None]
    )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _zip_not_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    return out.getvalue()


def _hostile(kind: str) -> bytes:
    """An XLSX made hostile: corrupt, truncated, with an XML bomb, or a zip bomb."""
    good = _xlsx(_rows(2))
    if kind == "truncated":
        return good[: len(good) // 2]
    source = zipfile.ZipFile(io.BytesIO(good))
    if kind == "corrupt":
        info = source.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
        bad = bytearray(good)
        bad[start : start + 20] = bytes(b ^ 0x55 for b in bad[start : start + 20])
        return bytes(bad)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if kind == "doctype" and info.filename == "xl/worksheets/sheet1.xml":
                body = content.split(b"?>", 1)[1] if content.startswith(b"<?xml") else content
                entities = "".join(f'<!ENTITY e{i} "&e{i - 1};&e{i - 1};">' for i in range(1, 9))
                content = (
                    f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY e0 "lol">{entities}]>'
                ).encode() + body
            archive.writestr(info.filename, content)
        if kind == "zipbomb":
            archive.writestr("xl/media/zeros.bin", bytes(1 << 20))
    data = out.getvalue()
    if kind == "zipbomb":  # the entry says it unpacks to 600 MB, as a zip bomb's does
        entry = data.rindex(b"PK\x01\x02")  # its central directory record, the last one
        data = data[: entry + 24] + (600 << 20).to_bytes(4, "little") + data[entry + 28 :]
    return data


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("truncated.xlsx", _hostile("truncated"), "not a spreadsheet"),
        ("corrupt.xlsx", _hostile("corrupt"), "not a spreadsheet"),
        ("lolz.xlsx", _hostile("doctype"), "DOCTYPE"),
        ("bomb.xlsx", _hostile("zipbomb"), "too large once unpacked"),
        ("empty.xlsx", b"", "empty"),
        ("blank.csv", b"\xef\xbb\xbf\r\n\r\n", "no data"),
        ("scan.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not a spreadsheet"),
        ("docs.xlsx", _zip_not_xlsx(), "not a spreadsheet"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, ".xls"),
        (
            "latin.csv",
            "Mã hộ,Địa chỉ,Họ và tên\n".encode("cp1258", "replace") + b"\xe0\xe1\n",
            "UTF-8",
        ),
        ("cols.xlsx", _xlsx([["H1", "Xóm 1", "A"]], ["Mã hộ", "Địa chỉ", "Tên đệm"]), "Họ và tên"),
        ("none.xlsx", _xlsx([["a", "b"]], ["foo", "bar"]), "no header row"),
        ("dup.csv", "Mã hộ,Địa chỉ,Họ và tên,Ho va ten\nH1,X,A,B\n".encode(), "duplicate"),
    ],
)
async def test_a_malformed_file_is_refused_and_nothing_is_written(
    registry_settings: Settings, admin: dict[str, str], name: str, data: bytes, expected: str
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        response = await _post(client, u["h1"], data, name)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert expected in problem["detail"] or expected in problem["columns"], problem
        assert problem["detail_vi"]
        assert await _written(rt) == (0, 0)
        assert await rt.db["import_jobs"].count_documents({}) == 0


async def test_formula_cells_are_row_errors(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        job = await _finished(client, await _post(client, u["h1"], _formula_file()))
        assert job["status"] == "rejected"
        [error] = job["first_errors"]
        assert (error["row"], error["column"], error["header"]) == (2, "E", "Năm sinh")
        assert "formulas are not allowed; paste values" in error["message_en"]
        assert await _written(rt) == (0, 0)


async def test_a_file_over_50_mb_is_refused_without_reading_it_all(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    sent = [0]
    total = 60 * 1024 * 1024
    boundary = "imports-test-boundary"

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        chunk = b"x" * (1024 * 1024)
        while sent[0] < total:
            sent[0] += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        declared = await client.post(
            f"/api/v1/units/{u['h1']}/imports",
            content=b"",
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(total),
            },
        )
        assert declared.status_code == 413, declared.text
        streamed = await client.post(
            f"/api/v1/units/{u['h1']}/imports",
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert streamed.status_code == 413, streamed.text
        assert streamed.headers["content-type"].startswith("application/problem+json")
        assert "50 MB" in streamed.json()["detail"]
        assert await rt.db["import_jobs"].count_documents({}) == 0
        assert await _written(rt) == (0, 0)


async def test_an_import_interrupted_mid_write_resumes_and_writes_each_row_once(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    rows = _rows(300, seed=11)
    clerk = Principal(subject="clerk-1", grants=(Grant("admin", "*"),))
    # The workflow worker sweeps only at start here: this test resumes the job by hand.
    settings = registry_settings.model_copy(update={"workflow_sweep_seconds": 3600})
    async with serve(create_app(settings), headers=admin) as (client, rt):
        u = await _units(client)
        assert rt.relay is not None
        ctx = rt.context
        job = await imports_service.start_import(
            u["h1"],
            imports_service.Upload("ho.xlsx", _xlsx(rows)),
            principal=clerk,
            ctx=ctx,
            batch_households=40,
            run=False,
        )
        store = ImportStore(rt.db)
        first_process = imports_service.job_lease(ctx, job["_id"])
        assert await first_process.acquire()
        # The first process writes 3 batches of 40 households, then "dies" ...
        await imports_service.run_job(ctx, job["_id"], first_process, stop_after_batches=3)
        progress = (await client.get(f"/api/v1/imports/{job['_id']}")).json()
        assert progress["status"] == "writing"
        assert progress["households"]["written"] == 120
        # ... in the middle of its 4th batch: half of it reached the database.
        checked = import_files.check_file(await store.file(job["_id"]), datetime.now(UTC), 40)
        households, people = imports_service.build_documents(
            ctx, await store.get(job["_id"]) or {}, checked.batch(3)[:20]
        )
        await rt.db["households"].insert_many(households)
        await rt.db["people"].insert_many(people)
        # A live lease is respected; once it has expired, a replica resumes the job.
        assert await imports_service.resume_imports(ctx) == 0
        await rt.db["leases"].update_one(
            {"_id": first_process.name}, {"$set": {"until": datetime.now(UTC) - timedelta(1)}}
        )
        assert await imports_service.resume_imports(ctx) == 1
        await imports_service.wait_for_jobs()
        done = (await client.get(f"/api/v1/imports/{job['_id']}")).json()
        assert done["status"] == "done", done
        assert done["rows"]["written"] == len(rows)
        assert await _written(rt) == (300, len(rows))
        codes = [d["registration_code"] async for d in rt.db["households"].find({})]
        assert sorted(codes) == sorted({r[0] for r in rows})
        await eventually(
            lambda: outboxes_empty(rt.db["households"], rt.db["people"]),
            timeout=240,
            what="relayed",
        )
    people_events = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_PEOPLE.name),
        until=lambda r: len(r) >= len(rows),
    )
    assert len(people_events) == len({r.key for r in people_events}) == len(rows)


async def test_reads_are_answered_while_a_large_file_is_checked(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    data = _xlsx(_rows(3000, seed=5))  # ~11,000 rows: seconds of checking
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        # Files are read and checked in a worker process, never on the event loop's thread.
        assert await rt.context.import_files.run(os.getpid) != os.getpid()
        started = await _post(client, u["h1"], data)
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        answered_while_checking = 0
        while True:
            unit = await client.get(f"/api/v1/units/{u['h1']}")
            assert unit.status_code == 200, unit.text
            # Read after the unit was answered: if the job is still checking rows, that
            # read was served while the check ran.
            job = (await client.get(location)).json()
            if job["status"] != "validating":
                break
            answered_while_checking += 1
        assert answered_while_checking > 0
        assert job["status"] in ("writing", "done")
        await imports_service.wait_for_jobs()


async def test_a_hamlet_officer_cannot_import_into_another_hamlet(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        officer = issuer.headers(("hamlet_officer", u["h1"]))
        data = _xlsx(_rows(2))
        other = await client.post(
            f"/api/v1/units/{u['h2']}/imports", files={"file": ("ho.xlsx", data)}, headers=officer
        )
        assert other.status_code == 404, other.text
        export = await client.get(
            f"/api/v1/units/{u['h2']}/exports/households.xlsx", headers=officer
        )
        assert export.status_code == 404
        own = await client.post(
            f"/api/v1/units/{u['h1']}/imports", files={"file": ("ho.xlsx", data)}, headers=officer
        )
        assert own.status_code == 202, own.text
        job = await _finished(client, own)
        assert job["status"] == "done"
        h2_officer = issuer.headers(("hamlet_officer", u["h2"]))
        assert (
            await client.get(f"/api/v1/imports/{job['id']}", headers=h2_officer)
        ).status_code == 404
        team = issuer.headers(("team_member", u["h1"]))
        refused = await client.post(
            f"/api/v1/units/{u['h1']}/imports", files={"file": ("ho.xlsx", data)}, headers=team
        )
        assert refused.status_code == 403
        assert await rt.db["import_jobs"].count_documents({}) == 1
