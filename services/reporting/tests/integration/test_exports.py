"""Exports over the API: the workbook's totals equal the API's figures, the PDF carries the
Vietnamese headings exactly, the CSV opens with its diacritics intact; bad requests are
problem+json naming the field."""

from __future__ import annotations

import csv
import io
import unicodedata
from types import ModuleType
from typing import Any

import openpyxl
from pypdf import PdfReader

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.servers import Servers
from binhyen.reporting.sample_history import COMMUNE, HAMLET_NAMES
from binhyen.reporting.service.documents import GROUP_NAMES
from binhyen.reporting.settings import Settings


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


async def test_workbook_pdf_and_csv_agree_with_the_api(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    headers = issuer.headers(("commune_officer", COMMUNE))
    params = {"unit_id": COMMUNE, "period": "EY2026"}
    async with history.deployment(reporting_settings, servers, "exports") as (client, s, _):
        await history.publish(s, history.small_history())
        await history.caught_up(s)
        api = await client.get("/api/v1/statistics", params=params, headers=headers)
        assert api.status_code == 200, api.text
        figures: dict[str, Any] = api.json()["figures"]

        book = await client.get("/api/v1/statistics.xlsx", params=params, headers=headers)
        assert book.status_code == 200, book.text
        assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
        pdf = await client.get("/api/v1/reports/period.pdf", params=params, headers=headers)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        table = await client.get("/api/v1/statistics.csv", params=params, headers=headers)
        assert table.status_code == 200, table.text

    workbook = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True)
    assert workbook.sheetnames == ["Theo thôn", "Chỉ số", "Vụ việc"]
    rows = list(workbook["Theo thôn"].iter_rows(values_only=True))
    header, body, totals = rows[0], rows[1:-1], rows[-1]
    assert totals[0] == "Tổng cộng"
    column = {name: i for i, name in enumerate(header)}
    incidents = figures["incidents"]
    assert totals[column["Vụ việc"]] == incidents["total"]["current"]
    assert totals[column["Cùng kỳ"]] == incidents["total"]["previous"]
    for group, name in GROUP_NAMES.items():
        assert totals[column[name]] == incidents["by_group"][group]["current"], name
    assert totals[column["Số hộ"]] == figures["households"]["active"]["current"]
    assert totals[column["Hộ ký cam kết"]] == figures["households"]["pledged"]["current"]
    assert [r[0] for r in body] == sorted(HAMLET_NAMES[:4])
    listed = list(workbook["Vụ việc"].iter_rows(values_only=True))[1:]
    assert len(listed) == sum(incidents["by_status"][s]["current"] for s in incidents["by_status"])

    text = _nfc("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages))
    for heading in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BÁO CÁO",
        "I. TÌNH HÌNH CHUNG",
        "II. SỐ LIỆU VỤ VIỆC",
        "III. THEO THÔN, KHU DÂN CƯ",
        "Bảng 1. Vụ việc về an ninh, trật tự theo lĩnh vực",
        "Bảng 2. Tình hình theo thôn, khu dân cư",
        "Kỳ Nam, ngày",
        "Tranh chấp, mâu thuẫn",
    ):
        assert heading in text, heading
    flowing = " ".join(text.split())  # paragraphs wrap anywhere
    assert f"đã tiếp nhận {incidents['total']['current']} vụ việc" in flowing

    decoded = table.content.decode("utf-8-sig")
    assert table.content.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(decoded), delimiter=";"))
    assert parsed[0][0] == "Thôn, khu dân cư"
    assert [r[0] for r in parsed[1:]] == sorted(HAMLET_NAMES[:4])
    assert sum(int(r[1]) for r in parsed[1:]) == incidents["total"]["current"]


async def test_bad_requests_are_problems_naming_the_field_and_scope_is_enforced(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    officer = issuer.headers(("commune_officer", COMMUNE))
    async with history.deployment(reporting_settings, servers, "bad") as (client, s, _):
        await history.publish(s, history.small_history())
        await history.caught_up(s)
        hamlet_officer = issuer.headers(("hamlet_officer", "h-001"))
        cases = [
            (officer, {"unit_id": COMMUNE, "period": "2026-13"}, 422, "period"),
            (officer, {"unit_id": COMMUNE, "period": "2026-05-01..2026-04-01"}, 422, "period"),
            (officer, {"unit_id": "h-nowhere", "period": "EY2026"}, 404, "unit_id"),
            (hamlet_officer, {"unit_id": "h-002", "period": "EY2026"}, 404, None),
            (hamlet_officer, {"unit_id": COMMUNE, "period": "EY2026"}, 404, None),
        ]
        for path in ("/api/v1/statistics", "/api/v1/statistics.xlsx", "/api/v1/reports/period.pdf"):
            for headers, params, status, field in cases:
                answer = await client.get(path, params=params, headers=headers)
                assert answer.status_code == status, (path, params, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
                problem = answer.json()
                if field is not None:
                    assert field in {e["field"] for e in problem.get("errors") or []}, problem
        mine = await client.get(
            "/api/v1/statistics", params={"unit_id": "h-001", "period": "EY2026"},
            headers=hamlet_officer,
        )  # fmt: skip
        assert mine.status_code == 200, mine.text
