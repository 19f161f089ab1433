"""A request's audit events in words, the same on the page and in exports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ...models import AuditEvent
from ...questionnaire.compare import OUTCOME_LABELS
from ...questionnaire.display import format_day
from ..requests.lifecycle import STATUS_LABELS


def _label(labels: Mapping[Any, str], key: object) -> str:
    # StrEnum keys equal their plain string values, so stored strings look up.
    return str(labels.get(key, key or ""))


def describe(event: AuditEvent) -> str:
    detail = event.detail or {}
    match event.action:
        case "status_changed":
            return _label(STATUS_LABELS, detail.get("to"))
        case "request_created":
            return f"Request created ({detail.get('questionnaire')})"
        case "declaration_signed":
            return "Declaration signed"
        case "link_extended":
            until = detail.get("until")
            return f"Link extended to {format_day(date.fromisoformat(until)) if until else ''}"
        case "link_reissued":
            return "New link sent"
        case "clarification_requested":
            return f"Clarification asked (round {detail.get('round')})"
        case "finding_overridden":
            judged = _label(OUTCOME_LABELS, detail.get("outcome")).lower()
            computed = _label(OUTCOME_LABELS, detail.get("computed")).lower()
            return (
                f"Finding judged {judged} (computed {computed}) for "
                f"{detail.get('question')}: {detail.get('reason')}"
            )
        case "finding_override_removed":
            return f"Judgement removed for {detail.get('question')}"
        case "decision_recorded":
            what = "Decision changed" if detail.get("changed") else "Decision"
            return (
                f"{what}: {_label(STATUS_LABELS, detail.get('decision'))}. {detail.get('reason')}"
            )
        case "decision_reopened":
            return "Decision withdrawn for a new review"
        case "follow_up_sent":
            return f"Extended due diligence sent ({detail.get('follow_up')})"
        case "dpia_started":
            return f"Full DPIA started ({detail.get('title')})"
        case "dpia_review_started":
            return f"Review of the approved DPIA started ({detail.get('title')})"
        case "dpia_answered":
            return f"DPIA answers changed: {detail.get('section')}"
        case "dpia_awaiting_advice":
            return "DPIA sent for the DPO's advice"
        case "dpia_awaiting_approval":
            return f"DPO's advice recorded ({detail.get('dpo')})"
        case "dpia_approved":
            ico = (
                "; the ICO is to be consulted before processing"
                if detail.get("ico_consultation")
                else ""
            )
            return f"DPIA approved by the {str(detail.get('role', '')).lower() or 'accountable person'}{ico}"
        case "dpia_rejected":
            return f"DPIA rejected: {detail.get('note')}"
        case "dpia_draft":
            return f"DPIA returned to draft: {detail.get('reason')}"
        case "sections_handed_over":
            return f"Sections handed to a colleague, {detail.get('colleague')}"
        case "colleague_link_revoked":
            return f"{detail.get('colleague')}'s link taken back"
        case "colleague_links_ended":
            count = detail.get("colleagues", 0)
            return (
                f"{count} colleague link{'s' if count != 1 else ''} ended with the supplier's link"
            )
        case "answers_uploaded":
            return f"Answers uploaded in a spreadsheet ({detail.get('saved', 0)} saved)"
        case "renewal_requested":
            why = {"before": " (runs out within 30 days)", "after": " (has run out)"}.get(
                str(detail.get("reason")), ""
            )
            count = len(detail.get("questions") or [])
            return f"Renewed evidence asked for: {count} item{'s' if count != 1 else ''}{why}"
        case "evidence_renewed":
            return "Renewed evidence received; the request judged again"
        case "renewal_link_opened":
            return "Renewal link opened"
        case "evidence_accepted_without_dates":
            return f"Evidence accepted without an expiry date: {detail.get('reason')}"
        case "export_downloaded":
            return f"Downloaded as {detail.get('format', 'a file')}"
        case _:
            return event.action.replace("_", " ").capitalize()
