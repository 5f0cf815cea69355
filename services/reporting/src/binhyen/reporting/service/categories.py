"""Names and groups of incident categories, as the incidents service ships them.

Events carry a category's code and group, never its name, and services never import each
other: the default catalogue of the incidents service is repeated here, for the texts of
hotspot suggestions and so that public statistics always list the same categories. A
category a deployment added is known by its code (and the group its incidents carry).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryName:
    """A category's group and its names."""

    group: str
    vi: str
    en: str


CATALOGUE: dict[str, CategoryName] = {
    "theft": CategoryName("crime", "Trộm cắp tài sản", "Theft"),
    "assault": CategoryName("crime", "Cố ý gây thương tích, đánh nhau", "Assault or fight"),
    "domestic_violence": CategoryName("crime", "Bạo lực gia đình", "Domestic violence"),
    "drugs": CategoryName("social_evil", "Ma túy", "Drugs"),
    "gambling": CategoryName("social_evil", "Đánh bạc, cá độ", "Gambling for money"),
    "traffic_violation": CategoryName(
        "traffic", "Vi phạm an toàn giao thông", "Traffic-safety violation"
    ),
    "traffic_accident": CategoryName("traffic", "Tai nạn giao thông", "Traffic accident"),
    "land_dispute": CategoryName("dispute", "Tranh chấp đất đai", "Land dispute"),
    "neighbour_dispute": CategoryName(
        "dispute", "Mâu thuẫn hàng xóm, gia đình", "Neighbour or family dispute"
    ),
    "fire": CategoryName("fire", "Cháy", "Fire"),
    "explosion": CategoryName("fire", "Nổ", "Explosion"),
    "suspicious_person": CategoryName("other", "Người lạ, đối tượng khả nghi", "Suspicious person"),
    "public_disorder": CategoryName("other", "Gây rối trật tự công cộng", "Public disorder"),
}


def name_of(code: str) -> CategoryName:
    """The category's names; an unknown code is named by itself."""
    known = CATALOGUE.get(code)
    if known is not None:
        return known
    words = code.replace("_", " ")
    return CategoryName("other", words, words)
