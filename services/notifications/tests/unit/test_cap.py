"""CAP 1.2 documents, their XSD check, Google's rules and the Atom feed (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree  # type: ignore[import-untyped]

from binhyen.notifications.domain.cap import (
    ATOM_NS,
    CAP_NS,
    HAMLET_GEOCODE,
    VIETNAM,
    Alert,
    Area,
    Info,
    Reference,
    ValuePair,
    atom_feed,
    google_rules,
    hamlet_area,
    to_xml,
    validate,
)

SENT = datetime(2026, 3, 13, 23, 40, 0, tzinfo=VIETNAM)
C = f"{{{CAP_NS}}}"
A = f"{{{ATOM_NS}}}"

VI = Info(
    language="vi-VN",
    categories=("Security",),
    event="Trộm cắp tài sản",
    response_types=("Monitor",),
    urgency="Immediate",
    severity="Moderate",
    certainty="Observed",
    effective=SENT,
    expires=SENT + timedelta(hours=6),
    sender_name="Công an xã Tân Thành",
    headline="Cảnh báo trộm xe máy tại ấp Bình Yên",
    description=(
        "Lúc 23 giờ 15, một xe máy bị lấy trộm trước nhà văn hoá ấp. "
        "Đối tượng đi về hướng cầu Rạch Miễu."
    ),
    instruction="Khoá cổ xe, cất xe vào nhà; báo ngay cho tổ an ninh nếu thấy người lạ.",
    web="https://binhyen.example.vn/canh-bao/a-1",
    contact="Tổ an ninh ấp: 0901 234 567",
    parameters=(ValuePair(value_name="binhyen:drill", value="false"),),
    areas=(hamlet_area("Ấp Bình Yên, xã Tân Thành", ["unit-42"]),),
)
EN = replace(
    VI,
    language="en-US",
    event="Property theft",
    sender_name="Tan Thanh commune police",
    headline="Motorbike theft warning in Binh Yen hamlet",
    description="At 23:15 a motorbike was stolen outside the hamlet hall. The thief went "
    "towards Rach Mieu bridge.",
    instruction="Lock your motorbike and keep it indoors; call the security team if you see "
    "strangers.",
    web="https://binhyen.example.vn/alerts/a-1",
    contact="Hamlet security team: 0901 234 567",
    areas=(hamlet_area("Binh Yen hamlet, Tan Thanh commune", ["unit-42"]),),
)
ALERT = Alert(
    identifier="binhyen-a-1",
    sender="canh-bao@tanthanh.binhyen.example.vn",
    sent=SENT,
    status="Actual",
    msg_type="Alert",
    scope="Public",
    infos=(VI, EN),
)


def _parse(xml: bytes) -> Any:
    return etree.fromstring(xml)


def _infos(**changes: Any) -> Alert:
    """ALERT whose every info has the given changes."""
    return replace(ALERT, infos=tuple(replace(i, **changes) for i in ALERT.infos))


def test_vietnamese_two_language_alert_is_valid_cap_and_meets_google_rules() -> None:
    xml = to_xml(ALERT)

    assert validate(xml) == []
    assert google_rules(ALERT) == []
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_times_are_vietnam_time_to_the_second_with_an_offset_never_z() -> None:
    in_utc = datetime(2026, 3, 13, 16, 40, 0, 987654, tzinfo=UTC)
    root = _parse(to_xml(replace(ALERT, sent=in_utc)))

    assert root.findtext(f"{C}sent") == "2026-03-13T23:40:00+07:00"
    assert root.findtext(f"{C}info/{C}expires") == "2026-03-14T05:40:00+07:00"


def test_elements_follow_the_schema_order() -> None:
    root = _parse(to_xml(ALERT))
    info = root.find(f"{C}info")

    assert [etree.QName(e).localname for e in root][:6] == [
        "identifier", "sender", "sent", "status", "msgType", "scope",
    ]  # fmt: skip
    assert [etree.QName(e).localname for e in info] == [
        "language", "category", "event", "responseType", "urgency", "severity", "certainty",
        "effective", "expires", "senderName", "headline", "description", "instruction",
        "web", "contact", "parameter", "area",
    ]  # fmt: skip


def test_hamlets_are_geocodes_named_binhyen_unit() -> None:
    root = _parse(to_xml(ALERT))
    geocode = root.find(f"{C}info/{C}area/{C}geocode")

    assert geocode.findtext(f"{C}valueName") == HAMLET_GEOCODE == "binhyen:unit"
    assert geocode.findtext(f"{C}value") == "unit-42"


def test_vietnamese_text_survives_the_round_trip() -> None:
    root = _parse(to_xml(ALERT))
    vi = root.find(f"{C}info")

    assert vi.findtext(f"{C}headline") == "Cảnh báo trộm xe máy tại ấp Bình Yên"
    assert vi.findtext(f"{C}description") == VI.description
    assert vi.findtext(f"{C}area/{C}areaDesc") == "Ấp Bình Yên, xã Tân Thành"
    assert "Trộm cắp tài sản".encode() in to_xml(ALERT)  # UTF-8, not character references


def test_update_with_references_is_valid_and_lists_sender_identifier_sent() -> None:
    earlier = Reference(sender=ALERT.sender, identifier="binhyen-a-0", sent=SENT)
    other = Reference(
        sender=ALERT.sender, identifier="binhyen-a-00", sent=SENT - timedelta(minutes=5)
    )
    update = replace(
        ALERT,
        identifier="binhyen-a-1-u1",
        msg_type="Update",
        references=(earlier, other),
        sent=SENT + timedelta(minutes=10),
    )
    xml = to_xml(update)

    assert validate(xml) == []
    assert google_rules(update) == []
    assert _parse(xml).findtext(f"{C}references") == (
        "canh-bao@tanthanh.binhyen.example.vn,binhyen-a-0,2026-03-13T23:40:00+07:00 "
        "canh-bao@tanthanh.binhyen.example.vn,binhyen-a-00,2026-03-13T23:35:00+07:00"
    )


@pytest.mark.parametrize("status", ["Exercise", "Test", "System", "Draft"])
def test_drill_and_test_statuses_are_valid(status: Any) -> None:
    drill = replace(ALERT, status=status, note="Diễn tập an ninh ấp Bình Yên")
    assert validate(to_xml(drill)) == []


def test_restricted_scope_with_its_restriction_is_valid() -> None:
    restricted = replace(ALERT, scope="Restricted", restriction="Chỉ dành cho tổ an ninh")
    assert validate(to_xml(restricted)) == []
    assert google_rules(restricted) == []


def _edit(xml: bytes, old: bytes, new: bytes) -> bytes:
    assert old in xml, old
    return xml.replace(old, new, 1)


def _swap_sent_and_status(xml: bytes) -> bytes:
    root = _parse(xml)
    sent, status = root.find(f"{C}sent"), root.find(f"{C}status")
    root.remove(status)
    sent.addprevious(status)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _swap_headline_and_description(xml: bytes) -> bytes:
    root = _parse(xml)
    info = root.find(f"{C}info")
    headline, description = info.find(f"{C}headline"), info.find(f"{C}description")
    info.remove(description)
    headline.addprevious(description)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


BROKEN: dict[str, Callable[[bytes], bytes]] = {
    "status before sent": _swap_sent_and_status,
    "description before headline": _swap_headline_and_description,
    "sent in Z": lambda x: _edit(
        x, b"2026-03-13T23:40:00+07:00</sent>", b"2026-03-13T16:40:00Z</sent>"
    ),
    "sent with fractions": lambda x: _edit(
        x, b"2026-03-13T23:40:00+07:00</sent>", b"2026-03-13T23:40:00.5+07:00</sent>"
    ),
    "expires in Z": lambda x: _edit(x, b"+07:00</expires>", b"Z</expires>"),
    "unknown status": lambda x: _edit(x, b"<status>Actual<", b"<status>Real<"),
    "unknown category": lambda x: _edit(x, b">Security<", b">Crime<"),
    "no sender": lambda x: _edit(x, b"<sender>", b"<source>").replace(
        b"</sender>", b"</source>", 1
    ),
    "wrong namespace": lambda x: x.replace(b"emergency:cap:1.2", b"emergency:cap:1.1"),
    "not well-formed": lambda x: x.replace(b"</alert>", b""),
}


@pytest.mark.parametrize("breakage", BROKEN.values(), ids=BROKEN.keys())
def test_validate_reports_hand_broken_documents(breakage: Callable[[bytes], bytes]) -> None:
    errors = validate(breakage(to_xml(ALERT)))

    assert errors, "the broken document passed the schema"
    assert all(isinstance(e, str) and e for e in errors)


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE alert [<!ENTITY x "lol"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]>',
    ],
    ids=["external entity", "entity expansion"],
)
def test_validate_refuses_documents_with_a_doctype(doctype: bytes) -> None:
    """CAP has no DTD: entities could only read files or blow up memory."""
    xml = to_xml(ALERT).replace(b"?>\n", b"?>\n" + doctype, 1)
    xml = xml.replace(b"<identifier>binhyen-a-1<", b"<identifier>&x;<", 1)

    assert validate(xml) == ["line 1: a DOCTYPE is not allowed in a CAP document"]
    assert validate(to_xml(ALERT)) == []


GOOGLE: dict[str, tuple[Callable[[], Alert], str]] = {
    "no expires": (lambda: _infos(expires=None), "/alert/info[0]/expires"),
    "no description": (lambda: _infos(description=None), "/alert/info[1]/description"),
    "blank description": (lambda: _infos(description="  "), "/alert/info[0]/description"),
    "no web": (lambda: _infos(web=None), "/alert/info[0]/web"),
    "no area": (lambda: _infos(areas=()), "/alert/info[0]/area"),
    "blank areaDesc": (
        lambda: _infos(areas=(hamlet_area(" ", ["unit-42"]),)),
        "/alert/info[0]/area[0]/areaDesc",
    ),
    "long areaDesc": (
        lambda: _infos(areas=(hamlet_area("Ấp " * 20, ["unit-42"]),)),
        "/alert/info[1]/area[0]/areaDesc",
    ),
    "area without place": (
        lambda: _infos(areas=(Area(area_desc="Ấp 3"),)),
        "/alert/info[0]/area[0]",
    ),
    "Unknown urgency": (lambda: _infos(urgency="Unknown"), "/alert/info[0]/urgency"),
    "Unknown severity": (lambda: _infos(severity="Unknown"), "/alert/info[1]/severity"),
    "Unknown certainty": (lambda: _infos(certainty="Unknown"), "/alert/info[0]/certainty"),
    "long headline": (lambda: _infos(headline="Cảnh báo " * 20), "/alert/info[0]/headline"),
    "headline is description": (
        lambda: replace(ALERT, infos=(replace(VI, headline=VI.description), EN)),
        "/alert/info[0]/headline",
    ),
    "long event": (
        lambda: _infos(event="Trộm cắp tài sản có tổ chức ban đêm"),
        "/alert/info[0]/event",
    ),
    "expires before effective": (
        lambda: _infos(expires=SENT - timedelta(minutes=1)),
        "/alert/info[0]/effective",
    ),
    "two infos in one language": (
        lambda: replace(ALERT, infos=(VI, replace(VI, headline="Tin khác"))),
        "/alert/info[1]/language",
    ),
    "categories differ": (
        lambda: replace(ALERT, infos=(VI, replace(EN, categories=("Safety",)))),
        "/alert/info[1]/category",
    ),
    "no info": (lambda: replace(ALERT, infos=()), "/alert/info"),
    "space in sender": (lambda: replace(ALERT, sender="cong an xa"), "/alert/sender"),
    "comma in identifier": (lambda: replace(ALERT, identifier="a,1"), "/alert/identifier"),
    "ampersand in identifier": (lambda: replace(ALERT, identifier="a&1"), "/alert/identifier"),
    "update without references": (lambda: replace(ALERT, msg_type="Update"), "/alert/references"),
    "cancel without references": (lambda: replace(ALERT, msg_type="Cancel"), "/alert/references"),
    "bad reference": (
        lambda: replace(
            ALERT,
            msg_type="Cancel",
            references=(Reference(sender=ALERT.sender, identifier="a 0", sent=SENT),),
        ),
        "/alert/references[0]/identifier",
    ),
    "restricted without restriction": (
        lambda: replace(ALERT, scope="Restricted"),
        "/alert/restriction",
    ),
}


@pytest.mark.parametrize(("make", "path"), GOOGLE.values(), ids=GOOGLE.keys())
def test_each_google_rule_broken_is_reported_at_its_element(
    make: Callable[[], Alert], path: str
) -> None:
    problems = google_rules(make())

    assert any(p.startswith(f"{path}:") for p in problems), problems


def test_google_rules_are_not_the_schema() -> None:
    """An alert Google refuses can still be valid CAP: the two checks are separate."""
    alert = _infos(urgency="Unknown", expires=None, description=None)

    assert validate(to_xml(alert)) == []
    assert len(google_rules(alert)) == 6


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="sent: needs a timezone"):
        replace(ALERT, sent=datetime(2026, 3, 13, 23, 40))


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\ufffe", "\uffff", "\ud800"])
def test_text_xml_cannot_carry_is_refused_with_its_field(char: str) -> None:
    with pytest.raises(ValueError, match=r"^headline: "):
        replace(VI, headline=f"Cảnh báo{char}")


# Characters XML 1.0 can carry: no controls but tab, newline and carriage return,
# no surrogates, not U+FFFE/U+FFFF.
XML_TEXT = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc"),
        include_characters="\t\n\r",
        exclude_characters="\ufffe\uffff",
    ),
    max_size=200,
)


@settings(max_examples=150, deadline=None)
@given(headline=XML_TEXT, description=XML_TEXT, area_desc=XML_TEXT, event=XML_TEXT)
def test_any_unicode_text_gives_valid_cap_that_reads_back_the_same(
    headline: str, description: str, area_desc: str, event: str
) -> None:
    info = replace(
        VI,
        headline=headline,
        description=description,
        event=event,
        areas=(hamlet_area(area_desc, ["unit-42"]),),
    )
    xml = to_xml(replace(ALERT, infos=(info,)))

    assert validate(xml) == []
    back = _parse(xml).find(f"{C}info")
    assert (back.findtext(f"{C}headline") or "") == headline
    assert (back.findtext(f"{C}description") or "") == description
    assert (back.findtext(f"{C}event") or "") == event
    assert (back.findtext(f"{C}area/{C}areaDesc") or "") == area_desc


@settings(max_examples=100, deadline=None)
@given(
    sent=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from([UTC, VIETNAM, timezone(timedelta(hours=-9, minutes=-30))]),
    )
)
def test_any_aware_time_gives_a_valid_cap_time_at_the_same_instant(sent: datetime) -> None:
    xml = to_xml(replace(ALERT, sent=sent))

    assert validate(xml) == []
    text = _parse(xml).findtext(f"{C}sent")
    assert text.endswith("+07:00")
    assert datetime.fromisoformat(text) == sent.replace(microsecond=0)


def _link(alert: Alert) -> str:
    return f"https://binhyen.example.vn/cap/{alert.identifier}.xml"


def _feed(alerts: list[Alert]) -> Any:
    return _parse(
        atom_feed(
            alerts,
            feed_id="tag:binhyen.example.vn,2026:cap",
            title="Cảnh báo an ninh — xã Tân Thành",
            self_url="https://binhyen.example.vn/cap/feed.atom",
            updated=SENT + timedelta(minutes=1),
            link_for=_link,
        )
    )


def test_atom_feed_has_rfc_4287_required_elements() -> None:
    second = replace(ALERT, identifier="binhyen-a-2", status="Exercise", infos=(EN, VI))
    feed = _feed([ALERT, second])

    assert etree.QName(feed).namespace == ATOM_NS
    assert feed.findtext(f"{A}id") == "tag:binhyen.example.vn,2026:cap"
    assert feed.findtext(f"{A}title") == "Cảnh báo an ninh — xã Tân Thành"
    assert feed.findtext(f"{A}updated") == "2026-03-13T23:41:00+07:00"
    assert feed.findtext(f"{A}author/{A}name")
    assert feed.find(f"{A}link[@rel='self']").get("href") == (
        "https://binhyen.example.vn/cap/feed.atom"
    )
    entries = feed.findall(f"{A}entry")
    assert len(entries) == 2
    first, other = entries
    assert first.findtext(f"{A}id") == _link(ALERT)
    assert first.findtext(f"{A}title") == VI.headline
    assert first.findtext(f"{A}updated") == "2026-03-13T23:40:00+07:00"
    assert first.findtext(f"{A}summary") == VI.description
    link = first.find(f"{A}link[@rel='alternate']")
    assert (link.get("href"), link.get("type")) == (_link(ALERT), "application/cap+xml")
    assert other.findtext(f"{A}title") == EN.headline
    assert other.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    # Every date in the feed is an RFC 3339 date-time.
    for node in feed.iter(f"{A}updated", f"{A}published"):
        assert datetime.fromisoformat(node.text).utcoffset() is not None


def test_atom_feed_without_alerts_is_still_a_complete_feed() -> None:
    feed = _feed([])

    assert feed.findall(f"{A}entry") == []
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{A}{required}") is not None, required
