"""If-Match parsing shared by every service."""

import pytest

from binhyen.kit.http import expected_version
from binhyen.kit.problems import Invalid


@pytest.mark.parametrize(
    ("header", "version"), [('"3"', 3), ('W/"12"', 12), (" 7 ", 7), (None, None)]
)
def test_an_etag_names_its_version(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


@pytest.mark.parametrize("header", ["", "abc", '"-3"', '"1_0"', '"3", "4"', "*"])
def test_anything_else_is_a_clear_error_on_the_header(header: str) -> None:
    with pytest.raises(Invalid) as refused:
        expected_version(header)
    assert refused.value.field == "If-Match"
