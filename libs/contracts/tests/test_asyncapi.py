"""The AsyncAPI document: self-contained refs, an example per message, visibility per channel.

`make asyncapi` (part of `make lint`) runs the official AsyncAPI parser on the checked-in file
and validates every example with Ajv against its resolved payload schema and against the
standalone JSON Schema in schemas/; these tests guard the same promises from the Python side,
against the models.
"""

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest

from binhyen.contracts import CATALOGUE, Sequenced, event_model, event_types, parse_event
from binhyen.contracts.examples import examples
from binhyen.contracts.export import add_component_schema, asyncapi_document

DOC = asyncapi_document()
MESSAGES: dict[str, Any] = DOC["components"]["messages"]


def _walk(node: Any, at: str = "#") -> Iterator[tuple[str, Any]]:
    yield at, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{at}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{at}/{i}")


def _resolve(pointer: str) -> Any:
    node: Any = DOC
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_points_inside_the_document_and_resolves() -> None:
    refs = [
        (at, node["$ref"]) for at, node in _walk(DOC) if isinstance(node, dict) and "$ref" in node
    ]
    assert refs, "the document should reference its components"
    for at, ref in refs:
        assert ref.startswith("#/") and not ref.startswith("#/$defs/"), f"{at}: {ref}"
        _resolve(ref)  # raises KeyError when the target is missing
    # AsyncAPI tools resolve refs against the document, not a schema's $id: none may remain.
    assert not [at for at, node in _walk(DOC) if isinstance(node, dict) and "$id" in node]


def test_nested_models_are_hoisted_into_components() -> None:
    schemas = DOC["components"]["schemas"]
    for name in ("IncidentSnapshot", "GeoPoint", "PledgeState", "UnitKind", "HandoffRecord"):
        assert name in schemas
    incident = schemas["DeadlineMissed"]["properties"]["incident"]
    assert incident == {
        "$ref": "#/components/schemas/IncidentSnapshot",
        "description": "The incident after the change.",
    }


def test_two_different_schemas_of_one_name_are_refused() -> None:
    schemas: dict[str, Any] = {}
    add_component_schema(schemas, "A", {"$defs": {"Point": {"type": "object"}}, "type": "object"})
    add_component_schema(schemas, "B", {"$defs": {"Point": {"type": "object"}}, "type": "object"})
    with pytest.raises(ValueError, match="Point"):
        add_component_schema(
            schemas, "C", {"$defs": {"Point": {"type": "string"}}, "type": "object"}
        )


def test_every_event_type_has_a_message_with_an_example() -> None:
    assert set(examples()) == set(event_types())
    assert {m["name"] for m in MESSAGES.values()} == set(event_types())
    assert all(len(m["examples"]) >= 1 for m in MESSAGES.values())


@pytest.mark.parametrize("msg_id", sorted(MESSAGES))
def test_example_is_an_event_its_model_reads_back_unchanged(msg_id: str) -> None:
    message = MESSAGES[msg_id]
    model = event_model(message["name"])
    assert model is not None
    for example in message["examples"]:
        wire = example["payload"]
        event = parse_event(json.dumps(wire))
        assert event.type == message["name"]
        data = event.payload()
        # Nothing in the example is ignored or defaulted away by the model (extra="ignore").
        assert data.model_dump(mode="json") == wire["data"]
        assert event.subject == data.subject()
        assert event.dataschema == model.schema_url()
        assert event.sequence is not None and len(event.sequence) == 20
        if isinstance(data, Sequenced):
            assert data.sequence == int(event.sequence)


def test_example_text_is_nfc_and_invented() -> None:
    for message in MESSAGES.values():
        for at, node in _walk(message["examples"]):
            if isinstance(node, str):
                assert unicodedata.is_normalized("NFC", node), at
                if "+84" in node:
                    assert node.startswith("+849000000"), f"{at}: use an invented number"


def test_channels_say_whether_they_are_public() -> None:
    channels = {c["address"]: c for c in DOC["channels"].values()}
    assert set(channels) == {spec.name for spec in CATALOGUE}
    for spec in CATALOGUE:
        channel = channels[spec.name]
        assert channel["x-binhyen-visibility"] == spec.visibility
        assert [t["name"] for t in channel["tags"]] == [spec.visibility]
        assert f"{spec.visibility.capitalize()}:" in channel["description"]
    public = {name for name, c in channels.items() if c["x-binhyen-visibility"] == "public"}
    assert public == {
        "binhyen.registry.public.v1",
        "binhyen.incidents.public.v1",
        "binhyen.incidents.categories.v1",
        "binhyen.notifications.public.v1",
        "binhyen.reporting.public.v1",
    }


def test_public_examples_carry_no_personal_fields() -> None:
    personal = {"full_name", "phones", "address", "birth_year", "person_ids", "members"}
    public_types = {
        t for spec in CATALOGUE if spec.visibility == "public" for t in spec.event_types
    }
    for message in MESSAGES.values():
        if message["name"] in public_types:
            for example in message["examples"]:
                assert not personal & set(example["payload"]["data"]), message["name"]
