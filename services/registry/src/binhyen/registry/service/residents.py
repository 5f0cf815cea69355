"""Building residents and their events: shared by the people and household use cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.people import PersonRegistered, PersonState
from binhyen.contracts.topics import REGISTRY_PEOPLE
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.text import nfc
from binhyen.registry.domain import people
from binhyen.registry.domain.people import Person, PersonRuleViolation
from binhyen.registry.service.common import Context, domain_error
from binhyen.registry.store.people import person_document


@dataclass(frozen=True)
class NewPerson:
    """Command part: a resident to register."""

    full_name: str
    birth_year: int | None = None
    phones: list[str] = field(default_factory=list)
    preferred_language: str = "vi"
    alert_channels: list[str] = field(default_factory=list)
    alert_consent: bool = False

    def fingerprint_fields(self) -> dict[str, Any]:
        """What makes two registrations of a resident the same, for Idempotency-Key checks."""
        return vars(self) | {"full_name": nfc(self.full_name)}


def new_person(
    spec: NewPerson,
    *,
    unit_id: str,
    household_id: str,
    field_prefix: str = "",
    person_id: str | None = None,
) -> Person:
    """Validate a resident to register; rule errors name the field (with ``field_prefix``)."""
    name = nfc(spec.full_name)
    try:
        if not name:
            raise PersonRuleViolation("full name must not be blank", field="full_name")
        return people.register_person(
            person_id=person_id or str(uuid.uuid4()),
            unit_id=unit_id,
            household_id=household_id,
            full_name=name,
            birth_year=spec.birth_year,
            phones=spec.phones,
            preferred_language=spec.preferred_language,
            alert_channels=spec.alert_channels,
            alert_consent=spec.alert_consent,
        )
    except PersonRuleViolation as exc:
        exc.field = field_prefix + exc.field
        raise domain_error(exc) from exc


def person_event(person: Person, event: type[PersonState], **extra: Any) -> PersonState:
    """The contract event for a resident's latest change, carrying its full state."""
    return event(
        person_id=person.id,
        unit_id=person.unit_id,
        household_id=person.household_id,
        full_name=person.full_name,
        birth_year=person.birth_year,
        phones=list(person.phones),
        preferred_language=person.preferred_language,
        alert_channels=list(person.alert_channels),
        alert_consent=person.alert_consent,
        consent_at=person.consent_at,
        status=person.status,
        version=person.version,
        **extra,
    )


def person_outbox(ctx: Context, event: PersonState) -> list[dict[str, Any]]:
    """Outbox entries for a resident's change."""
    return [outbox_entry(CloudEvent.wrap(event), ctx.topic(REGISTRY_PEOPLE.name))]


def new_person_document(ctx: Context, person: Person) -> dict[str, Any]:
    """A resident's document with its registration event, ready to insert."""
    return person_document(person) | {
        "_outbox": person_outbox(ctx, person_event(person, PersonRegistered))
    }
