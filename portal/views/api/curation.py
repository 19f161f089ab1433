"""Curator API: the directory's work as the curator's workspace does it. The
queue of consented submissions, the lists of entries, a draft made from a
submission, publishing, withdrawing, and a new version to refresh a
listing's answers and evidence dates."""

from __future__ import annotations

from datetime import date

from flask import request, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from ...extensions import db
from ...models import DirectoryEntry
from ...permissions import Action, api_caller, consented_submission, curated_entry
from ...services.directory import curation as directory
from ...services.errors import ServiceError
from ..curator import entry_details
from ..forms import EntryForm, WithdrawForm
from . import bp
from . import schemas as s
from .common import (
    fill_form,
    form_problem,
    json_body,
    make_cursor,
    page_args,
    reply,
    service_problem,
)

LISTS: tuple[str, ...] = tuple(directory.WORKSPACE_LISTS)


class Submission(BaseModel):
    """A consented submission waiting for its directory entry."""

    request_id: int
    submitted_at: str | None
    supplier: str
    questionnaire: str
    version: int
    draft: str = Field(description="POST here to make a draft entry from it")


class CuratorPage(BaseModel):
    shown: str = Field(description="The list shown", json_schema_extra={"enum": list(LISTS)})
    counts: dict[str, int] = Field(description="Every list's total")
    submissions: list[Submission] = Field(description="The queue's items (list=queue)")
    entries: list[s.DirectoryEntry] = Field(description="The other lists' entries")
    evidence_first_expires: dict[str, date] = Field(
        description="list=refresh: each entry's first evidence expiry, by entry id"
    )
    next_cursor: str | None


def _detail(entry: DirectoryEntry) -> s.DirectoryEntryDetail:
    return s.DirectoryEntryDetail.of(entry, answers=entry.answers)


@bp.get("/curator/workspace")
def curator_workspace() -> ResponseReturnValue:
    """One of the workspace's lists (the queue by default), a page at a time."""
    api_caller(Action.CURATE)
    shown = request.args.get("list", "queue")
    if shown not in LISTS:
        service_problem(f"list must be one of: {', '.join(LISTS)}", "list", 400)
    offset, limit = page_args()
    if (offset or 0) % limit:
        service_problem("cursor is not one this API gave out", "cursor", 400)
    number = (offset or 0) // limit + 1
    found = directory.workspace(db.session, shown, number, size=limit)
    page = found.page
    submissions: list[Submission] = []
    entries: list[s.DirectoryEntry] = []
    expiries: dict[str, date] = {}
    if shown == "queue":
        submissions = [
            Submission(
                request_id=row.id,
                submitted_at=row.submitted_at.isoformat() if row.submitted_at else None,
                supplier=row.supplier,
                questionnaire=row.questionnaire,
                version=row.version,
                draft=url_for("api.draft_entry", request_id=row.id),
            )
            for row in page.items
        ]
    elif shown == "refresh":
        entries = [s.DirectoryEntry.of(item.entry) for item in page.items]
        expiries = {str(item.entry.id): item.first for item in page.items}
    else:
        entries = [s.DirectoryEntry.of(entry) for entry in page.items]
    return reply(
        CuratorPage(
            shown=shown,
            counts=found.counts,
            submissions=submissions,
            entries=entries,
            evidence_first_expires=expiries,
            next_cursor=make_cursor(number * limit) if page.has_next else None,
        )
    )


@bp.post("/curator/submissions/<int:request_id>/draft")
def draft_entry(request_id: int) -> ResponseReturnValue:
    """A draft entry from a consented submission: its questionnaire's answers
    (never the school's own questions), with what the curator says of it."""
    caller = api_caller(Action.CURATE)
    row = consented_submission(request_id)
    body = json_body()
    form = fill_form(EntryForm, body)
    if not form.validate():
        form_problem(form)
    listings = directory.listings_for(db.session, row.supplier_id, row.questionnaire_version.key)
    listing_id = body.get("listing")
    listing = next((e for e in listings if e.id == listing_id), None)
    if listing_id is not None and listing is None:
        service_problem("listing must be one of this supplier's listings of it", "listing")
    try:
        entry = directory.draft_from_submission(
            db.session, caller.actor, row, entry_details(form), listing
        )
    except ServiceError as exc:
        service_problem(exc.message, exc.field)
    location = {"Location": url_for("api.get_curated_entry", entry_id=entry.id)}
    return reply(_detail(entry), 201, location)


@bp.get("/curator/entries/<int:entry_id>")
def get_curated_entry(entry_id: int) -> ResponseReturnValue:
    """Any entry, drafts and withdrawn ones too, with its answers."""
    api_caller(Action.CURATE)
    return reply(_detail(curated_entry(entry_id)))


@bp.post("/curator/entries/<int:entry_id>/publish")
def publish_entry(entry_id: int) -> ResponseReturnValue:
    """Publish a draft: the listing's previous version steps aside, and each
    school that adopted the listing is told."""
    caller = api_caller(Action.CURATE)
    entry = curated_entry(entry_id)
    try:
        directory.publish(db.session, caller.actor, entry)
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 409)
    return reply(_detail(entry))


@bp.post("/curator/entries/<int:entry_id>/withdraw")
def withdraw_entry(entry_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.CURATE)
    entry = curated_entry(entry_id)
    form = fill_form(WithdrawForm, json_body())
    if not form.validate():
        form_problem(form)
    try:
        directory.withdraw(db.session, caller.actor, entry, form.reason.data or "")
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 422 if exc.field else 409)
    return reply(_detail(entry))


@bp.post("/curator/entries/<int:entry_id>/refresh")
def refresh_entry(entry_id: int) -> ResponseReturnValue:
    """A new draft version of a published or withdrawn entry, to bring its
    answers and evidence dates up to date and publish again."""
    caller = api_caller(Action.CURATE)
    entry = curated_entry(entry_id)
    try:
        draft = directory.new_version(db.session, caller.actor, entry)
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 409)
    location = {"Location": url_for("api.get_curated_entry", entry_id=draft.id)}
    return reply(_detail(draft), 201, location)
