"""The access matrix every service tests: one probe per route, tried by callers out of scope."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from binhyen.kit.outbox import RELAY_FIELDS

Site = dict[str, str]  # the ids of one test site: its hamlet, commune, objects …


@dataclass(frozen=True)
class Probe:
    """A request against the objects of one site, valid for a caller entitled to it."""

    method: str
    route: str  # the route template, as the OpenAPI document names it
    url: Callable[[Site], str]
    body: Callable[[Site], Any] | None = None
    etag_of: Callable[[Site], str] | None = None  # where to read the If-Match value
    form: bool = False


def probe(method: str, route: str, url: Callable[[Site], str], **kw: Any) -> Probe:
    """A probe (short to write in a table of them)."""
    return Probe(method, route, url, **kw)


async def snapshot(
    db: AsyncDatabase[dict[str, Any]], collections: Iterable[str], *, ignore: Iterable[str] = ()
) -> dict[str, list[str]]:
    """Every document of these collections, without the relay's fields and ``ignore``d ones:
    equal before and after means nothing was changed."""
    hidden = {**dict.fromkeys(RELAY_FIELDS, 0), **dict.fromkeys(ignore, 0)}
    found: dict[str, list[str]] = {}
    for name in collections:
        docs = await db[name].find({}, hidden).to_list()
        found[name] = sorted(json.dumps(d, default=str, sort_keys=True) for d in docs)
    return found
