"""One page of a list, with its total: every staff list pages the same way.

Offset paging, counted in the database: staff lists are read from the top
and jumped about in ("page 3 of 12"), and a school's list is hundreds of rows,
where an offset costs nothing worth a keyset's lost page numbers. The API
pages by cursor instead (views/api/common.py): a program walks to the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int  # rows matching, on every page
    number: int  # 1-based; always a page that exists (1 when there are none)
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_shown(self) -> int:
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last_shown(self) -> int:
        return (self.number - 1) * self.size + len(self.items)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def map(self, items: list[Any]) -> Page[Any]:
        """The same page holding ``items`` (the rows turned into what a view shows)."""
        return Page(items, self.total, self.number, self.size)


def page_number(raw: str | None) -> int:
    """A ``?page=`` value as a page number: anything but a positive number
    (a mistyped or hand-edited address) is the first page, not an error."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return max(1, min(number, 10**6))


def count(session: Session, query: Select[Any]) -> int:
    """Rows ``query`` matches, counted by the database."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(session.scalar(counted) or 0)


def page_of_list(items: Sequence[T], number: int = 1, size: int = PAGE_SIZE) -> Page[T]:
    """Page ``number`` of a list already gathered (a number past the end shows
    the last page, as page_of does)."""
    number = min(max(1, number), max(1, -(-len(items) // size)))
    start = (number - 1) * size
    return Page(list(items[start : start + size]), len(items), number, size)


def page_of(
    session: Session,
    query: Select[Any],
    number: int = 1,
    size: int = PAGE_SIZE,
    *,
    scalars: bool = True,
    counted: Select[Any] | None = None,
    total: int | None = None,
) -> Page[Any]:
    """Page ``number`` of ``query`` (which must be ordered), two statements
    whatever the total. A number past the end shows the last page: an address
    kept from when the list was longer still shows rows. ``counted``, if
    given, is counted instead: the same rows, cheaper to find unordered (a
    ranked search without its scores); ``total``, if the caller counted
    already."""
    if total is None:
        total = count(session, query if counted is None else counted)
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    window = query.limit(size).offset((number - 1) * size)
    items: list[Any] = list(session.scalars(window) if scalars else session.execute(window))
    return Page(items, total, number, size)
