"""The curated directory: search it, read an entry, and see it against your own rules."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue

from ...extensions import db
from ...models import DirectoryEntry
from ...permissions import Action, api_caller, visible_entry
from ...services.directory import curation as directory
from ...services.downloads import contents as exports
from . import bp
from .common import service_problem

FRESHNESS = ("", "current", "overdue")


def entry_json(entry: DirectoryEntry) -> dict[str, Any]:
    version = entry.questionnaire_version
    return {
        "id": entry.id,
        "listing_id": entry.listing_id or entry.id,
        "version": entry.version,
        "supplier": entry.supplier.name,
        "product": entry.product,
        "category": entry.category,
        "category_label": directory.CATEGORY_LABELS.get(entry.category, entry.category),
        "questionnaire": {"key": version.key, "version": version.version, "title": version.title},
        "status": entry.status,
        "rating": entry.rating,
        "summary": entry.summary,
        "conditions": entry.conditions,
        "reviewed_on": entry.reviewed_on.isoformat() if entry.reviewed_on else None,
        "review_due": entry.review_due.isoformat(),
        "review_overdue": directory.review_overdue(entry),
        "curator_authored": entry.curator_authored,
        "links": {"self": url_for("api.get_directory_entry", entry_id=entry.id)},
    }


@bp.get("/directory")
def search_directory() -> ResponseReturnValue:
    """Published entries matching every filter given."""
    api_caller(Action.VIEW_REQUESTS)
    criteria = directory.Search(
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
    return jsonify(items=[entry_json(e) for e in directory.search(db.session, criteria)])


@bp.get("/directory/<int:entry_id>")
def get_directory_entry(entry_id: int) -> ResponseReturnValue:
    """An entry with its answers; ``compare=true`` adds the findings against the
    caller's own requirements (the same comparison as the entry's page)."""
    caller = api_caller(Action.VIEW_REQUESTS)
    entry = visible_entry(entry_id, caller.organisation)
    body: dict[str, Any] = {**entry_json(entry), "answers": entry.answers}
    if request.args.get("compare", "").lower() in ("true", "1", "yes"):
        comparison = directory.comparison_for_school(db.session, entry, caller.organisation)
        body["comparison"] = exports.comparison_json(comparison)
    return jsonify(body)
