"""The contracts: envelope round trip, generated files up to date, compatibility rule."""

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from binhyen.contracts import CATALOGUE, CloudEvent, parse_event, topic_for_event
from binhyen.contracts.compat import breaking_changes
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.export import event_schema, generated_files, incompatibilities
from binhyen.contracts.units import UnitKind

ROOT = Path(__file__).resolve().parents[3]


def _unit() -> UnitRegistered:
    return UnitRegistered(
        unit_id="u-1",
        kind=UnitKind.HAMLET,
        level=UnitKind.HAMLET.level,
        name="Tân Thành",
        parent_id="u-0",
        ancestor_ids=["u-root", "u-0"],
        valid_from=date(2020, 9, 9),
        version=1,
    )


def test_envelope_round_trips_through_structured_json() -> None:
    event = CloudEvent.wrap(_unit())
    parsed = parse_event(event.to_json())
    assert parsed == event
    assert parsed.payload() == _unit()
    raw = json.loads(event.to_json())
    assert raw["specversion"] == "1.0"
    assert raw["type"] == "vn.binhyen.registry.unit.registered.v1"
    assert raw["subject"] == "u-1"
    assert raw["time"].endswith("Z")


def test_envelope_rejects_naive_time_and_missing_fields() -> None:
    with pytest.raises(ValidationError):
        parse_event(b'{"specversion": "1.0", "id": "x", "source": "s", "type": "t", "data": {}}')
    with pytest.raises(ValidationError):
        CloudEvent(id="x", source="s", type="t", time=datetime(2025, 1, 1), data={})


def test_older_consumer_ignores_fields_added_within_a_version() -> None:
    data = _unit().model_dump(mode="json") | {"added_later": "x"}
    envelope = CloudEvent(
        id="e", source="s", type=UnitRegistered.event_type, time=datetime.now(UTC), data=data
    )
    assert envelope.payload() == _unit()


def test_every_event_type_is_on_exactly_one_topic() -> None:
    carried = [t for spec in CATALOGUE for t in spec.event_types]
    assert len(carried) == len(set(carried))
    assert topic_for_event(UnitRegistered).name == "binhyen.registry.units.v1"
    assert all(spec.partitions >= 12 for spec in CATALOGUE)


def test_checked_in_generated_files_are_up_to_date() -> None:
    stale = [
        str(rel)
        for rel, content in generated_files().items()
        if not (ROOT / rel).exists() or (ROOT / rel).read_text(encoding="utf-8") != content
    ]
    assert stale == [], f"run `uv run binhyen-contracts` to regenerate: {stale}"


def test_current_models_are_compatible_with_checked_in_schemas() -> None:
    assert incompatibilities(ROOT) == []


def _schema() -> dict[str, Any]:
    return event_schema(UnitRegistered)


def test_compat_accepts_a_new_optional_field() -> None:
    new = copy.deepcopy(_schema())
    new["properties"]["note"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert breaking_changes(_schema(), new) == []


def test_compat_rejects_removed_field() -> None:
    new = copy.deepcopy(_schema())
    del new["properties"]["name"]
    new["required"].remove("name")
    assert breaking_changes(_schema(), new) == ["field name was removed"]


def test_compat_rejects_new_required_field() -> None:
    new = copy.deepcopy(_schema())
    new["properties"]["population"] = {"type": "integer"}
    new["required"].append("population")
    assert breaking_changes(_schema(), new) == [
        "new field population is required; new fields must be optional"
    ]


def test_compat_rejects_type_change_and_lost_enum_value() -> None:
    new = copy.deepcopy(_schema())
    new["properties"]["version"] = {"type": "string"}
    kind = new["$defs"]["UnitKind"]
    kind["enum"] = [v for v in kind["enum"] if v != "hamlet"]
    problems = breaking_changes(_schema(), new)
    assert "field version changed type ('integer',) -> ('string',)" in problems
    assert "field kind lost enum values ['hamlet']" in problems
