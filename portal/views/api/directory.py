"""The curated directory: search it, read an entry, and see it against your own rules."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from ...extensions import db
from ...permissions import Action, api_caller, visible_entry
from ...services.directory import curation as directory
from ...services.directory import search as directory_search
from . import bp
from . import schemas as s
from .common import make_cursor, page_args, reply, service_problem

FRESHNESS = ("", "current", "overdue")


@bp.get("/directory")
def search_directory() -> ResponseReturnValue:
    """Published entries matching every filter given, best match first when
    ``q`` has words (by product name otherwise), a page at a time.

    The cursor is the offset of the next page, made opaque: a ranked order has
    no column to continue after (a rank+id key would carry a float that moves
    whenever an entry is published, since each word's weight depends on how
    many entries hold it), and the engine ranks every match for any page, so a
    key would save nothing an offset costs."""
    api_caller(Action.VIEW_REQUESTS)
    offset, limit = page_args()
    criteria = directory_search.Search(
        text=request.args.get("q", ""),
        category=request.args.get("category", ""),
        rating=request.args.get("rating", ""),
        questionnaire=request.args.get("questionnaire", ""),
        freshness=request.args.get("freshness", ""),
    )
    if criteria.category and criteria.category not in directory.CATEGORY_LABELS:
        service_problem(
            f"category must be one of: {', '.join(directory.CATEGORY_LABELS)}", "category", 400
        )
    if criteria.rating and criteria.rating not in ("green", "amber", "red"):
        service_problem("rating must be green, amber or red", "rating", 400)
    if criteria.freshness not in FRESHNESS:
        service_problem("freshness must be current or overdue", "freshness", 400)
    entries = directory_search.search_window(db.session, criteria, offset or 0, limit)
    return reply(
        s.DirectoryPage(
            items=[s.DirectoryEntry.of(e) for e in entries],
            next_cursor=make_cursor((offset or 0) + limit) if len(entries) == limit else None,
        )
    )


@bp.get("/directory/<int:entry_id>")
def get_directory_entry(entry_id: int) -> ResponseReturnValue:
    """An entry with its answers; ``compare=true`` adds the findings against the
    caller's own requirements (the same comparison as the entry's page)."""
    caller = api_caller(Action.VIEW_REQUESTS)
    entry = visible_entry(entry_id, caller.organisation)
    detail = s.DirectoryEntryDetail.of(entry, answers=entry.answers)
    if request.args.get("compare", "").lower() in ("true", "1", "yes"):
        comparison = directory_search.comparison_for_school(db.session, entry, caller.organisation)
        detail.comparison = s.Comparison.of(comparison)
    # Unset, the comparison is left out rather than null (every other field is set).
    return reply(detail, exclude_unset=True)
