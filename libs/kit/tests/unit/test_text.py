"""Vietnamese text helpers."""

import unicodedata

from binhyen.kit.text import fold, nfc


def test_nfc_composes_and_collapses_spaces() -> None:
    decomposed = unicodedata.normalize("NFD", "  Tân   Thành ")
    assert nfc(decomposed) == "Tân Thành"
    assert unicodedata.is_normalized("NFC", nfc(decomposed))


def test_fold_removes_diacritics_and_d_stroke() -> None:
    assert fold("Nguyễn Văn Hảo") == "nguyen van hao"
    assert fold("Đặng Thị Đào") == "dang thi dao"
    assert fold(unicodedata.normalize("NFD", "Quý Huệ")) == "quy hue"
