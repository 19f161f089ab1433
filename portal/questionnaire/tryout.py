"""A questionnaire tried out before it is published (issue 24): every
section on one form, answered with sample answers, then judged against the
questionnaire's own baseline requirements (or triaged, for a screening), all
in memory. Nothing here is stored; the curator's page shows the result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import logic
from .answerset import Stored, plan_section
from .compare import Comparison, compare
from .definition import Questionnaire
from .forms import SectionForm, build_section_form


@dataclass(frozen=True)
class TryOut:
    forms: Mapping[str, SectionForm]  # by section id, holding what was typed
    shown: Mapping[str, bool]  # which questions a supplier would be asked
    answers: Mapping[str, Any] = field(default_factory=dict)
    comparison: Comparison | None = None  # None until answers are tried


def try_out(
    questionnaire: Questionnaire, formdata: Any | None = None, today: date | None = None
) -> TryOut:
    """The blank questionnaire (``formdata`` None), or the sample answers
    posted: each section checked as a supplier's save is (a wrong format
    stays on the form with its message), then judged as a submission. Files
    cannot be tried out: evidence is taken as attached wherever it is asked for."""
    answers: dict[str, Any] = {}
    forms: dict[str, SectionForm] = {}
    for section in questionnaire.sections:
        form = build_section_form(questionnaire, section)(formdata=formdata)
        if formdata is not None:
            stored = {qid: Stored(value) for qid, value in answers.items()}
            answers = dict(plan_section(form, stored, today=today).answers)
        form.add_blank_rows()
        forms[section.id] = form
    shown = logic.visibility(questionnaire, answers, today)
    if formdata is None:
        return TryOut(forms, shown)
    evidence = {q.id for q in questionnaire.questions() if q.evidence != "none" or q.type == "file"}
    comparison = compare(questionnaire, answers, evidence=evidence, today=today, submitted=True)
    return TryOut(forms, shown, answers, comparison)
