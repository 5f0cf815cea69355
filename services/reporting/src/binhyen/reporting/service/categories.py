"""Names of incident categories, as the incidents service announces them.

Events of incidents carry a category's code and group, never its name; the catalogue comes
on ``binhyen.incidents.categories.v1`` and is projected into the read model (``categories``)
like any other state, so a category a commune added or renamed is named as it is now.
A code the read model has not heard of yet is named by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from binhyen.reporting.projections import CATEGORIES
from binhyen.reporting.store import ReadModel


@dataclass(frozen=True)
class CategoryName:
    """A category's group and its names."""

    group: str
    vi: str
    en: str


@dataclass(frozen=True)
class Categories:
    """The catalogue the read model holds, by code."""

    known: dict[str, CategoryName]

    @classmethod
    async def load(cls, model: ReadModel) -> Categories:
        """Read the catalogue (a few dozen documents)."""
        known = {
            doc["_id"]: CategoryName(
                str(doc.get("group") or "other"),
                str(doc.get("name_vi") or doc["_id"]),
                str(doc.get("name_en") or ""),
            )
            async for doc in model[CATEGORIES].find({})
        }
        return cls(known)

    def name_of(self, code: str) -> CategoryName:
        """The category's names; an unknown code is named by itself."""
        known = self.known.get(code)
        if known is not None:
            return CategoryName(known.group, known.vi, known.en or known.vi)
        words = code.replace("_", " ")
        return CategoryName("other", words, words)
