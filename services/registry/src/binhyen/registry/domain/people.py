"""Residents (nhân khẩu): the minimum personal data the programme needs, and its rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import phonenumbers

Status = Literal["active", "moved_out", "deceased", "removed"]
CHANNELS = ("sms", "voice", "push", "email", "zalo")
LANGUAGES = ("vi", "en", "km", "lo", "zh")  # Vietnamese first; neighbours' languages


class PersonRuleViolation(Exception):
    """A change to a resident would break a rule."""

    def __init__(self, message: str, *, field: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def normalise_phone(raw: str, *, field: str = "phones") -> str:
    """Validate a phone number (Vietnamese by default) and return it in E.164."""
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException as exc:
        raise PersonRuleViolation("not a phone number", field=field) from exc
    if not phonenumbers.is_valid_number(number):
        raise PersonRuleViolation(
            "not a valid phone number; write it as 09xx xxx xxx or +84 9xx xxx xxx", field=field
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Person:
    """A resident of a hamlet, member of one household."""

    id: str
    unit_id: str
    household_id: str
    full_name: str
    birth_year: int | None = None
    phones: tuple[str, ...] = ()
    preferred_language: str = "vi"
    alert_channels: tuple[str, ...] = ()
    alert_consent: bool = False
    consent_at: datetime | None = None
    status: Status = "active"
    version: int = 1


def register_person(
    *,
    person_id: str,
    unit_id: str,
    household_id: str,
    full_name: str,
    birth_year: int | None,
    phones: list[str],
    preferred_language: str,
    alert_channels: list[str],
    alert_consent: bool,
    now: datetime | None = None,
) -> Person:
    """A new resident; phones are validated and stored E.164."""
    now = now or datetime.now(UTC)
    _check_birth_year(birth_year, now)
    numbers = _phones(phones)
    _check_channels(alert_channels, numbers, alert_consent)
    if preferred_language not in LANGUAGES:
        raise PersonRuleViolation(
            f"language must be one of {', '.join(LANGUAGES)}", field="preferred_language"
        )
    return Person(
        id=person_id,
        unit_id=unit_id,
        household_id=household_id,
        full_name=full_name,
        birth_year=birth_year,
        phones=numbers,
        preferred_language=preferred_language,
        alert_channels=tuple(dict.fromkeys(alert_channels)),
        alert_consent=alert_consent,
        consent_at=now if alert_consent else None,
    )


EDITABLE = frozenset(
    {"full_name", "birth_year", "phones", "preferred_language", "alert_channels", "alert_consent"}
)


def update_person(
    person: Person, changes: Mapping[str, Any], *, now: datetime | None = None
) -> Person:
    """Apply edits to a resident, validating what changed."""
    now = now or datetime.now(UTC)
    _check_active(person)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise PersonRuleViolation("this field cannot be changed here", field=sorted(unknown)[0])
    values: dict[str, Any] = dict(changes)
    if "phones" in values:
        values["phones"] = _phones(list(values["phones"]))
    if "alert_channels" in values:
        values["alert_channels"] = tuple(dict.fromkeys(values["alert_channels"]))
    if "birth_year" in values:
        _check_birth_year(values["birth_year"], now)
    if values.get("preferred_language", "vi") not in LANGUAGES:
        raise PersonRuleViolation(
            f"language must be one of {', '.join(LANGUAGES)}", field="preferred_language"
        )
    updated = replace(person, **values)
    if updated.alert_consent != person.alert_consent:
        updated = replace(updated, consent_at=now if updated.alert_consent else None)
    _check_channels(list(updated.alert_channels), updated.phones, updated.alert_consent)
    return replace(updated, version=person.version + 1)


def move_to_household(person: Person, *, household_id: str, unit_id: str) -> Person:
    """Make the resident a member of another household (possibly in another hamlet)."""
    _check_active(person)
    if household_id == person.household_id:
        raise PersonRuleViolation("the resident is already in this household", field="household_id")
    return replace(person, household_id=household_id, unit_id=unit_id, version=person.version + 1)


def follow_household(person: Person, *, unit_id: str) -> Person:
    """The household moved to another hamlet: its residents follow."""
    if person.unit_id == unit_id:
        return person
    return replace(person, unit_id=unit_id, version=person.version + 1)


def end(person: Person, *, status: Status) -> Person:
    """The resident moved out, died or was removed from the register."""
    _check_active(person)
    if status == "active":
        raise PersonRuleViolation("status must be moved_out, deceased or removed", field="status")
    return replace(person, status=status, alert_consent=False, version=person.version + 1)


def erase(person: Person) -> Person:
    """Forget the personal data of a resident no longer active (Decree 13/2023 erasure)."""
    if person.status == "active":
        raise PersonRuleViolation(
            "only a resident who moved out, died or was removed can be erased",
            field="status",
            status=409,
        )
    return replace(
        person,
        full_name="",
        birth_year=None,
        phones=(),
        alert_channels=(),
        alert_consent=False,
        consent_at=None,
        status="removed",
        version=person.version + 1,
    )


def _check_active(person: Person) -> None:
    if person.status != "active":
        raise PersonRuleViolation(
            f"the resident is {person.status.replace('_', ' ')}; nothing more can change",
            field="status",
            status=409,
        )


def _check_birth_year(year: object, now: datetime) -> None:
    if year is not None and not (isinstance(year, int) and 1900 <= year <= now.year):
        raise PersonRuleViolation(
            f"birth year must be between 1900 and {now.year}", field="birth_year"
        )


def _phones(raw: list[str]) -> tuple[str, ...]:
    if len(raw) > 5:
        raise PersonRuleViolation("at most 5 phone numbers", field="phones")
    return tuple(dict.fromkeys(normalise_phone(p, field=f"phones.{i}") for i, p in enumerate(raw)))


def _check_channels(channels: list[str], phones: tuple[str, ...], consent: bool) -> None:
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise PersonRuleViolation(
            f"unknown alert channel; use {', '.join(CHANNELS)}", field="alert_channels"
        )
    if channels and not consent:
        raise PersonRuleViolation(
            "alert channels need the resident's consent to receive alerts", field="alert_consent"
        )
    if {"sms", "voice", "zalo"} & set(channels) and not phones:
        raise PersonRuleViolation(
            "SMS, voice and Zalo alerts need a phone number", field="alert_channels"
        )
