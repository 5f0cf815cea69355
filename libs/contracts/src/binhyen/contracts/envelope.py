"""CloudEvents 1.0 structured-JSON envelope and the registry of event data models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CONTENT_TYPE = "application/cloudevents+json"
SCHEMA_BASE = "https://binhyen.vn/schemas/events"

_REGISTRY: dict[str, type[EventData]] = {}


class EventData(BaseModel):
    """Base of every event payload; subclasses declare their CloudEvents ``type``."""

    # Unknown fields are ignored so an older consumer reads a newer minor version.
    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    event_type: ClassVar[str]
    source: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is not None:
            if event_type in _REGISTRY:
                raise TypeError(f"event type {event_type} is declared twice")
            _REGISTRY[event_type] = cls

    def subject(self) -> str:
        """Return the entity id this event is about (the CloudEvents subject and Kafka key)."""
        raise NotImplementedError

    @classmethod
    def schema_url(cls) -> str:
        """Return the URL of this event type's JSON Schema."""
        return f"{SCHEMA_BASE}/{cls.event_type}.json"


class Sequenced(EventData):
    """A payload that carries its entity's sequence number (public events)."""

    sequence: int | None = Field(
        None,
        ge=1,
        description=(
            "The entity's sequence number, as in the CloudEvents `sequence` attribute: it "
            "grows with every event of the entity, so drop an event whose sequence is not "
            "above the last one you applied (a stale or repeated delivery)."
        ),
    )


def event_types() -> dict[str, type[EventData]]:
    """Return every declared event type and its data model."""
    return dict(_REGISTRY)


def event_model(event_type: str) -> type[EventData] | None:
    """Return the data model declared for ``event_type``, if any."""
    return _REGISTRY.get(event_type)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = Field("1.0", description="CloudEvents specification version.")
    id: str = Field(description="Unique event id (UUID); consumers deduplicate on it.")
    source: str = Field(description="The service that emitted the event, e.g. /binhyen/registry.")
    type: str = Field(
        description="Versioned event type, e.g. vn.binhyen.registry.unit.registered.v1."
    )
    subject: str | None = Field(None, description="Id of the entity the event is about.")
    time: datetime = Field(description="When the change happened, UTC, RFC 3339.")
    datacontenttype: Literal["application/json"] = Field(
        "application/json", description="Media type of data."
    )
    dataschema: str | None = Field(None, description="URL of the JSON Schema of data.")
    data: dict[str, Any] = Field(description="The event payload; its schema depends on type.")
    sequence: str | None = Field(
        None,
        description=(
            "CloudEvents sequence extension: the entity's sequence number, zero-padded to 20 "
            "digits so it orders as a string. Events of one entity (the Kafka key) carry "
            "growing numbers in the order they were written; gaps are allowed."
        ),
    )

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone")
        return value.astimezone(UTC)

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent:
        """Wrap an event payload in an envelope with a fresh id and the current time."""
        return cls(
            id=event_id or str(uuid.uuid4()),
            source=data.source,
            type=data.event_type,
            subject=data.subject(),
            time=time or datetime.now(UTC),
            dataschema=data.schema_url(),
            data=data.model_dump(mode="json"),
        )

    def payload(self) -> EventData:
        """Validate ``data`` against the model registered for ``type``."""
        model = _REGISTRY.get(self.type)
        if model is None:
            raise UnknownEventType(self.type)
        return model.model_validate(self.data)

    def to_json(self) -> bytes:
        """Serialise to structured-mode JSON bytes."""
        return self.model_dump_json(exclude_none=True).encode()


class UnknownEventType(LookupError):
    """The envelope names an event type this version of the contracts does not know."""


def parse_event(raw: bytes | str) -> CloudEvent:
    """Parse structured-mode JSON into an envelope (raises pydantic.ValidationError)."""
    return CloudEvent.model_validate_json(raw)
