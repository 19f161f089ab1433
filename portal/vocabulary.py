"""Words and colours for the states the portal shows, in one place, keyed by
the plain string each state is stored as (a StrEnum member looks them up
too). Pure data: templates, services and workbooks all read it, and it
imports nothing of the app, so an export can use it without a service."""

from __future__ import annotations

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
