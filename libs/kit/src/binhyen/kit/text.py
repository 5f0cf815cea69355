"""Vietnamese text: store NFC, compare and search without diacritics."""

import unicodedata


def nfc(text: str) -> str:
    """NFC-normalise and collapse runs of white space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def fold(text: str) -> str:
    """A search key: lower case, no diacritics, đ→d ("Nguyễn Văn Hảo" → "nguyen van hao")."""
    decomposed = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.casefold()
