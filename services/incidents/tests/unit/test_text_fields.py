"""Every text field of every incidents request refuses control characters, naming the field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from binhyen.incidents.api.categories import CategoryRead
from binhyen.incidents.api.open311 import RequestForm, _file_request
from binhyen.incidents.api.schemas import IncidentCreate
from binhyen.incidents.app import service_spec
from binhyen.incidents.domain.categories import (
    AnswerType,
    Category,
    CategoryRuleViolation,
    Question,
    validate_answers,
)
from binhyen.kit.testing.text_fields import BAD, assert_text_fields_refuse_controls, text_fields
from binhyen.kit.text import CONTROL_MESSAGE


def test_every_request_text_field_refuses_control_characters() -> None:
    assert_text_fields_refuse_controls(service_spec(), min_models=15, min_fields=60, query=True)


# Attribute answers are checked against the category's questions (below), not by the form.
FORM_FIELDS = [(f, v) for f, v in text_fields(RequestForm, by_alias=True) if f != "attribute[code]"]


@pytest.mark.parametrize(("field", "value"), FORM_FIELDS, ids=[f for f, _ in FORM_FIELDS])
def test_every_open311_form_field_refuses_control_characters(field: str, value: str) -> None:
    _, errors = _file_request([(field, value)], None)
    refused = [e for e in errors if e.field == field and CONTROL_MESSAGE in e.detail]
    assert refused, [(e.field, e.detail) for e in errors]
    assert all(value not in e.detail for e in errors)  # the value is never echoed


def test_the_open311_form_walk_sees_every_documented_field() -> None:
    assert len(FORM_FIELDS) >= 13


def test_free_text_keeps_line_breaks_and_tabs() -> None:
    text = "Dòng 1\r\nDòng 2\tcột"
    _, errors = _file_request([("description", text)], None)
    assert "description" not in {e.field for e in errors}
    body = IncidentCreate.model_validate(
        {
            "hamlet_id": "h1",
            "category": "theft",
            "description": text,
            "occurred_at": "2026-01-01T10:00:00+07:00",
        }
    )
    assert body.description == text


def _category() -> Category:
    def question(code: str, kind: AnswerType) -> Question:
        return Question(code=code, label_vi=code, label_en=code, type=kind)

    return Category(
        code="theft",
        name_vi="Trộm cắp",
        name_en="Theft",
        group="crime",
        ba_khong=False,
        default_severity="medium",
        questions=(question("items", "string"), question("details", "text")),
    )


@pytest.mark.parametrize("code", ["items", "details"])
def test_text_answers_refuse_control_characters(code: str) -> None:
    with pytest.raises(CategoryRuleViolation) as caught:
        validate_answers(_category(), {code: BAD})
    assert caught.value.field == f"answers.{code}"
    assert CONTROL_MESSAGE in str(caught.value)


def test_a_text_answer_keeps_line_breaks_but_a_string_answer_does_not() -> None:
    assert validate_answers(_category(), {"details": "a\nb"}) == {"details": "a\nb"}
    with pytest.raises(CategoryRuleViolation):
        validate_answers(_category(), {"items": "a\nb"})


def test_a_category_stored_with_control_characters_still_reads_back() -> None:
    old = replace(_category(), name_vi="Trộm\u001b cắp", keywords=("xe\u0000",))
    read = CategoryRead.of(old).model_dump(mode="json")
    assert read["name_vi"] == "Trộm\u001b cắp" and read["keywords"] == ["xe\u0000"]
