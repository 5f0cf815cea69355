"""Every text field of every notifications request refuses control characters, naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from binhyen.kit.testing.text_fields import BAD, assert_text_fields_refuse_controls
from binhyen.kit.text import CONTROL_MESSAGE
from binhyen.notifications.api.alerts import StrikeBody
from binhyen.notifications.api.policies import TemplateBody
from binhyen.notifications.app import service_spec


def test_every_request_text_field_refuses_control_characters() -> None:
    # 13 request models and 29 text fields today: the minimums keep the walk from going blind.
    assert_text_fields_refuse_controls(service_spec(), min_models=13, min_fields=29, query=True)


def _strike(**fields: object) -> dict[str, object]:
    return {
        "hamlet_ids": ["h1"],
        "event": "Cháy nhà",
        "headline_vi": "Cháy nhà ở tổ 3",
        "description_vi": "Mọi người tránh xa.",
    } | fields


def test_the_gong_text_keeps_line_breaks_and_tabs() -> None:
    text = "Dòng 1\r\nDòng 2\tcột"
    body = StrikeBody.model_validate(_strike(description_vi=text, instruction_vi=text))
    assert body.description_vi == text and body.instruction_vi == text
    template = TemplateBody.model_validate({"headline": "Kẻng", "text": text, "body": text})
    assert template.body == text


@pytest.mark.parametrize("field", ["headline_vi", "event"])
def test_a_one_line_gong_field_refuses_a_line_break(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StrikeBody.model_validate(_strike(**{field: "a\nb"}))
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_a_refused_value_is_not_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        StrikeBody.model_validate(_strike(hamlet_ids=[BAD]))
    error = caught.value.errors()[0]
    assert error["loc"] == ("hamlet_ids", 0) and CONTROL_MESSAGE in error["msg"]
    assert BAD not in str(caught.value)
