"""Every text field of every registry request refuses control characters, naming the field."""

from binhyen.kit.testing.text_fields import assert_text_fields_refuse_controls
from binhyen.registry.app import service_spec


def test_every_request_text_field_refuses_control_characters() -> None:
    assert_text_fields_refuse_controls(service_spec(), min_models=16, min_fields=31, query=True)
