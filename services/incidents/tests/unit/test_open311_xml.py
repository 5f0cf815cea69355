"""The Open311 XML writer: the spec's element names, escaping, text XML cannot carry."""

from __future__ import annotations

import unicodedata
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binhyen.incidents.api.open311_xml import DECLARATION, document, errors

HOSTILE = "<script>alert(\"x\")</script> & 'quoted' ]]> --> <!-- &amp; &#13;"


def test_lists_take_the_specs_element_names_and_scalars_their_json_text() -> None:
    data = {
        "service_code": "traffic_violation",
        "attributes": [
            {
                "variable": True,
                "required": False,
                "order": 1,
                "datatype_description": None,
                "values": [{"key": "true", "name": "Có"}],
            }
        ],
    }
    raw = document("service_definition", data)
    assert raw.startswith(DECLARATION)
    root = ElementTree.fromstring(raw)
    assert root.tag == "service_definition"
    [attribute] = root.findall("attributes/attribute")
    assert attribute.findtext("variable") == "true"
    assert attribute.findtext("required") == "false"
    assert attribute.findtext("order") == "1"
    empty = attribute.find("datatype_description")
    assert empty is not None and empty.text is None and len(empty) == 0  # null: an empty element
    assert attribute.findtext("values/value/name") == "Có"
    lat = ElementTree.fromstring(document("service_requests", [{"lat": 18.0451, "long": 106.0}]))
    assert (lat.findtext("request/lat"), lat.findtext("request/long")) == ("18.0451", "106.0")


def test_hostile_text_is_escaped_and_comes_back_unchanged() -> None:
    raw = document("services", [{"service_name": HOSTILE, "description": "a\r\nb\rc"}])
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw
    service = ElementTree.fromstring(raw).find("service")
    assert service is not None
    assert service.findtext("service_name") == HOSTILE
    assert service.findtext("description") == "a\r\nb\rc"  # a raw CR would be read as LF


def test_vietnamese_text_stays_nfc_and_is_written_as_utf8_not_references() -> None:
    name = unicodedata.normalize("NFC", "Thôn Tân Thành — Nguyễn Văn Hảo, đường Kỳ Nam")
    raw = document("services", [{"service_name": name}])
    assert name.encode("utf-8") in raw
    assert b"&#" not in raw
    assert ElementTree.fromstring(raw).findtext("service/service_name") == name


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    raw = document("services", [{"description": "a\x00b\x01c\x1bd\ufffee\ud800f\tg"}])
    text = ElementTree.fromstring(raw).findtext("service/description")
    assert text == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\tg"


@given(st.text())
def test_any_text_makes_a_well_formed_document(text: str) -> None:
    parsed = ElementTree.fromstring(document("services", [{"description": text}]))
    allowed = {"\t", "\n", "\r"}
    expected = "".join(
        ch
        if ch in allowed
        or ("\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000")
        else "\ufffd"
        for ch in text
    )
    assert (parsed.findtext("service/description") or "") == expected


def test_a_list_or_a_name_the_spec_does_not_know_is_refused() -> None:
    with pytest.raises(KeyError):
        document("services", [{"tags": ["a"]}])
    with pytest.raises(ValueError, match="element name"):
        document("services", [{"attribute[code]": "x"}])


def test_problems_become_one_error_per_field_naming_it() -> None:
    problem = {
        "status": 422,
        "detail": "Fix these fields and send again: lat, description.",
        "errors": [
            {"field": "lat", "message": "lat must be a number from -90 to 90"},
            {"field": "description", "message": "describe what happened"},
        ],
    }
    assert errors(problem) == [
        {"code": 422, "description": "lat must be a number from -90 to 90"},
        {"code": 422, "description": "description: describe what happened"},
    ]
    assert errors({"status": 404, "title": "Not found", "detail": "no such request"}) == [
        {"code": 404, "description": "no such request"}
    ]
    root = ElementTree.fromstring(document("errors", errors(problem)))
    assert [e.findtext("code") for e in root.findall("error")] == ["422", "422"]
