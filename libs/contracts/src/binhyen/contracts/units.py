"""Admin-unit vocabulary shared by producers and consumers."""

from enum import StrEnum


class UnitLevel(StrEnum):
    """Tier of the administrative tree; the district tier is gone since 01/07/2025."""

    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    HAMLET = "hamlet"


class UnitKind(StrEnum):
    """Kind of admin unit (đơn vị hành chính)."""

    PROVINCE = "province"  # tỉnh
    CENTRAL_CITY = "central_city"  # thành phố trực thuộc trung ương
    DISTRICT = "district"  # huyện
    TOWN = "town"  # thị xã
    PROVINCIAL_CITY = "provincial_city"  # thành phố thuộc tỉnh
    COMMUNE = "commune"  # xã
    WARD = "ward"  # phường
    TOWNSHIP = "township"  # thị trấn
    SPECIAL_ZONE = "special_zone"  # đặc khu
    HAMLET = "hamlet"  # thôn
    VILLAGE = "village"  # xóm, bản, ấp
    RESIDENTIAL_GROUP = "residential_group"  # tổ dân phố

    @property
    def level(self) -> UnitLevel:
        """Tier of the tree this kind belongs to."""
        return _LEVELS[self]


_LEVELS = {
    UnitKind.PROVINCE: UnitLevel.PROVINCE,
    UnitKind.CENTRAL_CITY: UnitLevel.PROVINCE,
    UnitKind.DISTRICT: UnitLevel.DISTRICT,
    UnitKind.TOWN: UnitLevel.DISTRICT,
    UnitKind.PROVINCIAL_CITY: UnitLevel.DISTRICT,
    UnitKind.COMMUNE: UnitLevel.COMMUNE,
    UnitKind.WARD: UnitLevel.COMMUNE,
    UnitKind.TOWNSHIP: UnitLevel.COMMUNE,
    UnitKind.SPECIAL_ZONE: UnitLevel.COMMUNE,
    UnitKind.HAMLET: UnitLevel.HAMLET,
    UnitKind.VILLAGE: UnitLevel.HAMLET,
    UnitKind.RESIDENTIAL_GROUP: UnitLevel.HAMLET,
}
