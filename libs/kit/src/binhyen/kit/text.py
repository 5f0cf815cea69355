"""Vietnamese text: store NFC, compare and search without diacritics, refuse control characters."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# C0 and C1 control characters, DEL, and the Unicode line/paragraph separators. They have no
# place in a name or an address, and they break exports (XLSX refuses most of them), terminals
# and log readers. Multi-line text (notes, descriptions) may keep "\n", "\r" and "\t".
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROLS_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_MESSAGE = "control characters (such as U+0000 or U+001B) are not allowed"


def nfc(text: str) -> str:
    """NFC-normalise and collapse runs of white space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def fold(text: str) -> str:
    """A search key: lower case, no diacritics, đ→d ("Nguyễn Văn Hảo" → "nguyen van hao")."""
    decomposed = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.casefold()


def has_controls(text: str, *, multiline: bool = False) -> bool:
    """True if ``text`` holds a control character (``multiline`` allows \\n, \\r and \\t)."""
    return (_CONTROLS_MULTILINE if multiline else _CONTROLS).search(text) is not None


def without_controls(text: str) -> str:
    """``text`` without control characters (to write out data stored before they were refused)."""
    return _CONTROLS.sub("", text)


def _single_line(value: str) -> str:
    if has_controls(value):
        raise ValueError(CONTROL_MESSAGE)  # never echoes the value: it may be personal
    return value


def _multi_line(value: str) -> str:
    if has_controls(value, multiline=True):
        raise ValueError(CONTROL_MESSAGE + " (only line breaks and tabs)")
    return value


# Pydantic field types: a request with a control character answers 422 naming the field.
SafeText = Annotated[str, AfterValidator(_single_line)]
"""One line of text (a name, an address, a code): no control character at all."""
SafeMultiline = Annotated[str, AfterValidator(_multi_line)]
"""Free text (a note, a description): line breaks and tabs only."""
