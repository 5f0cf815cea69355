"""Bulk import of households and residents from a clerk's spreadsheet: layout and rules.

One row per resident. Rows with the same household code (Mã hộ) form a household; a
blank code continues the household of the row above (Excel merged cells leave it
blank). Household fields (address, pledge) may be written on every row of the
household or only on its first row; when repeated they must agree. Headers are
matched ignoring case and diacritics, in Vietnamese or English.

Every message a clerk sees exists in Vietnamese and English. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from binhyen.kit.text import has_controls, without_controls
from binhyen.registry.domain import households, people
from binhyen.registry.domain.households import BA_KHONG, Household, HouseholdRuleViolation
from binhyen.registry.domain.people import Person, PersonRuleViolation

MAX_MEMBERS = 40  # as the households API
MAX_ROWS = 1_000_000
HEADER_SEARCH_ROWS = 10  # a title may sit above the header row


class Formula:
    """Marks a cell holding a formula (its value is not data a clerk typed)."""

    def __repr__(self) -> str:
        return "FORMULA"


FORMULA = Formula()


@dataclass(frozen=True)
class Column:
    """A column of the layout: its key, the header written on export, accepted aliases."""

    key: str
    header: str
    english: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    per_household: bool = False


COLUMNS: tuple[Column, ...] = (
    Column(
        "household_code",
        "Mã hộ",
        "Household code",
        ("ma ho", "ma so ho", "so ho khau", "household", "household id", "registration code"),
        required=True,
        per_household=True,
    ),
    Column(
        "address",
        "Địa chỉ",
        "Address",
        ("dia chi", "dia chi ho"),
        required=True,
        per_household=True,
    ),
    Column("head", "Chủ hộ", "Head of household", ("chu ho", "la chu ho", "head", "is head")),
    Column(
        "full_name",
        "Họ và tên",
        "Full name",
        ("ho va ten", "ho ten", "ten", "name", "resident"),
        required=True,
    ),
    Column("birth_year", "Năm sinh", "Year of birth", ("nam sinh", "birth year", "born")),
    Column(
        "phones",
        "Số điện thoại",
        "Phone",
        ("so dien thoai", "dien thoai", "sdt", "so dt", "phones", "phone number", "mobile"),
    ),
    Column(
        "alert_consent",
        "Đồng ý nhận cảnh báo",
        "Alert consent",
        ("dong y nhan canh bao", "dong y", "consent", "consents to alerts"),
    ),
    Column(
        "alert_channels",
        "Kênh cảnh báo",
        "Alert channels",
        ("kenh canh bao", "kenh nhan canh bao", "channels", "alert channel"),
    ),
    Column(
        "preferred_language",
        "Ngôn ngữ",
        "Language",
        ("ngon ngu", "preferred language", "language of alerts"),
    ),
    Column(
        "pledge_signed_on",
        "Ngày ký cam kết",
        "Pledge signed on",
        ("ngay ky cam ket", "ngay ky", "pledge date", "pledge signed", "signed on"),
        per_household=True,
    ),
    Column(
        "pledge_year",
        "Năm cam kết",
        "Pledge year",
        ("nam cam ket", "nam ke hoach", "programme year", "program year"),
        per_household=True,
    ),
    Column(
        "commitments",
        "Nội dung cam kết",
        "Commitments",
        ("noi dung cam ket", "cam ket", "pledge commitments"),
        per_household=True,
    ),
)
BY_KEY = {c.key: c for c in COLUMNS}
# Columns a clerk's own list often has; recognised and ignored.
IGNORED = frozenset({"stt", "so thu tu", "tt", "no", "ghi chu", "note", "notes", "loi error"})
ERROR_HEADER = "Lỗi / Error"


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=1 << 16)  # cells repeat a lot: x, có, addresses, codes
def key(text: str) -> str:
    """Header key: lower case, no diacritics, đ→d, punctuation and spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").casefold()
    return " ".join(_NOT_ALNUM.sub(" ", stripped).split())


_ALIASES: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, _column.english, *_column.aliases):
        _ALIASES[key(_name)] = _column.key


def column_letter(index: int) -> str:
    """Excel column letter of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Message:
    """A message for the clerk, in Vietnamese and English."""

    vi: str
    en: str

    def __str__(self) -> str:
        return f"{self.vi} / {self.en}"


class LayoutError(Exception):
    """The file as a whole cannot be read as the layout (nothing is imported)."""

    def __init__(self, message: Message, *, columns: Sequence[str] = ()) -> None:
        super().__init__(message.en)
        self.message = message
        self.columns = tuple(columns)


@dataclass(frozen=True)
class Header:
    """Where the header row is and which column holds which field."""

    row: int  # Excel row number of the header row
    first_column: int  # 0-based index of the sheet's first column (offset of the data)
    columns: Mapping[str, int]  # field key → index within a row's values
    names: tuple[str, ...]  # the header cells as written
    ignored: tuple[str, ...] = ()  # headers not part of the layout

    def letter(self, index: int) -> str:
        """The Excel column letter of a row value index."""
        return column_letter(self.first_column + index)

    def where(self, key_: str) -> tuple[str, str]:
        """Column letter and header as written for a field key (blank if absent)."""
        index = self.columns.get(key_)
        if index is None:
            return "", BY_KEY[key_].header
        return self.letter(index), self.names[index]


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _header_cell(value: object) -> str:
    return _clean(value) if isinstance(value, str) else ("" if value is None else str(value))


def _match(name: str) -> str | None:
    found = _ALIASES.get(key(name))
    if found is None:
        # "Mã hộ / Household code", "Họ và tên (*)": try each part.
        for part in re.split(r"[/()\[\]|\n]", name):
            found = _ALIASES.get(key(part))
            if found is not None:
                break
    return found


def find_header(rows: Sequence[Sequence[object]], *, first_row: int, first_column: int) -> Header:
    """Find the header row among the first rows; LayoutError naming what is wrong."""
    best: tuple[int, int] | None = None
    for offset, values in enumerate(rows[:HEADER_SEARCH_ROWS]):
        matched = sum(1 for v in values if _match(_header_cell(v)) is not None)
        if matched and (best is None or matched > best[1]):
            best = (offset, matched)
    if best is None:
        expected = ", ".join(c.header for c in COLUMNS if c.required)
        raise LayoutError(
            Message(
                f"không tìm thấy dòng tiêu đề; dòng đầu tiên phải có các cột {expected}",
                f"no header row found; the first row must name the columns {expected}",
            ),
            columns=[c.header for c in COLUMNS if c.required],
        )
    offset, _ = best
    names = tuple(_header_cell(v) for v in rows[offset])
    columns: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    for index, name in enumerate(names):
        if not name:
            continue
        found = _match(name)
        if found is None:
            if key(name) not in IGNORED:
                ignored.append(name)
            continue
        if found in columns:
            duplicates.append(name)
        columns[found] = columns.get(found, index)
    if duplicates:
        raise LayoutError(
            Message(
                f"cột bị lặp: {', '.join(duplicates)}; mỗi cột chỉ được có một lần",
                f"duplicate columns: {', '.join(duplicates)}; keep one of each",
            ),
            columns=duplicates,
        )
    missing = [c.header for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        raise LayoutError(
            Message(
                f"thiếu cột bắt buộc: {', '.join(missing)}",
                "missing required columns: "
                + ", ".join(f"{c.header} ({c.english})" for c in COLUMNS if c.header in missing),
            ),
            columns=missing,
        )
    return Header(first_row + offset, first_column, columns, names, tuple(ignored))


@dataclass(frozen=True)
class RowError:
    """What is wrong in one cell (or row) of the clerk's file."""

    row: int
    column: str  # Excel letter, "" when the whole row is at fault
    header: str
    field: str
    vi: str
    en: str

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "field": self.field,
            "message_vi": self.vi,
            "message_en": self.en,
        }


@dataclass(frozen=True)
class PledgeRow:
    """A household's pledge as written in the file."""

    year: int
    signed_on: date
    commitments: tuple[str, ...]


@dataclass(frozen=True)
class HouseholdRows:
    """A household of the file, validated: its residents (ids still to be given)."""

    code: str
    address: str
    first_row: int
    residents: tuple[Person, ...]
    rows: tuple[int, ...]  # Excel row of each resident
    head_index: int
    pledge: PledgeRow | None


@dataclass
class Parsed:
    """The result of checking every row: households, or what is wrong."""

    households: list[HouseholdRows] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # non-empty data rows


# --- English rule messages of the domain, in Vietnamese --------------------------------

_VIETNAMESE: tuple[tuple[str, str], ...] = (
    (r"full name must not be blank", "họ và tên không được để trống"),
    (r"birth year must be between 1900 and (\d+)", r"năm sinh phải từ 1900 đến \1"),
    (r"not a phone number", "không phải số điện thoại"),
    (
        r"not a valid phone number; write it as 09xx xxx xxx or \+84 9xx xxx xxx",
        "số điện thoại không hợp lệ; ghi dạng 09xx xxx xxx hoặc +84 9xx xxx xxx",
    ),
    (r"at most 5 phone numbers", "tối đa 5 số điện thoại"),
    (r"unknown alert channel; use (.*)", r"kênh cảnh báo không hợp lệ; dùng \1"),
    (
        r"alert channels need the resident's consent to receive alerts",
        "chỉ ghi kênh cảnh báo khi người dân đồng ý nhận cảnh báo",
    ),
    (
        r"SMS, voice and Zalo alerts need a phone number",
        "cảnh báo qua SMS, gọi điện và Zalo cần có số điện thoại",
    ),
    (r"language must be one of (.*)", r"ngôn ngữ phải là một trong \1"),
    (r"address must not be blank", "địa chỉ không được để trống"),
    (
        r"a pledge for (\d+) is signed in (\d+) or (\d+), not on (.*)",
        r"cam kết năm \1 phải ký trong năm \2 hoặc \3, không phải ngày \4",
    ),
    (r"unknown commitments (.*); use (.*)", r"nội dung cam kết không hợp lệ \1; dùng \2"),
    (r"a pledge needs at least one commitment", "cam kết cần ít nhất một nội dung"),
)


def vietnamese(message: str) -> str:
    """The Vietnamese of a domain rule message (the English one if not known)."""
    for pattern, vi in _VIETNAMESE:
        if re.fullmatch(pattern, message):
            return re.sub(pattern, vi, message)
    return message


# --- cell values -------------------------------------------------------------------------

_YES = frozenset({"x", "co", "yes", "y", "1", "true", "dung", "v", "chu ho", "dong y"})
_NO = frozenset({"", "khong", "no", "n", "0", "false", "sai", "-"})
_CHANNELS = {
    "sms": "sms",
    "tin nhan": "sms",
    "nhan tin": "sms",
    "voice": "voice",
    "goi dien": "voice",
    "cuoc goi": "voice",
    "call": "voice",
    "zalo": "zalo",
    "email": "email",
    "e mail": "email",
    "thu dien tu": "email",
    "push": "push",
    "app": "push",
    "ung dung": "push",
}
_LANGUAGES = {
    "vi": "vi",
    "tieng viet": "vi",
    "vietnamese": "vi",
    "en": "en",
    "tieng anh": "en",
    "english": "en",
    "km": "km",
    "tieng khmer": "km",
    "khmer": "km",
    "lo": "lo",
    "tieng lao": "lo",
    "lao": "lo",
    "zh": "zh",
    "tieng trung": "zh",
    "tieng hoa": "zh",
    "chinese": "zh",
}
_COMMITMENTS = {
    "ba khong": tuple(sorted(BA_KHONG)),
    "khong ma tuy": ("no_drugs",),
    "khong co bac": ("no_gambling",),
    "khong vi pham giao thong": ("no_traffic_violations",),
    "to giac toi pham": ("report_crime",),
    "giu gin trat tu": ("keep_order",),
    "khong bao luc gia dinh": ("no_domestic_violence",),
    **{c.replace("_", " "): (c,) for c in households.COMMITMENTS},
}
DEFAULT_COMMITMENTS = ("no_drugs", "no_gambling", "no_traffic_violations")
_SPLIT = re.compile(r"[,;/\n]+")
_EXCEL_EPOCH = date(1899, 12, 30)


class _Bad(Exception):
    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Formula):
        raise _Bad(
            "không được dùng công thức; hãy dán giá trị (Paste Values)",
            "formulas are not allowed; paste values",
        )
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    text = str(value)
    # Line breaks in a cell (Alt+Enter) become spaces; other control characters break the
    # hamlet's XLSX export and have no place in a name or an address.
    if has_controls(text, multiline=True):
        raise _Bad(
            "ô có ký tự điều khiển (ví dụ U+0000, U+001B); hãy gõ lại nội dung",
            "the cell holds control characters (such as U+0000 or U+001B); type it again",
        )
    return _clean(text)


def _flag(value: object, vi: str, en: str) -> bool:
    if isinstance(value, bool):
        return value
    text = key(_text(value))
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _Bad(vi, en)


def _year(value: object, what_vi: str, what_en: str) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    text = _text(value)
    if not text:
        return None
    match = re.fullmatch(r"(?:\d{1,2}[/.-]\d{1,2}[/.-])?(\d{4})", text)
    if match is None:
        raise _Bad(
            f"{what_vi} phải là số năm có 4 chữ số, ví dụ 1975",
            f"{what_en} must be a 4-digit year, e.g. 1975",
        )
    return int(match.group(1))


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 20000 < value < 80000:
        return _EXCEL_EPOCH + timedelta(days=int(value))  # a date serial without date format
    text = _text(value)
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    except ValueError:
        pass
    raise _Bad(
        "ngày không hợp lệ; ghi dạng dd/mm/yyyy, ví dụ 15/01/2026",
        "not a valid date; write it as dd/mm/yyyy, e.g. 15/01/2026",
    )


def _phones(value: object) -> list[str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A number cell lost its leading zero: 912345678 is 0912345678.
        return [str(int(value))]
    return [p.strip() for p in _SPLIT.split(_text(value)) if p.strip()]


def _codes(value: object, table: Mapping[str, str | tuple[str, ...]]) -> list[str]:
    found: list[str] = []
    for part in _SPLIT.split(_text(value)):
        name = key(part)
        if not name:
            continue
        mapped = table.get(name, name.replace(" ", "_"))
        found.extend([mapped] if isinstance(mapped, str) else mapped)
    return found


# --- rows ----------------------------------------------------------------------------------

CellReader = Callable[[Sequence[object], str], object]
ErrorSink = Callable[[int, str, str, str], None]


@dataclass
class _Open:
    """The household being read (rows with the same code, consecutive)."""

    code: str
    first_row: int
    address: str | None = None
    address_row: int = 0
    pledge_cells: dict[str, tuple[object, int]] = field(default_factory=dict)
    residents: list[Person] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    head_index: int | None = None
    head_row: int = 0
    bad: bool = False


def parse_rows(
    rows: Iterable[tuple[int, Sequence[object]]],
    header: Header,
    *,
    now: datetime | None = None,
) -> Parsed:
    """Check every data row and group them into households; collect every error."""
    now = now or datetime.now(UTC)
    parsed = Parsed()
    seen: dict[str, int] = {}  # folded code → first row of its household
    current: _Open | None = None
    cols = header.columns

    def cell(values: Sequence[object], key_: str) -> object:
        index = cols.get(key_)
        if index is None or index >= len(values):
            return None
        value = values[index]
        return None if value == "" else value

    def error(row: int, key_: str, vi: str, en: str) -> None:
        letter, name = header.where(key_)
        parsed.errors.append(RowError(row, letter, name, key_, vi, en))

    def close(household: _Open | None) -> None:
        if household is None or household.bad or not household.residents:
            return
        pledge = _pledge(household, error)
        if household.bad:
            return
        parsed.households.append(
            HouseholdRows(
                code=household.code,
                address=household.address or "",
                first_row=household.first_row,
                residents=tuple(household.residents),
                rows=tuple(household.rows),
                head_index=household.head_index or 0,
                pledge=pledge,
            )
        )

    for row, values in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        parsed.rows += 1
        if parsed.rows > MAX_ROWS:
            raise LayoutError(
                Message(
                    f"tệp có quá {MAX_ROWS} dòng; hãy chia thành nhiều tệp",
                    f"the file has more than {MAX_ROWS} rows; split it",
                )
            )
        errors_before = len(parsed.errors)
        try:
            code = _text(cell(values, "household_code"))
        except _Bad as bad:
            error(row, "household_code", bad.vi, bad.en)
            code = ""
            if current is not None:
                current.bad = True
        if code:
            if len(code) > 40:
                error(
                    row,
                    "household_code",
                    "mã hộ dài quá 40 ký tự",
                    "household code over 40 characters",
                )
            folded = key(code)
            if current is None or key(current.code) != folded:
                close(current)
                earlier = seen.get(folded)
                current = _Open(code, row)
                if earlier is not None:
                    error(
                        row,
                        "household_code",
                        f"mã hộ {code} đã dùng cho hộ ở dòng {earlier}; các nhân khẩu của "
                        "một hộ phải nằm liền nhau, mỗi hộ một mã",
                        f"household code {code} is already used by the household at row "
                        f"{earlier}; keep a household's residents together, one code per household",
                    )
                    current.bad = True
                else:
                    seen[folded] = row
        elif current is None:
            if len(parsed.errors) == errors_before:
                error(
                    row,
                    "household_code",
                    "mã hộ không được để trống",
                    "household code must not be blank",
                )
            continue
        household = current
        assert household is not None
        _household_fields(household, values, row, cell, error)
        person = _resident(values, row, cell, error, now, cols)
        try:
            head = _flag(
                cell(values, "head"),
                "cột Chủ hộ: ghi x cho chủ hộ, để trống nếu không phải",
                "Head of household: write x for the head, leave it blank otherwise",
            )
        except _Bad as bad:
            error(row, "head", bad.vi, bad.en)
            head = False
        if head:
            if household.head_index is not None:
                error(
                    row,
                    "head",
                    f"hộ {household.code} đã có chủ hộ ở dòng {household.head_row}",
                    f"household {household.code} already has its head at row {household.head_row}",
                )
            else:
                household.head_index, household.head_row = len(household.residents), row
        if len(household.residents) >= MAX_MEMBERS:
            error(
                row,
                "household_code",
                f"một hộ có tối đa {MAX_MEMBERS} nhân khẩu",
                f"a household has at most {MAX_MEMBERS} residents",
            )
        if len(parsed.errors) > errors_before or person is None:
            household.bad = True
            continue
        household.residents.append(person)
        household.rows.append(row)
    close(current)
    return parsed


def _household_fields(
    household: _Open, values: Sequence[object], row: int, cell: CellReader, error: ErrorSink
) -> None:
    try:
        address = _text(cell(values, "address"))
    except _Bad as bad:
        error(row, "address", bad.vi, bad.en)
        address = ""
    if address:
        if len(address) > 300:
            error(row, "address", "địa chỉ dài quá 300 ký tự", "address over 300 characters")
        elif household.address is None:
            household.address, household.address_row = address, row
        elif key(address) != key(household.address):
            error(
                row,
                "address",
                f"địa chỉ khác với dòng {household.address_row} của cùng hộ {household.code}",
                f"address differs from row {household.address_row} of the same household "
                f"{household.code}",
            )
    elif household.address is None and row == household.first_row:
        error(row, "address", "địa chỉ không được để trống", "address must not be blank")
    for key_ in ("pledge_signed_on", "pledge_year", "commitments"):
        value = cell(values, key_)
        if value is None:
            continue
        earlier = household.pledge_cells.get(key_)
        if earlier is None:
            household.pledge_cells[key_] = (value, row)
        elif _same(earlier[0], value) is False:
            error(
                row,
                key_,
                f"khác với dòng {earlier[1]} của cùng hộ {household.code}",
                f"differs from row {earlier[1]} of the same household {household.code}",
            )


def _same(a: object, b: object) -> bool:
    try:
        return key(_text(a)) == key(_text(b))
    except _Bad:
        return True  # reported where the value is read


def _pledge(household: _Open, error: ErrorSink) -> PledgeRow | None:
    cells = household.pledge_cells
    if not cells:
        return None
    signed_cell, signed_row = cells.get("pledge_signed_on", (None, household.first_row))
    try:
        signed_on = _date(signed_cell)
    except _Bad as bad:
        error(signed_row, "pledge_signed_on", bad.vi, bad.en)
        household.bad = True
        return None
    if signed_on is None:
        other_row = min(r for _, r in cells.values())
        error(
            other_row,
            "pledge_signed_on",
            "ghi ngày ký cam kết (dd/mm/yyyy) hoặc để trống cả năm và nội dung cam kết",
            "write the pledge's signing date (dd/mm/yyyy), or leave its year and commitments blank",
        )
        household.bad = True
        return None
    year_cell, year_row = cells.get("pledge_year", (None, signed_row))
    try:
        year = _year(year_cell, "năm cam kết", "pledge year") or signed_on.year
    except _Bad as bad:
        error(year_row, "pledge_year", bad.vi, bad.en)
        household.bad = True
        return None
    commitments_cell, commitments_row = cells.get("commitments", (None, signed_row))
    try:
        commitments = (
            tuple(dict.fromkeys(_codes(commitments_cell, _COMMITMENTS))) or DEFAULT_COMMITMENTS
        )
    except _Bad as bad:
        error(commitments_row, "commitments", bad.vi, bad.en)
        household.bad = True
        return None
    try:
        households.pledge(
            Household("-", "-", "-"),
            year=year,
            signed_on=signed_on,
            collected_by="-",
            commitments=list(commitments),
        )
    except HouseholdRuleViolation as exc:
        where = {"signed_on": ("pledge_signed_on", signed_row)}.get(
            exc.field, ("commitments", commitments_row)
        )
        error(where[1], where[0], vietnamese(str(exc)), str(exc))
        household.bad = True
        return None
    return PledgeRow(year, signed_on, commitments)


_PERSON_FIELDS = {
    "full_name": "full_name",
    "birth_year": "birth_year",
    "phones": "phones",
    "alert_channels": "alert_channels",
    "alert_consent": "alert_consent",
    "preferred_language": "preferred_language",
}


def _resident(
    values: Sequence[object],
    row: int,
    cell: CellReader,
    error: ErrorSink,
    now: datetime,
    present: Mapping[str, int],
) -> Person | None:
    ok = True

    def read(key_: str, reader: Callable[[object], Any]) -> Any:
        nonlocal ok
        try:
            return reader(cell(values, key_))
        except _Bad as bad:
            error(row, key_, bad.vi, bad.en)
            ok = False
            return None

    name = read("full_name", _text) or ""
    birth_year = read("birth_year", lambda v: _year(v, "năm sinh", "year of birth"))
    phones = read("phones", _phones) or []
    consent = read(
        "alert_consent",
        lambda v: _flag(
            v,
            "cột Đồng ý nhận cảnh báo: ghi có hoặc không",
            "Alert consent: write yes (có) or no (không)",
        ),
    )
    channels = read("alert_channels", lambda v: _codes(v, _CHANNELS)) or []
    language = read("preferred_language", lambda v: _codes(v, _LANGUAGES))
    if not ok:
        return None
    if not name:
        error(row, "full_name", "họ và tên không được để trống", "full name must not be blank")
        return None
    if len(name) > 120:
        error(row, "full_name", "họ và tên dài quá 120 ký tự", "full name over 120 characters")
        return None
    if language and len(language) > 1:
        error(row, "preferred_language", "chỉ ghi một ngôn ngữ", "write one language only")
        return None
    try:
        return people.register_person(
            person_id="",
            unit_id="",
            household_id="",
            full_name=name,
            birth_year=birth_year,
            phones=phones,
            preferred_language=language[0] if language else "vi",
            alert_channels=channels,
            alert_consent=bool(consent),
            now=now,
        )
    except PersonRuleViolation as exc:
        field_key = exc.field.split(".")[0]
        if field_key == "alert_consent" and "alert_consent" not in present:
            field_key = "alert_channels"
        error(row, _PERSON_FIELDS.get(field_key, "full_name"), vietnamese(str(exc)), str(exc))
        return None


# --- errors the database finds (existing codes) ------------------------------------------


def code_taken_here(code: str, first_row: int, header: Header) -> RowError:
    """The household code is already registered in this hamlet."""
    letter, name = header.where("household_code")
    return RowError(
        first_row,
        letter,
        name,
        "household_code",
        f"mã hộ {code} đã được đăng ký ở thôn này; xóa các dòng của hộ này hoặc sửa mã hộ",
        f"household code {code} is already registered in this hamlet; remove its "
        "rows or correct the code",
    )


def code_in_other_hamlet(code: str, first_row: int, header: Header) -> RowError:
    """The household code is registered to a household of another hamlet."""
    letter, name = header.where("household_code")
    return RowError(
        first_row,
        letter,
        name,
        "household_code",
        f"mã hộ {code} thuộc một hộ của thôn khác; kiểm tra lại mã hộ, hoặc "
        "chuyển hộ đó sang thôn này trước",
        f"household code {code} belongs to a household of another hamlet; check "
        "the code, or move that household to this hamlet first",
    )


# --- writing -------------------------------------------------------------------------------


def build_household(
    rows: HouseholdRows,
    *,
    household_id: str,
    unit_id: str,
    person_ids: Sequence[str],
    collected_by: str,
    registered_on: date,
) -> tuple[Household, Household | None, list[Person]]:
    """The household as registered, as pledged (if a pledge was written) and its residents."""
    residents = [
        replace(p, id=pid, unit_id=unit_id, household_id=household_id)
        for p, pid in zip(rows.residents, person_ids, strict=True)
    ]
    registered = households.register_household(
        household_id=household_id,
        unit_id=unit_id,
        address=rows.address,
        registration_code=rows.code,
        registered_on=registered_on,
        today=registered_on,
    )
    registered = replace(registered, head_person_id=residents[rows.head_index].id)
    pledged = None
    if rows.pledge is not None:
        pledged = households.pledge(
            registered,
            year=rows.pledge.year,
            signed_on=rows.pledge.signed_on,
            collected_by=collected_by,
            commitments=list(rows.pledge.commitments),
        )
    return registered, pledged, residents


# --- export --------------------------------------------------------------------------------


def _national(phone: str) -> str:
    return "0" + phone[3:] if phone.startswith("+84") else phone


def export_rows(
    found: Iterable[tuple[Household, Sequence[Person]]],
) -> Iterator[list[object]]:
    """The header row, then one row per resident (head first), in the import layout."""
    yield [c.header for c in COLUMNS]
    for household, residents in found:
        ordered = sorted(residents, key=lambda p: (p.id != household.head_person_id, p.id))
        pledge = max(household.pledges, key=lambda p: p.year) if household.pledges else None
        for person in ordered:
            row: list[object] = [
                household.registration_code or household.id,
                household.address,
                "x" if person.id == household.head_person_id else None,
                person.full_name,
                person.birth_year,
                ", ".join(_national(p) for p in person.phones) or None,
                "có" if person.alert_consent else "không",
                ", ".join(person.alert_channels) or None,
                person.preferred_language,
                f"{pledge.signed_on:%d/%m/%Y}" if pledge else None,
                pledge.year if pledge else None,
                ", ".join(pledge.commitments) if pledge else None,
            ]
            # Data stored before control characters were refused: XLSX cannot hold them.
            yield [without_controls(v) if isinstance(v, str) else v for v in row]
