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


def test_safe_text_refuses_control_characters_naming_the_field() -> None:
    import pytest
    from pydantic import BaseModel, ValidationError

    from binhyen.kit.text import SafeMultiline, SafeText

    class Resident(BaseModel):
        full_name: SafeText
        note: SafeMultiline = ""

    for bad in ("Nguyễn\u001b[2J Văn A", "Lê\u0000Thị", "Trần\u0085", "Hà\u2028Nội", "A\tB"):
        with pytest.raises(ValidationError) as caught:
            Resident(full_name=bad)
        assert [e["loc"] for e in caught.value.errors()] == [("full_name",)]
    with pytest.raises(ValidationError) as caught:
        Resident(full_name="Ánh", note="dòng 1\n\u0007")
    assert [e["loc"] for e in caught.value.errors()] == [("note",)]
    assert Resident(full_name="Nguyễn Văn Hảo", note="dòng 1\r\n\tdòng 2").note.endswith("2")
