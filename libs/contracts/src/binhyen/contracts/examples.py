"""One realistic example of every event type, for the AsyncAPI document.

The Kỳ Nam demo world (Hà Tĩnh → thị xã Kỳ Anh → xã Kỳ Nam → thôn Tân Thành, thôn Quý Huệ).
Every person, household, phone and address is invented. Ids are UUIDs derived from a
name, so the generated document stays the same from run to run.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from binhyen.contracts.envelope import EventData, Sequenced
from binhyen.contracts.events.accounts import AccountDeactivated
from binhyen.contracts.events.enrolments import EnrolmentWithdrawn, HamletEnrolled
from binhyen.contracts.events.households import (
    HouseholdDissolved,
    HouseholdMoved,
    HouseholdPledged,
    HouseholdRegistered,
    HouseholdUpdated,
    PledgeState,
)
from binhyen.contracts.events.incidents import (
    AssigneeRef,
    CategoryDefined,
    DeadlineMissed,
    GeoPoint,
    HandoffRecord,
    IncidentHandedToPolice,
    IncidentNoted,
    IncidentReported,
    IncidentSnapshot,
    IncidentTransitioned,
    MediationConcluded,
    MediationSessionRecorded,
    MessageAdded,
    PoliceReceiptAcknowledged,
    PublicIncident,
    ReporterUnmasked,
)
from binhyen.contracts.events.notifications import (
    AlertAcknowledged,
    AlertClosed,
    AlertEscalated,
    AlertInfo,
    AlertRaised,
    AlertReminded,
    AlertState,
    DeliveryChanged,
    PublicAlert,
    Reach,
)
from binhyen.contracts.events.organisations import (
    MemberState,
    OrganisationChanged,
    OrganisationRegistered,
    ShiftState,
)
from binhyen.contracts.events.people import (
    PersonEnded,
    PersonMoved,
    PersonRegistered,
    PersonUpdated,
)
from binhyen.contracts.events.public import PublicTeam, PublicUnit, PublicUnitCounts
from binhyen.contracts.events.reporting import (
    CriterionCheck,
    EvaluationCriterion,
    EvaluationDecision,
    EvaluationOpened,
    EvaluationProposed,
    EvaluationRecognised,
    EvaluationRefused,
    EvaluationReopened,
    EvaluationRuleset,
    EvaluationState,
    HotspotSuggested,
    HotspotSuggestion,
    HotspotWithdrawn,
    PublicStatistics,
    StatisticsCell,
    StatisticsCount,
    StatisticsPeriod,
)
from binhyen.contracts.events.tasks import TaskAssigned, TaskUpdated
from binhyen.contracts.events.units import (
    UnitDissolved,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
)
from binhyen.contracts.units import UnitKind, UnitLevel

_NAMESPACE = uuid.UUID("6f1c2b1e-3d4a-5b6c-8d7e-9f0a1b2c3d4e")


def example_id(name: str) -> str:
    """A stable UUID for a named thing of the examples."""
    return str(uuid.uuid5(_NAMESPACE, name))


def _at(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Example(NamedTuple):
    """An event payload and the envelope attributes it travels with."""

    data: EventData
    time: datetime
    sequence: int


HA_TINH = example_id("unit:ha-tinh")
KY_ANH = example_id("unit:ky-anh")
KY_NAM = example_id("unit:ky-nam")
TAN_THANH = example_id("unit:tan-thanh")
QUY_HUE = example_id("unit:quy-hue")
XOM_BAC = example_id("unit:xom-bac")
TAN_THANH_PATH = [HA_TINH, KY_ANH, KY_NAM, TAN_THANH]

HOUSEHOLD = example_id("household:tan-thanh-12")
HEAD = example_id("person:head-tan-thanh-12")
RESIDENT = example_id("person:resident-tan-thanh-12")
HAMLET_OFFICER = example_id("user:tan-thanh")
COMMUNE_OFFICER = example_id("user:ky-nam")
COMMUNE_POLICE = example_id("user:cong-an-ky-nam")
TEAM = example_id("organisation:an-ninh-tan-thanh")
TEAM_LEADER = example_id("person:leader-an-ninh-tan-thanh")
TEAM_DEPUTY = example_id("person:deputy-an-ninh-tan-thanh")
TEAM_MEMBER = example_id("person:member-an-ninh-tan-thanh")
INCIDENT = example_id("incident:theft-1")
DISPUTE = example_id("incident:land-1")

_PLEDGE = PledgeState(
    year=2026,
    signed_on=date(2026, 2, 20),
    collected_by=HAMLET_OFFICER,
    commitments=["no_drugs", "no_gambling", "no_traffic_violations"],
)
_HOUSEHOLD: dict[str, Any] = {
    "household_id": HOUSEHOLD,
    "unit_id": TAN_THANH,
    "address": "Số 12, đường liên thôn, thôn Tân Thành, xã Kỳ Nam",
    "head_person_id": HEAD,
    "registration_code": "HK-KN-000123",
    "status": "active",
    "pledges": [],
    "registered_on": date(2026, 1, 6),
    "version": 1,
}
_PERSON: dict[str, Any] = {
    "person_id": RESIDENT,
    "unit_id": TAN_THANH,
    "household_id": HOUSEHOLD,
    "full_name": "Nguyễn Thị Hoa",
    "birth_year": 1986,
    "phones": ["+84900000001"],
    "preferred_language": "vi",
    "alert_channels": ["sms", "voice"],
    "alert_consent": True,
    "consent_at": _at(6, 3, 5, month=1),
    "status": "active",
    "version": 1,
}
_TEAM: dict[str, Any] = {
    "organisation_id": TEAM,
    "unit_id": TAN_THANH,
    "unit_path": TAN_THANH_PATH,
    "category": "team",
    "kind": "people_security",
    "name": "Tổ bảo vệ an ninh, trật tự thôn Tân Thành",
    "status": "active",
    "valid_from": date(2024, 7, 1),
    "members": [
        MemberState(
            membership_id=example_id("membership:leader"),
            person_id=TEAM_LEADER,
            role="leader",
            valid_from=date(2024, 7, 1),
        ),
        MemberState(
            membership_id=example_id("membership:deputy"),
            person_id=TEAM_DEPUTY,
            role="deputy",
            valid_from=date(2024, 7, 1),
        ),
    ],
    "contact_roster": [TEAM_LEADER, TEAM_DEPUTY],
    "version": 1,
}
_TASK: dict[str, Any] = {
    "task_id": example_id("task:patrol-tet"),
    "plan_id": example_id("plan:ky-nam-2026"),
    "plan_year": 2026,
    "plan_title": "Kế hoạch xây dựng khu dân cư an toàn về an ninh, trật tự năm 2026",
    "commune_id": KY_NAM,
    "organisation_id": TEAM,
    "organisation_unit_id": TAN_THANH,
    "organisation_unit_path": list(TAN_THANH_PATH),
    "title": "Tuần tra ban đêm dịp Tết Nguyên đán",
    "description": "Hai ca mỗi đêm, từ 22 giờ đến 5 giờ sáng, tập trung các ngõ vắng.",
    "due_date": date(2026, 2, 28),
    "status": "todo",
    "version": 1,
}
_THEFT_REPORTER = "reporter-9c41d7a02be36f5184c0"  # pseudonymous: never an account id
_THEFT = IncidentSnapshot(
    incident_id=INCIDENT,
    hamlet_id=TAN_THANH,
    unit_path=TAN_THANH_PATH,
    category="theft",
    category_version=1,
    group="crime",
    ba_khong=False,
    severity="medium",
    status="reported",
    description="Mất trộm xe máy Honda Wave trước cổng nhà",
    occurred_at=_at(13, 20, 15),
    reported_at=_at(13, 23, 40),
    location=GeoPoint(lon=106.2917, lat=18.0455),
    answers={"stolen_items": "xe máy", "estimated_value_vnd": 12_000_000},
    reporter_kind="anonymous",
    reporter_ref=_THEFT_REPORTER,
    version=1,
)
_ASSIGNED = _THEFT.model_copy(
    update={
        "status": "assigned",
        "assignee": AssigneeRef(kind="team", id=TEAM),
        "version": 3,
    }
)
_ESCALATED = _THEFT.model_copy(update={"status": "escalated", "version": 5})
_DISPUTE = IncidentSnapshot(
    incident_id=DISPUTE,
    hamlet_id=TAN_THANH,
    unit_path=TAN_THANH_PATH,
    category="land_dispute",
    category_version=1,
    group="dispute",
    ba_khong=False,
    severity="low",
    status="in_progress",
    description="Tranh chấp ranh giới đất vườn giữa hai hộ liền kề",
    occurred_at=_at(5, 2),
    reported_at=_at(5, 3, 10),
    answers={"parties": 2, "area_m2": 35.5},
    reporter_kind="user",
    reporter_ref="reporter-5b0e92c4a7d13f6e8a21",
    assignee=AssigneeRef(kind="team", id=example_id("organisation:hoa-giai-tan-thanh")),
    version=4,
)
_HANDOFF = HandoffRecord(
    handed_at=_at(15, 2, 30),
    handed_by=COMMUNE_OFFICER,
    to_unit_id=KY_NAM,
    to_name="Công an xã Kỳ Nam",
    summary="Trộm cắp xe máy; có hình ảnh camera của hộ bên cạnh.",
    items=["Biên bản ghi nhận sự việc", "Ảnh chụp từ camera"],
)


def examples() -> dict[str, Example]:
    """One example per event type, keyed by CloudEvents type."""
    samples: list[Example] = [
        *_unit_examples(),
        *_household_examples(),
        *_person_examples(),
        *_registry_examples(),
        *_incident_examples(),
        *_public_examples(),
        *_notification_examples(),
        *_reporting_examples(),
    ]
    return {sample.data.event_type: sample for sample in samples}


def _unit_examples() -> list[Example]:
    hamlet: dict[str, Any] = {
        "unit_id": TAN_THANH,
        "kind": UnitKind.HAMLET,
        "level": UnitLevel.HAMLET,
        "name": "Tân Thành",
        "parent_id": KY_NAM,
        "ancestor_ids": [HA_TINH, KY_ANH, KY_NAM],
        "valid_from": date(2020, 9, 9),
        "changed_on": date(2020, 9, 9),
    }
    return [
        Example(UnitRegistered(**hamlet, version=1), _at(5, 2, month=1), 1),
        Example(
            UnitRenamed(
                **(
                    hamlet | {"unit_id": QUY_HUE, "name": "Quý Huệ", "changed_on": date(2021, 1, 1)}
                ),
                version=2,
                previous_name="Thôn 5",
            ),
            _at(5, 2, 10, month=1),
            2,
        ),
        Example(
            UnitMoved(
                unit_id=KY_NAM,
                kind=UnitKind.COMMUNE,
                level=UnitLevel.COMMUNE,
                name="Kỳ Nam",
                parent_id=HA_TINH,
                ancestor_ids=[HA_TINH],
                valid_from=date(2015, 4, 10),
                version=3,
                changed_on=date(2025, 7, 1),
                previous_parent_id=KY_ANH,
                because_of=KY_ANH,
            ),
            _at(1, 0, 30, month=7, year=2025),
            3,
        ),
        Example(
            UnitMerged(
                unit_id=XOM_BAC,
                kind=UnitKind.VILLAGE,
                level=UnitLevel.HAMLET,
                name="Xóm Bắc",
                parent_id=KY_NAM,
                ancestor_ids=[HA_TINH, KY_ANH, KY_NAM],
                valid_from=date(2001, 1, 1),
                version=4,
                status="merged",
                successor_id=TAN_THANH,
                valid_to=date(2020, 9, 9),
                changed_on=date(2020, 9, 9),
            ),
            _at(5, 2, 5, month=1),
            4,
        ),
        Example(
            UnitDissolved(
                unit_id=KY_ANH,
                kind=UnitKind.TOWN,
                level=UnitLevel.DISTRICT,
                name="Kỳ Anh",
                parent_id=HA_TINH,
                ancestor_ids=[HA_TINH],
                valid_from=date(2015, 4, 10),
                version=2,
                status="dissolved",
                valid_to=date(2025, 7, 1),
                changed_on=date(2025, 7, 1),
            ),
            _at(1, 0, 20, month=7, year=2025),
            2,
        ),
    ]


def _household_examples() -> list[Example]:
    pledged = _HOUSEHOLD | {"pledges": [_PLEDGE]}
    return [
        Example(HouseholdRegistered(**_HOUSEHOLD), _at(6, 3, month=1), 1),
        Example(
            HouseholdUpdated(**(pledged | {"registration_code": "HK-KN-000124", "version": 3})),
            _at(25, 8, month=2),
            3,
        ),
        Example(
            HouseholdMoved(
                **(
                    pledged
                    | {"unit_id": QUY_HUE, "address": "Số 7, thôn Quý Huệ, xã Kỳ Nam", "version": 4}
                ),
                previous_unit_id=TAN_THANH,
            ),
            _at(2, 1, 40),
            4,
        ),
        Example(HouseholdPledged(**(pledged | {"version": 2}), year=2026), _at(20, 9, month=2), 2),
        Example(
            HouseholdDissolved(
                **(
                    pledged
                    | {"status": "dissolved", "dissolved_on": date(2026, 3, 10), "version": 5}
                )
            ),
            _at(10, 2),
            5,
        ),
    ]


def _person_examples() -> list[Example]:
    return [
        Example(PersonRegistered(**_PERSON), _at(6, 3, 5, month=1), 1),
        Example(
            PersonUpdated(**(_PERSON | {"phones": ["+84900000001", "+84900000002"], "version": 2})),
            _at(2, 1, 30),
            2,
        ),
        Example(
            PersonMoved(
                **(
                    _PERSON
                    | {"household_id": example_id("household:quy-hue-7"), "unit_id": QUY_HUE}
                    | {"version": 3}
                ),
                previous_household_id=HOUSEHOLD,
                previous_unit_id=TAN_THANH,
            ),
            _at(2, 1, 40),
            3,
        ),
        Example(PersonEnded(**(_PERSON | {"status": "moved_out", "version": 4})), _at(10, 2), 4),
    ]


def _registry_examples() -> list[Example]:
    enrolment: dict[str, Any] = {
        "enrolment_id": f"{TAN_THANH}:2026",
        "unit_id": TAN_THANH,
        "year": 2026,
        "resolution_date": date(2026, 1, 15),
        "registered_on": date(2026, 1, 20),
        "resolution_in_first_quarter": True,
    }
    shift = ShiftState(
        shift_id=example_id("shift:2026-03-14-night"),
        starts_at=_at(14, 15),
        ends_at=_at(14, 22),
        person_ids=[TEAM_LEADER, TEAM_MEMBER],
        note="Ca đêm, tuần tra khu vực chợ và trường học",
    )
    joined = MemberState(
        membership_id=example_id("membership:member"),
        person_id=TEAM_MEMBER,
        role="member",
        valid_from=date(2026, 3, 1),
        contact_order=3,
    )
    return [
        Example(
            HamletEnrolled(**enrolment, status="registered", version=1), _at(20, 2, month=1), 1
        ),
        Example(EnrolmentWithdrawn(**enrolment, status="withdrawn", version=2), _at(5, 2), 2),
        Example(OrganisationRegistered(**_TEAM), _at(6, 4, month=1), 1),
        Example(
            OrganisationChanged(
                **(
                    _TEAM
                    | {
                        "members": [*_TEAM["members"], joined],
                        "contact_roster": [TEAM_LEADER, TEAM_DEPUTY, TEAM_MEMBER],
                        "shifts": [shift],
                        "version": 3,
                    }
                ),
                change="member_added",
            ),
            _at(1, 2),
            3,
        ),
        Example(
            AccountDeactivated(
                account_id=example_id("user:left-the-team"), active=False, changed_at=_at(3, 8)
            ),
            _at(3, 8),
            1,
        ),
        Example(TaskAssigned(**_TASK), _at(25, 2, month=1), 1),
        Example(
            TaskUpdated(
                **(
                    _TASK
                    | {"status": "done", "completed_at": _at(27, 0, 20, month=2), "version": 3}
                ),
                changes=["status"],
            ),
            _at(27, 0, 20, month=2),
            3,
        ),
    ]


def _incident_examples() -> list[Example]:
    # The envelope's sequence counts every event the incident sent, on any of its topics.
    receipt = _HANDOFF.model_copy(
        update={
            "to_officer": "Đại úy Trần Văn Minh",
            "case_reference": "KN-2026-0042",
            "received_at": _at(15, 4),
            "received_by": COMMUNE_POLICE,
        }
    )
    concluded = _DISPUTE.model_copy(
        update={
            "status": "resolved",
            "resolution": "Hai hộ thống nhất cắm mốc lại ranh giới theo bản đồ địa chính.",
            "version": 6,
        }
    )
    return [
        Example(
            IncidentReported(incident=_THEFT, actor=_THEFT_REPORTER, at=_at(13, 23, 40), seq=1),
            _at(13, 23, 40),
            1,
        ),
        Example(
            IncidentTransitioned(
                incident=_ASSIGNED,
                actor=HAMLET_OFFICER,
                at=_at(14, 0, 30),
                seq=3,
                action="assign",
                from_status="acknowledged",
                to_status="assigned",
                details={"assignee": {"kind": "team", "id": TEAM}},
            ),
            _at(14, 0, 30),
            5,
        ),
        Example(
            MediationSessionRecorded(
                incident=_DISPUTE,
                actor=HAMLET_OFFICER,
                at=_at(8, 9),
                seq=4,
                session_id=example_id("mediation:land-1-1"),
                held_at=_at(8, 7, 30),
                outcome="adjourned",
                mediator_count=3,
            ),
            _at(8, 9),
            7,
        ),
        Example(
            MediationConcluded(
                incident=concluded,
                actor=HAMLET_OFFICER,
                at=_at(12, 8),
                seq=6,
                outcome="agreement",
                sessions=2,
            ),
            _at(12, 8),
            11,
        ),
        Example(
            DeadlineMissed(
                incident=_THEFT,
                actor="scheduler",
                at=_at(14, 23, 45),
                seq=1,
                deadline="acknowledge",
                due=_at(14, 23, 40),
            ),
            _at(14, 23, 45),
            3,
        ),
        Example(
            ReporterUnmasked(
                incident=_ESCALATED,
                actor=COMMUNE_POLICE,
                at=_at(15, 3, 10),
                seq=6,
                reason="Công an xã cần lấy lời khai người báo tin theo quy định.",
            ),
            _at(15, 3, 10),
            12,
        ),
        Example(
            MessageAdded(
                incident=_ASSIGNED, actor=HAMLET_OFFICER, at=_at(14, 1), seq=4, author="staff"
            ),
            _at(14, 1),
            7,
        ),
        Example(
            IncidentNoted(
                incident=_ESCALATED,
                actor=COMMUNE_POLICE,
                at=_at(15, 4),
                seq=7,
                kind="escalation_received",
                details={"case_reference": "KN-2026-0042"},
            ),
            _at(15, 4),
            13,
        ),
        Example(IncidentHandedToPolice(incident=_ESCALATED, handoff=_HANDOFF), _at(15, 2, 30), 11),
        Example(PoliceReceiptAcknowledged(incident=_ESCALATED, handoff=receipt), _at(15, 4), 14),
    ]


def _public_examples() -> list[Example]:
    samples: list[tuple[Sequenced, datetime]] = [
        (
            PublicUnit(
                unit_id=TAN_THANH,
                kind=UnitKind.HAMLET,
                level=UnitLevel.HAMLET,
                name="Tân Thành",
                parent_id=KY_NAM,
                ancestor_ids=[HA_TINH, KY_ANH, KY_NAM],
                status="active",
                valid_from=date(2020, 9, 9),
                version=2,
                sequence=2,
            ),
            _at(5, 2, 10, month=1),
        ),
        (
            PublicTeam(
                team_id=TEAM,
                unit_id=TAN_THANH,
                kind="people_security",
                name="Tổ bảo vệ an ninh, trật tự thôn Tân Thành",
                member_count=3,
                active=True,
                version=3,
                sequence=3,
            ),
            _at(1, 2),
        ),
        (
            PublicUnitCounts(
                unit_id=KY_NAM,
                computed_at=_at(14, 0),
                year=2026,
                households=300,
                households_pledged=287,
                residents=1142,
                teams=8,
                team_members=61,
                sequence=41,
            ),
            _at(14, 0),
        ),
        (
            PublicIncident(
                incident_id=INCIDENT,
                hamlet_id=TAN_THANH,
                category="theft",
                severity="medium",
                status="assigned",
                occurred_at=_at(13, 20),
                status_at=_at(14, 0, 30),
                sequence=6,
            ),
            _at(14, 0, 30),
        ),
    ]
    samples.append(
        (
            CategoryDefined(
                code="theft",
                name_vi="Trộm cắp tài sản",
                name_en="Theft",
                group="crime",
                ba_khong=False,
                default_severity="medium",
                active=True,
                version=2,
                sequence=2,
            ),
            _at(2, 9, month=1),
        )
    )
    # Public payloads repeat the envelope's sequence number in data.
    return [Example(data, time, data.sequence or 1) for data, time in samples]


ALERT = example_id("alert:theft-1")
_ALERT_INFO = AlertInfo(
    language="vi-VN",
    category="Security",
    event="Trộm cắp tài sản",
    urgency="Immediate",
    severity="Moderate",
    certainty="Observed",
    headline="Trộm cắp tài sản tại thôn Tân Thành",
    description="Báo tin lúc 23:40 ngày 13/03/2026: trộm cắp tài sản tại thôn Tân Thành.",
    instruction="Tổ an ninh thôn kiểm tra hiện trường; bà con khóa cửa, giữ xe trong nhà.",
    expires=_at(14, 23, 40),
    area_desc="Thôn Tân Thành, xã Kỳ Nam",
)
_ALERT = {
    "alert_id": ALERT,
    "trigger": "incident_reported",
    "incident_id": INCIDENT,
    "hamlet_ids": [TAN_THANH],
    "policy_id": example_id("policy:tan-thanh-security"),
    "policy_version": 2,
    "cap_status": "Actual",
    "msg_type": "Alert",
    "infos": [
        _ALERT_INFO,
        _ALERT_INFO.model_copy(
            update={
                "language": "en-US",
                "event": "Theft",
                "headline": "Theft in Tân Thành hamlet",
                "description": "Reported 23:40, 13/03/2026: theft in Tân Thành hamlet.",
                "instruction": "The hamlet's security team checks the scene; lock your doors.",
                "area_desc": "Tân Thành hamlet, Kỳ Nam commune",
            }
        ),
    ],
    "sent_at": _at(13, 23, 40),
}


def _alert(kind: type[AlertState], at: datetime, version: int, **changes: object) -> Example:
    fields: dict[str, object] = {
        "status": "active",
        "step": 0,
        "round": 0,
        "reach": Reach(recipients=4, households=0, delivered=0, acknowledged=0),
        **_ALERT,
        **changes,
        "version": version,
    }
    return Example(kind.model_validate(fields), at, version)


def _notification_examples() -> list[Example]:
    acked = Reach(
        recipients=7, households=0, delivered=6, acknowledged=1, first_ack_at=_at(13, 23, 49)
    )
    return [
        _alert(AlertRaised, _at(13, 23, 40), 1),
        _alert(
            AlertEscalated,
            _at(13, 23, 45),
            2,
            step=1,
            reach=Reach(recipients=7, households=0, delivered=4, acknowledged=0),
        ),
        _alert(AlertAcknowledged, _at(13, 23, 49), 3, status="acknowledged", step=1, reach=acked),
        _alert(AlertReminded, _at(14, 1, 49), 4, status="acknowledged", step=1, reach=acked),
        _alert(
            AlertClosed,
            _at(14, 9, 0),
            5,
            status="closed",
            step=1,
            reach=acked,
            closed_reason="incident_resolved",
        ),
        Example(
            DeliveryChanged(
                delivery_id=example_id("delivery:theft-1:leader:sms"),
                alert_id=ALERT,
                cap_status="Actual",
                hamlet_id=TAN_THANH,
                recipient_kind="resident",
                recipient_id=TEAM_LEADER,
                household_id=None,
                channel="sms",
                status="delivered",
                attempts=1,
                at=_at(13, 23, 40),
                version=3,
            ),
            _at(13, 23, 40),
            3,
        ),
        Example(
            PublicAlert(
                identifier=f"urn:uuid:{ALERT}",
                sender="binhyen@ky-nam.ha-tinh.gov.vn",
                sent=_at(13, 23, 40),
                status="Actual",
                msg_type="Alert",
                hamlet_ids=[TAN_THANH],
                infos=_ALERT["infos"],
                active=True,
                sequence=1,
            ),
            _at(13, 23, 40),
            1,
        ),
    ]


_RULESET = EvaluationRuleset(
    id="circular-124-2021",
    version=1,
    fingerprint="3f5c0a9e51d27b48c6e1f0a2b93d7c84e5a61f0b2c7d9e3a4b8f1c6d0e2a7b59",
)
_CHECKS: dict[str, list[tuple[str, str]]] = {
    "C1": [
        ("c1_party_cell_resolution", "attested"),
        ("c1_enrolment_registered", "computed"),
        ("c1_households_registered", "computed"),
    ],
    "C2": [("c2_law_implemented", "attested")],
    "C3": [("c3_no_listed_events", "attested"), ("c3_no_prolonged_disputes", "computed")],
    "C4": [
        ("c4_fewer_incidents", "computed"),
        ("c4_no_serious_crime", "computed"),
        ("c4_no_drug_hotspot", "computed"),
        ("c4_no_gambling_hotspot", "computed"),
    ],
    "C5": [
        ("c5_security_team_active", "computed"),
        ("c5_mediation_team_active", "computed"),
        ("c5_self_management_models", "attested"),
    ],
}


def _criteria(outcomes: dict[str, str]) -> list[EvaluationCriterion]:
    """Every criterion of the rule set; a check not in ``outcomes`` is met."""
    criteria = []
    for code, checks in _CHECKS.items():
        results = [
            CriterionCheck.model_validate(
                {"check_id": check, "kind": kind, "outcome": outcomes.get(check, "met")}
            )
            for check, kind in checks
        ]
        found = {r.outcome for r in results}
        met = False if "not_met" in found else None if "pending" in found else True
        criteria.append(EvaluationCriterion(code=code, met=met, checks=results))
    return criteria


def _evaluation(
    kind: type[EvaluationState],
    at: datetime,
    version: int,
    *,
    criteria: list[EvaluationCriterion] | None = None,
    **changes: object,
) -> Example:
    criteria = criteria or _criteria({})
    verdicts = {c.met for c in criteria}
    fields: dict[str, object] = {
        "evaluation_id": f"{TAN_THANH}:2026",
        "hamlet_id": TAN_THANH,
        "unit_path": TAN_THANH_PATH,
        "evaluation_year": 2026,
        "ruleset": _RULESET,
        "criteria": criteria,
        "met": False if False in verdicts else None if None in verdicts else True,
        **changes,
        "version": version,
    }
    return Example(kind.model_validate(fields), at, version)


def _reporting_examples() -> list[Example]:
    pending = _criteria({"c2_law_implemented": "pending", "c5_self_management_models": "pending"})
    unmet = _criteria({"c4_fewer_incidents": "not_met"})
    decision = EvaluationDecision(
        document_number="215/QĐ-UBND",
        decided_on=date(2026, 11, 20),
        signer_position="Chủ tịch Ủy ban nhân dân xã Kỳ Nam",
    )
    hotspot = [INCIDENT, example_id("incident:theft-2"), example_id("incident:theft-3")]
    return [
        _evaluation(EvaluationOpened, _at(3, 8, month=11), 1, status="draft", criteria=pending),
        _evaluation(EvaluationProposed, _at(10, 9, month=11), 3, status="proposed"),
        _evaluation(
            EvaluationRecognised,
            _at(20, 9, month=11),
            4,
            status="recognised",
            decision=decision,
        ),
        _evaluation(
            EvaluationRefused,
            _at(20, 9, month=11),
            4,
            status="refused",
            criteria=unmet,
            reason="Số vụ trộm cắp tăng so với năm trước; chưa đủ điều kiện công nhận.",
        ),
        _evaluation(EvaluationReopened, _at(24, 8, month=11), 5, status="draft", criteria=unmet),
        Example(
            HotspotSuggested(
                hotspot_id=f"{TAN_THANH}:theft:{hotspot[2]}",
                hamlet_id=TAN_THANH,
                unit_path=TAN_THANH_PATH,
                category="theft",
                group="crime",
                window_days=30,
                min_incidents=3,
                first_at=_at(13, 20, 15),
                last_at=_at(27, 22, 5),
                incident_ids=hotspot,
                count=3,
                suggestion=HotspotSuggestion(
                    vi=(
                        "3 vụ trộm cắp tài sản tại thôn Tân Thành trong 30 ngày: đề nghị lập "
                        "nhiệm vụ phòng ngừa trong kế hoạch của xã."
                    ),
                    en=(
                        "3 thefts in Tân Thành hamlet within 30 days: consider a preventive "
                        "task in the commune's plan."
                    ),
                ),
                version=1,
            ),
            _at(27, 22, 10),
            1,
        ),
        Example(
            HotspotWithdrawn(
                hotspot_id=f"{TAN_THANH}:theft:{hotspot[2]}",
                hamlet_id=TAN_THANH,
                unit_path=TAN_THANH_PATH,
                category="theft",
                group="crime",
                version=2,
            ),
            _at(29, 9, 0),
            2,
        ),
        Example(
            PublicStatistics(
                unit_id=KY_NAM,
                unit_path=TAN_THANH_PATH[:3],
                period=StatisticsPeriod(
                    key="2026-Q1",
                    kind="quarter",
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 3, 31),
                ),
                cells=[
                    StatisticsCell(group="crime", category=None, count=7, suppressed=False),
                    StatisticsCell(group="crime", category="theft", count=None, suppressed=True),
                    StatisticsCell(group="crime", category="assault", count=None, suppressed=True),
                    StatisticsCell(group="dispute", category=None, count=4, suppressed=False),
                    StatisticsCell(
                        group="dispute", category="land_dispute", count=4, suppressed=False
                    ),
                    StatisticsCell(group="fire", category=None, count=0, suppressed=False),
                    StatisticsCell(group="fire", category="house_fire", count=0, suppressed=False),
                ],
                total=StatisticsCount(count=11, suppressed=False),
                published_at=_at(1, 0, 5, month=4),
                sequence=3,
            ),
            _at(1, 0, 5, month=4),
            3,
        ),
    ]
