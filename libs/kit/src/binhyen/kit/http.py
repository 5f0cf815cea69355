"""HTTP conventions every service shares: ETag and If-Match, Idempotency-Key."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import AwareDatetime, BeforeValidator

from binhyen.kit.problems import Invalid

IfMatch = Annotated[str | None, Header(description="The ETag you read; a stale one answers 412.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",  # so a refused key is reported under the header's own name
        min_length=1,
        max_length=200,
        pattern=r"^[\x20-\x7e]+$",  # printable ASCII, e.g. a UUID
        description="Yours alone: a retry with the same key and body returns the first result.",
    ),
]


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def expected_version(if_match: str | None) -> int | None:
    """The version named by an If-Match header (``"3"``, ``W/"3"`` or ``3``), if any."""
    if if_match is None:
        return None
    found = _ETAG.match(if_match)
    if found is None:
        raise Invalid('If-Match must be the ETag you read, e.g. "3"', field="If-Match")
    return int(found.group(1))


def set_etag(response: Response, version: int) -> None:
    """Tell the client which version it holds."""
    response.headers["ETag"] = f'"{version}"'


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso(pattern: re.Pattern[str], example: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        # Pydantic also reads numbers ("0", "0.5") as Unix times: the document says ISO 8601.
        if isinstance(value, str) and not pattern.match(value):
            raise ValueError(f"write it in ISO 8601, e.g. {example}")
        if isinstance(value, int | float):
            raise ValueError(f"write it in ISO 8601, e.g. {example}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _iso(_ISO_DATE, "2025-07-01")]
IsoDateTime = Annotated[AwareDatetime, _iso(_ISO_DATETIME, "2025-07-01T08:00:00+07:00")]
