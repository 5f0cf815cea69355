"""The history the reporting demo loads: Kỳ Nam's hamlets over evaluation years 2025 and 2026.

Data only (the demo, ``binhyen.reporting.demo``, sends it through the registry's and incidents'
APIs). Everything is invented; the third hamlet's residents have names and birth years but no
phone numbers. The same data every run: Idempotency-Keys derive from it.
"""

from __future__ import annotations

import random
from typing import Any

YEARS = (2025, 2026)  # programme years; evaluation years EY2025 and EY2026
HAMLETS = {"tan-thanh": "Tân Thành", "quy-hue": "Quý Huệ", "hoa-loc": "Hòa Lộc"}
NEW_HAMLET = "hoa-loc"  # the one this demo creates (the registry demo has the other two)
NEW_HOUSEHOLDS = 36
# Quý Huệ: every household whose place in the list gives this remainder has no 2025 pledge.
MISSING_PLEDGE_EVERY, MISSING_PLEDGE_AT = 9, 4
# Where reports are placed: around each hamlet's centre (longitude, latitude).
CENTRES = {
    "tan-thanh": (106.2905, 18.0451),
    "quy-hue": (106.3021, 18.0387),
    "hoa-loc": (106.2962, 18.0302),
}
SHIFT_DAYS = (  # a night patrol a quarter, over EY2025 and EY2026
    "2024-11-15", "2025-02-15", "2025-05-15", "2025-08-15",
    "2025-11-15", "2026-02-15", "2026-05-15", "2026-08-15",
)  # fmt: skip
TEAMS = {
    "people_security": ("Tổ an ninh nhân dân thôn {}", 4),
    "mediation": ("Tổ hòa giải thôn {}", 3),
}
SEED = 2020_09_09

# (key, hamlet, category, occurred (local, +07:00), flow, description, answers). Flows:
# "" filed only; ack; resolve (acknowledge, assign the security team, start, resolve);
# reject; mediate (acknowledge, a session, an agreement); police (acknowledge, hand to the
# commune police, who confirm receipt).
History = tuple[str, str, str, str, str, str, dict[str, Any]]
HISTORY: tuple[History, ...] = (
    # Tân Thành, EY2025: six crimes and social evils.
    ("tt-2025-theft-1", "tan-thanh", "theft", "2024-11-22T22:00", "resolve",
     "Mất trộm xe đạp điện trong sân nhà", {"stolen_items": "xe đạp điện"}),
    ("tt-2025-theft-2", "tan-thanh", "theft", "2025-01-17T02:30", "ack",
     "Trộm gà trong chuồng, mất 6 con", {"stolen_items": "gà"}),
    ("tt-2025-gambling-1", "tan-thanh", "gambling", "2025-02-08T20:00", "resolve",
     "Đánh bài ăn tiền dịp Tết tại nhà dân", {"kind": "cards", "people_involved": 5}),
    ("tt-2025-theft-3", "tan-thanh", "theft", "2025-04-26T23:10", "ack",
     "Mất trộm máy bơm nước ngoài đồng", {"stolen_items": "máy bơm"}),
    ("tt-2025-fire-1", "tan-thanh", "fire", "2025-05-03T13:20", "resolve",
     "Cháy rơm rạ sau nhà, đã dập tắt", {"people_trapped": False}),
    ("tt-2025-drugs-1", "tan-thanh", "drugs", "2025-06-14T21:00", "ack",
     "Phát hiện bơm kim tiêm ở bãi đất trống cuối xóm", {"activity": "use"}),
    ("tt-2025-accident-1", "tan-thanh", "traffic_accident", "2025-07-19T17:45", "ack",
     "Va chạm giữa xe máy và ô tô ở đường liên thôn", {"injured": True}),
    ("tt-2025-gambling-2", "tan-thanh", "gambling", "2025-09-02T15:00", "ack",
     "Cá độ bóng đá tại quán nước đầu thôn", {"kind": "betting"}),
    # Tân Thành, EY2026: three, none serious.
    ("tt-2026-theft-1", "tan-thanh", "theft", "2025-12-05T01:40", "resolve",
     "Mất trộm điện thoại để ở hiên nhà", {"stolen_items": "điện thoại"}),
    ("tt-2026-traffic-1", "tan-thanh", "traffic_violation", "2026-03-08T16:00", "ack",
     "Học sinh đi xe máy không đội mũ bảo hiểm", {"vehicle": "motorbike"}),
    ("tt-2026-theft-2", "tan-thanh", "theft", "2026-04-11T22:15", "ack",
     "Mất trộm bình ắc quy xe tải", {"stolen_items": "ắc quy"}),
    ("tt-2026-suspicious-1", "tan-thanh", "suspicious_person", "2026-06-20T10:00", "reject",
     "Người lạ đi xe máy hỏi thăm nhà vắng chủ", {"people_count": 1}),
    ("tt-2026-gambling-1", "tan-thanh", "gambling", "2026-08-29T19:30", "ack",
     "Tụ tập đánh bài ăn tiền sau đám cưới", {"kind": "cards"}),
    # Quý Huệ, EY2025: three crimes and social evils.
    ("qh-2025-theft-1", "quy-hue", "theft", "2025-01-09T03:00", "resolve",
     "Mất trộm xe máy trong đêm", {"stolen_items": "xe máy"}),
    ("qh-2025-gambling-1", "quy-hue", "gambling", "2025-03-30T21:00", "ack",
     "Chơi số đề tại nhà dân", {"kind": "lottery"}),
    ("qh-2025-theft-2", "quy-hue", "theft", "2025-08-15T14:00", "ack",
     "Mất trộm lúa phơi ngoài sân", {"stolen_items": "lúa"}),
    ("qh-2025-accident-1", "quy-hue", "traffic_accident", "2025-10-04T18:30", "ack",
     "Xe máy tự ngã ở khúc cua gần cầu", {"injured": True}),
    # Quý Huệ, EY2026: six, more than the year before.
    ("qh-2026-theft-1", "quy-hue", "theft", "2025-11-28T22:40", "resolve",
     "Mất trộm dê trong chuồng", {"stolen_items": "dê"}),
    ("qh-2026-drugs-1", "quy-hue", "drugs", "2026-01-25T22:00", "ack",
     "Nhóm thanh niên nghi sử dụng ma túy ở chòi canh", {"activity": "use"}),
    ("qh-2026-theft-2", "quy-hue", "theft", "2026-02-14T01:15", "ack",
     "Mất trộm két bia dịp Tết", {"stolen_items": "bia"}),
    ("qh-2026-gambling-1", "quy-hue", "gambling", "2026-05-17T20:00", "ack",
     "Đá gà ăn tiền ở bãi đất ven sông", {"kind": "cockfighting"}),
    ("qh-2026-neighbour-1", "quy-hue", "neighbour_dispute", "2026-06-03T19:00", "mediate",
     "Hai gia đình mâu thuẫn vì nước thải chảy sang vườn", {"parties": 2}),
    ("qh-2026-theft-3", "quy-hue", "theft", "2026-07-07T23:50", "ack",
     "Mất trộm dây điện của trạm bơm", {"stolen_items": "dây điện"}),
    ("qh-2026-drugs-2", "quy-hue", "drugs", "2026-09-12T21:30", "ack",
     "Nghi cất giấu ma túy trong nhà hoang", {"activity": "storage"}),
    ("qh-2026-disorder-1", "quy-hue", "public_disorder", "2026-10-10T22:00", "ack",
     "Thanh niên say rượu gây ồn ào đêm khuya", {}),
    # Hòa Lộc, EY2025: three; EY2026: two, one of them a serious crime.
    ("hl-2025-theft-1", "hoa-loc", "theft", "2024-12-12T02:00", "ack",
     "Mất trộm máy cắt cỏ trong kho", {"stolen_items": "máy cắt cỏ"}),
    ("hl-2025-theft-2", "hoa-loc", "theft", "2025-06-28T23:00", "ack",
     "Mất trộm xe đạp trước cổng trường", {"stolen_items": "xe đạp"}),
    ("hl-2025-gambling-1", "hoa-loc", "gambling", "2025-09-21T20:30", "ack",
     "Đánh bài ăn tiền tại quán karaoke", {"kind": "cards"}),
    ("hl-2026-theft-1", "hoa-loc", "theft", "2026-01-06T03:20", "ack",
     "Mất trộm lưới đánh cá phơi bên sông", {"stolen_items": "lưới"}),
    ("hl-2026-assault-1", "hoa-loc", "assault", "2026-05-09T21:45", "police",
     "Đánh nhau gây thương tích nặng sau tiệc cưới", {"injured": True, "people_involved": 4}),
)  # fmt: skip
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Hồ")
GIVEN = {
    True: ("Văn Hùng", "Đức Dũng", "Văn Tuấn", "Hữu Hải", "Văn Long", "Đình Nam", "Văn Sơn"),
    False: ("Thị Hoa", "Thị Lan", "Thị Hương", "Thị Mai", "Thị Thảo", "Thị Hằng", "Thị Nga"),
}


def new_households(count: int) -> list[dict[str, Any]]:
    """Hòa Lộc's invented households (names only, no phone numbers), the same every run."""
    rng = random.Random(f"{SEED}:{NEW_HAMLET}")
    households = []
    for n in range(1, count + 1):
        family, male, born = rng.choice(FAMILY), rng.random() < 0.75, rng.randint(1955, 1990)
        members = [{"full_name": f"{family} {rng.choice(GIVEN[male])}", "birth_year": born}]
        if rng.random() < 0.85:
            spouse = f"{rng.choice(FAMILY)} {rng.choice(GIVEN[not male])}"
            members.append({"full_name": spouse, "birth_year": born + rng.randint(-3, 5)})
        for _ in range(rng.randint(0, 3)):
            child = f"{family} {rng.choice(GIVEN[rng.random() < 0.5])}"
            members.append(
                {"full_name": child, "birth_year": min(born + rng.randint(20, 32), 2020)}
            )
        households.append(
            {
                "address": f"Xóm {rng.randint(1, 5)}, thôn {HAMLETS[NEW_HAMLET]}",
                "registration_code": f"HL{n:06d}",
                "registered_on": "2024-01-01",  # as its teams: both evaluation years count it
                "members": members,
            }
        )
    return households


def location(slug: str, n: int) -> dict[str, Any]:
    """A GeoJSON point near the hamlet's centre for the ``n``-th report, the same every run."""
    lon, lat = CENTRES[slug]
    east, north = (n * 137) % 600 - 300, (n * 89) % 500 - 250
    return {
        "type": "Point",
        "coordinates": [round(lon + east / 105_000, 6), round(lat + north / 111_000, 6)],
    }


def expected_counts() -> tuple[int, int]:
    """Incidents of the history that count (not rejected) in EY2025 and in EY2026."""
    counted = [h[3] for h in HISTORY if h[4] != "reject"]
    return sum(o < "2025-11-01" for o in counted), sum(o >= "2025-11-01" for o in counted)
