"""A deterministic generator of invented households for demos and benchmarks.

Names are drawn from common Vietnamese family, middle and given names; phone
numbers are valid in format but invented. The same seed always gives the same
data, so ``make run`` shows the same Kỳ Nam every time and benchmarks are
repeatable at any size.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trương",
    "Lương",
    "Hà",
    "Thái",
]
MALE_MIDDLE = ["Văn", "Đức", "Quang", "Minh", "Hữu", "Xuân", "Công", "Thanh"]
FEMALE_MIDDLE = ["Thị", "Thu", "Ngọc", "Thanh", "Minh", "Hồng", "Kim", "Mai"]
MALE_GIVEN = [
    "Hảo",
    "Hùng",
    "Dũng",
    "Tuấn",
    "Nam",
    "Sơn",
    "Hải",
    "Long",
    "Phúc",
    "Thắng",
    "Trung",
    "Khoa",
    "Quân",
    "Đạt",
    "Hiếu",
    "Tâm",
    "Bình",
    "Cường",
    "Lộc",
    "Toàn",
]
FEMALE_GIVEN = [
    "Lan",
    "Hương",
    "Hoa",
    "Mai",
    "Hằng",
    "Linh",
    "Trang",
    "Thảo",
    "Nga",
    "Yến",
    "Hạnh",
    "Phương",
    "Dung",
    "Huyền",
    "Loan",
    "Oanh",
    "Vân",
    "Nhung",
    "Quyên",
    "Tuyết",
]
MOBILE_PREFIXES = ["086", "096", "097", "098", "032", "033", "034", "035", "088", "091", "094"]


@dataclass(frozen=True)
class DemoPerson:
    """An invented resident."""

    full_name: str
    birth_year: int
    phone: str | None
    alert_consent: bool


@dataclass(frozen=True)
class DemoHousehold:
    """An invented household: head first among its members."""

    code: str
    address: str
    members: tuple[DemoPerson, ...]
    pledge_signed_on: date | None


def _person(rng: random.Random, family: str, *, male: bool, born: int, phone: bool) -> DemoPerson:
    middle = rng.choice(MALE_MIDDLE if male else FEMALE_MIDDLE)
    given = rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
    number = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}" if phone else None
    return DemoPerson(f"{family} {middle} {given}", born, number, phone and rng.random() < 0.8)


def iter_households(
    *, seed: int, count: int, hamlet_name: str, year: int = 2026, code_prefix: str = "HK"
) -> Iterator[DemoHousehold]:
    """``count`` invented households of a hamlet, the same for the same arguments."""
    rng = random.Random(f"{seed}:{hamlet_name}")
    for n in range(1, count + 1):
        family = rng.choice(FAMILY)
        head_male = rng.random() < 0.75
        head_born = rng.randint(1950, 1995)
        members = [_person(rng, family, male=head_male, born=head_born, phone=True)]
        if rng.random() < 0.85:
            spouse_family = rng.choice(FAMILY)
            members.append(
                _person(
                    rng,
                    spouse_family,
                    male=not head_male,
                    born=head_born + rng.randint(-4, 6),
                    phone=rng.random() < 0.7,
                )
            )
        for _ in range(rng.choices([0, 1, 2, 3, 4], weights=[10, 25, 35, 20, 10])[0]):
            born = min(head_born + rng.randint(20, 35), year - 1)
            members.append(
                _person(
                    rng,
                    family,
                    male=rng.random() < 0.5,
                    born=born,
                    phone=year - born >= 16 and rng.random() < 0.6,
                )
            )
        signed = (
            date(year, 1, 15) + timedelta(days=rng.randrange(75)) if rng.random() < 0.9 else None
        )
        yield DemoHousehold(
            code=f"{code_prefix}{n:06d}",
            address=f"Xóm {rng.randint(1, 8)}, thôn {hamlet_name}",
            members=tuple(members),
            pledge_signed_on=signed,
        )


def households(*, seed: int, count: int, hamlet_name: str, year: int = 2026) -> list[DemoHousehold]:
    """The same as ``iter_households``, as a list."""
    return list(iter_households(seed=seed, count=count, hamlet_name=hamlet_name, year=year))
