"""Office documents of a unit's period: the period report (PDF), the workbook, the CSV table.

The texts are Vietnamese, as a commune files them; figures come from ``statistics`` so the
documents and the API always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from binhyen.reporting.domain.periods import LOCAL, Period, previous_year
from binhyen.reporting.exports.document import (
    AdministrativeReport,
    Align,
    BarChart,
    Column,
    IssuingBody,
    Paragraph,
    Section,
    Series,
    Signature,
    Table,
)
from binhyen.reporting.exports.xlsx import Sheet, SheetColumn
from binhyen.reporting.service.statistics import HamletRow
from binhyen.reporting.service.units import Unit

Document = dict[str, Any]

GROUP_NAMES = {
    "crime": "Tội phạm",
    "social_evil": "Tệ nạn xã hội",
    "traffic": "Trật tự an toàn giao thông",
    "dispute": "Tranh chấp, mâu thuẫn",
    "fire": "Cháy, nổ",
    "other": "Khác",
}
STATUS_NAMES = {
    "reported": "Mới tiếp nhận",
    "acknowledged": "Đã xác nhận",
    "assigned": "Đã giao xử lý",
    "in_progress": "Đang xử lý",
    "escalated": "Chuyển công an",
    "reopened": "Mở lại",
    "resolved": "Đã giải quyết",
    "rejected": "Không thụ lý",
    "duplicate": "Trùng lặp",
}
SEVERITY_NAMES = {
    "low": "Thấp",
    "medium": "Trung bình",
    "high": "Cao",
    "critical": "Rất nghiêm trọng",
}
LEVEL_PREFIX = {
    "commune": "XÃ",
    "ward": "PHƯỜNG",
    "township": "THỊ TRẤN",
    "special_zone": "ĐẶC KHU",
    "hamlet": "THÔN",
    "village": "THÔN",
    "residential_group": "TỔ DÂN PHỐ",
}
STEERING_BODY = "BAN CHỈ ĐẠO PHONG TRÀO TOÀN DÂN BẢO VỆ AN NINH TỔ QUỐC"
UNSIGNED = "...................."  # left for the signer's hand


def _c(leaf: Document) -> Any:
    return leaf["current"]


def _p(leaf: Document) -> Any:
    return leaf["previous"]


def change(current: int, previous: int) -> str:
    """The change as a commune writes it: "+25,0%", "-10,0%", "—" when there was nothing."""
    if not previous:
        return "—" if not current else "mới"
    percent = 100 * (current - previous) / previous
    sign = "+" if percent > 0 else ""
    return f"{sign}{percent:.1f}%".replace(".", ",")


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.0f} phút"
    return f"{value / 60:.1f} giờ".replace(".", ",")


def period_report(
    unit: Unit,
    parent: Unit | None,
    period: Period,
    totals: Document,
    hamlets: Sequence[HamletRow],
    *,
    issued_on: date,
    number: int | None,
    signer: str | None,
) -> AdministrativeReport:
    """The unit's report for the period, beside the same period a year earlier."""
    before = previous_year(period)
    inc = totals["incidents"]
    prefix = LEVEL_PREFIX.get(unit.kind) or LEVEL_PREFIX.get(unit.level, "")
    label, earlier = period.label_vi, before.label_vi
    total_now, total_before = _c(inc["total"]), _p(inc["total"])
    summary = (
        f"Trong {label}, trên địa bàn {prefix.lower()} {unit.name} đã tiếp nhận "
        f"{total_now} vụ việc về an ninh, trật tự (cùng kỳ {earlier}: {total_before} vụ, "
        f"{change(total_now, total_before)}); trong đó {_c(inc['ba_khong'])} vụ thuộc "
        f"phong trào \u201cBa không\u201d và {_c(inc['by_group']['crime'])} vụ về tội phạm."
    )
    ack, resolve = inc["time_to_acknowledge_minutes"], inc["time_to_resolve_minutes"]
    handling = (
        f"Thời gian tiếp nhận, xác nhận tin báo (trung vị) {_minutes(_c(ack['p50']))}, "
        f"90% trong {_minutes(_c(ack['p90']))}; thời gian giải quyết (trung vị) "
        f"{_minutes(_c(resolve['p50']))}. Hòa giải thành {_c(inc['mediation']['agreement'])} "
        f"vụ, không thành {_c(inc['mediation']['no_agreement'])} vụ."
    )
    group_rows = [
        [n, GROUP_NAMES[g], _c(v), _p(v), change(_c(v), _p(v))]
        for n, (g, v) in enumerate(inc["by_group"].items(), start=1)
    ]
    by_group = Table(
        columns=[
            Column("STT", Align.CENTER, 0.5),
            Column("Lĩnh vực", Align.LEFT, 3),
            Column(label.capitalize(), Align.RIGHT, 1.3),
            Column("Cùng kỳ", Align.RIGHT, 1.3),
            Column("Tăng, giảm", Align.RIGHT, 1.2),
        ],
        rows=group_rows,
        totals=["", "Tổng cộng", total_now, total_before, change(total_now, total_before)],
        caption="Bảng 1. Vụ việc về an ninh, trật tự theo lĩnh vực",
    )
    chart = BarChart(
        title="Biểu đồ 1. Vụ việc theo lĩnh vực, so với cùng kỳ",
        labels=[GROUP_NAMES[g] for g in inc["by_group"]],
        series=[
            Series(label.capitalize(), [float(_c(v)) for v in inc["by_group"].values()]),
            Series("Cùng kỳ", [float(_p(v)) for v in inc["by_group"].values()]),
        ],
        unit="vụ",
    )
    hamlet_rows = []
    for n, row in enumerate(hamlets, start=1):
        f = row.figures
        now, then = _c(f["incidents"]["total"]), _p(f["incidents"]["total"])
        hh = f["households"]
        hamlet_rows.append(
            [n, row.name, now, then, change(now, then), _c(hh["active"]), _c(hh["pledged"])]
        )
    by_hamlet = Table(
        columns=[
            Column("STT", Align.CENTER, 0.5),
            Column("Thôn, khu dân cư", Align.LEFT, 2.4),
            Column("Vụ việc", Align.RIGHT, 1),
            Column("Cùng kỳ", Align.RIGHT, 1),
            Column("Tăng, giảm", Align.RIGHT, 1.1),
            Column("Số hộ", Align.RIGHT, 0.9),
            Column("Hộ ký cam kết", Align.RIGHT, 1.2),
        ],
        rows=hamlet_rows,
        totals=[
            "",
            "Tổng cộng",
            total_now,
            total_before,
            change(total_now, total_before),
            _c(totals["households"]["active"]),
            _c(totals["households"]["pledged"]),
        ],
        caption="Bảng 2. Tình hình theo thôn, khu dân cư",
    )
    teams, alerts = totals["teams"], totals["alerts"]
    forces = (
        f"Toàn {prefix.lower()} có {_c(teams['teams'])} tổ với {_c(teams['members'])} thành viên "
        f"(cùng kỳ: {_p(teams['teams'])} tổ, {_p(teams['members'])} thành viên). Đã phát "
        f"{_c(alerts['raised'])} lượt kẻng an ninh, trong đó "
        f"{_c(alerts['by_cap_status']['Exercise'])} lượt diễn tập; thời gian phản hồi diễn tập "
        f"(trung vị) {_minutes(_c(alerts['drill_response_minutes']['p50']))}."
    )
    parent_name = None
    if parent is not None:
        parent_prefix = LEVEL_PREFIX.get(parent.kind, "")
        parent_name = f"UBND {parent_prefix} {parent.name}".strip().upper()
    issuer_parent = f"UBND {prefix} {unit.name}".upper() if unit.level != "hamlet" else parent_name
    return AdministrativeReport(
        issuer=IssuingBody(name=STEERING_BODY, parent=issuer_parent),
        symbol="BC-BCĐ",
        number=number,
        place=(parent.name if unit.level == "hamlet" and parent is not None else unit.name),
        issued_on=issued_on,
        kind="BÁO CÁO",
        title=(
            f"Tình hình an ninh, trật tự và phong trào toàn dân bảo vệ an ninh Tổ quốc "
            f"{prefix.lower()} {unit.name}, {label}"
        ),
        sections=[
            Section("I. TÌNH HÌNH CHUNG", [Paragraph(summary), Paragraph(handling)]),
            Section("II. SỐ LIỆU VỤ VIỆC", [by_group, chart]),
            Section("III. THEO THÔN, KHU DÂN CƯ", [by_hamlet]),
            Section("IV. LỰC LƯỢNG VÀ KẺNG AN NINH", [Paragraph(forces)]),
        ],
        signature=Signature(position="TRƯỞNG BAN", signer=signer or UNSIGNED),
        recipients=["UBND xã", "Công an xã", "Các thôn, khu dân cư", "Lưu: VT"],
    )


def _local_day(value: datetime | None) -> date | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # stored UTC
    return aware.astimezone(LOCAL).date()


HAMLET_COLUMNS = [
    SheetColumn("Thôn, khu dân cư", 28),
    SheetColumn("Vụ việc", total=True),
    SheetColumn("Cùng kỳ", total=True),
    *[SheetColumn(name, total=True) for name in GROUP_NAMES.values()],
    SheetColumn("Ba không", total=True),
    SheetColumn("Số hộ", total=True),
    SheetColumn("Hộ ký cam kết", total=True),
    SheetColumn("Số tổ", total=True),
    SheetColumn("Thành viên", total=True),
]


def hamlet_table(hamlets: Sequence[HamletRow]) -> list[list[Any]]:
    """One row per hamlet: incidents this period and a year earlier, by group, households,
    teams (the columns of ``HAMLET_COLUMNS``)."""
    rows = []
    for row in hamlets:
        f = row.figures
        inc = f["incidents"]
        rows.append(
            [
                row.name,
                _c(inc["total"]),
                _p(inc["total"]),
                *[_c(inc["by_group"][g]) for g in GROUP_NAMES],
                _c(inc["ba_khong"]),
                _c(f["households"]["active"]),
                _c(f["households"]["pledged"]),
                _c(f["teams"]["teams"]),
                _c(f["teams"]["members"]),
            ]
        )
    return rows


def _flatten(tree: Document, prefix: str = "") -> Iterable[tuple[str, Any, Any]]:
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and set(value) == {"current", "previous"}:
            yield name, value["current"], value["previous"]
        elif isinstance(value, dict):
            yield from _flatten(value, f"{name}.")


def workbook(
    unit: Unit, period: Period, totals: Document, hamlets: Sequence[HamletRow],
    incidents: list[Document],
) -> list[Sheet]:  # fmt: skip
    """The sheets of a unit's period: by hamlet (with totals), every figure, every incident."""
    before = previous_year(period)
    figures = [
        (name, current, previous) for name, current, previous in _flatten(totals)
    ]  # fmt: skip
    return [
        Sheet("Theo thôn", HAMLET_COLUMNS, hamlet_table(hamlets), totals_label="Tổng cộng"),
        Sheet(
            "Chỉ số",
            [
                SheetColumn("Chỉ số", 48),
                SheetColumn(period.label_vi, 18),
                SheetColumn(before.label_vi, 18),
            ],
            figures,
        ),
        Sheet(
            "Vụ việc",
            [
                SheetColumn("Mã", 38),
                SheetColumn("Thôn", 20),
                SheetColumn("Loại", 30),
                SheetColumn("Lĩnh vực", 22),
                SheetColumn("Mức độ", 14),
                SheetColumn("Trạng thái", 16),
                SheetColumn("Ngày xảy ra", 12),
                SheetColumn("Ngày xác nhận", 12),
                SheetColumn("Ngày giải quyết", 12),
            ],
            (
                [
                    i["_id"],
                    i["hamlet_name"],
                    i.get("category_name") or i.get("category", ""),
                    GROUP_NAMES.get(i.get("group", ""), i.get("group", "")),
                    SEVERITY_NAMES.get(i.get("severity", ""), i.get("severity", "")),
                    STATUS_NAMES.get(i.get("status", ""), i.get("status", "")),
                    _local_day(i.get("occurred_at")),
                    _local_day(i.get("acknowledged_at")),
                    _local_day(i.get("resolved_at")),
                ]
                for i in incidents
            ),
        ),
    ]


OUTCOME_NAMES = {"met": "Đạt", "not_met": "Không đạt", "pending": "Chưa xác định"}
EVALUATION_STATUS_NAMES = {
    "draft": "Đang đánh giá (dự thảo)",
    "proposed": "Thôn đã đề nghị công nhận",
    "recognised": "Đã công nhận",
    "refused": "Không công nhận",
}
EVIDENCE_NAMES = {
    "incident": "vụ việc",
    "household": "hộ",
    "enrolment": "đăng ký",
    "team": "tổ",
}


def _evidence_line(check_label: str, evidence: Sequence[Any]) -> str:
    parts = []
    for item in evidence:
        what = EVIDENCE_NAMES.get(item.kind, item.kind)
        listed = ", ".join(item.ids[:10])
        more = f" và {item.count - 10} khác" if item.count > 10 else ""
        note = f" ({item.note.vi})" if item.note is not None else ""
        parts.append(
            f"{item.count} {what}{note}: {listed}{more}" if listed else f"{item.count} {what}{note}"
        )
    return f"{check_label}: " + "; ".join(parts)


def evaluation_report(
    evaluation: Any,
    ruleset: Any,
    hamlet: Unit,
    commune: Unit | None,
    figures: Document | None,
    *,
    issued_on: date,
    number: int | None,
    signer: str | None,
) -> AdministrativeReport:
    """A hamlet's yearly evaluation: every criterion and check, the evidence, the decision,
    and (given ``figures`` of the evaluation year) incidents by group beside the year before."""
    labels = {c.id: c.label.vi for crit in ruleset.criteria for c in crit.checks}
    titles = {crit.code: crit.title.vi for crit in ruleset.criteria}
    references = {
        crit.code: f"Điều {crit.reference.article}"
        + (f" khoản {crit.reference.clause}" if crit.reference.clause else "")
        for crit in ruleset.criteria
    }
    year = evaluation.year
    first, last = evaluation.first_day, evaluation.last_day
    status_text = EVALUATION_STATUS_NAMES.get(evaluation.status, evaluation.status)
    general = [
        Paragraph(
            f"Thôn {hamlet.name} được đánh giá theo bộ tiêu chí {evaluation.ruleset_id} "
            f"(phiên bản {evaluation.ruleset_version}) cho năm đánh giá {year}, từ ngày "
            f"{first.strftime('%d/%m/%Y')} đến ngày {last.strftime('%d/%m/%Y')}. "
            f"Tình trạng: {status_text}."
        )
    ]
    decision = evaluation.decision
    if decision is not None:
        verb = "công nhận" if evaluation.status == "recognised" else "không công nhận"
        text = (
            f"Quyết định số {decision.document_number} ngày {decision.date.strftime('%d/%m/%Y')} "
            f"({decision.signer_position}) {verb} thôn đạt tiêu chuẩn \u201cAn toàn về an ninh, "
            f"trật tự\u201d năm {year}."
        )
        if decision.reason:
            text += f" Lý do: {decision.reason}"
        general.append(Paragraph(text))
    rows = []
    for criterion in evaluation.results:
        for n, judged in enumerate(criterion.checks):
            rows.append(
                [
                    f"{criterion.code} ({references.get(criterion.code, '')})" if n == 0 else "",
                    labels.get(judged.check_id, judged.check_id),
                    OUTCOME_NAMES.get(judged.result.outcome, judged.result.outcome),
                    judged.result.measured.vi,
                    judged.result.threshold.vi,
                ]
            )
    table = Table(
        columns=[
            Column("Tiêu chí", Align.LEFT, 1.1),
            Column("Nội dung kiểm tra", Align.LEFT, 2.6),
            Column("Kết quả", Align.CENTER, 1),
            Column("Số liệu", Align.LEFT, 1.6),
            Column("Yêu cầu", Align.LEFT, 1.6),
        ],
        rows=rows,
        caption="Bảng 2. Kết quả đánh giá theo từng tiêu chí",
    )
    summary_rows = [
        [c.code, titles.get(c.code, c.code), OUTCOME_NAMES.get(c.outcome, c.outcome)]
        for c in evaluation.results
    ]
    summary = Table(
        columns=[
            Column("Tiêu chí", Align.CENTER, 0.8),
            Column("Nội dung", Align.LEFT, 4),
            Column("Kết quả", Align.CENTER, 1.2),
        ],
        rows=summary_rows,
        caption="Bảng 1. Tổng hợp theo tiêu chí",
    )
    evidence = [
        Paragraph(_evidence_line(labels.get(j.check_id, j.check_id), j.result.evidence))
        for c in evaluation.results
        for j in c.checks
        if j.result.outcome != "met" and j.result.evidence
    ] or [Paragraph("Không có vụ việc, hộ gia đình hay tổ nào làm một tiêu chí không đạt.")]
    sections = [
        Section("I. THÔNG TIN CHUNG", general),
        Section("II. KẾT QUẢ ĐÁNH GIÁ", [summary, table]),
        Section("III. MINH CHỨNG", evidence),
    ]
    if figures is not None:
        groups = figures["incidents"]["by_group"]
        sections.append(
            Section(
                "IV. TÌNH HÌNH VỤ VIỆC SO VỚI NĂM TRƯỚC",
                [
                    BarChart(
                        title=f"Biểu đồ 1. Vụ việc theo lĩnh vực, năm {year} và năm {year - 1}",
                        labels=[GROUP_NAMES[g] for g in groups],
                        series=[
                            Series(f"Năm {year}", [float(_c(v)) for v in groups.values()]),
                            Series(f"Năm {year - 1}", [float(_p(v)) for v in groups.values()]),
                        ],
                        unit="vụ",
                    )
                ],
            )
        )
    place = commune.name if commune is not None else hamlet.name
    parent = f"UBND XÃ {commune.name}".upper() if commune is not None else None
    return AdministrativeReport(
        issuer=IssuingBody(name=STEERING_BODY, parent=parent),
        symbol="BC-BCĐ",
        number=number,
        place=place,
        issued_on=issued_on,
        kind="BÁO CÁO",
        title=(
            f"Kết quả đánh giá thôn {hamlet.name} đạt tiêu chuẩn \u201cAn toàn về an ninh, "
            f"trật tự\u201d năm {year}"
        ),
        sections=sections,
        signature=Signature(position="TRƯỞNG BAN", signer=signer or UNSIGNED),
        recipients=[f"Thôn {hamlet.name}", "Công an xã", "Lưu: VT"],
    )
