"""Vietnamese mobile numbers: parse what people type, keep E.164, format for a gateway.

Numbers are stored as E.164 (``+84`` and nine digits) and formatted per gateway profile:
``"84"`` (``84912345678``), ``"+84"`` (``+84912345678``) or ``"0"`` (``0912345678``).

Mobile prefixes are the ones in use since the Ministry of Information and Communications
converted 11-digit numbers to 10 digits (15/09/2018 – 30/06/2019; Circular 22/2014/TT-BTTTT):
0162–0169 → 032–039 (Viettel), 0120/0121/0122/0126/0128 → 070/079/077/076/078 (MobiFone),
0123/0124/0125/0127/0129 → 083/084/085/081/082 (VinaPhone), 0186/0188 → 056/058
(Vietnamobile), 0199 → 059 (Gmobile); the 10-digit prefixes 086/096–098 (Viettel), 088/091/094
(VinaPhone), 089/090/093 (MobiFone), 052/092 (Vietnamobile), 099 (Gmobile), 087 (Itel) and 055
(Reddi) are unchanged. Sources: english.mic.gov.vn ("Vietnam plans to truncate 11-digit mobile
phone numbers", 2018), lawnet.vn (list of prefixes of Vietnamese mobile network operators),
Wikipedia "Telephone numbers in Vietnam". The old 11-digit forms are refused with a message
that says so: the transition period ended in 2019.
"""

from __future__ import annotations

import re
from typing import Literal

PhoneFormat = Literal["84", "+84", "0"]

# Two digits after the trunk 0 (or after 84): the operator's prefix.
MOBILE_PREFIXES: frozenset[str] = frozenset(
    [f"3{d}" for d in "23456789"]  # Viettel 032–039
    + ["52", "55", "56", "58", "59"]  # Vietnamobile, Reddi, Gmobile
    + ["70", "76", "77", "78", "79"]  # MobiFone
    + [f"8{d}" for d in "123456789"]  # VinaPhone 081–085, 088; Viettel 086; Itel 087; Mobi 089
    + ["90", "91", "92", "93", "94", "96", "97", "98", "99"]
)
# 11-digit prefixes retired by the 2018 conversion (012x, 016x, 018x, 0199).
_OLD_PREFIXES = ("12", "16", "18", "19")
_SEPARATORS = re.compile(r"[\s.\-()]")


class InvalidPhone(ValueError):
    """The text is not a Vietnamese mobile number (the message says why; no digits echoed)."""


def parse_phone(raw: str) -> str:
    """Parse a Vietnamese mobile number as typed (0…, 84…, +84…, spaces/dots/dashes) to E.164."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+"):
        if not text.startswith("+84"):
            raise InvalidPhone("only Vietnamese numbers (+84) are supported")
        national = text[3:]
    elif text.startswith("0084"):
        national = text[4:]
    elif text.startswith("84") and len(text) in (11, 12):
        national = text[2:]
    elif text.startswith("0"):
        national = text[1:]
    else:
        raise InvalidPhone("a phone number starts with 0, 84 or +84, e.g. 0912 345 678")
    if not national.isascii() or not national.isdigit():
        raise InvalidPhone("a phone number holds digits only (spaces, dots and dashes are fine)")
    if national.startswith("0"):
        raise InvalidPhone("a phone number has one leading 0 (or 84 / +84), not both")
    if len(national) == 10 and national.startswith(_OLD_PREFIXES):
        raise InvalidPhone(
            "11-digit mobile numbers were converted to 10 digits in 2018 "
            "(e.g. 0169… is now 039…): use the new number"
        )
    if len(national) != 9:
        raise InvalidPhone("a Vietnamese mobile number has 10 digits, e.g. 0912 345 678")
    if national[:2] not in MOBILE_PREFIXES:
        raise InvalidPhone(
            "not a Vietnamese mobile prefix (03x, 05x, 07x, 08x or 09x); landlines cannot "
            "receive SMS"
        )
    return "+84" + national


def format_phone(e164: str, style: PhoneFormat) -> str:
    """Format an E.164 number as a gateway wants it: "84…", "+84…" or "0…"."""
    national = parse_phone(e164)[3:]
    if style == "84":
        return "84" + national
    if style == "+84":
        return "+84" + national
    return "0" + national


def is_phone(raw: str) -> bool:
    """True if ``raw`` parses as a Vietnamese mobile number."""
    try:
        parse_phone(raw)
    except InvalidPhone:
        return False
    return True
