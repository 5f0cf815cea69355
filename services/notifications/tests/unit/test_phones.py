"""Vietnamese mobile numbers: what people type becomes E.164, formats round-trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binhyen.notifications.channels.phones import (
    MOBILE_PREFIXES,
    InvalidPhone,
    PhoneFormat,
    format_phone,
    is_phone,
    parse_phone,
)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("091-234-5678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("+84 91 234 5678", "+84912345678"),
        ("0084912345678", "+84912345678"),
        ("(039) 933 3999", "+84399333999"),  # Viettel, converted from 0169 in 2018
        ("0587878888", "+84587878888"),  # Vietnamobile 058 (was 0188)
        ("0708887777", "+84708887777"),  # MobiFone 070 (was 0120)
        ("0822228888", "+84822228888"),  # VinaPhone 082 (was 0129)
        ("0599595999", "+84599595999"),  # Gmobile 059 (was 0199)
        ("0877123456", "+84877123456"),  # Itel 087
        (" 0961234567 ", "+84961234567"),
    ],
)
def test_typed_numbers_become_e164(typed: str, e164: str) -> None:
    assert parse_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "starts with 0"),
        ("912345678", "starts with 0"),
        ("+8512345678", "only Vietnamese"),
        ("+1 212 555 0100", "only Vietnamese"),
        ("01699333999", "converted to 10 digits"),  # the old 11-digit Viettel number
        ("841699333999", "converted to 10 digits"),
        ("02438212345", "10 digits"),  # Hà Nội landline (11 digits)
        ("0238212345", "not a Vietnamese mobile prefix"),  # 02x: landline area code
        ("0112345678", "not a Vietnamese mobile prefix"),
        ("0951234567", "not a Vietnamese mobile prefix"),  # S-Fone, closed
        ("091234567", "10 digits"),
        ("09123456789", "10 digits"),
        ("0912a45678", "digits only"),
        ("00912345678", "not both"),
        ("0９12345678", "digits only"),  # full-width digit
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(typed: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        parse_phone(typed)
    assert not is_phone(typed)


def test_refusals_do_not_echo_the_number() -> None:
    with pytest.raises(InvalidPhone) as refused:
        parse_phone("01699333999")
    assert "9333999" not in str(refused.value)


@pytest.mark.parametrize(
    ("style", "formatted"), [("84", "84912345678"), ("+84", "+84912345678"), ("0", "0912345678")]
)
def test_format_for_a_gateway(style: PhoneFormat, formatted: str) -> None:
    assert format_phone("+84912345678", style) == formatted


def test_current_prefixes_include_the_2018_conversions() -> None:
    converted = {"32", "39", "70", "76", "77", "78", "79", "81", "85", "56", "58", "59"}
    assert converted <= MOBILE_PREFIXES
    assert not {"12", "16", "18", "19", "20", "24", "28", "95"} & MOBILE_PREFIXES


numbers = st.builds(
    lambda prefix, rest: "+84" + prefix + rest,
    st.sampled_from(sorted(MOBILE_PREFIXES)),
    st.text("0123456789", min_size=7, max_size=7),
)


@given(numbers, st.sampled_from(["84", "+84", "0"]), st.sampled_from(["", " ", ".", "-"]))
def test_formatting_then_parsing_gives_the_same_number(
    e164: str, style: PhoneFormat, separator: str
) -> None:
    formatted = format_phone(e164, style)
    spaced = formatted[:-7] + separator + formatted[-7:-4] + separator + formatted[-4:]
    assert parse_phone(formatted) == e164
    assert parse_phone(spaced) == e164
