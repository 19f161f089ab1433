"""Words and colours for the states the portal shows, in one place, keyed by
the plain string each state is stored as (a StrEnum member looks them up
too). Pure data: templates, services and workbooks all read it, and it
imports nothing of the app, so an export can use it without a service."""

from __future__ import annotations

REQUEST_STATUS_LABELS = {
    "draft": "Draft",
    "sent": "Sent",
    "in_progress": "In progress",
    "submitted": "Submitted",
    "clarification": "Clarification requested",
    "resubmitted": "Resubmitted",
    "accepted": "Accepted",
    "accepted_with_conditions": "Accepted with conditions",
    "rejected": "Rejected",
    "revoked": "Link revoked",
    "expired": "Link expired",
}
REQUEST_STATUS_COLOURS = {
    "draft": "grey",
    "sent": "blue",
    "in_progress": "light-blue",
    "submitted": "green",
    "resubmitted": "green",
    "clarification": "yellow",
    "accepted": "green",
    "accepted_with_conditions": "turquoise",
    "rejected": "red",
    "revoked": "grey",
    "expired": "grey",
}

STANDARD_STATUS_LABELS = {
    "not_started": "Not started",
    "not_met": "Not met",
    "partly_met": "Partly met",
    "met": "Met",
}
STANDARD_STATUS_COLOURS = {
    "not_started": "grey",
    "not_met": "red",
    "partly_met": "yellow",
    "met": "green",
}

DIRECTORY_ENTRY_STATUS_LABELS = {
    "draft": "Draft",
    "published": "Published",
    "superseded": "Replaced by a newer version",
    "withdrawn": "Withdrawn",
}

DPIA_STATUS_LABELS = {
    "draft": "Draft",
    "awaiting_advice": "Awaiting DPO advice",
    "awaiting_approval": "Awaiting approval",
    "approved": "Approved",
    "rejected": "Rejected",
}
DPIA_STATUS_COLOURS = {
    "draft": "grey",
    "awaiting_advice": "blue",
    "awaiting_approval": "yellow",
    "approved": "green",
    "rejected": "red",
}

# What a requirement's operator means, in a school's words (profiles, workbooks).
RULE_OPERATOR_LABELS = {
    "equals": "is",
    "not_equals": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "includes_all": "includes all of",
    "includes_any": "includes at least one of",
    "min": "is at least",
    "max": "is at most",
    "date_after_today": "is a date after today",
    "within_days": "is within the last N days",
    "present": "is answered",
    "info": "is for information only",
}

# Who answers a questionnaire of each audience (questionnaires/README.md).
AUDIENCE_LABELS = {
    "it_support": "IT support providers",
    "cloud": "cloud and edtech suppliers",
    "screening": "suppliers, as a first screening",
    "self_assessment": "the school's own staff (a self-assessment)",
    "dpia": "the school's own staff (a DPIA)",
}
