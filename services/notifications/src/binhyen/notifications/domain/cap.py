"""CAP 1.2 alerts: the message as data, its XML, its schema check, Google's rules, an Atom feed.

Sources encoded here:

- OASIS Common Alerting Protocol 1.2 (CAP-v1.2-os, 1 July 2010),
  https://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2-os.html — element order and
  value lists (§3.2), dateTime without "Z" and whole seconds (§3.3.2), sender and
  identifier without spaces, commas or restricted characters ``<`` ``&`` (§3.2.1),
  references as space-separated ``sender,identifier,sent`` (§3.2.1). The schema in
  ``schemas/CAP-v1.2.xsd`` is the official XSD (provenance in its header).
- Google Public Alerts CAP requirements,
  https://developers.google.com/public-alerts/reference/google-cap-requirements and
  https://developers.google.com/public-alerts/guides/cap-requirements/entities/info
  (expires, description and area required; no ``Unknown`` urgency, severity or
  certainty; one ``info`` per language in a single ``alert``; ``event`` under 35
  characters; ``areaDesc`` under 50 characters), and the "Google Public Alerts CAP v1.0"
  profile of Google's open-source CAP validator (github.com/google/cap-library,
  GoogleProfile: Update/Cancel must reference, same categories in every info, web
  required, each area has a polygon, circle or geocode, effective not after expires,
  headline under 140 characters and different from the description).
- Atom 1.0, RFC 4287 (https://www.rfc-editor.org/rfc/rfc4287):
  feed and entry required elements (§4.1.1, §4.1.2); RFC 3339 dates (§3.3).

Pure: no I/O besides reading the packaged schema once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo

from lxml import etree  # type: ignore[import-untyped]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
HAMLET_GEOCODE = "binhyen:unit"
"""The geocode ``valueName`` under which an area carries a hamlet's unit id."""

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Category = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
    "Infra", "CBRNE", "Other",
]  # fmt: skip
ResponseType = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
    "None",
]  # fmt: skip
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

# XML 1.0 §2.2 Char: anything else cannot be written into a document at all.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# CAP 1.2 §3.2.1: sender, identifier (and so references) carry no spaces, commas, < or &.
_CAP_RESTRICTED = re.compile(r"[\s,<&]")

_GOOGLE_HEADLINE_MAX = 140
_GOOGLE_EVENT_MAX = 35
_GOOGLE_AREA_DESC_MAX = 50


def _check_text(owner: object) -> None:
    """Refuse naive datetimes and characters XML cannot carry, naming the field."""
    for f in fields(owner):  # type: ignore[arg-type]
        value = getattr(owner, f.name)
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if isinstance(item, str) and _NOT_XML_CHAR.search(item):
                raise ValueError(f"{f.name}: contains a character XML 1.0 cannot carry")
            if isinstance(item, datetime) and item.utcoffset() is None:
                raise ValueError(f"{f.name}: needs a timezone")


@dataclass(frozen=True, slots=True, kw_only=True)
class ValuePair:
    """A CAP ``valueName``/``value`` pair (geocode, parameter)."""

    value_name: str
    value: str

    def __post_init__(self) -> None:
        _check_text(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """An earlier alert that an Update, Cancel or Ack refers to."""

    sender: str
    identifier: str
    sent: datetime

    def __post_init__(self) -> None:
        _check_text(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Area:
    """Where an ``info`` applies: a description and shapes or geocodes."""

    area_desc: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[ValuePair, ...] = ()

    def __post_init__(self) -> None:
        _check_text(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Info:
    """One language of an alert (a CAP ``info`` block)."""

    language: str
    categories: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response_types: tuple[ResponseType, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[ValuePair, ...] = ()
    areas: tuple[Area, ...] = ()

    def __post_init__(self) -> None:
        _check_text(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A CAP 1.2 alert message."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope = "Public"
    restriction: str | None = None
    note: str | None = None
    references: tuple[Reference, ...] = ()
    infos: tuple[Info, ...] = ()

    def __post_init__(self) -> None:
        _check_text(self)


def hamlet_area(area_desc: str, hamlet_ids: Iterable[str]) -> Area:
    """Return an area naming hamlets by their unit ids as ``binhyen:unit`` geocodes."""
    codes = tuple(ValuePair(value_name=HAMLET_GEOCODE, value=h) for h in hamlet_ids)
    return Area(area_desc=area_desc, geocodes=codes)


def cap_datetime(value: datetime) -> str:
    """Return a CAP dateTime: Vietnam time, whole seconds, numeric offset (never "Z")."""
    if value.utcoffset() is None:
        raise ValueError("a CAP time needs a timezone")
    return value.astimezone(VIETNAM).replace(microsecond=0).isoformat()


def _references_text(references: Iterable[Reference]) -> str:
    return " ".join(f"{r.sender},{r.identifier},{cap_datetime(r.sent)}" for r in references)


def _sub(parent: Any, tag: str, text: str | None, ns: str = CAP_NS) -> None:
    if text is not None:
        etree.SubElement(parent, f"{{{ns}}}{tag}").text = text


def _pairs(parent: Any, tag: str, pairs: Iterable[ValuePair]) -> None:
    for pair in pairs:
        node = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        _sub(node, "valueName", pair.value_name)
        _sub(node, "value", pair.value)


def _optional_time(value: datetime | None) -> str | None:
    return None if value is None else cap_datetime(value)


def _info_element(parent: Any, info: Info) -> None:
    node = etree.SubElement(parent, f"{{{CAP_NS}}}info")
    # Order is the XSD's sequence; a different order is invalid CAP.
    _sub(node, "language", info.language)
    for category in info.categories:
        _sub(node, "category", category)
    _sub(node, "event", info.event)
    for response in info.response_types:
        _sub(node, "responseType", response)
    _sub(node, "urgency", info.urgency)
    _sub(node, "severity", info.severity)
    _sub(node, "certainty", info.certainty)
    _sub(node, "effective", _optional_time(info.effective))
    _sub(node, "onset", _optional_time(info.onset))
    _sub(node, "expires", _optional_time(info.expires))
    _sub(node, "senderName", info.sender_name)
    _sub(node, "headline", info.headline)
    _sub(node, "description", info.description)
    _sub(node, "instruction", info.instruction)
    _sub(node, "web", info.web)
    _sub(node, "contact", info.contact)
    _pairs(node, "parameter", info.parameters)
    for area in info.areas:
        area_node = etree.SubElement(node, f"{{{CAP_NS}}}area")
        _sub(area_node, "areaDesc", area.area_desc)
        for polygon in area.polygons:
            _sub(area_node, "polygon", polygon)
        for circle in area.circles:
            _sub(area_node, "circle", circle)
        _pairs(area_node, "geocode", area.geocodes)


def to_xml(alert: Alert) -> bytes:
    """Return the alert as a CAP 1.2 XML document in UTF-8."""
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_datetime(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", alert.scope)
    _sub(root, "restriction", alert.restriction)
    _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", _references_text(alert.references))
    for info in alert.infos:
        _info_element(root, info)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@cache
def _schema() -> Any:
    source = resources.files("binhyen.notifications.domain").joinpath("schemas/CAP-v1.2.xsd")
    return etree.XMLSchema(etree.fromstring(source.read_bytes(), _parser()))


@cache
def _parser() -> Any:
    # No DTD entities, no network: the document under test is untrusted input.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def validate(xml: bytes) -> list[str]:
    """Return the CAP 1.2 XSD errors of a document (empty when valid)."""
    try:
        doc = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    if doc.getroottree().docinfo.doctype:
        # CAP has no DTD; entity declarations in one only serve to smuggle content in.
        return ["line 1: a DOCTYPE is not allowed in a CAP document"]
    try:
        # assertValid hands back this call's own error log; the schema's shared
        # error_log would race between threads.
        _schema().assertValid(doc)
    except etree.DocumentInvalid as exc:
        return [f"line {e.line}: {e.message}" for e in exc.error_log]
    except etree.XMLSchemaValidateError as exc:
        return [f"not checkable against the schema: {exc}"]
    return []


def _restricted(path: str, value: str) -> list[str]:
    if not value or _CAP_RESTRICTED.search(value):
        return [f"{path}: must be non-empty, without spaces, commas, '<' or '&' (CAP §3.2.1)"]
    return []


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _info_rules(path: str, info: Info, sent: datetime) -> list[str]:
    problems: list[str] = []
    if _blank(info.description):
        problems.append(f"{path}/description: Google requires a description")
    if _blank(info.web):
        problems.append(f"{path}/web: Google requires a link to more information")
    if info.expires is None:
        problems.append(f"{path}/expires: Google requires an expiry time")
    else:
        start = info.effective or sent
        if start > info.expires:
            problems.append(f"{path}/effective: must not come after expires")
    for name in ("urgency", "severity", "certainty"):
        if getattr(info, name) == "Unknown":
            problems.append(f"{path}/{name}: Google refuses Unknown")
    if len(info.event) >= _GOOGLE_EVENT_MAX:
        problems.append(f"{path}/event: Google wants fewer than {_GOOGLE_EVENT_MAX} characters")
    if info.headline is not None and len(info.headline) > _GOOGLE_HEADLINE_MAX:
        problems.append(f"{path}/headline: Google wants at most {_GOOGLE_HEADLINE_MAX} characters")
    if info.headline is not None and info.headline == info.description:
        problems.append(f"{path}/headline: must differ from the description")
    if not info.areas:
        problems.append(f"{path}/area: Google requires at least one area")
    for j, area in enumerate(info.areas):
        where = f"{path}/area[{j}]"
        if _blank(area.area_desc):
            problems.append(f"{where}/areaDesc: Google requires an area description")
        elif len(area.area_desc) >= _GOOGLE_AREA_DESC_MAX:
            problems.append(
                f"{where}/areaDesc: Google wants fewer than {_GOOGLE_AREA_DESC_MAX} characters"
            )
        if not (area.polygons or area.circles or area.geocodes):
            problems.append(f"{where}: Google requires a polygon, circle or geocode")
    return problems


def google_rules(alert: Alert) -> list[str]:
    """Return what keeps the alert from meeting Google Public Alerts' CAP rules."""
    problems = _restricted("/alert/sender", alert.sender)
    problems += _restricted("/alert/identifier", alert.identifier)
    for i, ref in enumerate(alert.references):
        problems += _restricted(f"/alert/references[{i}]/sender", ref.sender)
        problems += _restricted(f"/alert/references[{i}]/identifier", ref.identifier)
    if alert.msg_type in ("Update", "Cancel") and not alert.references:
        problems.append(
            "/alert/references: an Update or Cancel must reference the alerts it changes"
        )
    if alert.scope == "Restricted" and _blank(alert.restriction):
        problems.append("/alert/restriction: a Restricted alert must say its restriction")
    if not alert.infos:
        problems.append("/alert/info: Google requires at least one info")
    seen: dict[str, int] = {}
    first_categories = set(alert.infos[0].categories) if alert.infos else set()
    for i, info in enumerate(alert.infos):
        path = f"/alert/info[{i}]"
        language = info.language.lower()
        if language in seen:
            problems.append(
                f"{path}/language: {info.language} already has info[{seen[language]}]; "
                "one info per language"
            )
        else:
            seen[language] = i
        if set(info.categories) != first_categories:
            problems.append(f"{path}/category: every info must have the same categories")
        problems += _info_rules(path, info, alert.sent)
    return problems


def _atom_datetime(value: datetime) -> str:
    # RFC 3339 allows a numeric offset; the same Vietnam time as the CAP document.
    return cap_datetime(value)


def atom_feed(
    alerts: Iterable[Alert],
    *,
    feed_id: str,
    title: str,
    self_url: str,
    updated: datetime,
    link_for: Callable[[Alert], str],
    author: str | None = None,
) -> bytes:
    """Return an Atom 1.0 feed with one entry per alert, linking to its CAP document.

    The caller passes the alerts to publish (the active ones); each entry shows the
    first ``info`` (its headline and description) and links to ``link_for(alert)``,
    which is also the entry's permanent id.
    """
    a = f"{{{ATOM_NS}}}"
    feed = etree.Element(f"{a}feed", nsmap={None: ATOM_NS})
    _sub(feed, "id", feed_id, ATOM_NS)
    _sub(feed, "title", title, ATOM_NS)
    _sub(feed, "updated", _atom_datetime(updated), ATOM_NS)
    feed_author = etree.SubElement(feed, f"{a}author")
    _sub(feed_author, "name", author or title, ATOM_NS)
    etree.SubElement(feed, f"{a}link", rel="self", href=self_url, type="application/atom+xml")
    for alert in alerts:
        info = alert.infos[0] if alert.infos else None
        link = link_for(alert)
        entry = etree.SubElement(feed, f"{a}entry")
        if info is not None:
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", info.language)
        _sub(entry, "id", link, ATOM_NS)
        headline = (info.headline or info.event) if info is not None else alert.identifier
        _sub(entry, "title", headline, ATOM_NS)
        _sub(entry, "updated", _atom_datetime(alert.sent), ATOM_NS)
        _sub(entry, "published", _atom_datetime(alert.sent), ATOM_NS)
        if info is not None and info.sender_name:
            entry_author = etree.SubElement(entry, f"{a}author")
            _sub(entry_author, "name", info.sender_name, ATOM_NS)
        etree.SubElement(entry, f"{a}link", rel="alternate", href=link, type=CAP_MEDIA_TYPE)
        summary = info.description if info is not None else None
        _sub(entry, "summary", summary or headline, ATOM_NS)
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))
