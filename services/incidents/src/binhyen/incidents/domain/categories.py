"""The category catalogue: what can be reported, and the questions each category asks.

Like an Open311 service definition, a category declares typed extra questions;
intake validates the answers against them. Categories are versioned: an edit makes
a new version, and each incident records the version it was filed under.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from binhyen.kit.text import CONTROL_MESSAGE, has_controls

Group = Literal["crime", "social_evil", "traffic", "dispute", "fire", "other"]
Severity = Literal["low", "medium", "high", "critical"]
AnswerType = Literal[
    "string", "text", "integer", "number", "boolean", "date", "datetime", "choice", "multichoice"
]

GROUPS: tuple[Group, ...] = ("crime", "social_evil", "traffic", "dispute", "fire", "other")
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
ANSWER_TYPES: tuple[AnswerType, ...] = (
    "string",
    "text",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "choice",
    "multichoice",
)
CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MAX_STRING = 200
MAX_TEXT = 2000
MAX_INTEGER = 999_999_999_999_999


class CategoryRuleViolation(ValueError):
    """A category definition or an answer breaks a rule (422, naming the field)."""

    status = 422

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Question:
    """A typed extra question of a category (an Open311 attribute)."""

    code: str
    label_vi: str
    label_en: str
    type: AnswerType
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values of choice and multichoice
    description: str | None = None


@dataclass(frozen=True)
class Category:
    """One version of a category of incident."""

    code: str
    name_vi: str
    name_en: str
    group: Group
    ba_khong: bool
    default_severity: Severity
    questions: tuple[Question, ...] = ()
    active: bool = True
    version: int = 1
    description_vi: str | None = None
    description_en: str | None = None
    keywords: tuple[str, ...] = field(default=())

    @property
    def is_dispute(self) -> bool:
        """Disputes are mediated at the hamlet before anything else."""
        return self.group == "dispute"

    def question(self, code: str) -> Question | None:
        """The question with this code, or None."""
        return next((q for q in self.questions if q.code == code), None)


def define_category(category: Category) -> Category:
    """Check a category definition; return it unchanged if it keeps the rules."""
    if not CODE.fullmatch(category.code):
        raise CategoryRuleViolation(
            "code must be 2-40 lower-case letters, digits or _, starting with a letter",
            field="code",
        )
    if category.group not in GROUPS:
        raise CategoryRuleViolation(f"group must be one of {', '.join(GROUPS)}", field="group")
    if category.default_severity not in SEVERITIES:
        raise CategoryRuleViolation(
            f"default_severity must be one of {', '.join(SEVERITIES)}", field="default_severity"
        )
    seen: set[str] = set()
    for i, q in enumerate(category.questions):
        where = f"questions.{i}"
        if not CODE.fullmatch(q.code):
            raise CategoryRuleViolation(
                "a question code is 2-40 lower-case letters, digits or _", field=f"{where}.code"
            )
        if q.code in seen:
            raise CategoryRuleViolation(
                f"question {q.code} is declared twice", field=f"{where}.code"
            )
        seen.add(q.code)
        if q.type not in ANSWER_TYPES:
            raise CategoryRuleViolation(
                f"type must be one of {', '.join(ANSWER_TYPES)}", field=f"{where}.type"
            )
        if q.type in ("choice", "multichoice") and not q.values:
            raise CategoryRuleViolation(
                "a choice question lists its allowed values", field=f"{where}.values"
            )
        if q.type not in ("choice", "multichoice") and q.values:
            raise CategoryRuleViolation(
                "only choice questions have allowed values", field=f"{where}.values"
            )
        if len(set(q.values)) != len(q.values):
            raise CategoryRuleViolation("allowed values repeat", field=f"{where}.values")
    return category


def revise(current: Category, proposed: Category) -> Category:
    """The next version of a category: same code, version + 1."""
    if proposed.code != current.code:
        raise CategoryRuleViolation("the code of a category cannot change", field="code")
    return define_category(replace(proposed, version=current.version + 1))


def validate_answers(
    category: Category, answers: dict[str, Any], *, prefix: str = "answers"
) -> dict[str, Any]:
    """Answers checked and normalised against the category's questions (field-named errors)."""
    clean: dict[str, Any] = {}
    for code in answers:
        if category.question(code) is None:
            known = ", ".join(q.code for q in category.questions) or "none"
            raise CategoryRuleViolation(
                f"{category.code} has no question {code!r} (its questions: {known})",
                field=f"{prefix}.{code}",
            )
    for q in category.questions:
        value = answers.get(q.code)
        where = f"{prefix}.{q.code}"
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or value == []:
            if q.required:
                raise CategoryRuleViolation(f"{q.label_en} is required", field=where)
            continue
        clean[q.code] = _answer(q, value, where)
    return clean


def _answer(q: Question, value: Any, where: str) -> Any:
    def bad(what: str) -> CategoryRuleViolation:
        return CategoryRuleViolation(f"{q.label_en} must be {what}", field=where)

    if q.type in ("string", "text"):
        if not isinstance(value, str):
            raise bad("text")
        if has_controls(value, multiline=q.type == "text"):
            # Same rule as every other text field; the value is not echoed (it may be personal).
            raise CategoryRuleViolation(f"{q.label_en}: {CONTROL_MESSAGE}", field=where)
        limit = MAX_STRING if q.type == "string" else MAX_TEXT
        if len(value) > limit:
            raise bad(f"at most {limit} characters")
        return value
    if q.type == "integer":
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,15}", value.strip()):
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INTEGER:
            raise bad(f"a whole number of at most {len(str(MAX_INTEGER))} digits")
        return value
    if q.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad("a number")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise bad("a number") from None
        if not math.isfinite(number):
            raise bad("a finite number")
        return value if isinstance(value, int | float) else number
    if q.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad("true or false")
    if q.type == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise bad("a date (YYYY-MM-DD)") from None
    if q.type == "datetime":
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise bad("a date and time (ISO 8601)") from None
        if parsed.tzinfo is None:
            raise bad("a date and time with its time zone")
        return parsed.isoformat()
    if q.type == "choice":
        if value not in q.values:
            raise bad(f"one of {', '.join(q.values)}")
        return value
    # multichoice
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v in q.values for v in items):
        raise bad(f"some of {', '.join(q.values)}")
    return list(dict.fromkeys(items))


def _q(
    code: str,
    vi: str,
    en: str,
    type_: AnswerType,
    *,
    required: bool = False,
    values: tuple[str, ...] = (),
) -> Question:
    return Question(code, vi, en, type_, required=required, values=values)


VEHICLES = ("motorbike", "car", "truck", "bicycle", "other")

DEFAULT_CATALOGUE: tuple[Category, ...] = (
    Category(
        "theft",
        "Trộm cắp tài sản",
        "Theft",
        "crime",
        False,
        "medium",
        (
            _q("stolen_items", "Tài sản bị mất", "Stolen items", "string", required=True),
            _q(
                "estimated_value_vnd", "Giá trị ước tính (đồng)", "Estimated value (VND)", "integer"
            ),
        ),
    ),
    Category(
        "assault",
        "Cố ý gây thương tích, đánh nhau",
        "Assault or fight",
        "crime",
        False,
        "high",
        (
            _q("injured", "Có người bị thương", "Someone is injured", "boolean", required=True),
            _q("people_involved", "Số người liên quan", "People involved", "integer"),
        ),
    ),
    Category(
        "domestic_violence",
        "Bạo lực gia đình",
        "Domestic violence",
        "crime",
        False,
        "high",
        (
            _q("children_present", "Có trẻ em", "Children present", "boolean"),
            _q("ongoing", "Đang diễn ra", "Still happening", "boolean", required=True),
        ),
    ),
    Category(
        "drugs",
        "Ma túy",
        "Drugs",
        "social_evil",
        True,
        "high",
        (
            _q(
                "activity",
                "Hành vi",
                "Activity",
                "choice",
                required=True,
                values=("use", "dealing", "storage", "other"),
            ),
            _q("people_involved", "Số người liên quan", "People involved", "integer"),
        ),
    ),
    Category(
        "gambling",
        "Đánh bạc, cá độ",
        "Gambling for money",
        "social_evil",
        True,
        "medium",
        (
            _q(
                "kind",
                "Hình thức",
                "Kind",
                "choice",
                values=("cards", "lottery", "betting", "cockfighting", "online", "other"),
            ),
            _q("people_involved", "Số người liên quan", "People involved", "integer"),
        ),
    ),
    Category(
        "traffic_violation",
        "Vi phạm an toàn giao thông",
        "Traffic-safety violation",
        "traffic",
        True,
        "low",
        (
            _q("vehicle", "Phương tiện", "Vehicle", "choice", required=True, values=VEHICLES),
            _q(
                "violation",
                "Hành vi vi phạm",
                "Violation",
                "multichoice",
                values=("no_helmet", "drunk_driving", "speeding", "racing", "underage", "other"),
            ),
        ),
    ),
    Category(
        "traffic_accident",
        "Tai nạn giao thông",
        "Traffic accident",
        "traffic",
        False,
        "high",
        (
            _q("injured", "Có người bị thương", "Someone is injured", "boolean", required=True),
            _q(
                "vehicles",
                "Phương tiện liên quan",
                "Vehicles involved",
                "multichoice",
                values=VEHICLES,
            ),
        ),
    ),
    Category(
        "land_dispute",
        "Tranh chấp đất đai",
        "Land dispute",
        "dispute",
        False,
        "medium",
        (
            _q("parties", "Số bên tranh chấp", "Parties to the dispute", "integer", required=True),
            _q("area_m2", "Diện tích tranh chấp (m²)", "Disputed area (m²)", "number"),
        ),
    ),
    Category(
        "neighbour_dispute",
        "Mâu thuẫn hàng xóm, gia đình",
        "Neighbour or family dispute",
        "dispute",
        False,
        "low",
        (
            _q("parties", "Số bên tranh chấp", "Parties to the dispute", "integer", required=True),
            _q("earlier_mediation", "Đã từng hòa giải", "Mediated before", "boolean"),
        ),
    ),
    Category(
        "fire",
        "Cháy",
        "Fire",
        "fire",
        False,
        "critical",
        (
            _q("people_trapped", "Có người mắc kẹt", "People trapped", "boolean", required=True),
            _q("fire_service_called", "Đã gọi 114", "Fire service (114) called", "boolean"),
        ),
    ),
    Category(
        "explosion",
        "Nổ",
        "Explosion",
        "fire",
        False,
        "critical",
        (_q("injured", "Có người bị thương", "Someone is injured", "boolean", required=True),),
    ),
    Category(
        "suspicious_person",
        "Người lạ, đối tượng khả nghi",
        "Suspicious person",
        "other",
        False,
        "low",
        (
            _q("people_count", "Số người", "How many people", "integer"),
            _q("vehicle", "Phương tiện", "Vehicle", "choice", values=VEHICLES),
        ),
    ),
    Category(
        "public_disorder",
        "Gây rối trật tự công cộng",
        "Public disorder",
        "other",
        False,
        "medium",
        (),
    ),
)
